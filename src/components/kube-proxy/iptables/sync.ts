// kube-proxy's iptables mode, as a pure function: the Services and EndpointSlices of the cluster
// in, the `iptables-restore --noflush --counters` input kube-proxy writes on one node out. It is a
// line-by-line transcription of `syncProxyRules` in kubernetes/pkg/proxy/iptables/proxier.go
// (v1.30–1.34), with the endpoint handling of pkg/proxy/endpointslicecache.go and
// pkg/proxy/topology.go. The spec is ../shared/reference/kube-proxy.md §1; the rule text is
// byte-for-byte what kube-proxy writes, because labs are compared with real nodes.
//
// IPv4 only, like kube-proxy's IPv4 proxier: IPv6 ClusterIPs, external IPs, LB IPs, source ranges
// and endpoint addresses are ignored. The configuration it takes is the KubeProxyConfiguration as
// config.ts resolves it (local detector, masqueradeAll and the masquerade bit, nodePortAddresses,
// localhostNodePorts, conntrack's TCP liberal mode). Not modelled: nfacct counters, topology hints.

import type { EndpointSlice, NodeInfo, Service, ServicePort } from '../../../api/objects.js';
import { contains, formatIPv4, formatNetwork, parseCidrSloppy, parseIPv4Sloppy, type Cidr } from '../../../labfile/net.js';
import type { LocalDetector } from '../config.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  chainLine,
  endpointChains,
  isServiceChainName,
  servicePortChains,
  servicePortName,
  type ExistingChains,
  type ServicePortChains,
} from './chains.js';

export interface ProxierConfig {
  /** detectLocalMode: how "from a pod" is matched (`-s <clusterCIDR>` by default); null: no detector. */
  localDetector: LocalDetector | null;
  /** iptables.masqueradeBit: the fwmark bit KUBE-MARK-MASQ sets and KUBE-POSTROUTING tests. */
  masqueradeBit: number;
  /** iptables.masqueradeAll: masquerade every packet to a ClusterIP, whatever its source. */
  masqueradeAll: boolean;
  /** iptables.localhostNodePorts, as config.ts resolves it: NodePorts answer on 127.0.0.1 (needs route_localnet=1). */
  localhostNodePorts: boolean;
  /** nodePortAddresses resolved to this node's IPs (config.ts nodePortIPs); null: every local address. */
  nodePortIPs: string[] | null;
  /** net.netfilter.nf_conntrack_tcp_be_liberal is set: no packet is INVALID for being out of window, so no INVALID drop. */
  tcpBeLiberal: boolean;
  /** The iptables binary knows MASQUERADE --random-fully (kube-proxy probes HasRandomFully()). */
  randomFully: boolean;
}

/** kube-proxy's defaults. The local detector has none: it comes from the cluster's pod network. */
export const DEFAULT_PROXIER_CONFIG: Omit<ProxierConfig, 'localDetector'> = {
  masqueradeBit: 14,
  masqueradeAll: false,
  localhostNodePorts: true,
  nodePortIPs: null,
  tcpBeLiberal: false,
  randomFully: true,
};

/** How kube-proxy loads the payload: --noflush leaves chains it does not declare (INPUT, other programs') alone. */
export const RESTORE_COMMAND = ['iptables-restore', '--noflush', '--counters'];

/** Above this many endpoints kube-proxy drops the per-endpoint comments (iptables-restore gets ~40% smaller). */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

/**
 * 1/n as Go's fmt.Sprintf("%0.10f") prints it: the exact binary value rounded half-to-even. Plain
 * toFixed(10) rounds exact ties up instead, which differs at n = 2048 (…812 vs …813).
 */
export function computeProbability(n: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, 1 / n);
  const raw = view.getBigUint64(0);
  const biased = Number((raw >> 52n) & 0x7ffn);
  const fraction = raw & ((1n << 52n) - 1n);
  // 1/n = mantissa × 2^-shift, with shift > 0 for every n ≥ 1.
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const shift = BigInt(biased === 0 ? 1074 : 1075 - biased);
  const scaled = mantissa * 10n ** 10n;
  const whole = 1n << shift;
  let digits = scaled / whole;
  const twice = 2n * (scaled % whole);
  if (twice > whole || (twice === whole && digits % 2n === 1n)) digits += 1n;
  const text = digits.toString().padStart(11, '0');
  return `${text.slice(0, -10)}.${text.slice(-10)}`;
}

