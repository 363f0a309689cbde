// The kernel features a lab needs, read off what it would do: the plan's steps (a vxlan device,
// a tun device, a dummy or ipip link, NAT rules, ipvsadm and ipset calls in a component's first
// sync), the kernel features its kube-proxy mode declares, and its checks (conntrack).
// `knetlab up` and `run` probe only these, and refuse a lab this kernel cannot run before
// anything is created; the VM runner's tests pick the labs to run in the VM with it. Pure.

import type { Check, Lab } from '../labfile/types.js';
import type { Command } from '../kernel/command.js';
import { KERNEL_FEATURES, type KernelFeature } from '../kernel/features.js';
import { makeInstance } from '../kernel/instance.js';
import type { Step } from '../kernel/steps.js';
import { PROXIERS } from './registry.js';
import { planLab } from './topology.js';

/** `ip link add ... type KIND` kinds that are kernel features of their own. */
const LINK_TYPES: ReadonlySet<string> = new Set(['veth', 'bridge', 'vxlan', 'dummy', 'ipip', 'macvlan']);

/** What one command needs of the kernel: the module behind the object it creates or the table it writes. */
export function commandFeatures(cmd: Command): KernelFeature[] {
  const { file, args } = cmd;
  if (file === 'ip' && args[0] === 'netns' && args[1] === 'exec' && args.length > 3)
    return commandFeatures({ file: args[3]!, args: args.slice(4), input: cmd.input });
  switch (file) {
    case 'ip': {
      const rest = args[0] === '-n' ? args.slice(2) : args;
      const lines = rest[0] === '-batch' ? (cmd.input ?? '').split('\n').map((l) => l.trim().split(/\s+/)) : [rest];
      return lines.flatMap(ipFeatures);
    }
    case 'ipvsadm':
      return ['ip_vs'];
    case 'ipset':
      return ['ipset'];
    case 'nft':
      return ['nftables'];
    case 'conntrack':
      return ['conntrack'];
    case 'iptables':
    case 'iptables-restore':
    case 'iptables-legacy':
    case 'iptables-legacy-restore':
    case 'iptables-nft':
    case 'iptables-nft-restore':
      return args.join(' ').includes('-t nat') || /^\*nat$/m.test(cmd.input ?? '') ? ['iptables nat'] : [];
    default:
      return [];
  }
}

function ipFeatures(words: string[]): KernelFeature[] {
  if (words[0] === 'tuntap' && words[1] === 'add') return ['tun'];
  if (words[0] === 'link' && words[1] === 'add') {
    const type = words[words.indexOf('type') + 1];
    if (words.includes('type') && type && LINK_TYPES.has(type)) return [type as KernelFeature];
  }
  return [];
}

function stepFeatures(s: Step): KernelFeature[] {
  switch (s.kind) {
    case 'veth.add':
      return ['veth'];
    case 'bridge.add':
      return ['bridge'];
    case 'vxlan.add':
      return ['vxlan'];
    case 'tuntap.add':
      return ['tun'];
    case 'nat.restore':
      return ['iptables nat'];
    case 'iptables.restore':
      return /^\*nat$/m.test(s.payload) ? ['iptables nat'] : [];
    case 'exec':
      return commandFeatures(s.command);
    case 'observe':
      return commandFeatures({ file: s.argv[0] ?? '', args: s.argv.slice(1) });
    case 'process.start':
      // A daemon that creates its own devices (flanneld's tun) is covered by the steps around it.
      return [];
    case 'cni.call':
      return s.plugin === 'bridge' && s.command === 'ADD' ? ['bridge'] : [];
    default:
      return [];
  }
}

/**
 * An sctp check is not a need: without SCTP sockets it is skipped and says why (run/verify.ts),
 * and the rest of the lab runs.
 */
function checkFeatures(c: Check): KernelFeature[] {
  switch (c.probe.kind) {
    case 'conntrack':
      return ['conntrack'];
    case 'capture':
      return checkFeatures(c.probe.during);
    default:
      return [];
  }
}

/** Every kernel feature the lab needs, in the order features.ts lists them. */
export function labKernelFeatures(lab: Lab): KernelFeature[] {
  const found = new Set<KernelFeature>();
  // Names do not change what is created: the plan of an unprefixed instance says it all.
  const plan = planLab(lab, makeInstance(lab.name));
  for (const phase of plan.phases) for (const s of phase.steps) for (const f of stepFeatures(s)) found.add(f);
  const mode = lab.cluster?.kubernetes?.kubeProxy.mode;
  if (mode) for (const f of PROXIERS[mode].kernel) found.add(f);
  for (const c of lab.checks) for (const f of checkFeatures(c)) found.add(f);
  return KERNEL_FEATURES.filter((f) => found.has(f));
}
