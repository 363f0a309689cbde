// What kube-proxy makes of its configuration before any mode writes a rule, as
// cmd/kube-proxy/app/server{,_linux}.go and pkg/proxy/util do it: the local-traffic detector
// (detectLocalMode), the node IPs NodePorts answer on (nodePortAddresses), whether NodePorts
// answer on 127.0.0.1 (iptables.localhostNodePorts, switched off when nodePortAddresses leaves
// loopback out) and the sysctls it sets in its network namespace. Pure.

import type { KubeProxyConfiguration, NodeInfo, ProxyMode } from '../../api/objects.js';
import { contains, network, parseCidrSloppy, parseIPv4Sloppy } from '../../labfile/net.js';

/**
 * "From a pod" and "not from a pod", as iptables matches (pkg/proxy/util/localdetector.go).
 * null: no detector (detectLocalMode ClusterCIDR with an empty clusterCIDR), and kube-proxy then
 * writes neither the ClusterIP masquerade rule nor the short-circuit for pod traffic.
 */
export interface LocalDetector {
  ifLocal: string;
  ifNotLocal: string;
}

/** Local means a source address inside `cidr` (modes ClusterCIDR and NodeCIDR). */
export const cidrDetector = (cidr: string): LocalDetector => ({ ifLocal: `-s ${cidr}`, ifNotLocal: `! -s ${cidr}` });

/**
 * What detectLocalMode means on a node, whatever the rule syntax: a source CIDR, or an input
 * interface (a name, or a prefix of names); null: none. `clusterPodNetwork` stands in for a
 * clusterCIDR the document leaves out (kubeadm writes its podSubnet there).
 */
export function localMatch(
  cfg: KubeProxyConfiguration,
  clusterPodNetwork: string,
  node: Pick<NodeInfo, 'podCIDR'>,
): { cidr: string } | { iface: string; prefix: boolean } | null {
  const cidr = (c: string) => (c ? { cidr: c } : null);
  switch (cfg.detectLocalMode) {
    case 'ClusterCIDR':
      return cidr(cfg.clusterCIDR ?? clusterPodNetwork);
    case 'NodeCIDR':
      return cidr(node.podCIDR);
    case 'BridgeInterface':
      return { iface: cfg.detectLocal.bridgeInterface, prefix: false };
    case 'InterfaceNamePrefix':
      return { iface: cfg.detectLocal.interfaceNamePrefix, prefix: true };
  }
}

/** The local-traffic detector in iptables syntax (LocalTrafficDetector.IfLocal / IfNotLocal). */
export function localDetector(cfg: KubeProxyConfiguration, clusterPodNetwork: string, node: Pick<NodeInfo, 'podCIDR'>): LocalDetector | null {
  const m = localMatch(cfg, clusterPodNetwork, node);
  if (!m) return null;
  if ('cidr' in m) return cidrDetector(m.cidr);
  const iface = m.prefix ? `${m.iface}+` : m.iface;
  return { ifLocal: `-i ${iface}`, ifNotLocal: `! -i ${iface}` };
}

const LOOPBACK = parseCidrSloppy('127.0.0.0/8')!;
const LOOPBACK_START = parseIPv4Sloppy('127.0.0.1')!;

/** nodePortAddresses resolved to CIDRs (proxyutil.NewNodePortAddresses): keywords expanded, IPv4 only. */
function nodePortCidrs(cfg: KubeProxyConfiguration, node: Pick<NodeInfo, 'address'>) {
  const cidrs = cfg.nodePortAddresses.flatMap((entry) => {
    const text = entry === 'primary' ? `${node.address}/32` : entry === 'localhost' ? '127.0.0.0/8' : entry === 'all' ? '0.0.0.0/0' : entry;
    const cidr = parseCidrSloppy(text);
    return cidr ? [cidr] : [];
  });
  // No list (or only other families) means every address; so does a zero-length prefix.
  const matchAll = cidrs.length === 0 || cidrs.some((c) => c.prefix === 0);
  const containsLoopback = matchAll || cidrs.some((c) => contains(c, LOOPBACK_START) || contains(LOOPBACK, network(c)));
  return { cidrs, matchAll, containsLoopback };
}

/**
 * iptables.localhostNodePorts as the proxier uses it: kube-proxy turns it off when
 * nodePortAddresses does not include an IPv4 loopback address.
 */
export function localhostNodePorts(cfg: KubeProxyConfiguration, node: Pick<NodeInfo, 'address'>): boolean {
  return cfg.iptables.localhostNodePorts && nodePortCidrs(cfg, node).containsLoopback;
}

/**
 * The node IPs NodePorts answer on: null for every local address (the default), otherwise the
 * addresses of the node's interfaces inside nodePortAddresses (NodePortAddresses.GetNodeIPs),
 * in interface order, each once.
 */
