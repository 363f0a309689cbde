// Applying a plan and tearing it down. The only place where plans have effects, always through
// an injected Host, always recording what was created before running the next action.

import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { KnetlabError } from '../labfile/diagnostics.js';
import type { Lab } from '../labfile/types.js';
import type { Host } from '../exec/host.js';
import { netnsInode } from '../exec/host.js';
import { renderCommand, type Command } from '../kernel/command.js';
import { lowerPlan, type Action, type LoweredPhase } from '../kernel/lower.js';
import type { Instance } from '../kernel/instance.js';
import { planLab } from '../plan/topology.js';
import { Lock } from './lock.js';
import type { LabRecord, ProcessEntry, RecordStore } from './record.js';
import { hasTool, requiredTools } from './tools.js';

export interface Progress {
  phase(index: number, total: number, title: string): void;
  done(message: string): void;
  fail(message: string): void;
}

export const silentProgress: Progress = { phase() {}, done() {}, fail() {} };

/** A step failed: the command, what it said, and where in a batch payload it broke. */
export class StepError extends KnetlabError {
  constructor(action: Action, stderr: string, exitCode: number) {
    super(`step failed: ${action.label} (exit ${exitCode})`, 1, stepDetails(action.command, stderr));
    this.name = 'StepError';
  }
}

function stepDetails(cmd: Command, stderr: string): string[] {
  const out = [
    '  command:',
    ...renderCommand(cmd)
      .split('\n')
      .map((l) => '    ' + l),
  ];
  const said = stderr.trim();
  if (said) out.push('  it said:', ...said.split('\n').map((l) => '    ' + l));
  // ip -batch reports "Command failed -:N"; iptables-restore "line N failed": show the lines around N.
  const m = /Command failed -:(\d+)|line (\d+) failed/.exec(stderr);
  if (m && cmd.input) {
    const n = Number(m[1] ?? m[2]);
    const lines = cmd.input.split('\n');
    out.push(`  payload around line ${n}:`);
    for (let i = Math.max(1, n - 2); i <= Math.min(lines.length, n + 2); i++) out.push(`  ${i === n ? '>' : ' '} ${String(i).padStart(4)}  ${lines[i - 1]}`);
  }
  return out;
}

const CONCURRENCY = 8;

export interface UpOptions {
  host: Host;
  store: RecordStore;
  progress?: Progress;
}

export async function up(lab: Lab, inst: Instance, opts: UpOptions): Promise<LabRecord> {
  const { host, store } = opts;
  const progress = opts.progress ?? silentProgress;
  const phases = lowerPlan(planLab(lab, inst)).filter((p) => !p.readOnly);
  store.ensure();
  const lock = Lock.acquire(store.root, inst.name, host, `up ${lab.name}`);
  try {
    preflight(lab, inst, host, store);
    const rec: LabRecord = {
      version: 1,
      instance: inst.name,
      lab: lab.name,
      labFile: lab.file,
      prefix: inst.prefix,
      dir: inst.dir,
      status: 'creating',
      createdAt: new Date().toISOString(),
      pid: process.pid,
      namespaces: [],
      processes: [],
    };
    store.save(rec);
    mkdirSync(inst.dir, { recursive: true, mode: 0o711 });
    chmodSync(inst.dir, 0o711); // see RecordStore.ensure
    try {
      for (const [i, phase] of phases.entries()) {
        progress.phase(i + 1, phases.length, phase.title);
        await runPhase(phase, rec, host, store);
      }
      rec.status = 'up';
      store.save(rec);
      return rec;
    } catch (e) {
      rec.status = 'failed';
      store.save(rec);
      progress.fail(`${lab.name}: ${(e as Error).message}; rolling back`);
      await teardown(rec, host, store);
      throw e;
    }
  } finally {
    lock.release();
  }
}

