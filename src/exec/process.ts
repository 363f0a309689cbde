// Process starts for node agents, on node:child_process alone (agents start in a fraction of the
// CLI's time, and inside the kernel VM every module loaded counts). With host.ts this is the only
// module that starts processes: commands run synchronously (a kube-proxy sync), asynchronously
// with a deadline (a readiness probe), or detached (an agent daemonizing itself).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Command } from '../kernel/command.js';

export interface Ran {
  /** The exit code; -1 when the program could not start or was killed. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion, blocking: a sync must finish before the next one is computed. */
export function runSync(cmd: Command): Ran {
  const r = spawnSync(cmd.file, cmd.args, { input: cmd.input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? r.error.message : '') };
}

/** Run a command, killing it (SIGKILL) after `timeoutMs`. Never rejects. */
export function runAsync(cmd: Command, timeoutMs: number): Promise<Ran> {
  return new Promise((res) => {
    const child = spawn(cmd.file, cmd.args, { stdio: [cmd.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // A program that exits without reading its input closes the pipe: that is its business, not a crash.
    child.stdin?.on('error', () => {});
    if (cmd.input !== undefined) child.stdin!.end(cmd.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, stdout, stderr });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      res({ code: -1, stdout, stderr: e.message });
    });
  });
}

/**
 * Start this Node.js with `args` in its own session (not killed with the shell or the
 * `ip netns exec` that started it), stdout and stderr to `logFd`, and fd 3 a pipe back to us.
 */
export function startDetached(args: string[], logFd: number): ChildProcess {
  return spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd, 'pipe'] });
}
