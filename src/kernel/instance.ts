// An instance is one running copy of a lab. `--prefix` lets the same lab run twice side by side:
// its namespaces become "<prefix>-<name>" and its record "<prefix>-<lab>". Interface names stay as
// written (they are scoped by their namespace), so tutorials keep the seed's names.

import { join } from 'node:path';
import { InputError, printable } from '../labfile/diagnostics.js';
import type { Lab } from '../labfile/types.js';

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

/** iproute2 keeps a named namespace as a file in /run/netns: the name is at most NAME_MAX bytes. */
export const NETNS_NAME_MAX = 255;

/**
 * Every namespace of the lab, with the prefix, must be a name `ip netns add` takes. A pod's name
 * (up to 253 characters in Kubernetes) plus "<prefix>-" can be too long: refuse before anything
 * is created, naming the pod.
 */
export function checkNetnsNames(lab: Lab, inst: Instance): void {
  const pods = new Set(lab.cluster?.nodes.flatMap((n) => n.pods.map((p) => p.name)) ?? []);
  const long = lab.namespaces.filter((ns) => Buffer.byteLength(inst.netns(ns.name)) > NETNS_NAME_MAX);
  if (!long.length) return;
  const what = (name: string) => `${pods.has(name) ? 'pod' : 'namespace'} "${printable(name, 60)}"`;
  throw new InputError(`${long.length} namespace name${long.length === 1 ? ' is' : 's are'} too long${inst.prefix ? ` with --prefix ${inst.prefix}` : ''}`, [
    ...long
      .slice(0, 10)
      .map(
        (ns) =>
          `  ${what(ns.name)} becomes network namespace "${printable(inst.netns(ns.name), 40)}" of ${Buffer.byteLength(inst.netns(ns.name))} bytes; ip netns names are at most ${NETNS_NAME_MAX}`,
      ),
    ...(long.length > 10 ? [`  …and ${long.length - 10} more`] : []),
    `  hint: shorten the name${inst.prefix ? ` to at most ${NETNS_NAME_MAX - inst.prefix.length - 1} characters, or use a shorter --prefix` : ''}`,
  ]);
}
