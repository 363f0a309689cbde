// How knetlab's node agents start and stop, the classic way (like nginx): the command the lab
// runs returns only once the agent is ready, or fails with the agent's own one-line reason.
//
//   node dist/agent.js NAME --config FILE               re-run detached with --foreground, output
//                                                       to the log, and wait for "READY" (exit 0)
//                                                       or "ERROR why" (exit 1) on an inherited
//                                                       pipe (fd 3)
//   node dist/agent.js NAME --config FILE --foreground  run in this process, logging to stderr
//
// The pidfile is written (atomically) before READY, so the lab's record always learns the PID
// of the process that is really serving; on SIGTERM the daemon removes its own pidfile only.

import { closeSync, openSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AgentName } from './names.js';
import { startDetached } from '../exec/process.js';

const READY_TIMEOUT_MS = 15_000;

export interface AgentFiles {
  pidfile: string;
  log: string;
}

export interface Agent<C extends AgentFiles> {
  /** The program name used in log lines and errors. */
  prog: string;
  /** Read and check the configuration; throws with a one-line reason. */
  load(file: string): C;
  /**
   * Bind, attach, read state: everything that can fail at start. `run`, if returned, is called
   * once the pidfile is written; `stop` on the way out, with the reason, which it logs (with any
   * final counters).
   */
  start(cfg: C, fatal: (why: string) => void): Promise<{ stop(why: string): void | Promise<void>; run?(): void }>;
  /** How the daemon logs its lifecycle (start failures, the reason it exits); klog lines by default. */
  log?: (level: 'I' | 'W' | 'E', msg: string) => void;
}

/** klog-style lines, like the Kubernetes daemons: "I1122 01:41:05.123456    4242 prog] message". */
export function logger(prog: string): (level: 'I' | 'W' | 'E', msg: string) => void {
  return (level, msg) => {
    const d = new Date();
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    const ts = `${p(d.getMonth() + 1)}${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`;
    try {
      writeSync(2, `${level}${ts} ${String(process.pid).padStart(7)} ${prog}] ${msg}\n`);
    } catch {
      /* nowhere left to complain to */
    }
  };
}

/** Replace a file so that readers see the old or the new content, never half of it. */
export function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

function removePidfile(file: string): void {
  try {
    // Only our own: a second daemon that failed to start must not remove the first one's.
    if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
  } catch {
    /* already gone */
  }
}

async function runForeground<C extends AgentFiles>(d: Agent<C>, configFile: string, readyFd: number | null): Promise<void> {
  const log = d.log ?? logger(d.prog);
  let cfg: C | null = null;
  let running: { stop(why: string): void | Promise<void>; run?(): void } | null = null;
  let ready = false;
  let exiting = false;
  const exit = async (code: number, why: string) => {
    if (exiting) return;
    exiting = true;
    if (!running) log(code === 0 ? 'I' : 'E', why);
    if (!ready && readyFd !== null) {
      try {
        writeSync(readyFd, `ERROR ${why.split('\n')[0]}\n`);
      } catch {
        /* the launcher is gone */
      }
    }
    try {
      await running?.stop(why);
    } catch {
      log(code === 0 ? 'I' : 'E', why); // exiting anyway
    }
    if (ready && cfg) removePidfile(cfg.pidfile);
    process.exit(code);
  };
  process.on('SIGTERM', () => void exit(0, 'exiting on SIGTERM'));
  process.on('SIGINT', () => void exit(0, 'exiting on SIGINT'));
  // Detached from any terminal: a hang-up means nothing to us.
  process.on('SIGHUP', () => log('W', 'SIGHUP ignored'));
  process.on('uncaughtException', (e) => void exit(1, `internal error: ${e.stack ?? e.message}`));
  // A daemon pins no directory (the launcher's may be a mount that goes away).
  if (readyFd !== null) process.chdir('/');
  try {
    cfg = d.load(configFile);
    running = await d.start(cfg, (why) => void exit(1, why));
    try {
      writeAtomic(cfg.pidfile, `${process.pid}\n`);
    } catch (e) {
      throw new Error(`cannot write pidfile ${cfg.pidfile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    ready = true;
  } catch (e) {
    await exit(1, (e as Error).message);
    return;
  }
  running.run?.();
  if (readyFd !== null) {
    writeSync(readyFd, 'READY\n');
    closeSync(readyFd);
  }
}

async function launch<C extends AgentFiles>(name: AgentName, d: Agent<C>, configFile: string): Promise<void> {
  const cfg = d.load(configFile); // fail here, before any process exists
  let logFd: number;
  try {
    logFd = openSync(cfg.log, 'a');
  } catch (e) {
    throw new Error(`cannot open log ${cfg.log}: ${(e as NodeJS.ErrnoException).code}`);
  }
  // The same entry point this process was started from (dist/agent.js, or a test's own).
  const entry = realpathSync(process.argv[1]!);
  const child = startDetached([entry, name, '--config', configFile, '--foreground', '--ready-fd', '3'], logFd);
  closeSync(logFd);
  // The pipe ends when the child closes fd 3: after READY, or by exiting, however it exits.
  const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  let said = '';
  pipe.setEncoding('utf8');
  pipe.on('data', (s: string) => (said += s));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const ended = new Promise<'ended'>((res) => pipe.once('end', () => res('ended')));
  const timedOut = new Promise<'timeout'>((res) => setTimeout(res, READY_TIMEOUT_MS, 'timeout').unref());
  const how = await Promise.race([ended, timedOut]);
  if (how === 'ended' && said.startsWith('READY')) {
    let pid = '';
    try {
      pid = readFileSync(cfg.pidfile, 'utf8').trim();
    } catch {
      /* checked below */
    }
    if (pid === String(child.pid)) {
      child.unref();
      pipe.destroy();
      return;
    }
    said = `ERROR the daemon said it was ready but ${cfg.pidfile} does not hold its pid ${child.pid}`;
  }
  // Not ready: make sure nothing is left behind, then say why.
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
  throw new Error(
    said.startsWith('ERROR ')
      ? said.slice(6).trim()
      : how === 'timeout'
        ? `the daemon was not ready after ${READY_TIMEOUT_MS / 1000} s (see ${cfg.log})`
        : `the daemon exited before it was ready (see ${cfg.log})`,
  );
}

/** An agent's main(): parse its command line, then launch it or run it in the foreground. */
export async function runAgent<C extends AgentFiles>(name: AgentName, d: Agent<C>, argv: string[]): Promise<void> {
  const usage = (): never => {
    process.stderr.write(`usage: agent.js ${name} --config FILE [--foreground]\n`);
    process.exit(2);
  };
  let config: string | undefined;
  let foreground = false;
  let readyFd: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config') config = argv[++i];
    else if (a === '--foreground') foreground = true;
    else if (a === '--ready-fd') readyFd = Number(argv[++i]);
    else usage();
  }
  if (!config) return usage();
  config = resolve(config);
  if (foreground) return runForeground(d, config, readyFd);
  try {
    await launch(name, d, config);
    process.exitCode = 0;
  } catch (e) {
    process.stderr.write(`${d.prog}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
