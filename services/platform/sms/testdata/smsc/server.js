// A test SMSC for services/platform/sms: an SMPP 3.4 server written with the
// npm package "smpp" (node-smpp), an implementation independent of the Go
// library the sender uses, so that the Go tests check the bytes on the wire
// against a second reading of the protocol.
//
//   node server.js PORT        (PORT 0: any free port on 127.0.0.1)
//
// It listens on 127.0.0.1 only, accepts bind_transmitter with the system_id
// "guichet" and the password "secret", answers submit_sm with a message_id,
// and writes one JSON line on stdout per event: first
// {"event":"listening","port":N}, then one line per PDU received
// ({"event":"pdu","command":…}) with its fields, short_message as hex, and
// node-smpp's own decoding of it (udh as hex, message as text).
//
// SMSC_MODE (environment) changes how submit_sm is answered:
//   normal      ESME_ROK and a message_id (the default)
//   throttle    ESME_RTHROTTLED
//   reject      ESME_RINVDSTADR
//   drop-first  the first submit_sm of the process gets no answer: the
//               connection is destroyed; later ones are answered ESME_ROK
//   silent      no answer at all (the connection stays open)
// It stops on SIGTERM, SIGINT, or when its standard input closes.
'use strict';

const smpp = require('smpp');

const SYSTEM_ID = 'guichet';
const PASSWORD = 'secret';

const port = Number.parseInt(process.argv[2] || '', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: node server.js PORT\n');
  process.exit(2);
}
const mode = process.env.SMSC_MODE || 'normal';
if (!['normal', 'throttle', 'reject', 'drop-first', 'silent'].includes(mode)) {
  process.stderr.write(`unknown SMSC_MODE ${mode}\n`);
  process.exit(2);
}

// Keep the raw short_message next to node-smpp's decoding: the filter runs
// with the PDU as `this`, after data_coding and esm_class are read.
for (const command of ['submit_sm', 'deliver_sm', 'data_sm']) {
  const param = smpp.commands[command].params && smpp.commands[command].params.short_message;
  if (!param || !param.filter) {
    continue;
  }
  const original = param.filter;
  param.filter = {
    encode: original.encode,
    decode: function (value) {
      return { raw: value, decoded: original.decode.call(this, value) };
    },
  };
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function describe(pdu) {
  const out = { event: 'pdu', command: pdu.command, command_status: pdu.command_status, sequence_number: pdu.sequence_number };
  for (const key of ['system_id', 'system_type', 'interface_version', 'service_type',
    'source_addr_ton', 'source_addr_npi', 'source_addr',
    'dest_addr_ton', 'dest_addr_npi', 'destination_addr',
    'esm_class', 'protocol_id', 'priority_flag', 'registered_delivery', 'data_coding']) {
    if (key in pdu) {
      out[key] = pdu[key];
    }
  }
  const sm = pdu.short_message;
  if (sm && sm.raw) {
    out.short_message = sm.raw.toString('hex');
    const decoded = sm.decoded || {};
    out.udh = (decoded.udh || []).map((b) => Buffer.from(b).toString('hex'));
    out.message = typeof decoded.message === 'string' ? decoded.message : Buffer.from(decoded.message || []).toString('hex');
  }
  return out;
}

let messageID = 0;
let dropped = false;

const server = smpp.createServer((session) => {
  let bound = false;
  session.on('error', (err) => emit({ event: 'session_error', error: String(err && err.message) }));
  session.on('close', () => emit({ event: 'closed' }));
  session.on('pdu', (pdu) => {
    emit(describe(pdu));
    switch (pdu.command) {
      case 'bind_transmitter':
        if (pdu.system_id !== SYSTEM_ID) {
          session.send(pdu.response({ command_status: smpp.ESME_RINVSYSID }));
          return;
        }
        if (pdu.password !== PASSWORD) {
          session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
          return;
        }
        bound = true;
        session.send(pdu.response({ system_id: 'TESTSMSC' }));
        return;
      case 'bind_receiver':
      case 'bind_transceiver':
        session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
        return;
      case 'enquire_link':
        session.send(pdu.response());
        return;
      case 'unbind':
        session.send(pdu.response(), () => session.close());
        return;
      case 'submit_sm':
        if (!bound) {
          session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
          return;
        }
        switch (mode) {
          case 'throttle':
            session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
            return;
          case 'reject':
            session.send(pdu.response({ command_status: smpp.ESME_RINVDSTADR }));
            return;
          case 'silent':
            return;
          case 'drop-first':
            if (!dropped) {
              dropped = true;
              emit({ event: 'dropping' });
              session.destroy();
              return;
            }
            break;
        }
        messageID++;
        session.send(pdu.response({ message_id: 'msg-' + messageID }));
        return;
      default:
        if (!pdu.isResponse()) {
          session.send(pdu.response({ command_status: smpp.ESME_RINVCMDID }));
        }
    }
  });
});

server.on('error', (err) => {
  process.stderr.write(`smsc: ${err && err.message}\n`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  emit({ event: 'listening', port: server.address().port });
});

function stop() {
  for (const s of server.sessions.slice()) {
    s.destroy();
  }
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
