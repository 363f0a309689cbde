// The published JSON Schema is generated from the same definition the loader validates with;
// the committed copy must be current. Refresh with: npx knetlab schema > schema/lab.schema.json
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { jsonSchema } from '../../src/labfile/schema.js';
import { shippedLabs } from '../../src/run/labs.js';

t.test('schema/lab.schema.json is current', async (t) => {
  t.same(JSON.parse(readFileSync('schema/lab.schema.json', 'utf8')), jsonSchema());
});

t.test('every shipped lab validates against the published schema (as an editor would check it)', async (t) => {
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync('schema/lab.schema.json', 'utf8')));
  for (const f of shippedLabs()) t.ok(validate(parse(readFileSync(f, 'utf8'))), `${f}: ${JSON.stringify(validate.errors)}`);
  t.notOk(validate({ name: 'x', title: 'y', topology: { namespaces: {} }, bogus: 1 }), 'unknown fields are rejected');
});
