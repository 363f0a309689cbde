// kube-proxy's nftables mode (GA in Kubernetes 1.33) behind the proxier seam: everything lives in
// one table, `table ip kube-proxy`, written with one `nft -f` transaction per sync: whole at the
// first sync, then only what changed (nftables/sync.ts). nftables/names.ts names its objects.

import type { KubeProxyConfiguration, NodeInfo } from '../../api/objects.js';
import type { KubeProxyConfig, Proxier } from './proxier.js';
import { localMatch, nodePortIPs } from './config.js';
import { masqueradeMark } from './iptables/sync.js';
import { TABLE, tableObjects } from './nftables/names.js';
import { syncNFTables, type NFTablesMemo, type NFTablesProxierConfig } from './nftables/sync.js';

export { syncNFTables, type NFTablesMemo, type NFTablesProxierConfig, type NFTablesSyncResult } from './nftables/sync.js';
export { endpointNames, hashAndTruncate, servicePortChainNames, tableObjects } from './nftables/names.js';

/** How kube-proxy runs a transaction: knftables pipes it to `nft -f -`. */
export const NFT_COMMAND = ['nft', '-f', '-'];

/** The local-traffic detector in nft syntax (LocalTrafficDetector.IfLocalNFT / IfNotLocalNFT). */
function nftDetector(cfg: KubeProxyConfiguration, clusterPodNetwork: string, node: Pick<NodeInfo, 'podCIDR'>): NFTablesProxierConfig['localDetector'] {
  const m = localMatch(cfg, clusterPodNetwork, node);
  if (!m) return null;
  if ('cidr' in m) return { ifLocal: `ip saddr ${m.cidr}`, ifNotLocal: `ip saddr != ${m.cidr}` };
  const iface = m.prefix ? `${m.iface}*` : m.iface;
  return { ifLocal: `iifname "${iface}"`, ifNotLocal: `iifname != "${iface}"` };
}

/**
 * The KubeProxyConfiguration as the nftables proxier takes it on `node`. An empty
 * nodePortAddresses means "primary" in nftables mode (server_linux.go platformApplyDefaults,
 * since 1.29): NodePorts answer on the node's primary IP only, where iptables mode answers on
 * every local address.
 */
export function nftablesConfig(node: NodeInfo, ctx: KubeProxyConfig): NFTablesProxierConfig {
  const cfg = ctx.config;
  const withDefault = cfg.nodePortAddresses.length ? cfg : { ...cfg, nodePortAddresses: ['primary'] };
  return {
    localDetector: nftDetector(cfg, ctx.clusterCIDR, node),
    masqueradeMark: masqueradeMark(cfg.nftables.masqueradeBit),
    masqueradeAll: cfg.nftables.masqueradeAll,
    nodePortIPs: nodePortIPs(withDefault, node, ctx.nodeAddresses),
    serviceCIDRs: [...(ctx.serviceCIDRs ?? [])],
  };
}

const LIST_CHAINS = { file: 'nft', args: ['list', 'chains', 'ip'] };
const LIST_SETS = { file: 'nft', args: ['-t', 'list', 'sets', 'ip'] };

export const nftablesProxier: Proxier = {
  mode: 'nftables',
  tools: ['nft'],
  kernel: ['nftables', 'conntrack'],
  explain: {
    setup:
      'kube-proxy (nftables mode) hooks nothing into other tables: everything it writes lives in its own table, ip kube-proxy, created by its first sync, with base chains of its own on the netfilter hooks (nat-prerouting and nat-output at dstnat priority, nat-postrouting at srcnat, filter chains before and after DNAT).',
    sync: 'Then kube-proxy writes the whole table with one nft -f transaction: the services chain looks up ip daddr . meta l4proto . th dport in the service-ips verdict map (and NodePorts in service-nodeports, on the addresses of nodeport-ips), which jumps to a service-<hash>-<namespace>/<name>/<protocol>/<port> chain that picks an endpoint chain with numgen random mod N vmap; the endpoint chain DNATs to the pod. Services without endpoints are rejected through no-endpoint-services; other ports of a ClusterIP are rejected and unallocated ClusterIPs dropped (cluster-ips-check).',
    run: 'on every change it writes one small transaction: only the chains of the Services that changed and the map elements that differ, so one Service change costs the same at 10 Services as at 10,000 (chains that went away are flushed and deleted by the next sync).',
  },
  observe: [LIST_CHAINS, LIST_SETS],
  // The table's base chain: gone when someone deleted the table or flushed the ruleset.
  canary: [{ file: 'nft', args: ['list', 'chain', 'ip', TABLE, 'nat-prerouting'] }],
  setup: () => [],
  // CleanupLeftovers: delete the table (a missing one is no error there; here it is not deleted).
  cleanup: (now) =>
    tableObjects(now[0] ?? '', 'chain').length || (now[0] ?? '').includes(`table ip ${TABLE} {`)
      ? [{ file: 'nft', args: ['delete', 'table', 'ip', TABLE] }]
      : [],
  sync(node, api, now, cfg, memo) {
    const existing = now ? { chains: tableObjects(now[0] ?? '', 'chain'), sets: tableObjects(now[1] ?? '', 'set') } : undefined;
    const r = syncNFTables(node, api.services, api.slices, nftablesConfig(node, cfg), (memo as NFTablesMemo | undefined) ?? null, existing);
    return {
      commands: r.payload ? [{ file: NFT_COMMAND[0]!, args: NFT_COMMAND.slice(1), input: r.payload }] : [],
      stats: { services: r.stats.services, endpoints: r.stats.endpoints, written: `${r.stats.commands} nft commands (${r.full ? 'full' : 'partial'} sync)` },
      memo: r.memo,
    };
  },
};
