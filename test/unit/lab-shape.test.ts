// The lab file's shape check is ajv's standalone code, generated from LabSchema at build time
// (scripts/gen-validator.mjs → src/labfile/lab-shape.gen.ts). The committed file must be current,
// and it must judge and describe every input exactly as ajv.compile(LabSchema) does: the same
// errors, each with the same schema, parentSchema and data (shape.ts reads x-hint,
// properties, description and const from them).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { LabSchema } from '../../src/labfile/schema.js';
import { shippedLabs } from '../../src/run/labs.js';
import validateLabShape from '../../src/labfile/lab-shape.gen.js';
import { AJV_OPTIONS, OUTPUT, validatorSource } from '../../scripts/gen-validator.mjs';

t.test('src/labfile/lab-shape.gen.ts is current (refresh: node scripts/gen-validator.mjs)', async (t) => {
  t.equal(readFileSync(OUTPUT, 'utf8'), validatorSource(LabSchema));
});

t.test('the generated check reports what ajv.compile(LabSchema) reports', async (t) => {
  const ajv = new Ajv({ ...AJV_OPTIONS, code: {} });
  ajv.addKeyword('x-hint');
  const compiled = ajv.compile(LabSchema);
  const generated = validateLabShape as unknown as typeof compiled;
  const verdict = (v: typeof compiled, data: unknown) => JSON.stringify([v(data), (v.errors ?? []) as ErrorObject[]]);

  // Every shipped lab, and for every place in it: wrong types, bad strings, unknown and missing fields.
  const inputs: unknown[] = [null, 'text', [], {}, { name: 'x' }];
  const wrong = [null, 42, -1, 1.5, true, 'BAD name!', 'x'.repeat(300), '', '\u{1F600}'.repeat(30), [], [{}], {}, { bogus: 1 }];
  const mutate = (root: unknown, path: (string | number)[], f: (parent: Record<string | number, unknown>, key: string | number) => void) => {
    const copy = structuredClone(root) as Record<string | number, unknown>;
    let node = copy;
    for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
    f(node, path.at(-1)!);
    inputs.push(copy);
  };
  const walk = (root: unknown, node: unknown, path: (string | number)[]) => {
    if (path.length) {
      for (const w of wrong) mutate(root, path, (p, k) => void (p[k] = w));
      mutate(root, path, (p, k) => (Array.isArray(p) ? p.splice(k as number, 1) : delete p[k]));
    }
    if (node && typeof node === 'object') {
      if (!Array.isArray(node)) mutate(root, [...path, 'bogus'], (p, k) => void (p[k] = 1));
      for (const [k, v] of Object.entries(node)) walk(root, v, [...path, Array.isArray(node) ? Number(k) : k]);
    }
  };
  for (const f of shippedLabs()) {
    const data = parse(readFileSync(f, 'utf8'));
    inputs.push(data);
    walk(data, data, []);
  }
  let differ = 0;
  for (const data of inputs) {
    const [a, b] = [verdict(compiled, data), verdict(generated, data)];
    if (a !== b && differ++ < 5) t.equal(b, a, `same verdict for ${JSON.stringify(data).slice(0, 200)}`);
  }
  t.equal(differ, 0, `${inputs.length} inputs, the same verdict and errors for each`);
  t.ok(inputs.length > 1000, 'mutations were generated');
});
