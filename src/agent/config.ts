// An agent's JSON configuration, read once at start: every key known, every value checked, each
// problem a one-line reason naming the file and the key (the launcher prints it and exits 1).

import { isAbsolute } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseIPv4 } from '../labfile/net.js';

/** How a value is checked. Anything more specific is checked by the agent after reading. */
export type Field = 'path' | 'name' | 'ifname' | 'port' | 'ipv4' | 'json';

const CHECKS: Record<Field, { ok(v: unknown): boolean; must: string }> = {
  path: { ok: (v) => typeof v === 'string' && isAbsolute(v), must: 'must be an absolute path' },
  name: { ok: (v) => typeof v === 'string' && v !== '', must: 'must be a non-empty name' },
  ifname: { ok: (v) => typeof v === 'string' && /^[^\s/:]{1,15}$/.test(v), must: 'must be an interface name of 1-15 characters' },
  port: { ok: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535, must: 'must be an integer 1-65535' },
  ipv4: { ok: (v) => typeof v === 'string' && parseIPv4(v) !== undefined, must: 'must be an IPv4 address' },
  json: { ok: () => true, must: '' },
};

/** Read `file` as a JSON object with exactly these keys. Throws with a one-line reason. */
export function readConfig<K extends string>(file: string, fields: Record<K, Field>): Record<K, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code ? `cannot read ${file}: ${err.code}` : `${file} is not valid JSON: ${err.message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: expected a JSON object`);
  const c = raw as Record<string, unknown>;
  const keys = Object.keys(fields) as K[];
  for (const k of Object.keys(c)) if (!(keys as string[]).includes(k)) throw new Error(`${file}: unknown key "${k}" (expected ${keys.join(', ')})`);
  for (const k of keys) {
    if (c[k] === undefined) throw new Error(`${file}: missing "${k}"`);
    const check = CHECKS[fields[k]];
    if (!check.ok(c[k])) throw new Error(`${file}: "${k}" ${check.must}${fields[k] === 'ipv4' ? `, got ${JSON.stringify(c[k])}` : ''}`);
  }
  return c as Record<K, unknown>;
}