/** fmt.Sprintf("%#08x", 1<<bit): Go counts the width in digits, so 1<<14 is "0x00004000". */
export function masqueradeMark(bit: number): string {
  return `0x${(2 ** bit).toString(16).padStart(8, '0')}`;
}

// IPv4 parsing (labfile/net.ts), for the family filter, canonical printing and the
// source-range/node-IP test: kube-proxy reads addresses sloppily (leading zeros allowed,
// "010.0.0.1" is 10.0.0.1), and prints a source range as its network, as net.ParseCIDR masks it.

/** The address in canonical form, or null if it is not IPv4. */
function ipv4(text: string): string | null {
  const value = parseIPv4Sloppy(text);
  return value === undefined ? null : formatIPv4(value);
}

/** An endpoint of one service port, as the EndpointSliceCache hands it to the proxier (nftables and ipvs modes read them too). */
export interface Endpoint {
  ip: string;
  /** "IP:port": the sort key, the SEP hash input and the DNAT target. */
  hostPort: string;
  isLocal: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  chain: string;
}

/** One Service port, resolved the way pkg/proxy/serviceport.go's newBaseServiceInfo does. */
export interface ServicePortInfo {
  key: string;
  name: string;
  /** The port's own name ("" when unnamed): nftables mode's chain names carry it. */
  portName: string;
  protocol: string;
  chains: ServicePortChains;
  clusterIP: string;
  port: number;
  nodePort: number;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  sourceRanges: Cidr[];
  healthCheckNodePort: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** ClientIP affinity timeout, or null without affinity. */
  affinitySeconds: number | null;
  endpoints: Endpoint[];
}

function loadBalancerSourceRanges(svc: Service): Cidr[] {
  // Validation lets whitespace through (" 203.0.113.0/25"), so kube-proxy trims; other families and
  // unparsable ranges are dropped; a zero-length prefix admits everyone, which is no firewall at all.
  const ranges = svc.loadBalancerSourceRanges.map((r) => parseCidrSloppy(r.trim())).filter((c): c is Cidr => c !== undefined);
  return ranges.some((c) => c.prefix === 0) ? [] : ranges;
}

/**
 * The endpoints of one service port from the slices of its Service: slice ports match by name
 * and protocol, the DNAT port is the slice's, duplicates across slices collapse onto one
 * "IP:port" (a local copy wins), and the list is sorted by the "IP:port" string (byEndpoint).
 */
function endpointsFor(port: ServicePort, portName: string, slices: EndpointSlice[], nodeName: string): Endpoint[] {
  const byHostPort = new Map<string, Endpoint>();
  const chainOf = endpointChains(portName, port.protocol);
  for (const slice of slices) {
    for (const slicePort of slice.ports) {
      if (slicePort.name !== port.name || slicePort.protocol !== port.protocol || slicePort.port === 0) continue;
      for (const ep of slice.endpoints) {
        const ip = ipv4(ep.address);
        if (ip === null) continue;
        const hostPort = `${ip}:${slicePort.port}`;
        const isLocal = ep.nodeName !== null && ep.nodeName === nodeName;
        if (byHostPort.has(hostPort) && !isLocal) continue;
        const { ready, serving, terminating } = ep.conditions;
        byHostPort.set(hostPort, { ip, hostPort, isLocal, ready, serving, terminating, chain: chainOf(hostPort) });
      }
    }
  }
  return [...byHostPort.values()].sort((a, b) => compare(a.hostPort, b.hostPort));
}

