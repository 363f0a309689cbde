// The recorder: a Host that runs nothing. It logs every command and keeps just enough of a
// model of the machine (namespaces, processes started with PID files, files written) for the
// ownership rules to be exercised without root. Failures can be injected per command.

import type { Command } from '../kernel/command.js';
import type { Host, ProcessInfo, RunResult, Running } from './host.js';

interface FakeProcess {
  netns: string;
  start: string;
}

export class RecordingHost implements Host {
  readonly commands: Command[] = [];
  readonly namespaces = new Map<string, string>();
  readonly processes = new Map<number, FakeProcess>();
  readonly files = new Map<string, string>();
  private nextId = 1000;
  /** Return a result to make a command fail (or do something else); undefined to run it normally. */
  failWhen: (cmd: Command) => RunResult | undefined = () => undefined;
  /** Called before each command runs; lets a test act mid-way (e.g. simulate a crash). */
  beforeRun: (cmd: Command) => void = () => {};

  constructor(readonly missing: string[] = []) {}

  async run(cmd: Command): Promise<RunResult> {
    this.beforeRun(cmd);
    this.commands.push(cmd);
    const injected = this.failWhen(cmd);
    if (injected) return injected;
    const ok = (stdout = ''): RunResult => ({ exitCode: 0, stdout, stderr: '', timedOut: false });
    const fail = (stderr: string): RunResult => ({ exitCode: 1, stdout: '', stderr, timedOut: false });
    const a = cmd.args;
    if (cmd.file === 'ip' && a[0] === 'netns' && a[1] === 'add')
      return this.addNetns(a[2]!) ? ok() : fail(`Cannot create namespace file "/run/netns/${a[2]}": File exists`);
    if (cmd.file === 'ip' && a[0] === 'netns' && a[1] === 'del')
      return this.namespaces.delete(a[2]!) ? ok() : fail(`Cannot remove namespace file "/run/netns/${a[2]}": No such file or directory`);
    if (cmd.file === 'ip' && a[0] === 'netns' && a[1] === 'pids') {
      return ok(
        [...this.processes]
          .filter(([, p]) => p.netns === a[2])
          .map(([pid]) => `${pid}\n`)
          .join(''),
      );
    }
    if (cmd.file === 'ip' && a.includes('-batch') && !a.includes('-n')) {
      for (const line of (cmd.input ?? '').split('\n').filter(Boolean)) {
        const [w1, w2, name] = line.split(' ');
        if (w1 === 'netns' && w2 === 'add' && !this.addNetns(name!))
          return fail(`Cannot create namespace file "/run/netns/${name}": File exists\nCommand failed -:1`);
        if (w1 === 'netns' && w2 === 'del' && !this.namespaces.delete(name!) && !a.includes('-force')) return fail('Command failed -:1');
      }
      return ok();
    }
    if (cmd.file === 'ip' && a[0] === '-n' && !this.namespaces.has(a[1]!)) return fail(`Cannot open network namespace "${a[1]}": No such file or directory`);
    if (cmd.file === 'ip' && a[0] === 'netns' && a[1] === 'exec') {
      if (!this.namespaces.has(a[2]!)) return fail(`Cannot open network namespace "${a[2]}": No such file or directory`);
      const pidfile = this.pidfileOf(a.slice(3));
      if (pidfile !== undefined) {
        const pid = this.nextId++;
        this.processes.set(pid, { netns: a[2]!, start: String(pid * 7) });
        if (pidfile) this.files.set(pidfile, `${pid}\n`);
      }
      return ok();
    }
    if (cmd.file === 'xargs') {
      // xargs -L 1 ... ip netns exec: one "ip netns exec" per input line.
      const fixed = a.slice(a.indexOf('ip'));
      for (const line of (cmd.input ?? '').split('\n').filter(Boolean)) {
        const words = [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
        const r = await this.run({ file: fixed[0]!, args: [...fixed.slice(1), ...words] });
        if (r.exitCode !== 0) return { ...r, exitCode: 123 };
      }
      return ok();
    }
    if (cmd.file === 'tee') this.files.set(a[0]!, cmd.input ?? '');
    if (cmd.stdoutTo) this.files.set(cmd.stdoutTo, '{}\n');
    return ok();
  }

  /** Where a daemon started by a lab writes its PID: nginx -g 'pid X;', bird -P X, flanneld's --config JSON. */
  private pidfileOf(argv: string[]): string | undefined {
    const after = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
    if (argv[0] === 'nginx') return /(?:^|; ?)pid ([^;]+);/.exec(after('-g') ?? '')?.[1] ?? '';
    if (argv[0] === 'bird') return after('-P') ?? '';
    const config = after('--config');
    if (argv[0] === 'node' && config) return (JSON.parse(this.files.get(config) ?? '{}') as { pidfile?: string }).pidfile ?? '';
    return undefined;
  }

  private addNetns(name: string): boolean {
    if (this.namespaces.has(name)) return false;
    this.namespaces.set(name, `4:${this.nextId++}`);
    return true;
  }

  pidsInNetns(inodes: Set<string>): number[] {
    return [...this.processes.keys()].filter((pid) => inodes.has(this.process(pid)!.netns ?? ''));
  }

  netnsId(name: string): string | null {
    return this.namespaces.get(name) ?? null;
  }

  process(pid: number): ProcessInfo | null {
    if (pid === process.pid) return { start: 'self', netns: null };
    const p = this.processes.get(pid);
    return p ? { start: p.start, netns: `net:[${this.namespaces.get(p.netns)?.split(':')[1]}]` } : null;
  }

  kill(pid: number): boolean {
    return this.processes.delete(pid);
  }

  readFile(path: string): string | null {
    return this.files.get(path) ?? null;
  }

  hasCommand(name: string): boolean {
    return !this.missing.includes(name);
  }

  hasFile(path: string): boolean {
    return !this.missing.includes(path);
  }

  async interactive(cmd: Command): Promise<number> {
    this.commands.push(cmd);
    return 0;
  }

  async start(cmd: Command): Promise<Running> {
    this.commands.push(cmd);
    return { stop: async () => this.failWhen(cmd) ?? { exitCode: 0, stdout: '', stderr: '', timedOut: false } };
  }
}
