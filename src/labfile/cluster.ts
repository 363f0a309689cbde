// The cluster section: nodes on an underlay, pods on nodes, one CNI. Resolved here into plain
// namespaces and veth links (what every CNI has in common: a node's eth0 on the underlay, a veth
// per pod), so checks, exec, status and teardown treat a cluster like any topology. What is
// particular to a CNI (VXLAN devices, neighbour and FDB entries, TUN devices, daemons, BIRD,
// plugin calls) is planned from the resolved Cluster by the CNI's component (src/components).

import { createHash } from 'node:crypto';
import { DEFAULT_SERVICE_CIDR } from '../api/objects.js';
import type { RawCluster } from './schema.js';
import { route } from './routes.js';
import { CALI_MAC, NORMAL_ROUTE_PRIORITY, POD_GATEWAY, POD_WIRING } from './pod-wiring.js';
import { contains, formatIPv4, formatNetwork, mask, network, parseCidr, parseIPv4, type Cidr } from './net.js';
import type { Cluster, ClusterClient, ClusterDns, ClusterNode, ClusterPod, Interface, Namespace, Route, Server, Underlay, VethLink } from './types.js';

type Path = (string | number)[];
export type Report = (path: Path, message: string, hint?: string, at?: 'key' | 'value') => void;

export const DEFAULT_POD_NETWORK = '10.244.0.0/16';
export const DEFAULT_UNDERLAY = '192.168.56.0/24';
/** External clients take addresses from the top of the first underlay subnet: .100, .101, … */
const CLIENT_HOST_BASE = 100;
const UNDERLAY_HOST_BASE = 11;

/** The MTU of pod interfaces under this cluster's CNI. */
export function podMtu(c: Cluster): number {
  return POD_WIRING[c.cni.type].mtu(c.cni, c.underlay.mtu);
}

/**
 * A node's NIC MAC, fixed so that labs and tutorials can name it: QEMU's 52:54:00 prefix (what
 * Vagrant VMs have) and the last three bytes of the node's address, e.g. 192.168.56.11 →
 * 52:54:00:a8:38:0b.
 */
export function nicMac(address: string): string {
  return [
    '52',
    '54',
    '00',
    ...address
      .split('.')
      .slice(1)
      .map((b) => Number(b).toString(16).padStart(2, '0')),
  ].join(':');
}