export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function servicePorts(node: NodeInfo, services: Service[], slices: EndpointSlice[]): ServicePortInfo[] {
  const ports: ServicePortInfo[] = [];
  // The slices of a Service: same namespace, label kubernetes.io/service-name = its name.
  const slicesOf = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const key = `${slice.meta.namespace}/${slice.service}`;
    const list = slicesOf.get(key);
    if (list) list.push(slice);
    else slicesOf.set(key, [slice]);
  }
  // kube-proxy walks a Go map (random order); sorting by name makes the payload a function of the set.
  const sorted = services.map((svc) => ({ key: `${svc.meta.namespace}/${svc.meta.name}`, svc })).sort((a, b) => compare(a.key, b.key));
  for (const { key, svc } of sorted) {
    // ShouldSkipService + GetClusterIPByFamily: headless, ExternalName and non-IPv4 get no rules.
    if (svc.type === 'ExternalName' || svc.clusterIP === null || svc.clusterIP === 'None') continue;
    const clusterIP = ipv4(svc.clusterIP);
    if (clusterIP === null) continue;
    // apiservice.ExternalPolicyLocal: the field only means something for NodePort and LoadBalancer.
    const externalPolicyLocal = (svc.type === 'NodePort' || svc.type === 'LoadBalancer') && svc.externalTrafficPolicy === 'Local';
    for (const port of svc.ports) {
      const name = servicePortName(svc, port);
      ports.push({
        key,
        name,
        portName: port.name,
        protocol: port.protocol.toLowerCase(),
        chains: servicePortChains(name, port.protocol),
        clusterIP,
        port: port.port,
        nodePort: port.nodePort ?? 0,
        externalIPs: svc.externalIPs.map(ipv4).filter((ip): ip is string => ip !== null),
        // serviceport.go: only ipMode VIP (the API's default) gets rules; a Proxy IP gets none.
        loadBalancerVIPs: svc.loadBalancerIngress
          .filter((ing) => ing.ipMode === 'VIP')
          .map((ing) => ipv4(ing.ip))
          .filter((ip): ip is string => ip !== null),
        sourceRanges: loadBalancerSourceRanges(svc),
        // apiservice.NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local.
        healthCheckNodePort: svc.type === 'LoadBalancer' && externalPolicyLocal ? (svc.healthCheckNodePort ?? 0) : 0,
        externalPolicyLocal,
        internalPolicyLocal: svc.internalTrafficPolicy === 'Local',
        affinitySeconds: svc.sessionAffinity === 'ClientIP' ? svc.affinityTimeoutSeconds : null,
        endpoints: endpointsFor(port, name, slicesOf.get(key) ?? [], node.name),
      });
    }
  }
  return ports;
}

export const externallyAccessible = (sp: ServicePortInfo): boolean => sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
// Even with externalTrafficPolicy Local, external traffic from pods and the node is short-circuited
// to the Cluster chain, so any externally accessible port needs it.
export const usesClusterEndpoints = (sp: ServicePortInfo): boolean => !sp.internalPolicyLocal || externallyAccessible(sp);
export const usesLocalEndpoints = (sp: ServicePortInfo): boolean => sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));

export interface Categorized {
  clusterEndpoints: Endpoint[];
  localEndpoints: Endpoint[];
  /** Every endpoint some chain of this service can jump to: the ones that get a KUBE-SEP chain. */
  allReachable: Endpoint[];
  /** Some usable (ready, or serving and terminating) endpoint exists anywhere in the cluster. */
  hasEndpoints: boolean;
}

/** proxy.CategorizeEndpoints without topology hints. */
export function categorizeEndpoints(sp: ServicePortInfo): Categorized {
  const endpoints = sp.endpoints;
  let clusterEndpoints: Endpoint[] = [];
  let hasEndpoints = false;
  if (usesClusterEndpoints(sp)) {
    clusterEndpoints = endpoints.filter((ep) => ep.ready);
    // With no ready endpoint anywhere, fall back to terminating ones still serving, so that
    // connections during a rollout are not refused.
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    hasEndpoints = clusterEndpoints.length > 0;
  }
  if (!usesLocalEndpoints(sp)) return { clusterEndpoints, localEndpoints: [], allReachable: clusterEndpoints, hasEndpoints };

  hasEndpoints ||= endpoints.some((ep) => ep.ready || (ep.serving && ep.terminating));
  // The same fallback, decided separately for this node's endpoints.
  const localReady = endpoints.filter((ep) => ep.isLocal && ep.ready);
  const localServingTerminating = localReady.length === 0 ? endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating) : [];
  const useServingTerminating = localServingTerminating.length > 0;
  const localEndpoints = useServingTerminating ? localServingTerminating : localReady;
  if (!usesClusterEndpoints(sp)) return { clusterEndpoints, localEndpoints, allReachable: localEndpoints, hasEndpoints };
  // Ready local endpoints are a subset of clusterEndpoints (all the ready ones).
  if (!useServingTerminating) return { clusterEndpoints, localEndpoints, allReachable: clusterEndpoints, hasEndpoints };
  // Terminating local endpoints may be missing from clusterEndpoints: merge (kube-proxy through a
  // map, in random order; here in "IP:port" order).
  const merged = new Map([...clusterEndpoints, ...localEndpoints].map((ep) => [ep.hostPort, ep]));
  const allReachable = [...merged.values()].sort((a, b) => compare(a.hostPort, b.hostPort));
  return { clusterEndpoints, localEndpoints, allReachable, hasEndpoints };
}

