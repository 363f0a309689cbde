// kube-proxy's nftables mode as a pure function: the Services and EndpointSlices in, the `nft -f`
// transaction kube-proxy runs on one node out. A transcription of syncProxyRules and
// setupNFTables in kubernetes/pkg/proxy/nftables/proxier.go (1.33+: filter-*-pre-dnat chains,
// cluster-ips-check, nftElementStorage), written in knftables' syntax; the spec is
// ../shared/reference/kube-proxy.md §3. Service ports and endpoints are resolved exactly as in
// iptables mode (pkg/proxy is shared by the modes there too).
//
// Full and partial syncs, as kube-proxy does them: the first sync (and the first after a failed
// one, or after the configuration changed) creates the table and writes everything; later ones
// write only the chains of Services whose Service or endpoints changed, and only the set and map
// elements that differ from what the last sync wrote. What was written is the memo the caller
// keeps between syncs (kube-proxy keeps it in its Proxier). Per-service chains no longer used are
// flushed at once and deleted by the next sync: the kernel (before 6.2) notices a chain is no
// longer referenced by a deleted map element only a little later (kube-proxy waits a second;
// syncs here are at least minSyncPeriod apart). IPv4 only, like the IPv4 proxier.

import type { EndpointSlice, NodeInfo, Service } from '../../../api/objects.js';
import { contains, formatNetwork, parseIPv4Sloppy } from '../../../labfile/net.js';
import {
  categorizeEndpoints,
  externallyAccessible,
  servicePorts,
  usesClusterEndpoints,
  usesLocalEndpoints,
  type Endpoint,
  type ServicePortInfo,
} from '../iptables/sync.js';
import {
  BASE_CHAINS,
  CLUSTER_IPS,
  CLUSTER_IPS_CHECK,
  FIREWALL_CHECK,
  FIREWALL_IPS,
  JUMP_CHAINS,
  MARK_MASQ,
  MASQUERADING,
  NODEPORT_ENDPOINTS_CHECK,
  NODEPORT_IPS,
  NO_ENDPOINT_NODEPORTS,
  NO_ENDPOINT_SERVICES,
  REJECT_CHAIN,
  SERVICES,
  SERVICE_ENDPOINTS_CHECK,
  SERVICE_IPS,
  SERVICE_NODEPORTS,
  TABLE_REF,
  endpointNames,
  isAffinitySetName,
  isServiceChainName,
  servicePortChainNames,
} from './names.js';

export interface NFTablesProxierConfig {
  /** The local-traffic detector in nft syntax (IfLocalNFT / IfNotLocalNFT); null: none. */
  localDetector: { ifLocal: string; ifNotLocal: string } | null;
  /** fmt.Sprintf("%#08x", 1<<masqueradeBit). */
  masqueradeMark: string;
  masqueradeAll: boolean;
  /** The node IPs NodePorts answer on (loopback left out); null: every local address (nodePortAddresses 0.0.0.0/0). */
  nodePortIPs: string[] | null;
  /** The ServiceCIDRs kube-proxy knows (for "Drop traffic to unallocated ClusterIPs"). */
  serviceCIDRs: string[];
}

type Container =
  typeof CLUSTER_IPS | typeof SERVICE_IPS | typeof FIREWALL_IPS | typeof NO_ENDPOINT_SERVICES | typeof NO_ENDPOINT_NODEPORTS | typeof SERVICE_NODEPORTS;
const CONTAINERS: readonly Container[] = [CLUSTER_IPS, SERVICE_IPS, FIREWALL_IPS, NO_ENDPOINT_SERVICES, NO_ENDPOINT_NODEPORTS, SERVICE_NODEPORTS];

/** What one sync wrote, for the next one to write only what changed. Treat as opaque. */
export interface NFTablesMemo {
  /** The configuration the table was written with: a change forces a full sync. */
  config: string;
  /** Per Service ("ns/name"): its ports and endpoints as last written. */
  services: Map<string, string>;
  /** Per set or map: element key → value ("" in a set), as nftElementStorage keeps them. */
  elements: Record<Container, Map<string, string>>;
  /** Per-service chains in the table. */
  chains: Set<string>;
  affinitySets: Set<string>;
  /** Chains flushed by this sync, deleted by the next. */
  stale: string[];
}

export interface NFTablesSyncResult {
  /** The `nft -f -` input; "" when nothing needs writing. */
  payload: string;
  memo: NFTablesMemo;
  full: boolean;
  stats: { services: number; endpoints: number; commands: number };
}

/** The table's existing per-service chains and sets, for a full sync (what kube-proxy lists). */
export interface ExistingObjects {
  chains: readonly string[];
  sets: readonly string[];
}

