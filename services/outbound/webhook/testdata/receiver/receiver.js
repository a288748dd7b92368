// A partner's endpoint for the tests of services/outbound/webhook: it
// verifies every request with the npm package standardwebhooks, an
// implementation of the spec independent of Guichet's.
//
//   node receiver.js PORT /path=whsec_… [/other=whsec_…]
//
// Each path has its secret. A valid request is answered 204, anything else
// 400. One JSON line per request on stdout:
//   {"path":"/a","ok":true,"id":"msg_…","type":"case.created","body":{…},"headers":{…}}
//   {"path":"/a","ok":false,"error":"No matching signature found"}
// and {"listening":PORT} once it listens.
"use strict";
const http = require("http");
const { Webhook } = require("standardwebhooks");

const port = Number(process.argv[2]);
const secrets = {};
for (const arg of process.argv.slice(3)) {
  const i = arg.indexOf("=");
  secrets[arg.slice(0, i)] = arg.slice(i + 1);
}

function out(o) {
  process.stdout.write(JSON.stringify(o) + "\n");
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const path = req.url;
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      if (req.method !== "POST") throw new Error("method " + req.method);
      if (!(path in secrets)) throw new Error("unknown path");
      if (req.headers["content-type"] !== "application/json") throw new Error("content-type " + req.headers["content-type"]);
      const payload = new Webhook(secrets[path]).verify(body, req.headers);
      out({
        path, ok: true, id: req.headers["webhook-id"], type: payload.type, body: payload,
        headers: { "user-agent": req.headers["user-agent"], "webhook-timestamp": req.headers["webhook-timestamp"] },
      });
      res.writeHead(204);
      res.end();
    } catch (e) {
      out({ path, ok: false, id: req.headers["webhook-id"] || "", error: String(e.message || e) });
      res.writeHead(400, { "Content-Type": "text/plain" });
      res.end("refused\n");
    }
  });
});
server.listen(port, "127.0.0.1", () => out({ listening: port }));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