/**
 * The lines of a restore payload, joined a thousand at a time. At 10,000 Services a sync writes
 * 200,000 lines; kept one by one until the end they outlive the young generation, and collecting
 * them cost more than building them. `counting`: only how many (a partial sync's skipped rules).
 */
class Lines {
  private readonly joined: string[] = [];
  private pending: string[] = [];
  length = 0;
  constructor(private readonly counting = false) {}
  push(line: string): void {
    this.length++;
    if (this.counting) return;
    this.pending.push(line);
    if (this.pending.length === 1000) {
      this.joined.push(this.pending.join('\n'));
      this.pending = [];
    }
  }
  text(): string {
    return this.pending.length ? [...this.joined, this.pending.join('\n')].join('\n') : this.joined.join('\n');
  }
}

export interface SyncResult {
  /** The iptables-restore input: *filter then *nat, each ending in COMMIT. */
  payload: string;
  /** nat chains kube-proxy owns after the restore (stale ones deleted, skipped ones of a partial sync kept). */
  natChains: string[];
  /** filter chains the payload declares. */
  filterChains: string[];
  stats: {
    /** Service ports proxied (kube-proxy's numServices). */
    services: number;
    /** Endpoints of those ports, ready or not: the large-cluster-mode count. */
    endpoints: number;
    /** -A rules in each table after the restore (sync_proxy_rules_iptables_total). */
    natRules: number;
    filterRules: number;
  };
}

/**
 * One sync of kube-proxy on `node`. With `existing`, per-service chains present in the node but no
 * longer wanted are flushed and deleted ("-X"); kube-proxy runs that iptables-save on every sync,
 * but in large-cluster mode only once per --iptables-sync-period, so callers mimic that by leaving
 * `existing` out. With `changedServices` ("namespace/name" keys) it is a partial sync (kube-proxy
 * ≥ 1.27 after the first sync): the top-level chains and the filter table are rewritten whole, but
 * the KUBE-SVC/SVL/EXT/FW/SEP chains of unchanged Services are left out of the payload.
 */
