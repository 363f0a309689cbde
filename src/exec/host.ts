// The one place that touches the machine: spawning processes (through execa), and reading the
// few kernel facts the ownership rules need (namespace identity, process identity). Everything
// else receives a Host, so tests can substitute a recording one.

import { accessSync, constants, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Command } from '../kernel/command.js';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ProcessInfo {
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): with the PID, a process identity. */
  start: string;
  /** Inode of the network namespace it is in, as "net:[N]". */
  netns: string | null;
}

export interface Host {
  run(cmd: Command, opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** Identity of a named network namespace ("dev:ino" of /run/netns/NAME), or null if absent. */
  netnsId(name: string): string | null;
  process(pid: number): ProcessInfo | null;
  /** Every process whose network namespace is one of these ("net:[N]"), as `ip netns pids` finds them. */
  pidsInNetns(inodes: Set<string>): number[];
  kill(pid: number, signal: NodeJS.Signals): boolean;
  readFile(path: string): string | null;
  hasCommand(name: string): boolean;
  /** A file that is not a program exists and can be read (an nginx module). */
  hasFile(path: string): boolean;
  /** Run with the terminal attached (knetlab exec); returns the exit code. */
  interactive(cmd: Command): Promise<number>;
  /**
   * Start a command that runs until stopped (a capture). Resolves once `ready` appears on its
   * stderr, or it exits, or `timeoutMs` passes; stop() interrupts it (SIGINT) and returns its output.
   */
  start(cmd: Command, ready: string, timeoutMs: number): Promise<Running>;
}

export interface Running {
  stop(): Promise<RunResult>;
}

export const NETNS_DIR = '/run/netns';

// execa is loaded by the first command run, not by every CLI start (`status` never needs it).
let execaModule: Promise<typeof import('execa')> | undefined;
const loadExeca = () => (execaModule ??= import('execa'));

export class LocalHost implements Host {
  async run(cmd: Command, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    const { execa } = await loadExeca();
    const r = await execa(cmd.file, cmd.args, {
      ...(cmd.input === undefined ? { stdin: 'ignore' as const } : { input: cmd.input }),
      reject: false,
      stripFinalNewline: false,
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
      env: { LC_ALL: 'C' },
    });
    if (r.failed && r.exitCode === undefined && !r.timedOut) {
      // The program could not be started at all (ENOENT and the like).
      return { exitCode: 127, stdout: '', stderr: r.message ?? 'could not start ' + cmd.file, timedOut: false };
    }
    const stdout = String(r.stdout ?? '');
    if (cmd.stdoutTo && r.exitCode === 0) writeFileSync(cmd.stdoutTo, stdout, { mode: 0o600 });
    return { exitCode: r.exitCode ?? 1, stdout, stderr: String(r.stderr ?? ''), timedOut: r.timedOut };
  }

  netnsId(name: string): string | null {
    try {
      const st = statSync(join(NETNS_DIR, name));
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  }

  process(pid: number): ProcessInfo | null {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces) start after the last ")".
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') return null; // a zombie is already dead
      let netns: string | null = null;
      try {
        netns = readlinkSync(`/proc/${pid}/ns/net`);
      } catch {
        /* not readable */
      }
      return { start: fields[19] ?? '', netns };
    } catch {
      return null;
    }
  }

  pidsInNetns(inodes: Set<string>): number[] {
    const pids: number[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (inodes.has(readlinkSync(`/proc/${d}/ns/net`))) pids.push(Number(d));
      } catch {
        /* exited, or a kernel thread */
      }
    }
    return pids;
  }

  kill(pid: number, signal: NodeJS.Signals): boolean {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  readFile(path: string): string | null {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  }

  async start(cmd: Command, ready: string, timeoutMs: number): Promise<Running> {
    const { execa } = await loadExeca();
    const sub = execa(cmd.file, cmd.args, { stdin: 'ignore', reject: false, env: { LC_ALL: 'C' }, forceKillAfterDelay: 2000 });
    await new Promise<void>((resolve) => {
      let seen = '';
      const timer = setTimeout(resolve, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      sub.stderr?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes(ready)) done();
      });
      sub.once('exit', done);
    });
    return {
      stop: async () => {
        sub.kill('SIGINT');
        const r = await sub;
        return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), timedOut: false };
      },
    };
  }

  async interactive(cmd: Command): Promise<number> {
    const { execa } = await loadExeca();
    const r = await execa(cmd.file, cmd.args, { stdio: 'inherit', reject: false });
    return r.exitCode ?? 1;
  }

  hasFile(path: string): boolean {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }

  hasCommand(name: string): boolean {
    if (name.startsWith('/')) {
      try {
        accessSync(name, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }
    for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return true;
      } catch {
        /* next */
      }
    }
    return false;
  }
}

/** The network namespace inode of a named namespace, as /proc/PID/ns/net shows it. */
export function netnsInode(id: string | null): string | null {
  return id ? `net:[${id.split(':')[1]}]` : null;
}
