// Lowering: typed steps → commands. Kernel writes are batched per namespace the way kube-proxy
// batches iptables-restore: all of a phase's ip(8) changes for one namespace go through one
// `ip -n NS -batch -`. Groups of one or two lines are written out as plain commands instead,
// which is what a person would type and keeps short tutorials close to the seeds.

import type { Route } from '../spec/types.js';
import type { Phase, Plan, Step } from '../plan/types.js';
import { argvToShell, type Command } from './command.js';
import { natPayload } from './iptables.js';

/** What an action creates, so the run layer can record it before the next action. */
export interface ProcessClaim {
  netns: string;
  name: string;
  pidfile: string;
}

export type Claim = { kind: 'netns'; names: string[] } | { kind: 'process'; processes: ProcessClaim[] };

export interface Action {
  command: Command;
  /** A one-line description for progress and errors. */
  label: string;
  claim?: Claim;
  /** Shown above the command in tutorials. */
  note?: string;
}

export interface LoweredPhase {
  title: string;
  why: string;
  readOnly: boolean;
  actions: Action[];
}

const BATCH_MIN = 3;
/** From this many servers on, they are started through one xargs instead of one by one. */
const FANOUT_MIN = 8;
const XARGS_PARALLEL = 4;
const ROOT = '';

type IpStep = Extract<Step, { kind: 'netns.add' | 'bridge.add' | 'veth.add' | 'link.set' | 'addr.add' | 'route.add' }>;
type OtherStep = Exclude<Step, IpStep>;

/** ip(8) arguments for one step, without "ip" and without "-n NS". */
const ipArgs: { [K in IpStep['kind']]: (s: Extract<IpStep, { kind: K }>) => string[] } = {
  'netns.add': (s) => ['netns', 'add', s.netns],
  'bridge.add': (s) => ['link', 'add', s.name, ...(s.mac ? ['address', s.mac] : []), ...(s.mtu ? ['mtu', String(s.mtu)] : []), 'type', 'bridge'],
  'veth.add': (s) => [
    'link',
    'add',
    s.name,
    ...(s.mtu ? ['mtu', String(s.mtu)] : []),
    'type',
    'veth',
    'peer',
    'name',
    s.peerName,
    ...(s.mtu ? ['mtu', String(s.mtu)] : []),
    'netns',
    s.peerNetns,
  ],
  'link.set': (s) => [
    'link',
    'set',
    s.dev,
    ...(s.mac ? ['address', s.mac] : []),
    ...(s.mtu ? ['mtu', String(s.mtu)] : []),
    ...(s.master ? ['master', s.master] : []),
    ...(s.up ? ['up'] : []),
  ],
  'addr.add': (s) => ['addr', 'add', s.cidr, 'dev', s.dev],
  'route.add': (s) => routeArgs(s.route),
};

export function routeArgs(r: Route): string[] {
  const head = r.type === 'unicast' ? ['route', 'add', r.to] : ['route', 'add', r.type, r.to];
  return [
    ...head,
    ...(r.via ? ['via', r.via] : []),
    ...(r.dev ? ['dev', r.dev] : []),
    ...(r.onlink ? ['onlink'] : []),
    ...(r.src ? ['src', r.src] : []),
    ...(r.metric !== null ? ['metric', String(r.metric)] : []),
  ];
}

/** Commands for the steps that are not ip(8) link/addr/route changes. Together with ipArgs this
 * covers every Step kind: a new kind lands in OtherStep and fails to compile until handled here. */
const otherCommand: { [K in OtherStep['kind']]: (s: Extract<OtherStep, { kind: K }>) => Action } = {
  'sysctl.set': (s) => ({
    command: inNetns(s.netns, ['sysctl', '-q', '-w', ...s.values.map(([k, v]) => `${k}=${v}`)]),
    label: `set ${s.values.map(([k]) => k).join(', ')} in ${s.netns}`,
  }),
  'nat.restore': (s) => ({
    command: { ...inNetns(s.netns, ['iptables-restore', '--noflush']), input: natPayload(s.rules) },
    label: `program ${s.rules.length} NAT rule(s) in ${s.netns}`,
  }),
  'dir.create': (s) => ({
    command: { file: 'mkdir', args: ['-p', '-m', '0700', ...s.paths] },
    label: `create ${s.paths.length} folder(s) for lab files`,
  }),
  'file.write': (s) => ({
    command: { file: 'tee', args: [s.path], input: s.content, discardOutput: true },
    label: `write ${s.path}`,
  }),
  'process.start': (s) => ({
    command: inNetns(s.netns, s.argv),
    label: `start ${s.name} in ${s.netns}`,
    claim: { kind: 'process', processes: [{ netns: s.netns, name: s.name, pidfile: s.pidfile }] },
  }),
  observe: (s) => ({ command: observeCommand(s.netns, s.argv), label: s.argv.join(' '), ...(s.why ? { note: s.why } : {}) }),
};

