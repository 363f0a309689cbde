// Where knetlab is installed: the package root (found by walking up from this module to the
// package.json that names knetlab, so it holds for the compiled bundle and the sources alike),
// the shipped labs, and the entry point node agents run from.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): { root: string; version: string } {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const p = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
        if (p.name === 'knetlab') return { root: dir, version: String(p.version) };
      } catch {
        /* not ours */
      }
    }
    if (dirname(dir) === dir) throw new Error(`knetlab's package.json was not found above ${from}`);
  }
}

let found: { root: string; version: string } | undefined;
/** Found on first use, so importing this module touches no file. */
const installed = () => (found ??= findRoot(dirname(fileURLToPath(import.meta.url))));

export const packageRoot = (): string => installed().root;
/** Given to yargs: bundled, its own search for package.json starts from the current folder. */
export const packageVersion = (): string => installed().version;
export const labsDir = (): string => join(packageRoot(), 'labs');
/** `node agentEntry() NAME --config FILE` runs one node agent (src/cli/agent.ts, built). */
export const agentEntry = (): string => join(packageRoot(), 'dist', 'agent.js');
/** The knetlab command itself ("{knetlab}" in a lab's exec step: a step that drives the running lab, e.g. apply --proxy-mode). */
export const knetlabEntry = (): string => join(packageRoot(), 'bin', 'knetlab.js');
