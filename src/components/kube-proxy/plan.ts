// kube-proxy on every node: its configuration, the first sync (what the mode ensures at start,
// then every Service at once, shown in full as the payload kube-proxy writes) and the agent that
// keeps the rules in step with the API afterwards. The mode comes from the lab's
// KubeProxyConfiguration (iptables by default) through the proxier seam (proxier.ts).

import { join } from 'node:path';
import { clusterDir, stateFilePath, syncedPath } from '../../k8s/store.js';
import type { Phase, Step } from '../../kernel/steps.js';
import type { Instance } from '../../kernel/instance.js';
import type { KubeProxyConfiguration, ProxyMode } from '../../api/objects.js';
import type { KernelListing } from './proxier.js';
import { agentArgv } from '../../agent/names.js';
import type { Component } from '../component.js';
import { initialState } from '../controlplane/plan.js';
import { PROXIERS } from './modes.js';
import { kubeProxySysctls } from './config.js';

export const kubeProxy: Component = {
  // conntrack: deleting the stale UDP flows after a sync (conntrack.ts).
  tools: (c) => ['node', 'conntrack', ...(c.kubernetes ? PROXIERS[c.kubernetes.kubeProxy.mode].tools : [])],
  phases: (c, inst) => {
    if (!c.kubernetes) return [];
    const ns = (name: string) => inst.netns(name);
    const file = (node: string) => kubeProxyBase(inst, node);
    const mode = c.kubernetes.kubeProxy.mode;
    const proxier = PROXIERS[mode];
    const state = initialState(c, inst);
    const config = c.kubernetes.kubeProxy;
    // The node's addresses as kube-proxy will find them on its interfaces (for nodePortAddresses):
    // loopback and the underlay address; the agent reads the real interfaces at every sync.
    const ctx = (n: { address: string }) => ({ config, clusterCIDR: c.podNetwork, nodeAddresses: ['127.0.0.1', n.address], serviceCIDRs: [c.serviceCIDR] });
    const sysctls = (n: { address: string }) => kubeProxySysctls(config, n);
    const agentConfig = (node: string) => kubeProxyAgentConfig(inst, node, mode);
    return [
      {
        title: 'kube-proxy: hook its chains into the built-in ones and set its sysctls',
        // In order on each node: a mode's setup is several commands (ipvs: the listing that loads
        // ip_vs before its sysctls exist), and the sysctls come after them.
        sequential: true,
        why: `${proxier.explain.setup} Then kube-proxy sets the sysctls its configuration asks for in the node's network namespace: net.ipv4.conf.all.route_localnet=1 when NodePorts answer on 127.0.0.1 (iptables.localhostNodePorts, on by default; without it the kernel drops packets to 127.0.0.0/8 that are routed anywhere but lo), and the conntrack timeouts (conntrack.tcpEstablishedTimeout is 24h unless set, tcpCloseWaitTimeout 1h). Each node's kube-proxy also gets its configuration file.`,
        steps: c.nodes.flatMap((n): Step[] => [
          { kind: 'file.write', path: file(n.name) + '.json', content: agentConfig(n.name) },
          ...proxier
            .setup(null)
            .map((cmd): Step => ({ kind: 'exec', netns: ns(n.name), command: cmd, label: `ensure kube-proxy's jump rules in ${ns(n.name)}` })),
          // After the jumps: their conntrack matches load nf_conntrack, whose sysctls these are.
          ...(sysctls(n).length ? [{ kind: 'sysctl.set', netns: ns(n.name), values: sysctls(n) } satisfies Step] : []),
        ]),
      },
      {
        title: 'kube-proxy: the first sync on every node',
        // In order: ipvs mode's sets must exist before the iptables rules that match them.
        sequential: true,
        why: proxier.explain.sync,
        steps: c.nodes.flatMap((n) =>
          proxier
            .sync(
              state.nodes.find((x) => x.name === n.name)!,
              state.state,
              null,
              ctx(n),
            )
            .commands.map((cmd): Step => ({ kind: 'exec', netns: ns(n.name), command: cmd, label: `program kube-proxy's ${mode} rules in ${ns(n.name)}` })),
        ),
      },
      {
        title: 'Start kube-proxy on every node',
        why: `From here on kube-proxy keeps the rules in step with the API: ${proxier.explain.run} It also answers on :10256/healthz and, for LoadBalancer Services with externalTrafficPolicy Local, on their healthCheckNodePort: 200 while the node has a ready local endpoint, 503 otherwise. Here kube-proxy is knetlab's own TypeScript daemon; the rules it writes are kube-proxy's.`,
        steps: c.nodes.map((n): Step => ({
          kind: 'process.start',
          netns: ns(n.name),
          name: 'kube-proxy',
          argv: agentArgv('kube-proxy', file(n.name) + '.json'),
          pidfile: file(n.name) + '.pid',
        })),
      },
    ] satisfies Phase[];
  },
};