/** Refuse before touching anything: tools missing, already up, or a name taken by someone else. */
function preflight(lab: Lab, inst: Instance, host: Host, store: RecordStore): void {
  const missing = requiredTools(lab).filter((t) => !hasTool(host, t));
  if (missing.length) {
    throw new KnetlabError(`cannot bring up ${lab.name}: missing ${missing.map((t) => t.command).join(', ')}`, 1, [
      `  hint: apt-get install ${[...new Set(missing.map((t) => t.pkg))].join(' ')} (or run scripts/setup.sh); "knetlab doctor" lists everything`,
    ]);
  }
  const existing = store.load(inst.name);
  if (existing) {
    throw new KnetlabError(`lab ${inst.name} is already ${existing.status === 'up' ? 'up' : `recorded (${existing.status})`}`, 1, [
      `  hint: run "knetlab down ${lab.name}${inst.prefix ? ` --prefix ${inst.prefix}` : ''}" first, or use --prefix to run a second copy`,
    ]);
  }
  for (const ns of lab.namespaces) {
    const name = inst.netns(ns.name);
    if (host.netnsId(name) === null) continue;
    const owner = store.ownerOf(name);
    throw new KnetlabError(
      owner
        ? `namespace ${name} belongs to lab ${owner.instance}, which is ${owner.status}`
        : `namespace ${name} already exists and was not created by knetlab; knetlab never touches it`,
      1,
      [
        owner
          ? `  hint: run "knetlab down ${owner.instance}" or use --prefix`
          : `  hint: use --prefix to give this lab's namespaces other names, or remove ${name} yourself if you know it is unused`,
      ],
    );
  }
}

async function runPhase(phase: LoweredPhase, rec: LabRecord, host: Host, store: RecordStore): Promise<void> {
  // Actions between barriers are independent and run a few at a time; a barrier runs alone.
  const segments: Action[][] = [];
  for (const a of phase.actions) {
    if (a.barrier || segments.length === 0 || segments.at(-1)![0]!.barrier) segments.push([a]);
    else segments.at(-1)!.push(a);
  }
  for (const actions of segments) {
    let next = 0;
    let failure: unknown = null;
    const worker = async () => {
      while (failure === null && next < actions.length) {
        const action = actions[next++]!;
        try {
          await runAction(action, rec, host, store);
        } catch (e) {
          failure ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(phase.sequential ? 1 : CONCURRENCY, actions.length) }, worker));
    if (failure !== null) throw failure;
  }
}

async function runAction(action: Action, rec: LabRecord, host: Host, store: RecordStore): Promise<void> {
  const claim = action.claim;
  // Record the intent first: if we are killed during the command, down still knows.
  if (claim?.kind === 'netns') {
    rec.namespaces.push(...claim.names.map((name) => ({ name, id: null })));
    store.save(rec);
  } else if (claim?.kind === 'process') {
    rec.processes.push(...claim.processes.map((p) => ({ name: p.name, netns: p.netns, pidfile: p.pidfile, pid: null, start: null })));
    store.save(rec);
  } else if (claim?.kind === 'cleanup') {
    (rec.cleanups ??= []).push(claim.command);
    store.save(rec);
  }
  const r = await host.run(action.command, { timeoutMs: 60_000 });
  if (claim?.kind === 'netns') {
    for (const entry of rec.namespaces) if (claim.names.includes(entry.name)) entry.id = host.netnsId(entry.name);
    store.save(rec);
  } else if (claim?.kind === 'process') {
    for (const c of claim.processes) {
      const entry = rec.processes.find((p) => p.pidfile === c.pidfile)!;
      const pid = readPid(host, c.pidfile);
      const info = pid ? host.process(pid) : null;
      if (pid && info) [entry.pid, entry.start] = [pid, info.start];
    }
    store.save(rec);
  }
  // A step the lab expects the kernel to refuse (a host-gw route to a gateway off-link) goes on.
  const expected = action.command.mayFail !== undefined && (r.stderr + r.stdout).includes(action.command.mayFail);
  if (r.exitCode !== 0 && !expected) throw new StepError(action, r.stderr || r.stdout, r.exitCode);
}

