// The ownership record: what a lab instance created, written before each next step, so that a
// failed or killed `up` can always be undone, and so that `down` only ever removes what this
// record says is ours. Files are root-only (0600 in a 0700 directory).

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../kernel/command.js';

export interface NetnsEntry {
  name: string;
  /** "dev:ino" of /run/netns/NAME once created; null while creation is under way. */
  id: string | null;
}

export interface ProcessEntry {
  name: string;
  netns: string;
  pidfile: string;
  /** PID and start time once the process is known; null while it is being started. */
  pid: number | null;
  start: string | null;
}

export interface LabRecord {
  version: 1;
  instance: string;
  lab: string;
  labFile: string;
  prefix: string;
  /** Files this instance owns (server configs, PID files) live here. */
  dir: string;
  status: 'creating' | 'up' | 'failed' | 'removing';
  createdAt: string;
  pid: number;
  namespaces: NetnsEntry[];
  processes: ProcessEntry[];
  /** Commands that undo what a plugin did (CNI DEL), run on teardown before the namespaces go. */
  cleanups?: Command[];
}

export class RecordStore {
  constructor(readonly root: string) {}

  private get dir(): string {
    return join(this.root, 'records');
  }

  path(instance: string): string {
    return join(this.dir, `${instance}.json`);
  }

  ensure(): void {
    // Records and locks are root's alone. The lab folders may be searched (not listed) by
    // others: nginx workers run as nobody and stat a pod's readiness flag in <lab>/unready/.
    for (const [d, mode] of [
      [this.root, 0o711],
      [this.dir, 0o700],
      [join(this.root, 'labs'), 0o711],
      [join(this.root, 'locks'), 0o700],
    ] as const) {
      mkdirSync(d, { recursive: true, mode });
      chmodSync(d, mode);
    }
  }

  load(instance: string): LabRecord | null {
    try {
      return JSON.parse(readFileSync(this.path(instance), 'utf8')) as LabRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /** Atomic replace: a reader (or a crash) never sees half a record. */
  save(rec: LabRecord): void {
    this.ensure();
    const tmp = `${this.path(rec.instance)}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.path(rec.instance));
  }

  remove(instance: string): void {
    rmSync(this.path(instance), { force: true });
  }

  list(): LabRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    return names
      .map((f) => this.load(f.slice(0, -'.json'.length)))
      .filter((r): r is LabRecord => r !== null)
      .sort((a, b) => a.instance.localeCompare(b.instance));
  }

  /** The instance whose record owns a namespace name, if any. */
  ownerOf(netns: string): LabRecord | null {
    return this.list().find((r) => r.namespaces.some((n) => n.name === netns)) ?? null;
  }
}
