// The running lab's API contents on disk: <instance dir>/cluster/state.json (api/objects.ts StateFile).
// Several writers take turns (`knetlab apply`, the control plane's readiness prober) under a
// lock file; readers (each node's kube-proxy and MetalLB speaker) see whole files only, since
// every write is a rename. The generation number tells a reader whether it has seen a version.

import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { StateFile } from '../api/objects.js';

const LOCK_WAIT_MS = 10_000;

export const clusterDir = (instanceDir: string): string => join(instanceDir, 'cluster');
export const stateFilePath = (instanceDir: string): string => join(clusterDir(instanceDir), 'state.json');
/** Each node's kube-proxy writes the generation it last programmed here. */
export const syncedPath = (instanceDir: string, node: string): string => join(clusterDir(instanceDir), `kube-proxy-${node}.synced`);
/**
 * Each node's MetalLB speaker keeps its files under this name: .json (its configuration), .pid,
 * .log, and .status.json (api/objects.ts SpeakerStatus: whom it sees, what it announces).
 */
export const speakerBase = (instanceDir: string, node: string): string => join(clusterDir(instanceDir), `speaker-${node}`);
/** Events (the API server's, the controllers', the kubelet's probes), one JSON object per line. */
export const eventsPath = (instanceDir: string): string => join(clusterDir(instanceDir), 'events.jsonl');

/** The state file, checked as far as its readers rely on it. Throws a one-line reason. */
export function readState(file: string): StateFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseState(text, file);
}

/** The state file's text, checked as readState checks it; `file` names it in the reason thrown. */
/**
 * A running lab's state file read through `read` (a Host's readFile), or null when it is missing
 * or damaged: callers then fall back on what the lab's own files say.
 */
export function runningState(instanceDir: string, read: (file: string) => string | null): StateFile | null {
  const file = stateFilePath(instanceDir);
  const text = read(file);
  if (text === null) return null;
  try {
    return parseState(text, file);
  } catch {
    return null;
  }
}

export function parseState(text: string, file: string): StateFile {
  let s: Partial<StateFile> | null;
  try {
    s = JSON.parse(text) as Partial<StateFile> | null;
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const nodesOk = Array.isArray(s?.nodes) && s.nodes.every((n) => typeof n?.name === 'string' && typeof n.address === 'string');
  if (
    !nodesOk ||
    typeof s?.generation !== 'number' ||
    typeof s.kubeProxy?.mode !== 'string' ||
    !Array.isArray(s.state?.services) ||
    !Array.isArray(s.state.slices) ||
    !Array.isArray(s.state.pods)
  ) {
    throw new Error(
      `${file}: not a state file (expected generation, nodes[] with name and address, kubeProxy, state.pods[], state.services[] and state.slices[])`,
    );
  }
  return s as StateFile;
}

export function writeState(file: string, state: StateFile): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Read, change and write the state under the lock; the new generation is one more than the
 * one read. A lock left by a process that died is taken over.
 */
export async function updateState(file: string, change: (s: StateFile) => StateFile): Promise<StateFile> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = 0;
      try {
        holder = Number(readFileSync(lock, 'utf8'));
      } catch {
        continue; // released between our open and read
      }
      if (holder && !alive(holder)) {
        unlinkSync(lock);
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock} is held by process ${holder}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    const before = readState(file);
    const after = { ...change(before), generation: before.generation + 1 };
    writeState(file, after);
    return after;
  } finally {
    unlinkSync(lock);
  }
}

export function appendEvents(
  instanceDir: string,
  events: { object: string; namespace?: string; type: string; reason: string; message: string; source?: string }[],
): void {
  if (!events.length) return;
  mkdirSync(clusterDir(instanceDir), { recursive: true });
  const at = new Date().toISOString();
  const lines = events.map((e) => JSON.stringify({ at, source: 'knetlab', ...e })).join('\n') + '\n';
  writeFileSync(eventsPath(instanceDir), lines, { flag: 'a', mode: 0o600 });
}

/** The events recorded so far; one without a namespace is of the default namespace. */
export function readEvents(
  instanceDir: string,
): { at: string; object: string; namespace: string; type: string; reason: string; message: string; source: string }[] {
  try {
    return readFileSync(eventsPath(instanceDir), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => ({
        namespace: 'default',
        ...(JSON.parse(l) as { at: string; object: string; type: string; reason: string; message: string; source: string }),
      }));
  } catch {
    return [];
  }
}
