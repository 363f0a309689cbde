// kube-proxy's chains in iptables mode: the top-level ones, the per-service-port and per-endpoint
// names (hashed to fit iptables' 28 characters), which chains are kube-proxy's own, and the chains
// a node has, read from `iptables-save`.

import { createHash } from 'node:crypto';
import type { Protocol, Service, ServicePort } from '../../../api/objects.js';

// Top-level chains (proxier.go constants).
export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
/** A copy of kubelet's chain holding the anti-martian rule that makes route_localnet=1 safe. */
export const KUBE_FIREWALL = 'KUBE-FIREWALL';
/** Empty chain kube-proxy's iptables monitor watches: when it vanishes, someone flushed the tables. */
export const CANARY_CHAIN = 'KUBE-PROXY-CANARY';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

// Every sync names every chain again: the hashes of names already seen are kept (kube-proxy keeps
// them in its servicePortInfo and endpointInfo). Bounded, for a long-lived agent.
const hashes = new Map<string, string>();
const HASHES_MAX = 500_000;

/** base32.StdEncoding(sha256(s))[:16]: chain names must stay within iptables' 28 characters. */
export function hash16(s: string): string {
  const known = hashes.get(s);
  if (known !== undefined) return known;
  if (hashes.size >= HASHES_MAX) hashes.clear();
  const digest = createHash('sha256').update(s).digest();
  let out = '';
  let bits = 0;
  let value = 0;
  // 16 characters are 80 bits: the first 10 bytes of the digest.
  for (const byte of digest.subarray(0, 10)) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  hashes.set(s, out);
  return out;
}

/** "<namespace>/<name>" for an unnamed port, "<namespace>/<name>:<port name>" otherwise (proxy.ServicePortName). */
export function servicePortName(svc: Service, port: ServicePort): string {
  const base = `${svc.meta.namespace}/${svc.meta.name}`;
  return port.name === '' ? base : `${base}:${port.name}`;
}

export interface ServicePortChains {
  /** Dispatch to all endpoints (Cluster policy). */
  svc: string;
  /** Dispatch to this node's endpoints (Local policy). */
  svl: string;
  /** Entry for NodePort / external IP / LB traffic. */
  ext: string;
  /** loadBalancerSourceRanges check. */
  fw: string;
}

/** The per-service-port chains; the hash is of the port name and the lower-case protocol, no separator. */
export function servicePortChains(portName: string, protocol: Protocol): ServicePortChains {
  const hash = hash16(portName + protocol.toLowerCase());
  return { svc: `KUBE-SVC-${hash}`, svl: `KUBE-SVL-${hash}`, ext: `KUBE-EXT-${hash}`, fw: `KUBE-FW-${hash}` };
}

// The KUBE-SEP names already made, per service port and then per endpoint: a sync names tens of
// thousands of endpoints, and looking up the endpoint's own "IP:port" string costs less than
// building and hashing a key for each. Bounded like the hashes.
const endpointChainNames = new Map<string, Map<string, string>>();
let endpointChainCount = 0;

/** The KUBE-SEP chain namer of one service port: "IP:port" → KUBE-SEP-<hash16(port name + protocol + "IP:port")>. */
export function endpointChains(portName: string, protocol: Protocol): (endpoint: string) => string {
  const port = portName + protocol.toLowerCase();
  let names = endpointChainNames.get(port);
  if (!names) {
    if (endpointChainCount >= HASHES_MAX) {
      endpointChainNames.clear();
      endpointChainCount = 0;
    }
    endpointChainNames.set(port, (names = new Map()));
  }
  const known = names;
  return (endpoint) => {
    let chain = known.get(endpoint);
    if (chain === undefined) {
      chain = `KUBE-SEP-${hash16(port + endpoint)}`;
      known.set(endpoint, chain);
      endpointChainCount++;
    }
    return chain;
  };
}

/** KUBE-SEP-<hash16(port name + protocol + "IP:port")>. */
export function endpointChain(portName: string, protocol: Protocol, endpoint: string): string {
  return endpointChains(portName, protocol)(endpoint);
}

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-'];

/** The chains kube-proxy deletes when no longer wanted (isServiceChainName); anything else is not its own. */
export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

interface SavedTable {
  chains: string[];
  /** "-A ..." lines, as iptables-save prints them. */
  rules: Set<string>;
}

/** `iptables-save` output, table by table. */
export function parseSave(save: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let current: SavedTable | null = null;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) tables.set(line.slice(1), (current = { chains: [], rules: new Set() }));
    else if (line === 'COMMIT') current = null;
    else if (current && line.startsWith(':')) current.chains.push(line.slice(1, line.indexOf(' ')));
    else if (current && line.startsWith('-A ')) current.rules.add(line);
  }
  return tables;
}

/** The chains of the node's nat and filter tables (utiliptables.GetChainsFromTable), from `iptables-save`. */
export function chainsIn(save: string): ExistingChains {
  const tables = parseSave(save);
  return { nat: tables.get('nat')?.chains ?? [], filter: tables.get('filter')?.chains ?? [] };
}

/** Chains present in the node, as chainsIn() reads them from `iptables-save`. */
export interface ExistingChains {
  nat: string[];
  /**
   * Not read by syncProxyRules: kube-proxy only looks for stale chains in nat, because every
   * filter chain it owns is a fixed top-level one, rewritten on each sync.
   */
  filter: string[];
}

export const chainLine = (chain: string): string => `:${chain} - [0:0]`;
