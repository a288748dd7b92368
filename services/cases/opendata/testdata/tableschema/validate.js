// Valide un fichier CSV contre son descripteur Table Schema avec le paquet
// tableschema de Frictionless Data : node validate.js SCHEMA.json FICHIER.csv
// Écrit une ligne JSON { rows, errors } et sort en erreur s'il y en a.
"use strict";
const path = require("path");
const fs = require("fs");
const { Table, Schema } = require("tableschema");

(async () => {
  const [schemaPath, csvPath] = process.argv.slice(2);
  const descriptor = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
  const schema = await Schema.load(descriptor, { strict: true });
  const table = await Table.load(path.resolve(csvPath), { schema });
  const errors = [];
  const header = (await table.read({ limit: 1, keyed: false, cast: false, extended: false })) && table.headers;
  const expected = schema.fieldNames;
  if (JSON.stringify(header) !== JSON.stringify(expected)) {
    errors.push(`en-tête ${JSON.stringify(header)} ≠ schéma ${JSON.stringify(expected)}`);
  }
  const rows = await table.read({
    keyed: true,
    forceCast: true,
  });
  rows.forEach((row, i) => {
    if (row instanceof Error) {
      const details = (row.errors || [row]).map((e) => e.message);
      errors.push(`ligne ${i + 2} : ${details.join(" ; ")}`);
    }
  });
  process.stdout.write(JSON.stringify({ rows: rows.length, errors }) + "\n");
  process.exit(errors.length ? 1 : 0);
})().catch((err) => {
  process.stdout.write(JSON.stringify({ rows: 0, errors: [String(err && (err.errors ? err.errors.map((e) => e.message).join(" ; ") : err.message) || err)] }) + "\n");
  process.exit(2);
});