export function inNetns(netns: string, argv: string[]): Command {
  return { file: 'ip', args: ['netns', 'exec', netns, ...argv], input: undefined };
}

/** ip and bridge take -n NS directly; anything else runs under ip netns exec. */
export function observeCommand(netns: string, argv: string[]): Command {
  const [file, ...rest] = argv as [string, ...string[]];
  if (file === 'ip' || file === 'bridge') return { file, args: ['-n', netns, ...rest] };
  return inNetns(netns, argv);
}

function isIpStep(s: Step): s is IpStep {
  return s.kind in ipArgs;
}

function lowerPhase(phase: Phase): Action[] {
  const actions: Action[] = [];
  // Group consecutive ip(8) steps by namespace, keeping first-seen namespace order.
  const groups = new Map<string, IpStep[]>();
  const flush = () => {
    for (const [netns, steps] of groups) actions.push(...ipGroup(netns, steps));
    groups.clear();
  };
  const starts = phase.steps.filter((s): s is Extract<Step, { kind: 'process.start' }> => s.kind === 'process.start');
  if (starts.length >= FANOUT_MIN && starts.length === phase.steps.length) return [startMany(starts)];
  for (const step of phase.steps) {
    if (isIpStep(step)) {
      const key = step.kind === 'netns.add' ? ROOT : step.netns;
      groups.set(key, [...(groups.get(key) ?? []), step]);
    } else {
      flush();
      actions.push((otherCommand[step.kind] as (s: OtherStep) => Action)(step));
    }
  }
  flush();
  return actions;
}

/**
 * Many daemons at once: one xargs runs "ip netns exec NS CMD..." per input line, a few in
 * parallel. Same commands as one by one, without paying a Node.js process spawn for each.
 */
function startMany(starts: Extract<Step, { kind: 'process.start' }>[]): Action {
  return {
    command: {
      file: 'xargs',
      args: ['-L', '1', '-P', String(XARGS_PARALLEL), 'ip', 'netns', 'exec'],
      input: starts.map((s) => argvToShell([s.netns, ...s.argv])).join('\n') + '\n',
    },
    label: `start ${starts.length} ${starts[0]!.name} servers`,
    claim: { kind: 'process', processes: starts.map((s) => ({ netns: s.netns, name: s.name, pidfile: s.pidfile })) },
  };
}

function ipGroup(netns: string, steps: IpStep[]): Action[] {
  const lines = steps.map((s) => (ipArgs[s.kind] as (s: IpStep) => string[])(s));
  const ns = netns === ROOT ? [] : ['-n', netns];
  const claim: Claim | undefined = netns === ROOT ? { kind: 'netns', names: steps.map((s) => s.netns) } : undefined;
  const where = netns === ROOT ? 'namespaces' : netns;
  if (lines.length < BATCH_MIN) {
    return lines.map((args, i) => ({
      command: { file: 'ip', args: [...ns, ...args] },
      label: `ip ${[...ns, ...args].join(' ')}`,
      ...(claim ? { claim: { kind: 'netns', names: [steps[i]!.netns] } as Claim } : {}),
    }));
  }
  return [
    {
      command: { file: 'ip', args: [...ns, '-batch', '-'], input: lines.map((l) => l.join(' ')).join('\n') + '\n' },
      label: `${lines.length} ip changes in ${where}`,
      ...(claim ? { claim } : {}),
    },
  ];
}

export function lowerPlan(plan: Plan): LoweredPhase[] {
  return plan.phases.map((p) => ({ title: p.title, why: p.why, readOnly: p.readOnly ?? false, actions: lowerPhase(p) }));
}