/** A locally administered unicast MAC derived from a name: flannel picks one at random per VTEP. */
export function vtepMac(seed: string): string {
  const h = createHash('sha1').update(seed).digest();
  const bytes = [...h.subarray(0, 6)];
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export interface ExpandedCluster {
  cluster: Cluster;
  namespaces: Namespace[];
  links: VethLink[];
  /** The cluster section has errors: namespaces are only its names, nothing is expanded. */
  failed: boolean;
}

/**
 * The cluster as written → resolved nodes, pods and addresses. `addPods`, when given, places
 * more pods (those Kubernetes manifests create) on the resolved nodes before the expansion into
 * namespaces; it sees the nodes with the lab's own pods already on them.
 */
export function resolveCluster(raw: RawCluster, reportTo: Report, addPods?: (c: Cluster) => void): ExpandedCluster {
  const path: Path = ['cluster'];
  // A CNI type, backend or mode outside the schema's lists was reported with the shape; the
  // rest of the cluster is still checked, as the bridge CNI or with the defaults, but not expanded.
  const knownCni =
    Object.hasOwn(POD_WIRING, raw.cni.type) &&
    ['vxlan', 'udp', 'host-gw', undefined].includes(raw.cni.backend) &&
    ['bgp', 'vxlan', undefined].includes(raw.cni.mode);
  let failed = !knownCni;
  const report: Report = (...args) => {
    failed = true;
    reportTo(...args);
  };
  const cniType = Object.hasOwn(POD_WIRING, raw.cni.type) ? raw.cni.type : 'bridge';
  const onlyFor = (field: 'backend' | 'mode' | 'routeReflector' | 'blockSize', types: string[]) => {
    if (raw.cni[field] !== undefined && !types.includes(cniType))
      report([...path, 'cni', field], `cni.${field} applies to ${types.join(' and ')} only, not ${cniType}`, `remove ${field}`, 'key');
  };
  onlyFor('backend', ['flannel']);
  onlyFor('mode', ['calico']);
  onlyFor('routeReflector', ['calico']);
  onlyFor('blockSize', ['calico']);
  const mode = raw.cni.mode ?? 'bgp';
  if (raw.cni.routeReflector !== undefined && mode !== 'bgp')
    report([...path, 'cni', 'routeReflector'], 'a route reflector needs mode: bgp', 'remove routeReflector or set mode: bgp');

  const podText = raw.podNetwork ?? DEFAULT_POD_NETWORK;
  const podNet = parseCidr(podText);
  if (!podNet || podNet.prefix > 28) report([...path, 'podNetwork'], `podNetwork "${podText}" is not an IPv4 network of at least /28`, 'e.g. 10.244.0.0/16');

  // The underlay: one switch for one subnet, a router for several.
  const subnets = raw.underlay?.subnets ?? [DEFAULT_UNDERLAY];
  const segs = subnets.map((text, i) => {
    const c = parseCidr(text);
    if (!c || c.prefix > 29 || c.prefix < 8) {
      report([...path, 'underlay', 'subnets', i], `underlay subnet "${text}" is not an IPv4 network between /8 and /29`, 'e.g. 192.168.56.0/24');
      return undefined;
    }
    if (podNet && overlaps(c, podNet)) report([...path, 'underlay', 'subnets', i], `underlay subnet ${text} overlaps the pod network ${podText}`);
    return c;
  });
  segs.forEach((a, i) =>
    segs.slice(i + 1).forEach((b, j) => {
      if (a && b && overlaps(a, b)) report([...path, 'underlay', 'subnets', i + j + 1], `underlay subnets ${subnets[i]} and ${subnets[i + j + 1]} overlap`);
    }),
  );
  const kind = subnets.length === 1 ? 'switch' : 'router';
  const underlay: Underlay = {
    kind,
    namespace: kind,
    segments: segs.map((c, i) => ({
      cidr: c ? formatNetwork(c) : '',
      gateway: c ? formatIPv4(network(c) + 1) : '',
      bridge: `br${i}`,
    })),
    mtu: raw.underlay?.mtu ?? 1500,
    routes: [],
  };

  const names = Object.keys(raw.nodes);
  if (names.length === 0) report([...path, 'nodes'], 'the cluster has no nodes', 'add at least one node, e.g. node1: { pods: [pod1] }');
  if (raw.cni.routeReflector !== undefined && raw.cni.routeReflector !== 'router' && !names.includes(raw.cni.routeReflector))
    report([...path, 'cni', 'routeReflector'], `routeReflector "${raw.cni.routeReflector}" is neither "router" nor a node`, `nodes: ${names.join(', ')}`);
  if (raw.cni.routeReflector === 'router' && kind !== 'router')
    report([...path, 'cni', 'routeReflector'], 'routeReflector: router needs a routed underlay', 'list two or more underlay subnets, or name a node');

  const blockSize = raw.cni.blockSize ?? 26;
  const podPrefix = cniType === 'calico' ? blockSize : podNet ? (podNet.prefix <= 22 ? 24 : podNet.prefix + 2) : 24;
  const used = new Map<number, string>();
  const usedCidrs: [Cidr, string][] = [];
  const podNames = new Map<string, string>();
  const nodes: ClusterNode[] = [];
  names.forEach((name, i) => {
    const p: Path = [...path, 'nodes', name];
    const spec = raw.nodes[name]!;
    if (name.length > 15)
      report(p, `node name "${name}" is longer than 15 characters`, 'node names also name their port on the underlay switch, an interface name', 'key');
    if (name === underlay.namespace) report(p, `"${name}" is the underlay's namespace name`, 'choose another node name', 'key');
    // Address on the underlay.
    const seg = segs[i % segs.length];
    let address = seg ? network(seg) + UNDERLAY_HOST_BASE + i : 0;
    if (spec.address !== undefined) {
      const a = parseIPv4(spec.address);
      if (a === undefined) report([...p, 'address'], `"${spec.address}" is not an IPv4 address`, 'e.g. 192.168.56.11');
      address = a ?? 0;
    }
    const segIndex = segs.findIndex((c) => c && contains(c, address));
    const segment = segs[segIndex];
    if (segment === undefined) {
      if (spec.address !== undefined && parseIPv4(spec.address) !== undefined)
        report([...p, 'address'], `${spec.address} is on none of the underlay subnets`, `underlay subnets: ${subnets.join(', ')}`);
      else if (spec.address === undefined && seg)
        report(
          p,
          `the underlay subnet ${formatNetwork(seg)} has no address left for node ${name}`,
          'use a larger underlay subnet, fewer nodes, or more subnets',
          'key',
        );
    } else {
      const host = address - network(segment);
      const size = 2 ** (32 - segment.prefix);
      if (host <= 1 || host >= size - 1)
        report(
          [...p, spec.address !== undefined ? 'address' : 'pods'],
          `${formatIPv4(address)} is not a usable node address in ${subnets[segIndex]}`,
          '.1 is the gateway; use .2 and up',
        );
      if (used.has(address)) report([...p, 'address'], `${formatIPv4(address)} is already ${used.get(address)}'s address`, 'every node needs its own address');
      used.set(address, name);
    }
    // The node's pod subnet.
    let sub: Cidr | undefined;
    if (spec.podCIDR !== undefined) {
      sub = parseCidr(spec.podCIDR);
      if (!sub) report([...p, 'podCIDR'], `podCIDR "${spec.podCIDR}" is not a CIDR`, 'e.g. 10.244.1.0/24');
      else if (podNet && (sub.prefix < podNet.prefix || !contains(podNet, sub.address)))
        report([...p, 'podCIDR'], `podCIDR ${spec.podCIDR} is not inside the pod network ${podText}`);
      else if (cniType === 'calico' && sub.prefix !== blockSize)
        report([...p, 'podCIDR'], `a Calico block is a /${blockSize}, not a /${sub.prefix}`, `write a /${blockSize} or set cni.blockSize`);
      else if (network(sub) !== sub.address) report([...p, 'podCIDR'], `podCIDR ${spec.podCIDR} has host bits set`, `write ${formatNetwork(sub)}`);
    } else if (podNet) {
      // flannel skips the network's first subnet (etcd mode's SubnetMin); blocks are handed out in order.
      const index = POD_WIRING[cniType].subnetIndex(i);
      const start = network(podNet) + index * 2 ** (32 - podPrefix);
      sub = { address: start >>> 0, prefix: podPrefix };
      if (!contains(podNet, sub.address)) {
        report([...path, 'podNetwork'], `the pod network ${podText} has no room for a /${podPrefix} for ${name}`, 'use a larger podNetwork');
        sub = undefined;
      }
    }
    if (sub) {
      const clash = usedCidrs.find(([c]) => overlaps(c, sub!));
      if (clash) report([...p, 'podCIDR'], `${name}'s pod subnet ${formatNetwork(sub)} overlaps ${clash[1]}'s ${formatNetwork(clash[0])}`);
      usedCidrs.push([sub, name]);
    }
    // Pods and their addresses: host-local hands out .2 upward (.1 is the cni0 gateway); Calico
    // IPAM hands out block addresses after the first, which the VXLAN tunnel address takes.
    const pods: ClusterPod[] = (spec.pods ?? []).map((pod, j) => {
      const pp = [...p, 'pods', j];
      if (podNames.has(pod)) report(pp, `pod "${pod}" is already on ${podNames.get(pod)}`, 'pod names are unique in a cluster');
      if (names.includes(pod) || pod === underlay.namespace) report(pp, `"${pod}" is also a node or the underlay's name`, 'give the pod another name');
      podNames.set(pod, name);
      const first = POD_WIRING[cniType].firstHost;
      const ip = sub ? sub.address + first + j : 0;
      if (sub && j + first >= 2 ** (32 - sub.prefix) - 1)
        report(pp, `${name}'s pod subnet ${formatNetwork(sub)} has no address left for ${pod}`, 'use a larger subnet or fewer pods');
      return { name: pod, node: name, ip: formatIPv4(ip), hostIf: podHostIf(cniType, pod), ports: [80], udpPorts: [], readinessPaths: [] };
    });
    nodes.push({
      name,
      address: formatIPv4(address),
      prefix: segment?.prefix ?? 24,
      gateway: segment ? formatIPv4(network(segment) + 1) : '',
      podCIDR: sub ? formatNetwork(sub) : '',
      pods,
    });
  });

  const clients = resolveClients(raw, underlay, segs, used, names, podNames, report);
  underlay.routes = resolveUnderlayRoutes(raw, underlay, segs, podNet, nodes, report);
  const serviceText = raw.serviceCIDR ?? DEFAULT_SERVICE_CIDR;
  const serviceNet = parseCidr(serviceText);
  if (!serviceNet || serviceNet.prefix > 28 || network(serviceNet) !== serviceNet.address)
    report([...path, 'serviceCIDR'], `serviceCIDR "${serviceText}" is not an IPv4 network of at least /28`, "e.g. 10.96.0.0/12 (kubeadm's default)");
  else {
    if (podNet && overlaps(serviceNet, podNet)) report([...path, 'serviceCIDR'], `serviceCIDR ${serviceText} overlaps the pod network ${podText}`);
    segs.forEach((c, i) => {
      if (c && overlaps(serviceNet, c)) report([...path, 'serviceCIDR'], `serviceCIDR ${serviceText} overlaps the underlay subnet ${subnets[i]}`);
    });
  }
  const lbPool = (raw.loadBalancer?.addresses ?? []).map((text, i) => {
    const c = parseCidr(text);
    const where = [...path, 'loadBalancer', 'addresses', i];
    if (!c) report(where, `"${text}" is not a CIDR`, 'MetalLB pools are written as CIDRs, e.g. 192.168.56.240/28');
    else if (!segs.some((s) => s && contains(s, c.address) && c.prefix >= s.prefix))
      report(where, `${text} is not inside an underlay subnet`, "MetalLB in layer 2 mode announces addresses on the nodes' own L2 segment");
    return c ? formatNetwork(c) : text;
  });

  const cluster: Cluster = {
    podNetwork: podNet ? formatNetwork(podNet) : podText,
    serviceCIDR: serviceNet ? formatNetwork(serviceNet) : serviceText,
    underlay,
    cni: {
      type: cniType,
      backend: knownCni ? (raw.cni.backend ?? 'vxlan') : 'vxlan',
      mode: knownCni ? mode : 'bgp',
      routeReflector: raw.cni.routeReflector ?? null,
      blockSize,
    },
    nodes,
    clients,
    lbPool,
    dns: resolveDns(raw, serviceNet, segs, clients, used, report),
    kubernetes: null,
  };
  if (underlay.mtu - 50 < 576 && cniType !== 'bridge')
    report([...path, 'underlay', 'mtu'], `underlay MTU ${underlay.mtu} leaves no room for encapsulation`, 'use an underlay MTU of 1500, or at least 626');
  // With errors above, addresses and subnets may be missing: expanding them would build on
  // nothing. The names still exist, so that the rest of the lab is not reported against them.
  if (failed) {
    const names = [underlay.namespace, ...nodes.flatMap((n) => [n.name, ...n.pods.map((p) => p.name)]), ...clients.map((c) => c.name)];
    return { cluster, namespaces: [...new Set(names)].map((n) => nsOf(n, '')), links: [], failed };
  }
  addPods?.(cluster);
  return { cluster, ...expandCluster(cluster), failed: false };
}

/** The client namespace that runs the cluster's upstream resolver. */
export const UPSTREAM_RESOLVER = 'upstream';
/** Its default address: .53 of the first underlay subnet. */
const UPSTREAM_HOST = 53;

/**
 * cluster.dns: the domain, the kube-dns address (kubeadm's GetDNSIP: the 10th address of the
 * service CIDR), and the upstream resolver, added as one more client of the underlay.
 */
function resolveDns(
  raw: RawCluster,
  serviceNet: Cidr | undefined,
  segs: (Cidr | undefined)[],
  clients: ClusterClient[],
  used: Map<number, string>,
  report: Report,
): ClusterDns | null {
  const d = raw.dns;
  if (!d) return null;
  const path: Path = ['cluster', 'dns'];
  if (clients.some((c) => c.name === UPSTREAM_RESOLVER) || Object.hasOwn(raw.nodes, UPSTREAM_RESOLVER))
    report(
      ['cluster', 'clients', UPSTREAM_RESOLVER],
      `"${UPSTREAM_RESOLVER}" is the namespace of the cluster's upstream resolver`,
      'give it another name',
      'key',
    );
  const first = segs[0];
  let address = first ? network(first) + UPSTREAM_HOST : 0;
  if (d.upstream !== undefined) {
    const a = parseIPv4(d.upstream);
    if (a === undefined) report([...path, 'upstream'], `"${d.upstream}" is not an IPv4 address`, 'e.g. 192.168.56.53');
    address = a ?? 0;
  }
  const segIndex = segs.findIndex((c) => c && contains(c, address));
  const segment = segs[segIndex];
  if (!segment) {
    if (d.upstream !== undefined) report([...path, 'upstream'], `${d.upstream} is on none of the underlay subnets`);
  } else if (used.has(address))
    report([...path, 'upstream'], `${formatIPv4(address)} is already ${used.get(address)}'s address`, 'set cluster.dns.upstream to a free address');
  else used.set(address, UPSTREAM_RESOLVER);
  clients.push({
    name: UPSTREAM_RESOLVER,
    address: formatIPv4(address),
    prefix: segment?.prefix ?? 24,
    gateway: segment ? formatIPv4(network(segment) + 1) : '',
    bridge: `br${Math.max(0, segIndex)}`,
    serverPorts: [],
  });
  const hosts = Object.entries(d.hosts ?? {}).map(([name, ip]): [string, string] => {
    if (!/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(name) || name.length > 253)
      report([...path, 'hosts', name], `"${name}" is not a DNS name`, 'e.g. db.example.com', 'key');
    if (parseIPv4(ip) === undefined) report([...path, 'hosts', name], `"${ip}" is not an IPv4 address`, 'e.g. 192.168.56.100');
    return [name.toLowerCase(), ip];
  });
  const domain = d.domain ?? 'cluster.local';
  for (const [name] of hosts)
    if (name === domain || name.endsWith('.' + domain))
      report([...path, 'hosts', name], `${name} is inside the cluster domain ${domain}, which the cluster's DNS server answers itself`, undefined, 'key');
  return { domain, serviceIP: serviceNet ? formatIPv4(network(serviceNet) + 10) : '', upstream: formatIPv4(address), hosts };
}

/** The host side of a pod's veth, named the way its CNI names it. */
export function podHostIf(cni: Cluster['cni']['type'], pod: string, namespace = 'default'): string {
  return POD_WIRING[cni].hostIf(pod, namespace);
}

/** Machines outside the cluster on the underlay: the clients of NodePorts and LoadBalancer IPs, or external backends. */
function resolveClients(
  raw: RawCluster,
  underlay: Underlay,
  segs: (Cidr | undefined)[],
  used: Map<number, string>,
  nodeNames: string[],
  podNames: Map<string, string>,
  report: Report,
): ClusterClient[] {
  return Object.entries(raw.clients ?? {}).map(([name, spec], i) => {
    const p: Path = ['cluster', 'clients', name];
    if (nodeNames.includes(name) || podNames.has(name) || name === underlay.namespace)
      report(p, `"${name}" is already a node, a pod or the underlay's name`, 'give the client another name', 'key');
    if (name.length > 15) report(p, `client name "${name}" is longer than 15 characters`, 'client names also name their port on the underlay switch', 'key');
    const first = segs[0];
    let address = first ? network(first) + CLIENT_HOST_BASE + i : 0;
    if (spec.address !== undefined) {
      const a = parseIPv4(spec.address);
      if (a === undefined) report([...p, 'address'], `"${spec.address}" is not an IPv4 address`, 'e.g. 192.168.56.100');
      address = a ?? 0;
    }
    const segIndex = segs.findIndex((c) => c && contains(c, address));
    const segment = segs[segIndex];
    if (!segment) {
      if (spec.address !== undefined) report([...p, 'address'], `${spec.address} is on none of the underlay subnets`);
    } else {
      const host = address - network(segment);
      if (host <= 1 || host >= 2 ** (32 - segment.prefix) - 1) report([...p, 'address'], `${formatIPv4(address)} is not a usable address`, '.1 is the gateway');
      if (used.has(address)) report([...p, 'address'], `${formatIPv4(address)} is already ${used.get(address)}'s address`);
      used.set(address, name);
    }
    return {
      name,
      address: formatIPv4(address),
      prefix: segment?.prefix ?? 24,
      gateway: segment ? formatIPv4(network(segment) + 1) : '',
      bridge: underlay.segments[Math.max(0, segIndex)]?.bridge ?? 'br0',
      serverPorts: spec.server ? [spec.server.port ?? 80] : [],
    };
  });
}

/**
 * underlay.routes: static routes in the router towards nodes, for addresses no interface holds
 * (a cloud load balancer's VIPs, which kube-proxy captures on whichever node receives them). The
 * destination lies outside every underlay subnet and the pod network; each next hop is a node.
 */
function resolveUnderlayRoutes(
  raw: RawCluster,
  underlay: Underlay,
  segs: (Cidr | undefined)[],
  podNet: Cidr | undefined,
  nodes: ClusterNode[],
  report: Report,
): Route[] {
  const written = raw.underlay?.routes ?? [];
  const p: Path = ['cluster', 'underlay', 'routes'];
  if (written.length && underlay.kind !== 'router') {
    report(p, 'underlay routes need a router', 'list two or more underlay subnets: the nodes on one, the machines in front of the router on another', 'key');
    return [];
  }
  const subnets = raw.underlay?.subnets ?? [];
  const nodeList = nodes.map((n) => `${n.name} ${n.address}`).join(', ');
  const seen = new Map<string, number>();
  return written.flatMap((r, i): Route[] => {
    const at: Path = [...p, i];
    const c = parseCidr(r.to.includes('/') ? r.to : `${r.to}/32`);
    let ok = true;
    if (!c) {
      report([...at, 'to'], `"${r.to}" is not an IPv4 address or CIDR`, 'e.g. 203.0.113.10 or 203.0.113.0/28');
      ok = false;
    } else if (network(c) !== c.address) {
      report([...at, 'to'], `${r.to} has host bits set`, `write ${formatNetwork(c)}`);
      ok = false;
    } else {
      const j = segs.findIndex((s) => s && overlaps(s, c));
      if (j >= 0) {
        report(
          [...at, 'to'],
          `${r.to} overlaps the underlay subnet ${subnets[j]}, which the router reaches directly`,
          'route addresses outside the underlay subnets',
        );
        ok = false;
      } else if (podNet && overlaps(podNet, c)) {
        report([...at, 'to'], `${r.to} overlaps the pod network ${formatNetwork(podNet)}`, "pod addresses are the CNI's to route");
        ok = false;
      } else if (seen.has(formatNetwork(c))) {
        report([...at, 'to'], `underlay.routes[${seen.get(formatNetwork(c))}] already goes to ${formatNetwork(c)}`, 'list every next hop in one route');
        ok = false;
      } else seen.set(formatNetwork(c), i);
    }
    const hops = r.via.filter((v, k) => {
      const where = [...at, 'via', k];
      if (parseIPv4(v) === undefined) report(where, `next hop "${v}" is not an IPv4 address`, `next hops are nodes: ${nodeList}`);
      else if (!nodes.some((n) => n.address === v)) report(where, `next hop ${v} is not a node's address`, `next hops are nodes: ${nodeList}`);
      else if (r.via.indexOf(v) !== k) report(where, `next hop ${v} is listed twice`);
      else return true;
      ok = false;
      return false;
    });
    if (!ok || !c) return [];
    const to = formatNetwork(c);
    return [hops.length === 1 ? route(to, { via: hops[0]! }) : route(to, { nexthops: hops })];
  });
}

function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.address & mask(p)) >>> 0 === (b.address & mask(p)) >>> 0;
}

