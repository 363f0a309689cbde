// An instance is one running copy of a lab. `--prefix` lets the same lab run twice side by side:
// its namespaces become "<prefix>-<name>" and its record "<prefix>-<lab>". Interface names stay as
// written (they are scoped by their namespace), so tutorials keep the seed's names.

import { join } from 'node:path';
import { InputError } from '../labfile/diagnostics.js';

export const DEFAULT_STATE_ROOT = '/run/knetlab';
const PREFIX_RE = /^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/;

export interface Instance {
  lab: string;
  /** Unique key of this running copy: the lab name, or "<prefix>-<lab>". */
  name: string;
  prefix: string;
  /** Where this instance's files live (server configs, pid files, logs). */
  dir: string;
  /** The real namespace name for a namespace as written in the lab. */
  netns(name: string): string;
}

export function stateRoot(): string {
  return process.env.KNETLAB_STATE_DIR || DEFAULT_STATE_ROOT;
}

export function validatePrefix(prefix: string): void {
  if (prefix !== '' && !PREFIX_RE.test(prefix)) {
    throw new InputError(`invalid --prefix "${prefix}"`, ['  hint: use 1-12 lowercase letters, digits and dashes, e.g. --prefix ci1']);
  }
}

export function instanceName(lab: string, prefix: string): string {
  return prefix ? `${prefix}-${lab}` : lab;
}

export function makeInstance(lab: string, prefix = '', root = stateRoot()): Instance {
  validatePrefix(prefix);
  const name = instanceName(lab, prefix);
  return {
    lab,
    name,
    prefix,
    dir: join(root, 'labs', name),
    netns: (ns) => (prefix ? `${prefix}-${ns}` : ns),
  };
}

/** A node's own files (subnet.env, configs, logs) live under the instance folder, never in /run/flannel or /etc. */
export const nodeDir = (inst: Instance, node: string): string => join(inst.dir, node);
