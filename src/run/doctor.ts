// doctor: which kernel features and tools this machine has. Kernel features are probed for real,
// by creating each kind of object in a scratch namespace that is removed afterwards.

import type { Host } from '../exec/host.js';
import type { Command } from '../kernel/command.js';
import type { KernelFeature } from '../kernel/features.js';
import { socatMessage } from '../kernel/probe.js';
import { PROXIERS } from '../plan/registry.js';
import { TOOLS, hasTool } from './tools.js';
import { detectAccel, vmAvailability } from '../exec/vm.js';

export interface FeatureResult {
  feature: string;
  ok: boolean;
  detail: string;
  usedBy: string;
}

export interface ToolResult {
  command: string;
  pkg: string;
  ok: boolean;
  why: string;
}

interface Probe {
  feature: KernelFeature;
  usedBy: string;
  /** Commands run in order inside the scratch namespace NS; all must succeed. */
  commands: (ns: string) => Command[];
  needs?: string;
  /** A feature whose probe must run first in the same namespace (macvlan needs kv0, the veth probe's). */
  after?: KernelFeature;
  /** A failure with this text on stderr still proves the feature. */
  alsoOk?: RegExp;
}

const ip = (ns: string, ...args: string[]): Command => ({ file: 'ip', args: ['-n', ns, ...args] });
const exec = (ns: string, ...argv: string[]): Command => ({ file: 'ip', args: ['netns', 'exec', ns, ...argv] });

const PROBES: Probe[] = [
  { feature: 'veth', usedBy: 'every lab', commands: (ns) => [ip(ns, 'link', 'add', 'kv0', 'type', 'veth', 'peer', 'name', 'kv1')] },
  { feature: 'bridge', usedBy: 'docker-bridge, cni0', commands: (ns) => [ip(ns, 'link', 'add', 'kbr0', 'type', 'bridge')] },
  {
    feature: 'vxlan',
    usedBy: 'flannel vxlan, calico vxlan',
    commands: (ns) => [ip(ns, 'link', 'add', 'kvx0', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'nolearning')],
  },
  { feature: 'tun', usedBy: 'flannel udp', commands: (ns) => [ip(ns, 'tuntap', 'add', 'mode', 'tun', 'dev', 'ktun0')] },
  {
    feature: 'macvlan',
    usedBy: 'macvlan networks',
    after: 'veth',
    commands: (ns) => [ip(ns, 'link', 'add', 'km0', 'link', 'kv0', 'type', 'macvlan', 'mode', 'bridge')],
  },
  { feature: 'dummy', usedBy: 'kube-ipvs0 (IPVS mode)', commands: (ns) => [ip(ns, 'link', 'add', 'kd0', 'type', 'dummy')] },
  { feature: 'ipip', usedBy: 'calico IPIP', commands: (ns) => [ip(ns, 'link', 'add', 'kip0', 'type', 'ipip', 'local', '10.255.0.1', 'remote', '10.255.0.2')] },
  { feature: 'iptables nat', usedBy: 'docker-bridge, flannel', needs: 'iptables', commands: (ns) => [exec(ns, 'iptables', '-t', 'nat', '-S')] },
  { feature: 'nftables', usedBy: 'kube-proxy nftables mode', needs: 'nft', commands: (ns) => [exec(ns, 'nft', 'list', 'ruleset')] },
  { feature: 'ipset', usedBy: 'kube-proxy IPVS mode', needs: 'ipset', commands: (ns) => [exec(ns, 'ipset', 'create', 'KNETLAB-PROBE', 'hash:ip')] },
  { feature: 'ip_vs', usedBy: 'kube-proxy IPVS mode', needs: 'ipvsadm', commands: (ns) => [exec(ns, 'ipvsadm', '-A', '-t', '10.255.0.1:80', '-s', 'rr')] },
  { feature: 'conntrack', usedBy: 'NAT', needs: 'conntrack', commands: (ns) => [exec(ns, 'conntrack', '-L')] },
  {
    feature: 'sctp',
    usedBy: 'sctp checks',
    needs: 'socat',
    // Nothing listens on the scratch namespace's loopback, so a kernel with SCTP answers the INIT
    // with an ABORT (refused); without SCTP, socket(2) itself fails with "Protocol not supported".
    commands: (ns) => [ip(ns, 'link', 'set', 'lo', 'up'), exec(ns, 'socat', '-u', '/dev/null', 'SCTP-CONNECT:127.0.0.1:9,connect-timeout=2')],
    alsoOk: /Connection refused/,
  },
];