/**
 * One sync on `node`. `memo` is what the previous successful sync returned, or null for a full
 * sync (kube-proxy's needFullSync); `existing` is the table as listed, used by a full sync to find
 * stale chains and sets.
 */
export function syncNFTables(
  node: NodeInfo,
  services: Service[],
  slices: EndpointSlice[],
  cfg: NFTablesProxierConfig,
  memo: NFTablesMemo | null,
  existing?: ExistingObjects,
): NFTablesSyncResult {
  const configKey = JSON.stringify(cfg);
  const partial = memo !== null && memo.config === configKey;
  const tx: string[] = [];
  const t = (op: string, what: string) => tx.push(`${op} ${what}`);

  // Chains that went stale last time are now unreferenced for sure.
  const stalePending = memo?.stale ?? [];
  for (const chain of stalePending) t('delete', `chain ${TABLE_REF} ${chain}`);

  const elements = Object.fromEntries(CONTAINERS.map((c) => [c, partial ? new Map(memo.elements[c]) : new Map<string, string>()])) as Record<
    Container,
    Map<string, string>
  >;
  const leftover = Object.fromEntries(CONTAINERS.map((c) => [c, new Set(elements[c].keys())])) as Record<Container, Set<string>>;
  if (!partial) setupNFTables(tx, cfg, memo === null);

  const activeChains = new Set<string>();
  const activeAffinitySets = new Set<string>();
  /** ensureChain: add and flush a chain once per transaction; a skipped Service's chains are only noted. */
  const ensureChain = (chain: string, skip: boolean) => {
    if (activeChains.has(chain)) return;
    activeChains.add(chain);
    if (skip) return;
    t('add', `chain ${TABLE_REF} ${chain}`);
    t('flush', `chain ${TABLE_REF} ${chain}`);
  };
  /** nftElementStorage.ensureElem: add what is new, replace what changed value, keep the rest. */
  const ensureElem = (container: Container, key: string, value: string, comment?: string) => {
    const known = elements[container].get(key);
    if (known === value) {
      leftover[container].delete(key);
      return;
    }
    const text = `element ${TABLE_REF} ${container} { ${key}${comment ? ` comment "${comment}"` : ''}${value ? ` : ${value}` : ''} }`;
    if (known !== undefined) {
      if (known !== value) {
        t('delete', `element ${TABLE_REF} ${container} { ${key} }`);
        t('add', text);
        elements[container].set(key, value);
      }
      leftover[container].delete(key);
    } else {
      t('add', text);
      elements[container].set(key, value);
    }
  };

  const ports = servicePorts(node, services, slices);
  const byService = new Map<string, ServicePortInfo[]>();
  for (const sp of ports) {
    const list = byService.get(sp.key);
    if (list) list.push(sp);
    else byService.set(sp.key, [sp]);
  }
  // The change trackers' UpdatedServices: a Service whose object or endpoints changed.
  const fingerprints = new Map<string, string>();
  for (const [key, list] of byService) fingerprints.set(key, list.map(fingerprint).join('\n'));
  const nodeIP = parseIPv4Sloppy(node.address);

  for (const sp of ports) {
    const [namespace, name] = sp.key.split('/') as [string, string];
    const chains = servicePortChainNames(namespace, name, sp.protocol, sp.portName);
    const epNames = (ep: Endpoint) => endpointNames(namespace, name, sp.protocol, sp.portName, ep.ip, Number(ep.hostPort.split(':')[1]));
    const { protocol, clusterIP, port } = sp;
    const { clusterEndpoints, localEndpoints, allReachable, hasEndpoints } = categorizeEndpoints(sp);
    const skip = partial && memo.services.get(sp.key) === fingerprints.get(sp.key);

    for (const ep of allReachable) {
      const n = epNames(ep);
      ensureChain(n.chain, skip);
      if (sp.affinitySeconds !== null) activeAffinitySets.add(n.affinitySet);
    }
    const clusterPolicyChain = chains.cluster;
    const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
    if (usesClusterPolicyChain) ensureChain(clusterPolicyChain, skip);
    const localPolicyChain = chains.local;
    const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(sp);
    if (usesLocalPolicyChain) ensureChain(localPolicyChain, skip);

    const internalTrafficChain = sp.internalPolicyLocal ? localPolicyChain : clusterPolicyChain;
    const hasInternalEndpoints = hasEndpoints && !(sp.internalPolicyLocal && localEndpoints.length === 0);
    const externalPolicyChain = sp.externalPolicyLocal ? localPolicyChain : clusterPolicyChain;
    const hasExternalEndpoints = hasEndpoints && !(sp.externalPolicyLocal && localEndpoints.length === 0);
    const externalTrafficChain = chains.external;
    // Needed even without external endpoints: it holds the short-circuit rules for local traffic.
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
    if (usesExternalTrafficChain) ensureChain(externalTrafficChain, skip);

    // No endpoints at all: reject ("connection refused" at once); endpoints, but none for this
    // policy: drop, so that the client times out.
    const internalTrafficFilterVerdict = hasEndpoints ? (hasInternalEndpoints ? '' : 'drop') : `goto ${REJECT_CHAIN}`;
    const externalTrafficFilterVerdict = hasEndpoints ? (hasExternalEndpoints ? '' : 'drop') : `goto ${REJECT_CHAIN}`;
    const key = (ip: string) => `${ip} . ${protocol} . ${port}`;

    ensureElem(CLUSTER_IPS, clusterIP, '');
    if (hasInternalEndpoints) ensureElem(SERVICE_IPS, key(clusterIP), `goto ${internalTrafficChain}`);
    else ensureElem(NO_ENDPOINT_SERVICES, key(clusterIP), internalTrafficFilterVerdict, sp.name);

    for (const externalIP of sp.externalIPs) {
      if (hasEndpoints) ensureElem(SERVICE_IPS, key(externalIP), `goto ${externalTrafficChain}`);
      if (!hasExternalEndpoints) ensureElem(NO_ENDPOINT_SERVICES, key(externalIP), externalTrafficFilterVerdict, sp.name);
    }

    const usesFWChain = sp.loadBalancerVIPs.length > 0 && sp.sourceRanges.length > 0;
    if (usesFWChain) ensureChain(chains.firewall, skip);
    for (const lbIP of sp.loadBalancerVIPs) {
      if (hasEndpoints) ensureElem(SERVICE_IPS, key(lbIP), `goto ${externalTrafficChain}`);
      if (usesFWChain) ensureElem(FIREWALL_IPS, key(lbIP), `goto ${chains.firewall}`);
    }
    if (!hasExternalEndpoints) for (const lbIP of sp.loadBalancerVIPs) ensureElem(NO_ENDPOINT_SERVICES, key(lbIP), externalTrafficFilterVerdict, sp.name);

    // NodePorts are not subject to loadBalancerSourceRanges, and never were.
    if (sp.nodePort !== 0) {
      if (hasEndpoints) ensureElem(SERVICE_NODEPORTS, `${protocol} . ${sp.nodePort}`, `goto ${externalTrafficChain}`);
      if (!hasExternalEndpoints) ensureElem(NO_ENDPOINT_NODEPORTS, `${protocol} . ${sp.nodePort}`, externalTrafficFilterVerdict, sp.name);
    }

    // Everything below is the Service's own chains: left alone when it did not change.
    if (skip) continue;
    const rule = (chain: string, text: string, comment?: string) => t('add', `rule ${TABLE_REF} ${chain} ${text}${comment ? ` comment "${comment}"` : ''}`);

    if (hasInternalEndpoints) {
      // Off-cluster traffic to the ClusterIP may bounce to another node: masquerade it.
      if (cfg.masqueradeAll) rule(internalTrafficChain, `ip daddr ${clusterIP} jump ${MARK_MASQ}`);
      else if (cfg.localDetector) rule(internalTrafficChain, `ip daddr ${clusterIP} ${cfg.localDetector.ifNotLocal} jump ${MARK_MASQ}`);
    }

    if (usesExternalTrafficChain) {
      if (!sp.externalPolicyLocal) {
        // The endpoint may be on another node: masquerade so that replies come back through this one.
        rule(externalTrafficChain, `jump ${MARK_MASQ}`);
      } else {
        // Pod traffic to an external destination is subject to neither policy, as if it had gone
        // out to the load balancer and come back in; the node's own is masqueraded (its source
        // would be a local address) and short-circuited too.
        if (cfg.localDetector) rule(externalTrafficChain, `${cfg.localDetector.ifLocal} goto ${clusterPolicyChain}`, 'short-circuit pod traffic');
        rule(externalTrafficChain, `fib saddr type local jump ${MARK_MASQ}`, 'masquerade local traffic');
        rule(externalTrafficChain, `fib saddr type local goto ${clusterPolicyChain}`, 'short-circuit local traffic');
      }
      if (hasExternalEndpoints) rule(externalTrafficChain, `goto ${externalPolicyChain}`);
    }

    if (usesFWChain) {
      const sources = sp.sourceRanges.map(formatNetwork);
      // A VIP-style LB IP is often a local address too: the node's own requests loop back with it as source.
      if (nodeIP !== undefined && sp.sourceRanges.some((r) => contains(r, nodeIP))) sources.push(...sp.loadBalancerVIPs);
      rule(chains.firewall, `ip saddr != { ${sources.join(' , ')} } drop`);
    }

    if (sp.affinitySeconds !== null) {
      for (const ep of allReachable)
        t('add', `set ${TABLE_REF} ${epNames(ep).affinitySet} { type ipv4_addr ; flags dynamic,timeout ; timeout ${sp.affinitySeconds}s ; }`);
    }

    const writeServiceToEndpointRules = (chain: string, endpoints: Endpoint[]) => {
      if (sp.affinitySeconds !== null)
        for (const ep of endpoints) {
          const n = epNames(ep);
          rule(chain, `ip saddr @${n.affinitySet} goto ${n.chain}`);
        }
      const vmap = endpoints.map((ep, i) => `${i} : goto ${epNames(ep).chain}`).join(' , ');
      rule(chain, `numgen random mod ${endpoints.length} vmap { ${vmap} }`);
    };
    if (usesClusterPolicyChain) writeServiceToEndpointRules(clusterPolicyChain, clusterEndpoints);
    if (usesLocalPolicyChain) writeServiceToEndpointRules(localPolicyChain, localEndpoints);

    for (const ep of allReachable) {
      const n = epNames(ep);
      // Hairpin: a pod reaching itself through the Service must see the reply come from the Service.
      rule(n.chain, `ip saddr ${ep.ip} jump ${MARK_MASQ}`);
      if (sp.affinitySeconds !== null) rule(n.chain, `update @${n.affinitySet} { ip saddr }`);
      rule(n.chain, `meta l4proto ${protocol} dnat to ${ep.hostPort}`);
    }
  }

  // Stale chains: flushed now (nothing may jump into them any more), deleted by the next sync.
  const known = memo ? memo.chains : new Set((existing?.chains ?? []).filter(isServiceChainName));
  const stale: string[] = [];
  for (const chain of [...known].sort()) {
    if (activeChains.has(chain) || stalePending.includes(chain)) continue;
    t('flush', `chain ${TABLE_REF} ${chain}`);
    stale.push(chain);
  }
  // Stale affinity sets can go at once.
  const knownSets = memo ? memo.affinitySets : new Set((existing?.sets ?? []).filter(isAffinitySetName));
  for (const set of [...knownSets].sort()) if (!activeAffinitySets.has(set)) t('delete', `set ${TABLE_REF} ${set}`);

  // cleanupLeftoverKeys: elements of Services (or IPs, ports) that went away.
  for (const c of CONTAINERS)
    for (const k of leftover[c]) {
      t('delete', `element ${TABLE_REF} ${c} { ${k} }`);
      elements[c].delete(k);
    }

  return {
    payload: tx.length ? tx.join('\n') + '\n' : '',
    memo: {
      config: configKey,
      services: fingerprints,
      elements,
      chains: new Set([...activeChains, ...stale]),
      affinitySets: activeAffinitySets,
      stale,
    },
    full: !partial,
    stats: { services: ports.length, endpoints: ports.reduce((n, sp) => n + sp.endpoints.length, 0), commands: tx.length },
  };
}

