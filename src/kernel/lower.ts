// Lowering: typed steps → commands. Kernel writes are batched per namespace the way kube-proxy
// batches iptables-restore: all of a phase's ip(8) changes for one namespace go through one
// `ip -n NS -batch -`. Groups of one or two lines are written out as plain commands instead,
// which is what a person would type and keeps short tutorials close to the seeds.

import { basename, dirname } from 'node:path';
import type { Route } from '../labfile/types.js';
import type { Phase, Plan, Step } from './steps.js';
import { argvToShell, type Command } from './command.js';
import { natPayload } from './iptables.js';

/** What an action creates, so the run layer can record it before the next action. */
export interface ProcessClaim {
  netns: string;
  name: string;
  pidfile: string;
}

export type Claim =
  | { kind: 'netns'; names: string[] }
  | { kind: 'process'; processes: ProcessClaim[] }
  /** Run this on teardown, while the namespaces still exist (a CNI DEL for an ADD). */
  | { kind: 'cleanup'; command: Command };

export interface Action {
  command: Command;
  /** A one-line description for progress and errors. */
  label: string;
  claim?: Claim;
  /** Shown above the command in tutorials. */
  note?: string;
  /** Everything before it in the phase finishes first, and it finishes before anything after it starts (folders before their files). */
  barrier?: boolean;
}

export interface LoweredPhase {
  title: string;
  why: string;
  readOnly: boolean;
  sequential: boolean;
  actions: Action[];
}

/** Where `ip netns exec NS` finds the files it bind-mounts over /etc (iproute2's NETNS_ETC_DIR). */
export const NETNS_ETC = '/etc/netns';

const BATCH_MIN = 3;
/** From this many servers on, they are started through one xargs instead of one by one. */
const FANOUT_MIN = 8;
const XARGS_PARALLEL = 4;
const ROOT = '';

type IpStep = Extract<
  Step,
  { kind: 'netns.add' | 'bridge.add' | 'veth.add' | 'link.set' | 'brport.set' | 'addr.add' | 'route.add' | 'vxlan.add' | 'tuntap.add' | 'neigh.add' }
>;
/** bridge(8) steps, batched per namespace like ip(8) ones. */
type BridgeStep = Extract<Step, { kind: 'fdb.append' }>;
type OtherStep = Exclude<Step, IpStep | BridgeStep>;

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
  // The port must already be enslaved: bridge_slave options go to the master the device has now.
  'brport.set': (s) => ['link', 'set', s.dev, 'type', 'bridge_slave', 'hairpin', s.hairpin ? 'on' : 'off'],
  'addr.add': (s) => ['addr', 'add', s.cidr, 'dev', s.dev],
  'route.add': (s) => routeArgs(s.route),
  // What flanneld's netlink.Vxlan{VtepDevIndex, SrcAddr, Port, Learning: false} amounts to.
  'vxlan.add': (s) => [
    'link',
    'add',
    s.name,
    'address',
    s.mac,
    'mtu',
    String(s.mtu),
    'type',
    'vxlan',
    'id',
    String(s.vni),
    'local',
    s.local,
    'dev',
    s.dev,
    'dstport',
    String(s.port),
    'nolearning',
  ],
  'tuntap.add': (s) => ['tuntap', 'add', 'dev', s.name, 'mode', 'tun'],
  'neigh.add': (s) => ['neigh', 'add', s.address, 'lladdr', s.lladdr, 'dev', s.dev, 'nud', 'permanent'],
};

const bridgeArgs: { [K in BridgeStep['kind']]: (s: Extract<BridgeStep, { kind: K }>) => string[] } = {
  'fdb.append': (s) => ['fdb', 'append', s.lladdr, 'dev', s.dev, 'dst', s.dst, 'self', 'permanent'],
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
    ...(r.proto !== null ? ['proto', r.proto] : []),
    ...r.nexthops.flatMap((gw) => ['nexthop', 'via', gw]),
  ];
}

/** Commands for the steps that are not ip(8) link/addr/route changes. Together with ipArgs this
 * covers every Step kind: a new kind lands in OtherStep and fails to compile until handled here. */
