// What agents that follow the API share: watch the state file (replaced by rename, so its folder
// is watched, with a poll in case an event is missed), and call `sync` with each new generation.
// kube-proxy reports the generation it programmed through `syncedFile`, so `knetlab apply`
// returns only once every node has caught up.

import { statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { StateFile } from '../api/objects.js';
import { readState } from '../k8s/store.js';
import { writeAtomic } from './runtime.js';

export interface StateWatch {
  /** The state last read. */
  readonly state: StateFile;
  /** When the last sync succeeded, and since when a newer generation has waited for one (null: none). */
  readonly lastSynced: Date | null;
  readonly pendingSince: Date | null;
  /** The generation last synced; -1 until a sync succeeds. */
  synced(): number;
  /** Sync the current state again now, whatever its generation (a full resync). */
  resync(): void;
  stop(): void;
}

export interface WatchOptions {
  stateFile: string;
  /** Apply this state; false when it could not be applied (it is tried again on the next change or poll). */
  sync(state: StateFile): boolean;
  /** Where to write the generation last synced. */
  syncedFile?: string;
  pollMs?: number;
  /**
   * The least time between two syncs (kube-proxy's minSyncPeriod, read at each change): a change
   * that comes sooner waits for the rest of it, and changes meanwhile are synced together.
   */
  minIntervalMs?: () => number;
  warn(msg: string): void;
}

/**
 * Read the state (throwing if it cannot be read: an agent fails at start), sync it once, then
 * follow it. The first sync's result is the caller's to judge through `synced()`.
 */
export function watchState(opts: WatchOptions): StateWatch {
  let state = readState(opts.stateFile);
  let synced = -1;
  let lastSynced: Date | null = null;
  let pendingSince: Date | null = null;
  let complaint = '';
  let lastAttempt = -Infinity;
  let deferred: NodeJS.Timeout | null = null;
  let deferredForce = false;
  /** The file's identity when last read: an unchanged file is not read and parsed again. */
  let readStamp = stampOf(opts.stateFile);
  /** Read the file now and sync if its generation is new (or always, with force). */
  const poke = (force = false) => {
    if (deferred) {
      deferredForce ||= force;
      return;
    }
    const wait = lastAttempt + (opts.minIntervalMs?.() ?? 0) - performance.now();
    if (wait > 0) {
      deferredForce = force;
      deferred = setTimeout(() => {
        deferred = null;
        poke(deferredForce);
      }, wait);
      return;
    }
    // Polls and folder events (other agents' logs and pidfiles share the folder) come far more
    // often than new generations; a big state file costs milliseconds to parse, a stall every
    // agent's work (a DNS server's replies) would wait behind. Writers replace the file by
    // rename, so a new version is a new inode; a file edited in place changes size or mtime.
    const stamp = stampOf(opts.stateFile);
    if (force || stamp === null || stamp !== readStamp) {
      try {
        state = readState(opts.stateFile);
        complaint = '';
      } catch (e) {
        // Once per problem, not once per poll.
        if ((e as Error).message !== complaint) opts.warn((complaint = (e as Error).message));
        readStamp = stamp;
        return;
      }
      readStamp = stamp;
    } else if (complaint) return;
    if (!force && state.generation === synced) return;
    pendingSince ??= new Date();
    lastAttempt = performance.now();
    if (!opts.sync(state)) return;
    synced = state.generation;
    lastSynced = new Date();
    pendingSince = null;
    if (opts.syncedFile) writeAtomic(opts.syncedFile, `${synced}\n`);
  };
  poke(true);
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(opts.stateFile), () => poke());
    watcher.on('error', (e) => {
      opts.warn(`watching ${dirname(opts.stateFile)} failed (${e.message}); polling only`);
      watcher?.close();
      watcher = null;
    });
  } catch (e) {
    opts.warn(`cannot watch ${dirname(opts.stateFile)}: ${(e as Error).message}; polling only`);
  }
  const poll = setInterval(() => poke(), opts.pollMs ?? 1000);
  return {
    get state() {
      return state;
    },
    get lastSynced() {
      return lastSynced;
    },
    get pendingSince() {
      return pendingSince;
    },
    synced: () => synced,
    resync: () => poke(true),
    stop() {
      clearInterval(poll);
      if (deferred) clearTimeout(deferred);
      watcher?.close();
    },
  };
}

/** The file's inode, size and times, or null when it cannot be stat'ed (then it is read, and fails). */
function stampOf(file: string): string | null {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}