/** What of a service port the rules depend on: a Service whose ports all print the same needs no rewrite. */
function fingerprint(sp: ServicePortInfo): string {
  const eps = sp.endpoints.map((e) => `${e.hostPort}/${+e.isLocal}${+e.ready}${+e.serving}${+e.terminating}`).join(',');
  const ranges = sp.sourceRanges.map(formatNetwork).join(',');
  return `${sp.portName}|${sp.protocol}|${sp.clusterIP}|${sp.port}|${sp.nodePort}|${sp.externalIPs.join(',')}|${sp.loadBalancerVIPs.join(',')}|${ranges}|${+sp.externalPolicyLocal}${+sp.internalPolicyLocal}|${sp.affinitySeconds}|${eps}`;
}

/** setupNFTables: the table, its base and top-level chains, sets and maps, written at every full sync. */
function setupNFTables(tx: string[], cfg: NFTablesProxierConfig, firstSync: boolean): void {
  const t = (op: string, what: string) => tx.push(`${op} ${what}`);
  const rule = (chain: string, text: string, comment?: string) => t('add', `rule ${TABLE_REF} ${chain} ${text}${comment ? ` comment "${comment}"` : ''}`);
  t('add', `table ${TABLE_REF} { comment "rules for kube-proxy" ; }`);
  // Once per kube-proxy process: recreate the base chains, so that one left by an older version
  // with another priority does not fail the transaction (a base chain's hook cannot be altered).
  if (firstSync)
    for (const bc of BASE_CHAINS) {
      t('add', `chain ${TABLE_REF} ${bc.name}`);
      t('delete', `chain ${TABLE_REF} ${bc.name}`);
    }
  for (const bc of BASE_CHAINS) {
    t('add', `chain ${TABLE_REF} ${bc.name} { type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`);
    t('flush', `chain ${TABLE_REF} ${bc.name}`);
  }
  const created = new Set<string>();
  const ensureChain = (chain: string) => {
    if (created.has(chain)) return;
    created.add(chain);
    t('add', `chain ${TABLE_REF} ${chain}`);
    t('flush', `chain ${TABLE_REF} ${chain}`);
  };
  for (const [dst, src, extra] of JUMP_CHAINS) {
    ensureChain(dst);
    rule(src, `${extra ? extra + ' ' : ''}jump ${dst}`);
  }
  for (const chain of [SERVICES, CLUSTER_IPS_CHECK, MASQUERADING, MARK_MASQ]) ensureChain(chain);

  rule(MARK_MASQ, `mark set mark or ${cfg.masqueradeMark}`);
  rule(MASQUERADING, `mark and ${cfg.masqueradeMark} == 0 return`);
  // Clear the mark so that a packet re-traversing the stack is not masqueraded twice.
  rule(MASQUERADING, `mark set mark xor ${cfg.masqueradeMark}`);
  rule(MASQUERADING, 'masquerade fully-random');

  t('add', `set ${TABLE_REF} ${CLUSTER_IPS} { type ipv4_addr ; comment "Active ClusterIPs" ; }`);
  // Unlike iptables mode, a ClusterIP's other ports are refused and unallocated ClusterIPs dropped.
  rule(CLUSTER_IPS_CHECK, `ip daddr @${CLUSTER_IPS} reject`, 'Reject traffic to invalid ports of ClusterIPs');
  if (cfg.serviceCIDRs.length) rule(CLUSTER_IPS_CHECK, `ip daddr { ${cfg.serviceCIDRs.join(',')} } drop`, 'Drop traffic to unallocated ClusterIPs');

  // "add" then "delete" ensures the set is gone without failing when it never existed.
  t('add', `set ${TABLE_REF} ${NODEPORT_IPS} { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`);
  if (cfg.nodePortIPs === null) t('delete', `set ${TABLE_REF} ${NODEPORT_IPS}`);
  else {
    t('flush', `set ${TABLE_REF} ${NODEPORT_IPS}`);
    // Localhost NodePorts are not supported in nftables mode (no route_localnet).
    for (const ip of cfg.nodePortIPs) if (!ip.startsWith('127.')) t('add', `element ${TABLE_REF} ${NODEPORT_IPS} { ${ip} }`);
  }

  t(
    'add',
    `map ${TABLE_REF} ${NO_ENDPOINT_SERVICES} { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
  );
  t(
    'add',
    `map ${TABLE_REF} ${NO_ENDPOINT_NODEPORTS} { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
  );
  t('add', `chain ${TABLE_REF} ${REJECT_CHAIN} { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`);
  t('flush', `chain ${TABLE_REF} ${REJECT_CHAIN}`);
  rule(REJECT_CHAIN, 'reject');
  rule(SERVICE_ENDPOINTS_CHECK, `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}`);
  const nodePortDest = cfg.nodePortIPs === null ? 'ip daddr != 127.0.0.0/8' : `ip daddr @${NODEPORT_IPS}`;
  rule(NODEPORT_ENDPOINTS_CHECK, `${nodePortDest} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}`);

  t(
    'add',
    `map ${TABLE_REF} ${FIREWALL_IPS} { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
  );
  ensureChain(FIREWALL_CHECK);
  rule(FIREWALL_CHECK, `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS}`);

  t(
    'add',
    `map ${TABLE_REF} ${SERVICE_IPS} { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
  );
  t('add', `map ${TABLE_REF} ${SERVICE_NODEPORTS} { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`);
  rule(SERVICES, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`);
  if (cfg.nodePortIPs === null) rule(SERVICES, `fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`);
  else rule(SERVICES, `ip daddr @${NODEPORT_IPS} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`);

  // The element storages start over: flush every set and map the sync fills.
  t('flush', `set ${TABLE_REF} ${CLUSTER_IPS}`);
  for (const m of [SERVICE_IPS, FIREWALL_IPS, NO_ENDPOINT_SERVICES, NO_ENDPOINT_NODEPORTS, SERVICE_NODEPORTS]) t('flush', `map ${TABLE_REF} ${m}`);
}
