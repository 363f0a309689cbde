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
// keeps between syncs (kube-proxy keeps it in its Proxier): per Service, the objects it was
// computed from and what it wants in the table, so that a partial sync costs a lookup per
// unchanged Service (the change trackers' work) and the rest only for what changed; at 10,000
// Services a one-Service change is computed in milliseconds. Per-service chains no longer used
// are flushed at once and deleted by a later sync: the kernel (before 6.2) notices a chain is no
// longer referenced by a deleted map element only a little later (kube-proxy waits a second;
// syncs here are at least minSyncPeriod apart), and in a large table the deletion waits for a
// transaction that lists the chains anyway (Transaction, STALE_CHAINS_SHARE). IPv4 only, like
// the IPv4 proxier.

import type { EndpointSlice, NodeInfo, Service } from '../../../api/objects.js';
import { contains, formatNetwork, parseIPv4Sloppy } from '../../../labfile/net.js';
import { categorizeEndpoints, externallyAccessible, servicePorts, usesClusterEndpoints, usesLocalEndpoints, type Endpoint } from '../iptables/sync.js';
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

/** How setupNFTables declares each set and map the sync fills; a partial sync repeats it to add elements (Transaction.render). */
const DECLARATIONS: Record<Container, { kind: 'set' | 'map'; spec: string }> = {
  [CLUSTER_IPS]: { kind: 'set', spec: 'type ipv4_addr ; comment "Active ClusterIPs" ;' },
  [SERVICE_IPS]: { kind: 'map', spec: 'type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ;' },
  [FIREWALL_IPS]: {
    kind: 'map',
    spec: 'type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ;',
  },
  [NO_ENDPOINT_SERVICES]: {
    kind: 'map',
    spec: 'type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ;',
  },
  [NO_ENDPOINT_NODEPORTS]: {
    kind: 'map',
    spec: 'type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ;',
  },
  [SERVICE_NODEPORTS]: { kind: 'map', spec: 'type inet_proto . inet_service : verdict ; comment "NodePort traffic" ;' },
};
const declaration = (c: Container): string => `${DECLARATIONS[c].kind} ${TABLE_REF} ${c} { ${DECLARATIONS[c].spec} }`;

/** A set or map element one Service wants. */
interface Element {
  container: Container;
  key: string;
  /** "" in a set. */
  value: string;
  comment: string;
}

/** What one Service was last written from, and what it wants in the table (the change trackers' view of it). */
interface ServiceRecord {
  /**
   * The objects it was computed from: the same objects again mean no change (informer caches hand
   * out immutable objects); new ones are compared by content (the agent reads the API anew for
   * every sync).
   */
  svc: Service;
  slices: readonly EndpointSlice[];
  chains: readonly string[];
  affinitySets: readonly string[];
  elements: readonly Element[];
  ports: number;
  endpoints: number;
}

/**
 * What one sync wrote, for the next one to write only what changed. Treat as opaque. A memo
 * serves one sync, which takes it over: its maps are updated in place (at 10,000 Services copying
 * them would cost more than the rest of a partial sync) and returned in a new memo.
 */
