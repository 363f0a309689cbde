// The lab file's shape, checked against its JSON Schema (every error at once), and each error
// turned into a sentence at the place it points to, with the schema's hint.

import type { ErrorObject, ValidateFunction } from 'ajv';
import type { RawLab } from './schema.js';
import { closest } from './suggest.js';
import { quoted } from './diagnostics.js';
import type { Context } from './context.js';
import validateLabShape from './lab-shape.gen.js';

// LabSchema compiled by ajv at build time (scripts/gen-validator.mjs, with the options ajv.compile
// had here: allErrors, verbose, strict, the x-hint keyword), so a start loads neither ajv nor
// TypeBox and compiles nothing. verbose gives each error its schema, parentSchema and data.
const validateShape = validateLabShape as unknown as ValidateFunction<RawLab>;

const VALUE_KEYWORDS = new Set(['pattern', 'maxLength', 'minLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);
const isEnum = (e: ErrorObject) => Array.isArray(e.schema) && (e.schema as { const?: unknown }[]).every((s) => s.const !== undefined);

/**
 * Report every shape error. Errors in a value (a bad pattern, a number out of range) leave the
 * structure intact; returns false when a structural error means meaning checks cannot go on.
 */
export function checkShape(cx: Context, data: unknown): boolean {
  if (validateShape(data)) return true;
  const errors = shapeErrors(validateShape.errors ?? []);
  // The validator would keep its errors (a few hundred bytes each, one per bad value) until it
  // runs again, through the meaning checks that follow: they are diagnostics from here on.
  validateShape.errors = null;
  for (const e of errors) shapeError(cx, e);
  return !errors.some((e) => !VALUE_KEYWORDS.has(e.keyword) && !(e.keyword === 'anyOf' && isEnum(e)));
}

function shapeError(cx: Context, e: ErrorObject): void {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const where = path.length ? path.join('.') : 'the lab';
  const schemaHint = (e.parentSchema as { 'x-hint'?: string; description?: string } | undefined)?.['x-hint'];
  switch (e.keyword) {
    case 'required': {
      const field = (e.params as { missingProperty: string }).missingProperty;
      const props = (e.parentSchema as { properties?: Record<string, { description?: string }> }).properties ?? {};
      cx.error(path, `${where} is missing required field "${field}"`, props[field]?.description ?? `add "${field}:"`);
      return;
    }
    case 'additionalProperties': {
      const field = (e.params as { additionalProperty: string }).additionalProperty;
      // A map keyed by names (cluster.nodes, cluster.clients): the key breaks the name pattern.
      const names = (e.parentSchema as { patternProperties?: Record<string, unknown>; properties?: object }).patternProperties;
      if (names && !(e.parentSchema as { properties?: object }).properties) {
        cx.error([...path, field], `${where}: ${quoted(field)} is not a valid name`, 'use lowercase letters, digits and dashes, e.g. "node1"', 'key');
        return;
      }
      const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {}).filter((k) => k !== '$schema');
      const guess = closest(field, known);
      cx.error(
        [...path, field],
        `unknown field "${field}" in ${where}`,
        guess ? `did you mean "${guess}"? (${where} takes: ${known.join(', ')})` : `${where} takes: ${known.join(', ')}`,
        'key',
      );
      return;
    }
    case 'type':
      cx.error(path, `${where} must be ${article((e.params as { type: string }).type)}, not ${describe(e.data)}`, schemaHint);
      return;
    case 'anyOf': {
      const options = (e.schema as { const?: unknown }[]).map((s) => s.const);
      if (options.every((o) => o !== undefined)) {
        cx.error(path, `${where} is ${quoted(e.data)}; it must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}`);
      } else {
        cx.error(path, `${where} has an invalid value ${quoted(e.data)}`, schemaHint);
      }
      return;
    }
    case 'pattern':
      cx.error(path, `${where} ${quoted(e.data)} is not valid`, schemaHint);
      return;
    case 'maxLength':
      cx.error(path, `${where} ${quoted(e.data)} is longer than ${(e.params as { limit: number }).limit} characters`, schemaHint);
      return;
    default:
      cx.error(path, `${where} ${e.message ?? 'is invalid'}${typeof e.data === 'string' ? ` (got ${quoted(e.data)})` : ''}`, schemaHint);
  }
}

/**
 * Keep the errors that say something: drop the branch noise of anyOf. ajv reports an anyOf's
 * branch errors just before the anyOf error itself, so the errors it claims are the ones at the
 * end of those not yet claimed: one pass over the list, however many errors there are.
 */
function shapeErrors(errors: ErrorObject[]): ErrorObject[] {
  const pending: ErrorObject[] = [];
  const out: ErrorObject[] = [];
  for (const e of errors) {
    if (e.keyword !== 'anyOf') {
      pending.push(e);
      continue;
    }
    const branch: ErrorObject[] = [];
    const inside = (b: ErrorObject) =>
      b.schemaPath.startsWith(e.schemaPath + '/') && (b.instancePath === e.instancePath || b.instancePath.startsWith(e.instancePath + '/'));
    while (pending.length && inside(pending[pending.length - 1]!)) branch.push(pending.pop()!);
    branch.reverse();
    const meaningful = branch.filter((b) => !['type', 'const', 'enum'].includes(b.keyword) && !(b.keyword === 'pattern' && b.instancePath === e.instancePath));
    for (const m of meaningful.length ? meaningful : [e]) out.push(m);
  }
  for (const e of pending) out.push(e);
  return out;
}

function article(type: string): string {
  return { object: 'a map', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false' }[type] ?? type;
}

function describe(v: unknown): string {
  if (v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${quoted(v)}`;
}

/** The known word closest to a typo, if it is close enough to be a likely intent. */
