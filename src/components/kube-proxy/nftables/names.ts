// The names kube-proxy's nftables mode gives things (pkg/proxy/nftables/proxier.go): its table,
// the base chains hooked into netfilter, the top-level chains, sets and maps, and the
// per-service-port and per-endpoint chains, whose names carry the Service's own name after a
// hash (nftables allows 256 characters, so no truncation is needed in practice).

import { createHash } from 'node:crypto';

export const TABLE = 'kube-proxy';
/** Every write and listing names the table: kube-proxy never touches anything else. */
export const TABLE_REF = `ip ${TABLE}`;

// Top-level chains, sets and maps (the proxier.go constants).
export const SERVICES = 'services';
export const SERVICE_IPS = 'service-ips';
export const SERVICE_NODEPORTS = 'service-nodeports';
export const NODEPORT_IPS = 'nodeport-ips';
export const CLUSTER_IPS = 'cluster-ips';
export const SERVICE_ENDPOINTS_CHECK = 'service-endpoints-check';
export const NODEPORT_ENDPOINTS_CHECK = 'nodeport-endpoints-check';
export const NO_ENDPOINT_SERVICES = 'no-endpoint-services';
export const NO_ENDPOINT_NODEPORTS = 'no-endpoint-nodeports';
export const REJECT_CHAIN = 'reject-chain';
export const CLUSTER_IPS_CHECK = 'cluster-ips-check';
export const FIREWALL_IPS = 'firewall-ips';
export const FIREWALL_CHECK = 'firewall-check';
export const MARK_MASQ = 'mark-for-masquerade';
export const MASQUERADING = 'masquerading';

export interface BaseChain {
  name: string;
  type: 'filter' | 'nat';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /**
   * Numeric: kube-proxy names them dstnat-10, filter, dstnat and srcnat (knftables), which is
   * -110, 0, -100 and 100; nft 1.0.6 refuses "dstnat" on the output hook and "dstnat-10" anywhere,
   * and lists the numbers back the same way (as knftables' fake, and so upstream's tests, print them).
   */
  priority: number;
}

/**
 * nftablesBaseChains (Kubernetes 1.33+): filtering that must see the Service IP runs before DNAT
 * (dstnat-10 = -110); the endpoint and ClusterIP checks run at filter priority, after DNAT, so
 * that only traffic DNAT did not catch reaches them.
 */
export const BASE_CHAINS: readonly BaseChain[] = [
  { name: 'filter-prerouting-pre-dnat', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-output-pre-dnat', type: 'filter', hook: 'output', priority: -110 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: 0 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: 0 },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: 0 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
];

/** nftablesJumpChains: [destination, source base chain, match before the jump]. */
export const JUMP_CHAINS: readonly (readonly [string, string, string])[] = [
  // reject is only valid in input, forward and output hooks on kernels before 5.9.
  [NODEPORT_ENDPOINTS_CHECK, 'filter-input', 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK, 'filter-input', 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK, 'filter-forward', 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK, 'filter-output', 'ct state new'],
  [FIREWALL_CHECK, 'filter-prerouting-pre-dnat', 'ct state new'],
  [FIREWALL_CHECK, 'filter-output-pre-dnat', 'ct state new'],
  [SERVICES, 'nat-output', ''],
  [SERVICES, 'nat-prerouting', ''],
  [MASQUERADING, 'nat-postrouting', ''],
  [CLUSTER_IPS_CHECK, 'filter-forward', 'ct state new'],
  [CLUSTER_IPS_CHECK, 'filter-output', 'ct state new'],
];

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** knftables.NameLengthMax (256) less the longest prefix ("firewall-" and kin fit in 16). */
const CHAIN_NAME_BASE_LENGTH_MAX = 256 - 16;

// Every sync names every chain again (a partial one too, to know which chains are in use): the
// hashes of names already seen are kept, as kube-proxy keeps them in its servicePortInfo and
// endpointInfo. Bounded, so that a long-lived agent does not grow without end.
const hashed = new Map<string, string>();
const HASHED_MAX = 500_000;

/** hashAndTruncate: base32.StdEncoding(sha256(name))[:8] + "-" + name, cut to 240 characters. */
export function hashAndTruncate(name: string): string {
  const known = hashed.get(name);
  if (known !== undefined) return known;
  if (hashed.size >= HASHED_MAX) hashed.clear();
  const digest = createHash('sha256').update(name).digest();
  let hash = '';
  let value = 0;
  let bits = 0;
  // 8 characters are 40 bits: the first 5 bytes of the digest.
  for (const byte of digest.subarray(0, 5)) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      hash += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  const full = `${hash}-${name}`;
  const out = full.length > CHAIN_NAME_BASE_LENGTH_MAX ? full.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3) + '...' : full;
  hashed.set(name, out);
  return out;
}

export interface ServicePortChainNames {
  /** Dispatch to all endpoints (Cluster policy): service-<hash>-<ns>/<name>/<proto>/<port>. */
  cluster: string;
  /** Dispatch to this node's endpoints (Local policy). */
  local: string;
  /** Entry for NodePort, external IP and load-balancer traffic. */
  external: string;
  /** loadBalancerSourceRanges check. */
  firewall: string;
}

/** servicePortChainNameBase: "<ns>/<name>/<protocol>/<port name>", hashed. */
export function servicePortChainNames(namespace: string, name: string, protocol: string, portName: string): ServicePortChainNames {
  const base = hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}`);
  return { cluster: `service-${base}`, local: `local-${base}`, external: `external-${base}`, firewall: `firewall-${base}` };
}

/** servicePortEndpointChainNameBase: "<ns>/<name>/<protocol>/<port name>__<ip>/<port>", hashed; the chain and its affinity set. */
export function endpointNames(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
  ip: string,
  port: number,
): { chain: string; affinitySet: string } {
  const base = hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}__${ip}/${port}`);
  return { chain: `endpoint-${base}`, affinitySet: `affinity-${base}` };
}

/** Per-service chains have a "/" in their names, which none of the fixed ones has (isServiceChainName). */
export const isServiceChainName = (chain: string): boolean => chain.includes('/');
export const isAffinitySetName = (set: string): boolean => set.startsWith('affinity-');

/** The chains and sets of the table in `nft list chains ip` and `nft -t list sets ip` output. */
export function tableObjects(listing: string, kind: 'chain' | 'set'): string[] {
  const out: string[] = [];
  let inTable = false;
  for (const line of listing.split('\n')) {
    const table = /^table (\S+) (\S+) \{/.exec(line);
    if (table) inTable = `${table[1]} ${table[2]}` === TABLE_REF;
    else if (line === '}') inTable = false;
    else if (inTable) {
      const m = new RegExp(`^\\t${kind} (\\S+) \\{`).exec(line);
      if (m) out.push(m[1]!.replace(/^"(.*)"$/, '$1'));
    }
  }
  return out;
}
