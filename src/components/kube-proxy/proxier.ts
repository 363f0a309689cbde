// The seam between kube-proxy and its modes, as in kubernetes/pkg/proxy (one package per mode
// behind one small interface). A mode says which programs it needs, what it ensures once at
// start, and how one sync turns the Services and EndpointSlices into writes to the node's kernel,
// given what the kernel holds now. The same functions serve the planner (kube-proxy's first sync,
// printed in tutorials) and the kube-proxy agent (every later sync).

import type { EndpointSlice, KubeProxyConfiguration, NodeInfo, ProxyMode, Service } from '../../api/objects.js';
import type { Command } from '../../kernel/command.js';
import type { KernelFeature } from '../../kernel/features.js';

/** What a sync needs besides the API: kube-proxy's configuration and what it knows of its node. */
export interface KubeProxyConfig {
  config: KubeProxyConfiguration;
  /** The cluster's pod network: kube-proxy's clusterCIDR when the configuration leaves it out. */
  clusterCIDR: string;
  /** IPv4 addresses on the node's interfaces, loopback included (nodePortAddresses picks among them). */
  nodeAddresses: readonly string[];
  /** Modes whose proxy is kube-proxy itself (userspace): the local port serving each service port, by its key. */
  proxyPorts?: ReadonlyMap<string, number>;
  /** The cluster's ServiceCIDRs, as kube-proxy watches them (nftables mode drops traffic to unallocated ClusterIPs). */
  serviceCIDRs?: readonly string[];
}

export interface SyncStats {
  /** Service ports proxied (kube-proxy's numServices). */
  services: number;
  /** Endpoints of those ports, ready or not. */
  endpoints: number;
  /** What was written, in the mode's own words ("120 nat and 14 filter rules"). */
  written: string;
}

/** The outputs of a mode's `observe` commands, in order. */
export type KernelListing = readonly string[];

export interface Proxier {
  readonly mode: ProxyMode;
  /** Programs the mode runs on a node. */
  readonly tools: readonly string[];
  /** What it needs of the kernel (doctor probes each; a kernel without one cannot run the mode). */
  readonly kernel: readonly KernelFeature[];
  /** What kube-proxy does at start, at its first sync and on every change after, for tutorials. */
  readonly explain: { setup: string; sync: string; run: string };
  /**
   * How the mode reads what the node's kernel holds: its own listings (iptables-save; for IPVS
   * also ipvsadm and ipset), whose outputs come back, in order, as `now`.
   */
  readonly observe: readonly Command[];
  /**
   * Commands that all succeed while the mode's state is in the kernel (iptables: the
   * KUBE-PROXY-CANARY chains). kube-proxy checks them every syncPeriod; when one fails, someone
   * flushed its rules, and it ensures its setup again and resyncs whole.
   */
  readonly canary: readonly Command[];
  /** What kube-proxy ensures once at start; `now` is null on a fresh node. */
  setup(now: KernelListing | null): Command[];
  /**
   * What `kube-proxy --cleanup` removes of this mode, given what the kernel holds (its `observe`
   * listings): only what the mode owns, so that a kube-proxy started in another mode, or none,
   * finds a clean node. Stopping the mode's own processes (listeners) is the agent's part.
   */
  cleanup(now: KernelListing): Command[];
  /**
   * One sync: the writes that bring the node's kernel to the desired state. Pure. A mode that
   * writes only what changed (nftables' partial syncs) returns a memo of what it wrote; the caller
   * hands it to the next sync after a success, and null (a full sync) after a failure or when the
   * canary finds the rules gone. A memo serves one sync (nftables updates it in place). With a
   * memo, `now` may be null: the mode trusts its memo.
   */
  sync(
    node: NodeInfo,
    api: { services: Service[]; slices: EndpointSlice[] },
    now: KernelListing | null,
    cfg: KubeProxyConfig,
    memo?: unknown,
  ): { commands: Command[]; stats: SyncStats; memo?: unknown };
  /**
   * Modes whose proxy is kube-proxy itself (userspace). The agent starts it once; before each
   * sync it hands it the API, and the proxy opens and closes its listeners and returns their
   * ports, which the agent passes to sync() as cfg.proxyPorts. `changed`: a listener moved, resync.
   */
  readonly serve?: (log: (level: 'I' | 'W' | 'E', msg: string) => void, changed: () => void) => ProxyServer;
}

/** The proxy a `serve` mode runs inside the agent. */
export interface ProxyServer {
  update(node: NodeInfo, api: { services: Service[]; slices: EndpointSlice[] }): ReadonlyMap<string, number>;
  stop(): void;
}