export interface NFTablesMemo {
  /** The configuration and node the table was written for: a change forces a full sync. */
  config: string;
  /** Set by the sync that took the memo over. */
  taken: boolean;
  /** Per Service ("ns/name"). */
  records: Map<string, ServiceRecord>;
  /** The objects the records were computed from, to their Service's key: the same object again is no change. */
  serviceKeys: Map<Service, string>;
  sliceKeys: Map<EndpointSlice, string>;
  /** Per element ("<container> <key>"): the Services that want it. The last by name wins, as in a full sync, which writes them in name order. */
  claimants: Map<string, string[]>;
  /** Per set or map: element key → value ("" in a set), as the kernel holds them (nftElementStorage). */
  elements: Record<Container, Map<string, string>>;
  /** Chains flushed by an earlier sync, to be deleted by a later one. */
  stale: string[];
  totals: { ports: number; endpoints: number; chains: number };
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
 * Pending stale chains are deleted once they are this share of the table's chains, if no
 * transaction deletes something before (see `listsChains`). Each deletion costs nft 1.0.6 a listing
 * of every chain; batching keeps that cost per stale chain constant however large the table, and
 * in a small table (a lab) it still means the next sync.
 */
const STALE_CHAINS_SHARE = 0.01;

/**
 * The statements of one transaction, in one of two forms. A full sync writes kube-proxy's order
 * and text (knftables' syntax), which is what upstream's tests compare. A partial sync is written
 * grouped instead (render), on purpose: nft 1.0.6 reads every chain of every table into its cache
 * before it runs an `add rule`, an `add element` or any `delete` (src/cache.c,
 * nft_cache_evaluate), which at 10,000 Services (50,000 chains) takes longer than the kernel's
 * whole commit. The same rules and elements written as `add chain <c> { <rules> }` and
 * `add map <m> { <its declaration> elements = { … } ; }` need only the table in the cache, and the
 * kernel receives the same messages (NEWRULE, NEWSETELEM; the map's NEWSET is a no-op for an
 * existing map of that declaration). Deletions have no such form, so a partial sync defers what
 * can wait (stale chains, see STALE_CHAINS_SHARE).
 */
class Transaction {
  /** Chains deleted before anything else. */
  readonly head: string[] = [];
  /** Every other statement, in kube-proxy's order (a full sync only). */
  readonly lines: string[] = [];
  /** Statements recorded, in either form. */
  size = 0;
  /** For render (a partial sync only): chain and set statements, rules per chain, and the flushes and deletions that close the transaction. */
  private readonly objects: string[] = [];
  private readonly rules = new Map<string, string[]>();
  private readonly tail: string[] = [];
  /** Elements written: their value before this transaction, and the text of their last add. */
  private readonly touched = new Map<string, { container: Container; key: string; before: string | undefined; text: string }>();
  /** A set deleted (nft lists every chain for any deletion). */
  deletesSet = false;

  constructor(readonly grouped: boolean) {}

