// Finding labs: LAB on the command line is a name from the labs/ folder, a lab folder, a
// lab.yaml, or a folder of labs (so `knetlab run labs` runs them all).

import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../labfile/diagnostics.js';
import { labsDir } from '../exec/install.js';

export function shippedLabs(): string[] {
  return labsIn(labsDir());
}

function labsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .sort()
      .map((d) => join(dir, d, 'lab.yaml'))
      .filter((f) => existsSync(f));
  } catch {
    return [];
  }
}

/** Resolve one LAB argument to one or more lab files. */
export function resolveLabArg(arg: string, { many = false } = {}): string[] {
  const candidates = [arg, join(labsDir(), arg)];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    if (statSync(c).isFile()) return [resolve(c)];
    if (existsSync(join(c, 'lab.yaml'))) return [resolve(c, 'lab.yaml')];
    const inside = labsIn(c);
    if (inside.length && many) return inside.map((f) => resolve(f));
    if (inside.length)
      throw new InputError(`${arg} is a folder of ${inside.length} labs; name one of them`, [`  hint: ${inside.map((f) => basename(dirname(f))).join(', ')}`]);
  }
  const known = shippedLabs().map((f) => basename(dirname(f)));
  throw new InputError(`no lab named "${arg}"`, [`  hint: labs: ${known.join(', ') || '(none)'}; or give a path to a lab folder or lab.yaml`]);
}