export function syncProxyRules(
  node: NodeInfo,
  services: Service[],
  slices: EndpointSlice[],
  cfg: ProxierConfig,
  existing?: ExistingChains,
  changedServices?: ReadonlySet<string>,
): SyncResult {
  const mark = masqueradeMark(cfg.masqueradeBit);
  const filterChains = [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL];
  const filterRules = new Lines();
  const natChains = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ];
  const natRules = new Lines();
  // Chains and rules of unchanged Services in a partial sync: counted, not written.
  const skippedChains: string[] = [];
  const skippedRules = new Lines(true);
  // Only a sync that looks for stale chains needs to know which are in use.
  const activeNatChains = existing ? new Set(natChains) : null;

  natRules.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so that a packet re-traversing the stack (e.g. through a bridge) is not masqueraded twice.
  natRules.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
  natRules.push(
    `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${cfg.randomFully ? ' --random-fully' : ''}`,
  );
  natRules.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);

  if (cfg.localhostNodePorts) {
    // route_localnet=1 (needed for 127.0.0.1:NodePort) would also let martian packets with a
    // 127/8 destination in from the network (https://issue.k8s.io/90259); this drops them unless
    // they are replies or were DNATed to a NodePort endpoint.
    filterChains.push(KUBE_FIREWALL);
    filterRules.push(
      `-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }

  const ports = servicePorts(node, services, slices);
  const totalEndpoints = ports.reduce((n, sp) => n + sp.endpoints.length, 0);
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS;
  const probabilities = new Map<number, string>();
  const probability = (n: number): string => {
    let p = probabilities.get(n);
    if (p === undefined) probabilities.set(n, (p = computeProbability(n)));
    return p;
  };
  /** appendServiceCommentLocked: comments that large-cluster mode leaves out. */
  const serviceComment = (comment: string): string => (largeClusterMode ? '' : ` -m comment --comment ${comment}`);

  for (const sp of ports) {
    const { name, protocol, chains, clusterIP, port } = sp;
    const { clusterEndpoints, localEndpoints, allReachable, hasEndpoints } = categorizeEndpoints(sp);
    const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
    const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(sp);

    // ClusterIP traffic goes to the SVC chain, or the SVL chain with internalTrafficPolicy Local.
    const internalTrafficChain = sp.internalPolicyLocal ? chains.svl : chains.svc;
    const hasInternalEndpoints = hasEndpoints && !(sp.internalPolicyLocal && localEndpoints.length === 0);
    // NodePort/externalIP/LB traffic goes to the EXT chain, which ends in SVL with externalTrafficPolicy Local.
    const externalPolicyChain = sp.externalPolicyLocal ? chains.svl : chains.svc;
    const hasExternalEndpoints = hasEndpoints && !(sp.externalPolicyLocal && localEndpoints.length === 0);
    // The EXT chain exists whenever there are endpoints anywhere: even with no local endpoint it
    // holds the short-circuit rules for pod- and node-originated traffic.
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
    const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.sourceRanges.length > 0;
    const loadBalancerTrafficChain = usesFWChain ? chains.fw : chains.ext;

    // No endpoints at all: REJECT (the client sees "connection refused" at once). Endpoints, but
    // none for this policy: DROP, so the client times out instead of being told.
    const [filterComment, filterTarget] = hasEndpoints ? [`"${name} has no local endpoints"`, 'DROP'] : [`"${name} has no endpoints"`, 'REJECT'];
    const match = `-m ${protocol} -p ${protocol}`;

    // Capture the clusterIP.
    if (hasInternalEndpoints) {
      natRules.push(`-A ${KUBE_SERVICES} -m comment --comment "${name} cluster IP" ${match} -d ${clusterIP} --dport ${port} -j ${internalTrafficChain}`);
    } else {
      filterRules.push(`-A ${KUBE_SERVICES} -m comment --comment ${filterComment} ${match} -d ${clusterIP} --dport ${port} -j ${filterTarget}`);
    }

    // Capture externalIPs.
    for (const externalIP of sp.externalIPs) {
      if (hasEndpoints) {
        natRules.push(`-A ${KUBE_SERVICES} -m comment --comment "${name} external IP" ${match} -d ${externalIP} --dport ${port} -j ${chains.ext}`);
      }
      if (!hasExternalEndpoints) {
        // Whatever the EXT chain did not short-circuit is refused here, in filter, after DNAT failed to happen.
        filterRules.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${filterComment} ${match} -d ${externalIP} --dport ${port} -j ${filterTarget}`);
      }
    }

    // Capture load-balancer ingress.
    for (const lbIP of sp.loadBalancerVIPs) {
      if (hasEndpoints) {
        natRules.push(`-A ${KUBE_SERVICES} -m comment --comment "${name} loadbalancer IP" ${match} -d ${lbIP} --dport ${port} -j ${loadBalancerTrafficChain}`);
      }
      if (usesFWChain) {
        // A packet that fell through KUBE-FW un-DNATed still has the LB IP as destination: drop it here.
        filterRules.push(
          `-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${name} traffic not accepted by ${chains.fw}" ${match} -d ${lbIP} --dport ${port} -j DROP`,
        );
      }
    }
    if (!hasExternalEndpoints) {
      for (const lbIP of sp.loadBalancerVIPs) {
        filterRules.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${filterComment} ${match} -d ${lbIP} --dport ${port} -j ${filterTarget}`);
      }
    }

    // Capture nodeports. They bypass loadBalancerSourceRanges, and always have.
    if (sp.nodePort !== 0) {
      if (hasEndpoints) natRules.push(`-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${match} --dport ${sp.nodePort} -j ${chains.ext}`);
      if (!hasExternalEndpoints) {
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${filterComment} -m addrtype --dst-type LOCAL ${match} --dport ${sp.nodePort} -j ${filterTarget}`,
        );
      }
    }

    // The load balancer probes this port whether or not the node has endpoints: accept it in INPUT.
    if (sp.healthCheckNodePort !== 0) {
      filterRules.push(`-A ${KUBE_NODEPORTS} -m comment --comment "${name} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`);
    }

    // Per-service chains: in a partial sync, those of unchanged Services are not written.
    const skip = changedServices !== undefined && !changedServices.has(sp.key);
    const chainsOut = skip ? skippedChains : natChains;
    const rulesOut = skip ? skippedRules : natRules;
    const declare = (chain: string): void => {
      chainsOut.push(chain);
      activeNatChains?.add(chain);
    };

    if (hasInternalEndpoints) {
      // Traffic to the ClusterIP from outside the pod network (node processes, or clients routing
      // the service range to this node) may leave the node towards a remote endpoint, whose reply
      // must come back here to be un-DNATed: masquerade it. masqueradeAll masquerades pods too;
      // without a local detector kube-proxy cannot tell, and masquerades nobody.
      const clusterIPRule = `-A ${internalTrafficChain} -m comment --comment "${name} cluster IP" ${match} -d ${clusterIP} --dport ${port}`;
      if (cfg.masqueradeAll) rulesOut.push(`${clusterIPRule} -j ${KUBE_MARK_MASQ}`);
      else if (cfg.localDetector) rulesOut.push(`${clusterIPRule} ${cfg.localDetector.ifNotLocal} -j ${KUBE_MARK_MASQ}`);
    }

    if (usesExternalTrafficChain) {
      declare(chains.ext);
      if (!sp.externalPolicyLocal) {
        // The endpoint may be on another node: masquerade so that replies come back through this one.
        rulesOut.push(`-A ${chains.ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j ${KUBE_MARK_MASQ}`);
      } else {
        // Pod traffic to an external destination is subject to neither policy, as if it had gone
        // out to the load balancer and come back in.
        if (cfg.localDetector)
          rulesOut.push(`-A ${chains.ext} -m comment --comment "pod traffic for ${name} external destinations" ${cfg.localDetector.ifLocal} -j ${chains.svc}`);
        // From the node itself the source would be the (local) LB IP or node IP: masquerade it.
        rulesOut.push(
          `-A ${chains.ext} -m comment --comment "masquerade LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
        );
        rulesOut.push(
          `-A ${chains.ext} -m comment --comment "route LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${chains.svc}`,
        );
      }
      if (hasExternalEndpoints) rulesOut.push(`-A ${chains.ext} -j ${externalPolicyChain}`);
    }

    if (usesFWChain) {
      declare(chains.fw);
      const fw = `-A ${chains.fw} -m comment --comment "${name} loadbalancer IP"`;
      let allowFromNode = false;
      const nodeIP = parseIPv4Sloppy(node.address);
      for (const range of sp.sourceRanges) {
        rulesOut.push(`${fw} -s ${formatNetwork(range)} -j ${chains.ext}`);
        if (nodeIP !== undefined && contains(range, nodeIP)) allowFromNode = true;
      }
      // A VIP-style LB IP is often also a local address; the node's own requests to it then loop
      // back with the LB IP as source, and must be let through when the node is allowed.
      if (allowFromNode) for (const lbIP of sp.loadBalancerVIPs) rulesOut.push(`${fw} -s ${lbIP} -j ${chains.ext}`);
      // No target: the packet leaves un-DNATed and KUBE-PROXY-FIREWALL drops it in filter.
      rulesOut.push(`-A ${chains.fw} -m comment --comment "other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL"`);
    }

    const writeServiceToEndpointRules = (chain: string, endpoints: Endpoint[]): void => {
      declare(chain);
      if (sp.affinitySeconds !== null) {
        // A client seen recently (its source IP in the endpoint's recent list) goes back to the same endpoint.
        for (const ep of endpoints) {
          rulesOut.push(
            `-A ${chain}${serviceComment(`"${name} -> ${ep.hostPort}"`)} -m recent --name ${ep.chain} --rcheck --seconds ${sp.affinitySeconds} --reap -j ${ep.chain}`,
          );
        }
      }
      // Rule i of n matches with probability 1/(n-i), so each endpoint is picked with 1/n overall.
      endpoints.forEach((ep, i) => {
        const statistic = i < endpoints.length - 1 ? ` -m statistic --mode random --probability ${probability(endpoints.length - i)}` : '';
        rulesOut.push(`-A ${chain}${serviceComment(`"${name} -> ${ep.hostPort}"`)}${statistic} -j ${ep.chain}`);
      });
    };
    if (usesClusterPolicyChain) writeServiceToEndpointRules(chains.svc, clusterEndpoints);
    if (usesLocalPolicyChain) writeServiceToEndpointRules(chains.svl, localEndpoints);

    for (const ep of allReachable) {
      declare(ep.chain);
      const head = `-A ${ep.chain}${serviceComment(name)}`;
      // Hairpin: a pod reaching itself through the service must not see its own address as the
      // source of the reply, or it would answer itself directly and the connection would break.
      rulesOut.push(`${head} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
      const affinity = sp.affinitySeconds !== null ? ` -m recent --name ${ep.chain} --set` : '';
      rulesOut.push(`${head}${affinity} ${match} -j DNAT --to-destination ${ep.hostPort}`);
    }
  }

  // Flush (by declaring) and delete the per-service chains nobody uses any more; chains that are
  // not kube-proxy's are left alone. (kube-proxy walks a set; here in name order.)
  const stale = activeNatChains ? (existing?.nat ?? []).filter((chain) => isServiceChainName(chain) && !activeNatChains.has(chain)).sort(compare) : [];
  for (const chain of stale) {
    natChains.push(chain);
    natRules.push(`-X ${chain}`);
  }

  // Last in KUBE-SERVICES, after every ClusterIP/external IP/LB IP rule: anything addressed to a
  // local address tries the NodePorts; with nodePortAddresses, only the node IPs inside them.
  const nodePorts = `-A ${KUBE_SERVICES} -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"`;
  if (cfg.nodePortIPs === null) {
    const localhost = cfg.localhostNodePorts ? '' : ' ! -d 127.0.0.0/8';
    natRules.push(`${nodePorts} -m addrtype --dst-type LOCAL${localhost} -j ${KUBE_NODEPORTS}`);
  } else {
    for (const ip of cfg.nodePortIPs) {
      if (ip.startsWith('127.') && !cfg.localhostNodePorts) continue;
      natRules.push(`${nodePorts} -d ${ip} -j ${KUBE_NODEPORTS}`);
    }
  }

  // An INVALID packet (e.g. out of the TCP window) would miss the conntrack entry, escape the
  // reverse NAT and reach the client with the endpoint's address, which resets the connection.
  // In conntrack's liberal mode no packet is INVALID for that, and kube-proxy leaves the rule out.
  if (!cfg.tcpBeLiberal) filterRules.push(`-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP`);
  // Forward marked (service) traffic even under a DROP FORWARD policy, and its replies.
  filterRules.push(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filterRules.push(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);

  // Joined table by table: one array of every line would be a copy of 200,000 strings at 10,000 Services.
  const table = (name: string, chains: string[], rules: Lines): string =>
    `${[`*${name}`, chains.map(chainLine).join('\n'), rules.text(), 'COMMIT'].filter((part) => part !== '').join('\n')}\n`;
  // In large-cluster mode the nat chains are declared in reverse name order, on purpose (kube-proxy
  // declares them as it meets them): libiptc keeps a table's chains in a sorted list and inserts
  // each new one by walking it from the nearest entry of a sparse index, so that reverse order
  // puts every insertion at the head. At 10,000 Services iptables-restore (legacy) then spends a
  // third less time, iptables-nft-restore at 1,000 half; the kernel gets the same table, as the
  // order of the declarations has no meaning (iptables-save lists the same).
  // (Array.sort's own order is compare's: UTF-16 code units; it sorts faster without a comparator.)
  const natDeclared = largeClusterMode ? [...natChains].sort().reverse() : natChains;
  const payload = table('filter', filterChains, filterRules) + table('nat', natDeclared, natRules);
  return {
    payload,
    // The stale chains were declared last, to be deleted.
    natChains: natChains.slice(0, natChains.length - stale.length).concat(skippedChains),
    filterChains,
    // natRules: -A rules and one -X per stale chain; skippedRules: -A rules only.
    stats: {
      services: ports.length,
      endpoints: totalEndpoints,
      natRules: natRules.length - stale.length + skippedRules.length,
      filterRules: filterRules.length,
    },
  };
}