const up = (name: string, fields: Partial<Interface> = {}): Interface => ({
  name,
  addresses: [],
  mac: null,
  mtu: null,
  master: null,
  hairpin: false,
  up: true,
  ...fields,
});
const nsOf = (name: string, description: string, fields: Partial<Namespace> = {}): Namespace => ({
  name,
  description,
  sysctls: [],
  bridges: [],
  interfaces: [],
  routes: [],
  nat: [],
  iptables: [],
  ipsets: [],
  server: null,
  ...fields,
});

/** The namespaces and links every CNI shares. The bridge CNI's pods are wired by the plugin itself. */
export function expandCluster(c: Cluster): { namespaces: Namespace[]; links: VethLink[] } {
  const u = c.underlay;
  const namespaces: Namespace[] = [];
  const links: VethLink[] = [];
  const segmentOf = (n: ClusterNode) => u.segments.find((s) => s.cidr && contains(parseCidr(s.cidr)!, parseIPv4(n.address)!)) ?? u.segments[0]!;
  namespaces.push(
    nsOf(
      u.namespace,
      u.kind === 'switch'
        ? `the L2 segment all nodes share (bridge ${u.segments[0]!.bridge}), with the LAN gateway address ${u.segments[0]!.gateway}`
        : `a router joining the node subnets ${u.segments.map((s) => s.cidr).join(', ')}`,
      {
        sysctls: underlaySysctls(u),
        bridges: u.segments.map((s) => ({ name: s.bridge, addresses: [`${s.gateway}/${s.cidr.split('/')[1]}`], mac: null, mtu: null })),
        interfaces: [...c.nodes.map((n) => up(n.name, { master: segmentOf(n).bridge })), ...c.clients.map((cl) => up(cl.name, { master: cl.bridge }))],
        routes: u.routes,
      },
    ),
  );
  const mtu = podMtu(c);
  const { attach, hairpin } = POD_WIRING[c.cni.type];
  const flannelLike = attach !== 'routed';
  for (const n of c.nodes) {
    links.push({ a: { namespace: u.namespace, interface: n.name }, b: { namespace: n.name, interface: 'eth0' }, mtu: u.mtu === 1500 ? null : u.mtu });
    const gw = flannelLike ? cni0Gateway(n) : POD_GATEWAY;
    const wired = attach !== 'plugin';
    namespaces.push(
      nsOf(n.name, `Kubernetes node ${n.name}, ${n.address} on the underlay, pod subnet ${n.podCIDR}`, {
        sysctls: [['net.ipv4.ip_forward', '1']],
        bridges: attach === 'cni0' ? [{ name: 'cni0', addresses: [`${gw}/${n.podCIDR.split('/')[1]}`], mac: null, mtu }] : [],
        interfaces: [
          up('eth0', { addresses: [`${n.address}/${n.prefix}`], mac: nicMac(n.address) }),
          ...(wired ? n.pods.map((p) => up(p.hostIf, flannelLike ? { master: 'cni0', hairpin } : { mac: CALI_MAC })) : []),
        ],
        routes: [
          route('default', { via: n.gateway }),
          // Calico's CNI plugin adds a /32 host route per pod (Felix owns it afterwards), at the
          // normal route priority: BIRD's export filter leaks anything below 1024 as a /32.
          ...(attach === 'routed' ? n.pods.map((p) => route(p.ip, { dev: p.hostIf, metric: NORMAL_ROUTE_PRIORITY })) : []),
        ],
      }),
    );
    for (const p of n.pods) {
      const server: Server | null = p.ports.length
        ? { ports: p.ports, udpPorts: p.udpPorts, pod: p.name, node: n.name, addresses: [p.ip], readinessPaths: p.readinessPaths }
        : null;
      if (!wired) {
        namespaces.push(nsOf(p.name, `pod ${p.name} on ${n.name}, wired by the bridge CNI plugin`, { server }));
        continue;
      }
      links.push({ a: { namespace: n.name, interface: p.hostIf }, b: { namespace: p.name, interface: 'eth0' }, mtu: mtu === 1500 ? null : mtu });
      namespaces.push(
        nsOf(p.name, `pod ${p.name} on ${n.name}`, {
          interfaces: [up('eth0', { addresses: [flannelLike ? `${p.ip}/${n.podCIDR.split('/')[1]}` : `${p.ip}/32`] })],
          routes: flannelLike
            ? // The flannel CNI plugin delegates to bridge with isDefaultGateway, and host-local adds
              // the cluster network route with the gateway filled in.
              [route('default', { via: gw }), route(c.podNetwork, { via: gw, dev: 'eth0' })]
            : [route(`${POD_GATEWAY}/32`, { dev: 'eth0' }), route('default', { via: POD_GATEWAY, dev: 'eth0' })],
          server,
        }),
      );
    }
  }
  for (const cl of c.clients) {
    links.push({ a: { namespace: u.namespace, interface: cl.name }, b: { namespace: cl.name, interface: 'eth0' }, mtu: u.mtu === 1500 ? null : u.mtu });
    namespaces.push(
      nsOf(cl.name, `a machine outside the cluster at ${cl.address}, on the nodes' underlay`, {
        interfaces: [up('eth0', { addresses: [`${cl.address}/${cl.prefix}`] })],
        routes: [route('default', { via: cl.gateway })],
        server: cl.serverPorts.length
          ? { ports: cl.serverPorts, udpPorts: [], pod: cl.name, node: cl.name, addresses: [cl.address], readinessPaths: [] }
          : null,
      }),
    );
  }
  return { namespaces, links };
}

function underlaySysctls(u: Underlay): [string, string][] {
  const out: [string, string][] = [];
  if (u.kind === 'router') out.push(['net.ipv4.ip_forward', '1']);
  // An ECMP route picks its next hop per connection (addresses and ports hashed), not only per
  // pair of addresses, so that one client's connections spread over the nodes.
  if (u.routes.some((r) => r.nexthops.length)) out.push(['net.ipv4.fib_multipath_hash_policy', '1']);
  return out;
}

/** The pod subnet's gateway on cni0 (flannel, bridge): its first address. */
export function cni0Gateway(n: ClusterNode): string {
  return formatIPv4(parseCidr(n.podCIDR)!.address + 1);
}