/** Who needs a feature: the probe's own words, then every kube-proxy mode that names it. */
function usedBy(p: Probe): string {
  const modes = Object.values(PROXIERS)
    .filter((x) => x.kernel.includes(p.feature))
    .map((x) => `kube-proxy ${x.mode} mode`);
  return [p.usedBy, ...modes.filter((m) => !p.usedBy.includes(m))].join(', ');
}

/** Probe results of this process: a kernel does not gain or lose a module while knetlab runs. */
const probed = new Map<KernelFeature, FeatureResult>();

/**
 * Probes these kernel features (and the ones their probes build on) in a scratch namespace that is
 * removed afterwards; each feature once per process. A failure to create the namespace itself is
 * the first result, as "network namespaces".
 */
export async function probeFeatures(host: Host, wanted: readonly KernelFeature[]): Promise<FeatureResult[]> {
  const closure = new Set<KernelFeature>();
  const add = (f: KernelFeature) => {
    const p = PROBES.find((x) => x.feature === f);
    if (p?.after) add(p.after);
    closure.add(f);
  };
  wanted.forEach(add);
  const todo = PROBES.filter((p) => closure.has(p.feature) && !probed.has(p.feature));
  if (todo.length) {
    const ns = `knetlab-doctor-${process.pid}`;
    const created = await host.run({ file: 'ip', args: ['netns', 'add', ns] });
    if (created.exitCode !== 0) {
      return [{ feature: 'network namespaces', ok: false, detail: created.stderr.trim() || 'ip netns add failed (are you root?)', usedBy: 'every lab' }];
    }
    try {
      for (const p of todo) probed.set(p.feature, await probe(host, p, ns));
    } finally {
      // Everything probed lived in the scratch namespace: deleting it removes all of it.
      for (const line of (await host.run({ file: 'ip', args: ['netns', 'pids', ns] })).stdout.split('\n'))
        if (/^\d+$/.test(line)) host.kill(Number(line), 'SIGKILL');
      await host.run({ file: 'ip', args: ['netns', 'del', ns] });
    }
  }
  return PROBES.filter((p) => wanted.includes(p.feature)).map((p) => probed.get(p.feature)!);
}

async function probe(host: Host, p: Probe, ns: string): Promise<FeatureResult> {
  if (p.needs && !host.hasCommand(p.needs)) return { feature: p.feature, ok: false, detail: `cannot probe: ${p.needs} is not installed`, usedBy: usedBy(p) };
  for (const cmd of p.commands(ns)) {
    const r = await host.run(cmd, { timeoutMs: 10_000 });
    if (r.exitCode !== 0 && !p.alsoOk?.test(r.stderr)) {
      const detail = (socatMessage(r.stderr).trim().split('\n').pop() ?? '') || `exit ${r.exitCode}`;
      return { feature: p.feature, ok: false, detail: `${detail} (not in this kernel)`, usedBy: usedBy(p) };
    }
  }
  return { feature: p.feature, ok: true, detail: 'available', usedBy: usedBy(p) };
}

/** The kernel VM runner (knetlab vm): whether it can start here, with which kernel, and how fast (KVM or TCG). */
export interface VmStatus {
  available: boolean;
  kernel: string | null;
  accel: 'kvm' | 'tcg' | null;
  /** What is missing, each with how to get it. */
  missing: string[];
}

export async function vmStatus(host: Host): Promise<VmStatus> {
  const a = vmAvailability();
  return {
    available: a.missing.length === 0,
    kernel: a.kernel?.version ?? null,
    accel: a.qemu ? await detectAccel(host, a.qemu) : null,
    missing: a.missing,
  };
}

export async function doctor(host: Host): Promise<{ features: FeatureResult[]; tools: ToolResult[]; vm: VmStatus }> {
  const tools = TOOLS.map((t) => ({ command: t.command, pkg: t.pkg, ok: hasTool(host, t), why: t.why }));
  const vm = await vmStatus(host);
  const results = await probeFeatures(
    host,
    PROBES.map((p) => p.feature),
  );
  if (results[0]?.feature === 'network namespaces') return { features: results, tools, vm };
  return { features: [{ feature: 'network namespaces', ok: true, detail: 'ip netns add works', usedBy: 'every lab' }, ...results], tools, vm };
}