export function nodePortIPs(cfg: KubeProxyConfiguration, node: Pick<NodeInfo, 'address'>, nodeAddresses: readonly string[]): string[] | null {
  const { cidrs, matchAll } = nodePortCidrs(cfg, node);
  if (matchAll) return null;
  return [
    ...new Set(
      nodeAddresses.filter((a) => {
        const ip = parseIPv4Sloppy(a);
        return ip !== undefined && cidrs.some((c) => contains(c, ip));
      }),
    ),
  ];
}

/**
 * The sysctls kube-proxy sets in its network namespace at start: route_localnet for localhost
 * NodePorts (iptables mode), and the conntrack timeouts and TCP liberal mode the configuration
 * asks for (a zero duration leaves the kernel's value). The table size (maxPerCore, min) is
 * global to the machine and is not set here.
 */
export function kubeProxySysctls(cfg: KubeProxyConfiguration, node: Pick<NodeInfo, 'address'>): [string, string][] {
  const out: [string, string][] = [];
  // nftables mode never sets it: localhost NodePorts are not supported there.
  if (cfg.mode === 'iptables' && localhostNodePorts(cfg, node)) out.push(['net.ipv4.conf.all.route_localnet', '1']);
  if (cfg.mode === 'ipvs') out.push(...ipvsSysctls(cfg));
  const seconds = (ms: number) => String(Math.floor(ms / 1000));
  const ct = cfg.conntrack;
  if (ct.tcpEstablishedTimeoutMs >= 1000) out.push(['net.netfilter.nf_conntrack_tcp_timeout_established', seconds(ct.tcpEstablishedTimeoutMs)]);
  if (ct.tcpCloseWaitTimeoutMs >= 1000) out.push(['net.netfilter.nf_conntrack_tcp_timeout_close_wait', seconds(ct.tcpCloseWaitTimeoutMs)]);
  if (ct.tcpBeLiberal) out.push(['net.netfilter.nf_conntrack_tcp_be_liberal', '1']);
  if (ct.udpTimeoutMs >= 1000) out.push(['net.netfilter.nf_conntrack_udp_timeout', seconds(ct.udpTimeoutMs)]);
  if (ct.udpStreamTimeoutMs >= 1000) out.push(['net.netfilter.nf_conntrack_udp_timeout_stream', seconds(ct.udpStreamTimeoutMs)]);
  return out;
}

/**
 * IPVS mode's sysctls (pkg/proxy/ipvs/proxier.go NewProxier): IPVS keeps conntrack entries so
 * that iptables' masquerade works on its packets; a real server that went away ends its flows at
 * their next packet (expire_nodest_conn) and its persistence templates (expire_quiescent_template).
 * conn_reuse_mode=0 is set only on kernels before 5.9, which the labs' kernels are not. With
 * strictARP the node answers ARP only for addresses of the interface asked (arp_ignore=1) and
 * announces from the outgoing interface's own addresses (arp_announce=2), so the VIPs on
 * kube-ipvs0 are not claimed by every node (MetalLB's requirement in IPVS mode).
 */
function ipvsSysctls(cfg: KubeProxyConfiguration): [string, string][] {
  const out: [string, string][] = [
    ['net.ipv4.vs.conntrack', '1'],
    ['net.ipv4.vs.expire_nodest_conn', '1'],
    ['net.ipv4.vs.expire_quiescent_template', '1'],
    ['net.ipv4.ip_forward', '1'],
  ];
  if (cfg.ipvs.strictARP) out.push(['net.ipv4.conf.all.arp_ignore', '1'], ['net.ipv4.conf.all.arp_announce', '2']);
  return out;
}

/** The configuration's sync periods for the mode in use: how often to resync, and the least time between two syncs. */
export function syncPeriods(cfg: KubeProxyConfiguration): { syncPeriodMs: number; minSyncPeriodMs: number } {
  return SYNC_PERIODS[cfg.mode](cfg);
}

const SYNC_PERIODS: Record<ProxyMode, (cfg: KubeProxyConfiguration) => { syncPeriodMs: number; minSyncPeriodMs: number }> = {
  iptables: ({ iptables: { syncPeriodMs, minSyncPeriodMs } }) => ({ syncPeriodMs, minSyncPeriodMs }),
  ipvs: ({ ipvs: { syncPeriodMs, minSyncPeriodMs } }) => ({ syncPeriodMs, minSyncPeriodMs }),
  nftables: ({ nftables: { syncPeriodMs, minSyncPeriodMs } }) => ({ syncPeriodMs, minSyncPeriodMs }),
  // The userspace proxier took iptables.syncPeriod and iptables.minSyncPeriod.
  userspace: ({ iptables: { syncPeriodMs, minSyncPeriodMs } }) => ({ syncPeriodMs, minSyncPeriodMs }),
};