/** Where a node's kube-proxy keeps its files: <base>.json (configuration), .pid, .log. */
export const kubeProxyBase = (inst: Instance, node: string): string => join(clusterDir(inst.dir), `kube-proxy-${node}`);

/** A node's kube-proxy agent configuration (agent.ts reads it). */
export function kubeProxyAgentConfig(inst: Instance, node: string, mode: ProxyMode): string {
  const file = kubeProxyBase(inst, node);
  return (
    JSON.stringify(
      { node, mode, stateFile: stateFilePath(inst.dir), syncedFile: syncedPath(inst.dir, node), pidfile: file + '.pid', log: file + '.log' },
      null,
      2,
    ) + '\n'
  );
}

/**
 * Restarting kube-proxy in another mode on a running lab, after the old agents were stopped:
 * first what `kube-proxy --cleanup` of the old mode removes on each node (given what each node's
 * kernel holds, in the old mode's listings), then, given the listings again, what the new mode
 * ensures at start, its sysctls, its configuration file and the agent. Pure.
 */
export function modeCleanupPhase(inst: Instance, from: ProxyMode, listings: { node: string; now: KernelListing }[]): Phase {
  const ns = (name: string) => inst.netns(name);
  return {
    title: `kube-proxy: clean up what ${from} mode wrote (kube-proxy --cleanup)`,
    // In order: a chain can only go once the jumps to it have.
    sequential: true,
    why: `A kube-proxy started in another mode first removes what the old mode owns, and only that: ${from} mode's chains and jumps (and IPVS's virtual servers, sets and dummy device, nftables' table), so that packets no longer take the old path.`,
    steps: listings.flatMap(({ node, now }) =>
      PROXIERS[from]
        .cleanup(now)
        .map((cmd): Step => ({ kind: 'exec', netns: ns(node), command: cmd, label: `remove kube-proxy's ${from} rules in ${ns(node)}` })),
    ),
  };
}

export function modeStartPhase(
  inst: Instance,
  to: ProxyMode,
  config: KubeProxyConfiguration,
  nodes: { name: string; address: string; now: KernelListing | null }[],
): Phase {
  const ns = (name: string) => inst.netns(name);
  const proxier = PROXIERS[to];
  return {
    title: `kube-proxy: start in ${to} mode on every node`,
    sequential: true,
    why: `${proxier.explain.setup} Then each node's kube-proxy starts with the new mode in its configuration and syncs every Service at once: ${proxier.explain.run}`,
    steps: nodes.flatMap((n): Step[] => [
      { kind: 'file.write', path: kubeProxyBase(inst, n.name) + '.json', content: kubeProxyAgentConfig(inst, n.name, to) },
      ...proxier
        .setup(n.now)
        .map((cmd): Step => ({ kind: 'exec', netns: ns(n.name), command: cmd, label: `ensure kube-proxy's ${to} setup in ${ns(n.name)}` })),
      ...(kubeProxySysctls({ ...config, mode: to }, n).length
        ? [{ kind: 'sysctl.set', netns: ns(n.name), values: kubeProxySysctls({ ...config, mode: to }, n) } satisfies Step]
        : []),
      {
        kind: 'process.start',
        netns: ns(n.name),
        name: 'kube-proxy',
        argv: agentArgv('kube-proxy', kubeProxyBase(inst, n.name) + '.json'),
        pidfile: kubeProxyBase(inst, n.name) + '.pid',
      },
    ]),
  };
}