const otherCommand: { [K in OtherStep['kind']]: (s: Extract<OtherStep, { kind: K }>) => Action } = {
  'sysctl.set': (s) => ({
    command: inNetns(s.netns, ['sysctl', '-q', '-w', ...s.values.map(([k, v]) => `${k}=${v}`)]),
    label: `set ${s.values.map(([k]) => k).join(', ')} in ${s.netns}`,
  }),
  'route.refused': (s) => ({
    command: { file: 'ip', args: ['-n', s.netns, ...routeArgs(s.route)], mayFail: s.error },
    label: `ip -n ${s.netns} ${routeArgs(s.route).join(' ')} (expected to fail)`,
    note: s.why,
  }),
  exec: (s) => ({
    command:
      s.netns === ''
        ? s.command
        : { ...inNetns(s.netns, [s.command.file, ...s.command.args]), ...(s.command.input === undefined ? {} : { input: s.command.input }) },
    label: s.label,
  }),
  'iptables.restore': (s) => ({
    command: { ...inNetns(s.netns, ['iptables-restore', '--noflush']), input: s.payload },
    label: `program ${s.owner}'s iptables rules in ${s.netns}`,
  }),
  'cni.call': (s) => {
    const call = (command: 'ADD' | 'DEL'): Command => ({
      ...inNetns(s.netns, [
        'env',
        `CNI_COMMAND=${command}`,
        `CNI_CONTAINERID=${s.containerId}`,
        `CNI_NETNS=/run/netns/${s.podNetns}`,
        `CNI_IFNAME=${s.ifname}`,
        `CNI_PATH=${dirname(s.plugin)}`,
        s.plugin,
      ]),
      input: s.config,
      ...(command === 'ADD' && s.result ? { stdoutTo: s.result } : { discardOutput: true }),
    });
    return {
      command: call(s.command),
      label: `CNI ${s.command} ${basename(s.plugin)} ${s.ifname} in ${s.podNetns}`,
      ...(s.command === 'ADD' ? { claim: { kind: 'cleanup', command: call('DEL') } as Claim } : {}),
    };
  },
  'nat.restore': (s) => ({
    command: { ...inNetns(s.netns, ['iptables-restore', '--noflush']), input: natPayload(s.rules) },
    label: `program ${s.rules.length} NAT rule(s) in ${s.netns}`,
  }),
  'dir.create': (s) => ({
    command: { file: 'mkdir', args: ['-p', '-m', s.mode ?? '0700', ...s.paths] },
    label: `create ${s.paths.length} folder(s) for lab files`,
    barrier: true,
  }),
  'file.write': (s) => ({
    command: { file: 'tee', args: [s.path], input: s.content, discardOutput: true },
    label: `write ${s.path}`,
  }),
  'netns.etc': (s) => ({
    command: { file: 'tee', args: [`${NETNS_ETC}/${s.netns}/${s.file}`], input: s.content, discardOutput: true },
    label: `write ${NETNS_ETC}/${s.netns}/${s.file}`,
    // The folder is named after our own namespace: removing it removes only what we wrote. Then
    // /etc/netns itself goes if that leaves it empty (mkdir -p made it; iproute2 does not need it).
    claim: {
      kind: 'cleanup',
      command: {
        file: 'sh',
        args: ['-c', `rm -rf --one-file-system -- "$1" && { rmdir ${NETNS_ETC} 2>/dev/null || true; }`, 'sh', `${NETNS_ETC}/${s.netns}`],
      },
    },
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

function isBridgeStep(s: Step): s is BridgeStep {
  return s.kind in bridgeArgs;
}

/** One line of a batch: the tool, and its arguments without the tool and without "-n NS". */
interface BatchLine {
  tool: 'ip' | 'bridge';
  netns: string;
  args: string[];
}

function lowerPhase(phase: Phase): Action[] {
  const actions: Action[] = [];
  // Group consecutive ip(8) steps by namespace, keeping first-seen namespace order.
  const groups = new Map<string, BatchLine[]>();
  const flush = () => {
    for (const lines of groups.values()) actions.push(...batch(lines));
    groups.clear();
  };
  const starts = phase.steps.filter((s): s is Extract<Step, { kind: 'process.start' }> => s.kind === 'process.start');
  if (starts.length >= FANOUT_MIN && starts.length === phase.steps.length) return [startMany(starts)];
  const group = (line: BatchLine) => {
    const key = `${line.tool} ${line.netns}`;
    groups.set(key, [...(groups.get(key) ?? []), line]);
  };
  for (const step of phase.steps) {
    if (isIpStep(step)) {
      const netns = step.kind === 'netns.add' ? ROOT : step.netns;
      group({ tool: 'ip', netns: netns, args: (ipArgs[step.kind] as (s: IpStep) => string[])(step) });
    } else if (isBridgeStep(step)) {
      group({ tool: 'bridge', netns: step.netns, args: (bridgeArgs[step.kind] as (s: BridgeStep) => string[])(step) });
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

/** Lines for one tool in one namespace: one `TOOL -n NS -batch -`, or plain commands when few. */
function batch(lines: BatchLine[]): Action[] {
  const { tool, netns } = lines[0]!;
  const ns = netns === ROOT ? [] : ['-n', netns];
  // "netns add NAME" lines create namespaces: claim each one before it exists.
  const created = (l: BatchLine) => (netns === ROOT ? [l.args[2]!] : []);
  const claimOf = (ls: BatchLine[]): Claim | undefined => (netns === ROOT ? { kind: 'netns', names: ls.flatMap(created) } : undefined);
  const where = netns === ROOT ? 'namespaces' : netns;
  if (lines.length < BATCH_MIN) {
    return lines.map((l) => {
      const claim = claimOf([l]);
      return { command: { file: tool, args: [...ns, ...l.args] }, label: `${tool} ${[...ns, ...l.args].join(' ')}`, ...(claim ? { claim } : {}) };
    });
  }
  const claim = claimOf(lines);
  return [
    {
      command: { file: tool, args: [...ns, '-batch', '-'], input: lines.map((l) => l.args.join(' ')).join('\n') + '\n' },
      label: `${lines.length} ${tool} changes in ${where}`,
      ...(claim ? { claim } : {}),
    },
  ];
}

export function lowerPlan(plan: Plan): LoweredPhase[] {
  return plan.phases.map((p) => ({ title: p.title, why: p.why, readOnly: p.readOnly ?? false, sequential: p.sequential ?? false, actions: lowerPhase(p) }));
}
