// kube-proxy's ipsets in IPVS mode (pkg/proxy/ipvs/ipset.go, ipsetInfo in proxier.go): names,
// types and the comments its iptables rules carry (reference kube-proxy.md §2.2), and the
// `ipset restore` input that brings the node's sets to one sync's entries. kube-proxy creates
// every set at start and adds and deletes entries one `ipset` call at a time; here the same
// difference goes in one restore (-exist, so a set or entry that appeared meanwhile is no error).

type SetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

export interface SetInfo {
  name: string;
  type: SetType;
  comment: string;
}

const set = <N extends string>(name: N, type: SetType, comment: string) => ({ name, type, comment });

/** Every set kube-proxy creates, in ipsetInfo's order. */
export const SET = {
  loopBack: set('KUBE-LOOP-BACK', 'hash:ip,port,ip', 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose'),
  clusterIP: set('KUBE-CLUSTER-IP', 'hash:ip,port', 'Kubernetes service cluster ip + port for masquerade purpose'),
  externalIP: set('KUBE-EXTERNAL-IP', 'hash:ip,port', 'Kubernetes service external ip + port for masquerade and filter purpose'),
  externalIPLocal: set('KUBE-EXTERNAL-IP-LOCAL', 'hash:ip,port', 'Kubernetes service external ip + port with externalTrafficPolicy=local'),
  loadBalancer: set('KUBE-LOAD-BALANCER', 'hash:ip,port', 'Kubernetes service lb portal'),
  loadBalancerFW: set('KUBE-LOAD-BALANCER-FW', 'hash:ip,port', 'Kubernetes service load balancer ip + port for load balancer with sourceRange'),
  loadBalancerLocal: set('KUBE-LOAD-BALANCER-LOCAL', 'hash:ip,port', 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local'),
  loadBalancerSourceIP: set(
    'KUBE-LOAD-BALANCER-SOURCE-IP',
    'hash:ip,port,ip',
    'Kubernetes service load balancer ip + port + source IP for packet filter purpose',
  ),
  loadBalancerSourceCIDR: set(
    'KUBE-LOAD-BALANCER-SOURCE-CIDR',
    'hash:ip,port,net',
    'Kubernetes service load balancer ip + port + source cidr for packet filter purpose',
  ),
  nodePortTCP: set('KUBE-NODE-PORT-TCP', 'bitmap:port', 'Kubernetes nodeport TCP port for masquerade purpose'),
  nodePortLocalTCP: set('KUBE-NODE-PORT-LOCAL-TCP', 'bitmap:port', 'Kubernetes nodeport TCP port with externalTrafficPolicy=local'),
  nodePortUDP: set('KUBE-NODE-PORT-UDP', 'bitmap:port', 'Kubernetes nodeport UDP port for masquerade purpose'),
  nodePortLocalUDP: set('KUBE-NODE-PORT-LOCAL-UDP', 'bitmap:port', 'Kubernetes nodeport UDP port with externalTrafficPolicy=local'),
  nodePortSCTP: set('KUBE-NODE-PORT-SCTP-HASH', 'hash:ip,port', "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"),
  nodePortLocalSCTP: set(
    'KUBE-NODE-PORT-LOCAL-SCTP-HASH',
    'hash:ip,port',
    "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
  ),
  healthCheckNodePort: set('KUBE-HEALTH-CHECK-NODE-PORT', 'bitmap:port', 'Kubernetes health check node port'),
  ipvsIPs: set('KUBE-IPVS-IPS', 'hash:ip', 'Addresses on the ipvs interface'),
} as const;

export type SetName = (typeof SET)[keyof typeof SET]['name'];
export const SETS: readonly SetInfo[] = Object.values(SET);

/** The `create` line as kube-proxy's ipset util writes it (hash sets: IPv4 family, kube-proxy's sizes). */
export function createLine(s: SetInfo): string {
  return s.type === 'bitmap:port' ? `create ${s.name} bitmap:port range 0-65535` : `create ${s.name} ${s.type} family inet hashsize 1024 maxelem 65536`;
}

/** What `ipset save` shows: the sets by name, each with its entries (null: not there). */
export function parseIpsetSave(save: string): Map<string, Set<string>> {
  const sets = new Map<string, Set<string>>();
  for (const line of save.split('\n')) {
    const [verb, name, entry] = line.trim().split(/\s+/);
    if (verb === 'create' && name) sets.set(name, new Set());
    else if (verb === 'add' && name && entry) sets.get(name)?.add(entry);
  }
  return sets;
}

/**
 * An entry as `ipset save` prints it: a hash:ip,port,net member with a /32 net is listed without
 * the prefix, so the difference must compare that form or it would delete and re-add the entry.
 */
const canonical = (s: SetInfo, entry: string): string => (s.type === 'hash:ip,port,net' ? entry.replace(/\/32$/, '') : entry);

/**
 * The `ipset restore -exist` input that turns `save` (null: a fresh node) into `wanted`: missing
 * sets created, missing entries added, entries nobody wants deleted. Empty when nothing changes.
 */
export function ipsetRestorePayload(wanted: ReadonlyMap<string, ReadonlySet<string>>, save: string | null): string {
  const existing = save === null ? new Map<string, Set<string>>() : parseIpsetSave(save);
  const lines: string[] = [];
  for (const s of SETS) {
    const have = existing.get(s.name);
    const want = new Set([...(wanted.get(s.name) ?? [])].map((e) => canonical(s, e)));
    if (!have) lines.push(createLine(s));
    for (const entry of want) if (!have?.has(entry)) lines.push(`add ${s.name} ${entry}`);
    if (have) for (const entry of have) if (!want.has(entry)) lines.push(`del ${s.name} ${entry}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** What cleanup destroys: every kube-proxy set the node has (after the rules that match them are gone). */
export function ipsetDestroyPayload(save: string): string {
  const existing = parseIpsetSave(save);
  const doomed = SETS.filter((s) => existing.has(s.name));
  return doomed.length ? `${doomed.map((s) => `flush ${s.name}\ndestroy ${s.name}`).join('\n')}\n` : '';
}