function readPid(host: Host, pidfile: string): number | null {
  const n = Number((host.readFile(pidfile) ?? '').trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}

export interface TeardownReport {
  killed: number;
  namespaces: number;
  skipped: string[];
}

/**
 * Remove what a record owns, in reverse: processes (by recorded PID and start time, or by the PID
 * file we wrote, and only inside our namespaces), then anything still running in our namespaces,
 * then the namespaces. Idempotent: what is already gone is skipped.
 */
export async function teardown(rec: LabRecord, host: Host, store: RecordStore): Promise<TeardownReport> {
  const report: TeardownReport = { killed: 0, namespaces: 0, skipped: [] };
  rec.status = 'removing';
  store.save(rec);
  const ids = new Map(rec.namespaces.map((n) => [n.name, host.netnsId(n.name)]));
  const ours = rec.namespaces.filter((n) => {
    const id = ids.get(n.name)!;
    if (id === null) return false;
    // A null id means we were stopped between creating it and recording it; we had checked
    // the name was free and held the lock, so it is ours.
    if (n.id !== null && n.id !== id) {
      report.skipped.push(`namespace ${n.name} was replaced by another one since knetlab created it; left alone`);
      return false;
    }
    return true;
  });
  const ourInodes = new Set(ours.map((n) => netnsInode(ids.get(n.name)!)));

  // Undo what plugins did, newest first, while the namespaces still exist (CNI DEL for each
  // ADD). DEL is idempotent by the CNI spec; a failure is reported, not fatal.
  if (ours.length)
    for (const cmd of [...(rec.cleanups ?? [])].reverse()) {
      const r = await host.run(cmd, { timeoutMs: 30_000 });
      if (r.exitCode !== 0) report.skipped.push(`${cmd.args.find((a) => a.startsWith('/')) ?? cmd.file} said: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
    }

  const victims = new Set<number>();
  for (const p of rec.processes) {
    const pid = p.pid ?? readPid(host, p.pidfile);
    if (!pid) continue;
    const info = host.process(pid);
    if (!info) continue;
    const sameProcess = p.start !== null ? info.start === p.start : ourInodes.has(info.netns);
    if (sameProcess) victims.add(pid);
    else report.skipped.push(`pid ${pid} is no longer the ${p.name} knetlab started; left alone`);
  }
  // Anything else still running inside our namespaces (a shell from `knetlab exec`, a worker
  // whose master died) would keep the namespace alive: it lives in what we own, so stop it too.
  // (One pass over /proc for all namespaces: what `ip netns pids NAME` does for one.)
  for (const pid of host.pidsInNetns(new Set([...ourInodes].filter((i): i is string => i !== null)))) victims.add(pid);
  report.killed = await stopProcesses([...victims], host);

  if (ours.length) {
    const r = await host.run({ file: 'ip', args: ['-force', '-batch', '-'], input: ours.map((n) => `netns del ${n.name}`).join('\n') + '\n' });
    if (r.exitCode !== 0) {
      const left = ours.filter((n) => host.netnsId(n.name) !== null).map((n) => n.name);
      if (left.length) throw new KnetlabError(`could not delete namespace(s) ${left.join(', ')}`, 1, [`  it said: ${r.stderr.trim()}`]);
    }
    report.namespaces = ours.length;
  }
  rmSync(rec.dir, { recursive: true, force: true });
  store.remove(rec.instance);
  return report;
}

async function stopProcesses(pids: number[], host: Host): Promise<number> {
  const starts = new Map(pids.map((pid) => [pid, host.process(pid)?.start]));
  const alive = () =>
    pids.filter((pid) => {
      const info = host.process(pid);
      return info !== null && info.start === starts.get(pid);
    });
  for (const pid of pids) host.kill(pid, 'SIGTERM');
  for (let i = 0; i < 40 && alive().length; i++) await new Promise((r) => setTimeout(r, 50));
  for (const pid of alive()) host.kill(pid, 'SIGKILL');
  for (let i = 0; i < 40 && alive().length; i++) await new Promise((r) => setTimeout(r, 50));
  return pids.length;
}

export interface DownOptions {
  host: Host;
  store: RecordStore;
}

/** Tear down one instance under its lock. Returns null when there was nothing to do. */
export async function down(instance: string, opts: DownOptions): Promise<TeardownReport | null> {
  const { host, store } = opts;
  store.ensure();
  const lock = Lock.acquire(store.root, instance, host, `down ${instance}`);
  try {
    const rec = store.load(instance);
    if (!rec) return null;
    return await teardown(rec, host, store);
  } finally {
    lock.release();
  }
}

/**
 * Run more phases on a lab that is up (pods created by `knetlab apply`), recording what they
 * create in the same record, so that `down` removes them with the rest. A failure leaves what
 * was created recorded (down removes it) and is reported.
 */
export async function extend(instance: string, phases: LoweredPhase[], opts: DownOptions & { progress?: Progress }): Promise<void> {
  const { host, store } = opts;
  const progress = opts.progress ?? silentProgress;
  const lock = Lock.acquire(store.root, instance, host, `apply to ${instance}`);
  try {
    const rec = store.load(instance);
    if (!rec || rec.status !== 'up') throw new KnetlabError(`lab ${instance} is not up`, 1);
    const todo = phases.filter((p) => !p.readOnly);
    for (const [i, phase] of todo.entries()) {
      progress.phase(i + 1, todo.length, phase.title);
      await runPhase(phase, rec, host, store);
    }
  } finally {
    lock.release();
  }
}

/**
 * Remove some of a running lab's namespaces (pods deleted by `knetlab apply`): stop the
 * processes recorded in them, delete them, and drop them from the record.
 */
export async function removeNamespaces(instance: string, names: string[], opts: DownOptions): Promise<void> {
  const { host, store } = opts;
  if (!names.length) return;
  const lock = Lock.acquire(store.root, instance, host, `apply to ${instance}`);
  try {
    const rec = store.load(instance);
    if (!rec || rec.status !== 'up') throw new KnetlabError(`lab ${instance} is not up`, 1);
    const gone = new Set(names.filter((n) => rec.namespaces.some((e) => e.name === n)));
    const inodes = new Set(
      [...gone]
        .map((n) => host.netnsId(n))
        .filter((id): id is string => id !== null)
        .map((id) => netnsInode(id)),
    );
    const victims = new Set<number>(host.pidsInNetns(new Set([...inodes].filter((i): i is string => i !== null))));
    await stopProcesses([...victims], host);
    const r = await host.run({ file: 'ip', args: ['-force', '-batch', '-'], input: [...gone].map((n) => `netns del ${n}`).join('\n') + '\n' });
    const left = [...gone].filter((n) => host.netnsId(n) !== null);
    if (r.exitCode !== 0 && left.length) throw new KnetlabError(`could not delete namespace(s) ${left.join(', ')}`, 1, [`  it said: ${r.stderr.trim()}`]);
    rec.namespaces = rec.namespaces.filter((e) => !gone.has(e.name));
    rec.processes = rec.processes.filter((p) => !gone.has(p.netns));
    store.save(rec);
  } finally {
    lock.release();
  }
}

/**
 * Stop some of a running lab's recorded processes (kube-proxy, to restart it in another mode)
 * and drop them from the record: only those still the process knetlab started (PID and start
 * time). Returns how many were stopped.
 */
export async function stopRecorded(instance: string, which: (p: ProcessEntry) => boolean, opts: DownOptions): Promise<number> {
  const { host, store } = opts;
  const lock = Lock.acquire(store.root, instance, host, `apply to ${instance}`);
  try {
    const rec = store.load(instance);
    if (!rec || rec.status !== 'up') throw new KnetlabError(`lab ${instance} is not up`, 1);
    const chosen = rec.processes.filter(which);
    const pids: number[] = [];
    for (const p of chosen) {
      const pid = p.pid ?? readPid(host, p.pidfile);
      const info = pid ? host.process(pid) : null;
      if (pid && info && (p.start === null || info.start === p.start)) pids.push(pid);
    }
    await stopProcesses(pids, host);
    rec.processes = rec.processes.filter((p) => !chosen.includes(p));
    store.save(rec);
    return pids.length;
  } finally {
    lock.release();
  }
}
