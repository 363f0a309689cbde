// One command at a time per lab instance. The lock file is created with O_EXCL and names its
// holder by PID and start time; a lock whose holder is gone (killed with SIGKILL mid-`up`) is
// taken over, so `down` can always clean up after a crash.

import { openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { KnetlabError } from '../labfile/diagnostics.js';
import type { Host } from '../exec/host.js';

interface Holder {
  pid: number;
  start: string;
  command: string;
}

export class Lock {
  private constructor(private readonly path: string) {}

  static acquire(root: string, instance: string, host: Host, command: string): Lock {
    const path = join(root, 'locks', `${instance}.lock`);
    const me = host.process(process.pid);
    const holder: Holder = { pid: process.pid, start: me?.start ?? '', command };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, JSON.stringify(holder));
        closeSync(fd);
        return new Lock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let other: Holder | null = null;
      try {
        other = JSON.parse(readFileSync(path, 'utf8')) as Holder;
      } catch {
        // Unreadable or half-written: treat as stale only if it stays that way.
      }
      const alive = other && host.process(other.pid);
      if (other && alive && alive.start === other.start) {
        throw new KnetlabError(`lab ${instance} is busy: "knetlab ${other.command}" (pid ${other.pid}) is changing it`, 1, [
          '  hint: wait for that command to finish, then try again',
        ]);
      }
      // The holder is gone: the lock is stale. Remove it and try again.
      rmSync(path, { force: true });
    }
    throw new KnetlabError(`could not take the lock for lab ${instance}`, 1, [`  hint: another knetlab keeps taking it; check ${path}`]);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}