  private push(line: string, bucket: string[]): void {
    this.size++;
    (this.grouped ? bucket : this.lines).push(line);
  }
  setup(line: string): void {
    this.size++;
    this.lines.push(line);
  }
  deleteChain(chain: string): void {
    this.size++;
    this.head.push(`delete chain ${TABLE_REF} ${chain}`);
  }
  /** add + flush: the chain exists and is empty, whether or not it existed. */
  ensureChain(chain: string): void {
    this.push(`add chain ${TABLE_REF} ${chain}`, this.objects);
    this.push(`flush chain ${TABLE_REF} ${chain}`, this.objects);
  }
  addSet(name: string, spec: string): void {
    this.push(`add set ${TABLE_REF} ${name} { ${spec} }`, this.objects);
  }
  rule(chain: string, text: string): void {
    this.size++;
    if (!this.grouped) {
      this.lines.push(`add rule ${TABLE_REF} ${chain} ${text}`);
      return;
    }
    const list = this.rules.get(chain);
    if (list) list.push(text);
    else this.rules.set(chain, [text]);
  }
  flushChain(chain: string): void {
    this.push(`flush chain ${TABLE_REF} ${chain}`, this.tail);
  }
  deleteSet(set: string): void {
    this.push(`delete set ${TABLE_REF} ${set}`, this.tail);
    this.deletesSet = true;
  }
  /** Write an element to `storage` (the kernel's copy): add it, or delete it (`text` null); `before` is its value until now. */
  element(storage: Map<string, string>, container: Container, key: string, value: string | null, text: string): void {
    const before = storage.get(key);
    if (this.grouped) {
      const id = `${container} ${key}`;
      const seen = this.touched.get(id);
      if (seen) seen.text = text;
      else this.touched.set(id, { container, key, before, text });
      this.size += (before !== undefined ? 1 : 0) + (value !== null ? 1 : 0);
    } else {
      if (before !== undefined) this.setup(`delete element ${TABLE_REF} ${container} { ${key} }`);
      if (value !== null) this.setup(`add element ${TABLE_REF} ${container} { ${text} }`);
    }
    if (value === null) storage.delete(key);
    else storage.set(key, value);
  }
  /** Element changes netted against the table before this transaction: what a partial sync writes. */
  elementChanges(storage: Record<Container, Map<string, string>>): { deletes: string[]; adds: Map<Container, string[]> } {
    const deletes: string[] = [];
    const adds = new Map<Container, string[]>();
    for (const { container, key, before, text } of this.touched.values()) {
      const now = storage[container].get(key);
      if (now === before) continue;
      if (before !== undefined) deletes.push(`delete element ${TABLE_REF} ${container} { ${key} }`);
      if (now !== undefined) {
        const list = adds.get(container);
        if (list) list.push(text);
        else adds.set(container, [text]);
      }
    }
    return { deletes, adds };
  }
  /**
   * A partial sync's text: pending chains deleted; chains and sets added (each existing before
   * anything refers to it); elements deleted, then added through their set's declaration; each
   * chain's rules in one `add chain`; stale chains flushed and affinity sets deleted last.
   */
  render(changes: ReturnType<Transaction['elementChanges']>): string[] {
    const out = [...this.head, ...this.objects, ...changes.deletes];
    for (const c of CONTAINERS) {
      const texts = changes.adds.get(c);
      if (texts) out.push(`add ${DECLARATIONS[c].kind} ${TABLE_REF} ${c} { ${DECLARATIONS[c].spec} elements = { ${texts.join(' , ')} } ; }`);
    }
    for (const [chain, rules] of this.rules) out.push(`add chain ${TABLE_REF} ${chain} { ${rules.join(' ; ')} ; }`);
    out.push(...this.tail);
    return out;
  }
}

const NO_SLICES: readonly EndpointSlice[] = [];

/** Equal JSON data. Hand-written: util.isDeepStrictEqual takes three times as long on API objects. */
function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (!sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}
const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** The claimant whose elements win: the last by name. */
const lastOf = (names: readonly string[]): string => names.reduce((a, b) => (b > a ? b : a));

/**
 * One sync on `node`. `memo` is what the previous successful sync returned, or null for a full
 * sync (kube-proxy's needFullSync); `existing` is the table as listed, used by a full sync to find
 * stale chains and sets. Services and slices are compared with the memo's by object identity
 * first, by content when the objects are new: do not change one after handing it to a sync.
 */
export function syncNFTables(
  node: NodeInfo,
  services: Service[],
  slices: EndpointSlice[],
  cfg: NFTablesProxierConfig,
  memo: NFTablesMemo | null,
  existing?: ExistingObjects,
): NFTablesSyncResult {
  // The node's name decides which endpoints are local, its address the firewall rules.
  const configKey = JSON.stringify({ cfg, node: [node.name, node.address] });
  const partial = memo !== null && memo.config === configKey;
  if (memo?.taken) throw new Error('this nftables memo was handed to a sync already: pass the memo the last sync returned, or null');
  if (memo) memo.taken = true;
  const tx = new Transaction(partial);

  // Chains that went stale in an earlier sync are unreferenced for sure by now.
  const pendingBefore = new Set(memo?.stale ?? []);
  const pending = new Set(pendingBefore);
  if (!partial) {
    for (const chain of pendingBefore) tx.deleteChain(chain);
    setupNFTables(tx, cfg, memo === null);
  }

  const records = partial ? memo.records : new Map<string, ServiceRecord>();
  const serviceKeys = partial ? memo.serviceKeys : new Map<Service, string>();
  const sliceKeys = partial ? memo.sliceKeys : new Map<EndpointSlice, string>();
  const claimants = partial ? memo.claimants : new Map<string, string[]>();
  const elements = partial ? memo.elements : (Object.fromEntries(CONTAINERS.map((c) => [c, new Map<string, string>()])) as NFTablesMemo['elements']);
  const totals = partial ? { ...memo.totals } : { ports: 0, endpoints: 0, chains: 0 };

  // The change trackers' UpdatedServices: Services added, deleted, or whose object or slices
  // changed. An object the last sync saw costs one lookup; the others, and Services missing, make
  // their Service a candidate, whose content is then compared with its record.
  const candidates = new Set<string>();
  const incoming = new Map<string, Service>();
  let seen = 0;
  for (const svc of services) {
    if (serviceKeys.has(svc)) {
      seen++;
      continue;
    }
    const key = `${svc.meta.namespace}/${svc.meta.name}`;
    if (records.has(key)) seen++;
    candidates.add(key);
    incoming.set(key, svc);
  }
  const gone = new Set<string>();
  if (seen < records.size) {
    const present = new Set(services.map((svc) => serviceKeys.get(svc) ?? `${svc.meta.namespace}/${svc.meta.name}`));
    for (const key of records.keys()) if (!present.has(key)) gone.add(key);
  }
  let known = 0;
  // The slices of a Service: same namespace, label kubernetes.io/service-name = its name.
  for (const slice of slices) {
    if (sliceKeys.has(slice)) known++;
    else candidates.add(`${slice.meta.namespace}/${slice.service}`);
  }
  if (known < sliceKeys.size) {
    const present = new Set(slices);
    for (const [slice, key] of sliceKeys) if (!present.has(slice)) candidates.add(key);
  }
  for (const key of gone) candidates.add(key);
  const slicesOf = new Map<string, EndpointSlice[]>();
  if (candidates.size)
    for (const slice of slices) {
      const key = sliceKeys.get(slice) ?? `${slice.meta.namespace}/${slice.service}`;
      if (!candidates.has(key)) continue;
      const list = slicesOf.get(key);
      if (list) list.push(slice);
      else slicesOf.set(key, [slice]);
    }
  const forget = (record: ServiceRecord) => {
    serviceKeys.delete(record.svc);
    for (const slice of record.slices) sliceKeys.delete(slice);
  };
  const remember = (key: string, record: ServiceRecord) => {
    serviceKeys.set(record.svc, key);
    for (const slice of record.slices) sliceKeys.set(slice, key);
  };
  const updated: string[] = [];
  for (const key of candidates) {
    const record = records.get(key);
    // A Service whose object did not change is the one its record holds.
    const svc = gone.has(key) ? undefined : (incoming.get(key) ?? record?.svc);
    const own = slicesOf.get(key) ?? NO_SLICES;
    if (record && svc && sameData(record.svc, svc) && sameData(record.slices, own)) {
      // New objects, same content: keep them, so that the next sync finds them the same.
      forget(record);
      const same = { ...record, svc, slices: own };
      records.set(key, same);
      remember(key, same);
    } else if (record || svc) updated.push(key);
  }
  // kube-proxy walks a Go map (random order); name order makes the payload a function of the state.
  updated.sort(compareKeys);

  const nodeIP = parseIPv4Sloppy(node.address);
  /** Elements given up by a Service: settled once every Service has been written. */
  const released = new Map<string, { container: Container; key: string }>();
  /** Write an element unless a Service later by name wants it too. */
  const write = (owner: string, el: Element) => {
    const id = `${el.container} ${el.key}`;
    const names = claimants.get(id);
    if (names && lastOf(names) !== owner) return;
    if (elements[el.container].get(el.key) === el.value) return;
    const text = `${el.key}${el.comment ? ` comment "${el.comment}"` : ''}${el.value ? ` : ${el.value}` : ''}`;
    tx.element(elements[el.container], el.container, el.key, el.value, text);
  };
  const staleChains: string[] = [];
  const staleSets: string[] = [];

  for (const key of updated) {
    const before = records.get(key);
    if (before) {
      for (const el of before.elements) {
        const id = `${el.container} ${el.key}`;
        const names = claimants.get(id)!;
        names.splice(names.indexOf(key), 1);
        if (!names.length) claimants.delete(id);
        released.set(id, el);
      }
      totals.ports -= before.ports;
      totals.endpoints -= before.endpoints;
      totals.chains -= before.chains.length;
    }
    if (before) forget(before);
    const svc = gone.has(key) ? undefined : (incoming.get(key) ?? before?.svc);
    const record = svc ? writeService(key, svc, slicesOf.get(key) ?? NO_SLICES) : undefined;
    if (record) {
      records.set(key, record);
      remember(key, record);
      totals.ports += record.ports;
      totals.endpoints += record.endpoints;
      totals.chains += record.chains.length;
      for (const chain of record.chains) pending.delete(chain);
    } else records.delete(key);
    if (before) {
      staleChains.push(...before.chains.filter((c) => !record?.chains.includes(c)));
      staleSets.push(...before.affinitySets.filter((s) => !record?.affinitySets.includes(s)));
    }
  }

  /** One Service's chains, rules and elements (the per-service-port body of syncProxyRules). */
  function writeService(key: string, svc: Service, own: readonly EndpointSlice[]): ServiceRecord {
    const { namespace, name } = svc.meta;
    const chainsUsed = new Set<string>();
    const affinitySets = new Set<string>();
    const wanted = new Map<string, Element>();
    const ports = servicePorts(node, [svc], own as EndpointSlice[]);
    /** ensureChain: add and flush a chain once per transaction. */
    const ensureChain = (chain: string) => {
      if (chainsUsed.has(chain)) return;
      chainsUsed.add(chain);
      tx.ensureChain(chain);
    };
    /** nftElementStorage.ensureElem: add what is new, replace what changed value, keep the rest. */
    const ensureElem = (container: Container, elementKey: string, value: string, comment?: string) => {
      const el = { container, key: elementKey, value, comment: comment ?? '' };
      const id = `${container} ${elementKey}`;
      wanted.set(id, el);
      const names = claimants.get(id);
      if (!names) claimants.set(id, [key]);
      else if (!names.includes(key)) names.push(key);
      write(key, el);
    };
    const rule = (chain: string, text: string, comment?: string) => tx.rule(chain, `${text}${comment ? ` comment "${comment}"` : ''}`);

    for (const sp of ports) {
      const chains = servicePortChainNames(namespace, name, sp.protocol, sp.portName);
      const epNames = (ep: Endpoint) => endpointNames(namespace, name, sp.protocol, sp.portName, ep.ip, Number(ep.hostPort.split(':')[1]));
      const { protocol, clusterIP, port } = sp;
      const { clusterEndpoints, localEndpoints, allReachable, hasEndpoints } = categorizeEndpoints(sp);

      for (const ep of allReachable) {
        const n = epNames(ep);
        ensureChain(n.chain);
        if (sp.affinitySeconds !== null) affinitySets.add(n.affinitySet);
      }
      const clusterPolicyChain = chains.cluster;
      const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
      if (usesClusterPolicyChain) ensureChain(clusterPolicyChain);
      const localPolicyChain = chains.local;
      const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(sp);
      if (usesLocalPolicyChain) ensureChain(localPolicyChain);

      const internalTrafficChain = sp.internalPolicyLocal ? localPolicyChain : clusterPolicyChain;
      const hasInternalEndpoints = hasEndpoints && !(sp.internalPolicyLocal && localEndpoints.length === 0);
      const externalPolicyChain = sp.externalPolicyLocal ? localPolicyChain : clusterPolicyChain;
      const hasExternalEndpoints = hasEndpoints && !(sp.externalPolicyLocal && localEndpoints.length === 0);
      const externalTrafficChain = chains.external;
      // Needed even without external endpoints: it holds the short-circuit rules for local traffic.
      const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
      if (usesExternalTrafficChain) ensureChain(externalTrafficChain);

      // No endpoints at all: reject ("connection refused" at once); endpoints, but none for this
      // policy: drop, so that the client times out.
      const internalTrafficFilterVerdict = hasEndpoints ? (hasInternalEndpoints ? '' : 'drop') : `goto ${REJECT_CHAIN}`;
      const externalTrafficFilterVerdict = hasEndpoints ? (hasExternalEndpoints ? '' : 'drop') : `goto ${REJECT_CHAIN}`;
      const elementKey = (ip: string) => `${ip} . ${protocol} . ${port}`;

      ensureElem(CLUSTER_IPS, clusterIP, '');
      if (hasInternalEndpoints) ensureElem(SERVICE_IPS, elementKey(clusterIP), `goto ${internalTrafficChain}`);
      else ensureElem(NO_ENDPOINT_SERVICES, elementKey(clusterIP), internalTrafficFilterVerdict, sp.name);

      for (const externalIP of sp.externalIPs) {
        if (hasEndpoints) ensureElem(SERVICE_IPS, elementKey(externalIP), `goto ${externalTrafficChain}`);
        if (!hasExternalEndpoints) ensureElem(NO_ENDPOINT_SERVICES, elementKey(externalIP), externalTrafficFilterVerdict, sp.name);
      }

      const usesFWChain = sp.loadBalancerVIPs.length > 0 && sp.sourceRanges.length > 0;
      if (usesFWChain) ensureChain(chains.firewall);
      for (const lbIP of sp.loadBalancerVIPs) {
        if (hasEndpoints) ensureElem(SERVICE_IPS, elementKey(lbIP), `goto ${externalTrafficChain}`);
        if (usesFWChain) ensureElem(FIREWALL_IPS, elementKey(lbIP), `goto ${chains.firewall}`);
      }
      if (!hasExternalEndpoints)
        for (const lbIP of sp.loadBalancerVIPs) ensureElem(NO_ENDPOINT_SERVICES, elementKey(lbIP), externalTrafficFilterVerdict, sp.name);

      // NodePorts are not subject to loadBalancerSourceRanges, and never were.
      if (sp.nodePort !== 0) {
        if (hasEndpoints) ensureElem(SERVICE_NODEPORTS, `${protocol} . ${sp.nodePort}`, `goto ${externalTrafficChain}`);
        if (!hasExternalEndpoints) ensureElem(NO_ENDPOINT_NODEPORTS, `${protocol} . ${sp.nodePort}`, externalTrafficFilterVerdict, sp.name);
      }

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
        for (const ep of allReachable) tx.addSet(epNames(ep).affinitySet, `type ipv4_addr ; flags dynamic,timeout ; timeout ${sp.affinitySeconds}s ;`);
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
    return {
      svc,
      slices: own,
      chains: [...chainsUsed],
      affinitySets: [...affinitySets],
      elements: [...wanted.values()],
      ports: ports.length,
      endpoints: ports.reduce((n, sp) => n + sp.endpoints.length, 0),
    };
  }

  if (!partial) {
    // A full sync finds stale chains and sets among what the table holds.
    const active = new Set<string>();
    const activeSets = new Set<string>();
    for (const record of records.values()) {
      for (const chain of record.chains) active.add(chain);
      for (const set of record.affinitySets) activeSets.add(set);
    }
    const knownChains = memo ? [...[...memo.records.values()].flatMap((r) => r.chains), ...memo.stale] : (existing?.chains ?? []).filter(isServiceChainName);
    const knownSets = memo ? [...memo.records.values()].flatMap((r) => r.affinitySets) : (existing?.sets ?? []).filter(isAffinitySetName);
    staleChains.push(...new Set(knownChains.filter((c) => !active.has(c) && !pendingBefore.has(c))));
    staleSets.push(...new Set(knownSets.filter((s) => !activeSets.has(s))));
  }
  // Stale chains: flushed now (nothing may jump into them any more), deleted by a later sync.
  staleChains.sort(compareKeys);
  for (const chain of staleChains) tx.flushChain(chain);
  // Stale affinity sets can go at once.
  for (const set of staleSets.sort(compareKeys)) tx.deleteSet(set);

  // cleanupLeftoverKeys: elements no Service wants any more, or that another Service now owns.
  for (const [id, { container, key }] of released) {
    const names = claimants.get(id);
    if (!names) {
      if (elements[container].has(key)) tx.element(elements[container], container, key, null, key);
      continue;
    }
    const owner = lastOf(names);
    write(
      owner,
      records.get(owner)!.elements.find((el) => el.container === container && el.key === key)!,
    );
  }

  let lines: string[];
  let stale: string[];
  if (!partial) {
    lines = [...tx.head, ...tx.lines];
    stale = staleChains;
  } else {
    const changes = tx.elementChanges(elements);
    // nft lists every chain for a deletion anyway: then the pending chains go too.
    const listsChains = changes.deletes.length > 0 || tx.deletesSet;
    if (pending.size && (listsChains || pending.size >= STALE_CHAINS_SHARE * totals.chains)) {
      for (const chain of pending) tx.deleteChain(chain);
      stale = staleChains;
    } else stale = [...pending, ...staleChains];
    lines = tx.render(changes);
  }

  return {
    payload: lines.length ? lines.join('\n') + '\n' : '',
    memo: { config: configKey, taken: false, records, serviceKeys, sliceKeys, claimants, elements, stale, totals },
    full: !partial,
    stats: { services: totals.ports, endpoints: totals.endpoints, commands: tx.size },
  };
}

/** setupNFTables: the table, its base and top-level chains, sets and maps, written at every full sync. */
function setupNFTables(tx: Transaction, cfg: NFTablesProxierConfig, firstSync: boolean): void {
  const t = (op: string, what: string) => tx.setup(`${op} ${what}`);
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

  t('add', declaration(CLUSTER_IPS));
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

  t('add', declaration(NO_ENDPOINT_SERVICES));
  t('add', declaration(NO_ENDPOINT_NODEPORTS));
  t('add', `chain ${TABLE_REF} ${REJECT_CHAIN} { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`);
  t('flush', `chain ${TABLE_REF} ${REJECT_CHAIN}`);
  rule(REJECT_CHAIN, 'reject');
  rule(SERVICE_ENDPOINTS_CHECK, `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}`);
  const nodePortDest = cfg.nodePortIPs === null ? 'ip daddr != 127.0.0.0/8' : `ip daddr @${NODEPORT_IPS}`;
  rule(NODEPORT_ENDPOINTS_CHECK, `${nodePortDest} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}`);

  t('add', declaration(FIREWALL_IPS));
  ensureChain(FIREWALL_CHECK);
  rule(FIREWALL_CHECK, `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS}`);

  t('add', declaration(SERVICE_IPS));
  t('add', declaration(SERVICE_NODEPORTS));
  rule(SERVICES, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`);
  if (cfg.nodePortIPs === null) rule(SERVICES, `fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`);
  else rule(SERVICES, `ip daddr @${NODEPORT_IPS} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`);

  // The element storages start over: flush every set and map the sync fills.
  t('flush', `set ${TABLE_REF} ${CLUSTER_IPS}`);
  for (const m of [SERVICE_IPS, FIREWALL_IPS, NO_ENDPOINT_SERVICES, NO_ENDPOINT_NODEPORTS, SERVICE_NODEPORTS]) t('flush', `map ${TABLE_REF} ${m}`);
}
