// The resolved lab: every default applied, every reference checked. Nothing here is optional
// or undefined; code downstream of the loader never re-checks input.

import type { ClusterState, KubeProxyConfiguration } from '../api/objects.js';

export interface Lab {
  name: string;
  title: string;
  source: string;
  description: string;
  /** Absolute path of lab.yaml, and its folder. */
  file: string;
  dir: string;
  namespaces: Namespace[];
  links: VethLink[];
  /** The cluster the namespaces above were expanded from, if the lab has one. */
  cluster: Cluster | null;
  observe: Observation[];
  checks: Check[];
}

export type CniType = 'flannel' | 'calico' | 'bridge';
export type FlannelBackend = 'vxlan' | 'udp' | 'host-gw';

export interface Cluster {
  /** The cluster pod CIDR, e.g. 10.244.0.0/16. */
  podNetwork: string;
  /** Where ClusterIPs come from (kube-apiserver --service-cluster-ip-range). */
  serviceCIDR: string;
  underlay: Underlay;
  cni: { type: CniType; backend: FlannelBackend; mode: 'bgp' | 'vxlan'; routeReflector: string | null; blockSize: number };
  nodes: ClusterNode[];
  /** Machines on the underlay that are not nodes. */
  clients: ClusterClient[];
  /** MetalLB's IPAddressPool (CIDRs); empty: LoadBalancer services stay <pending>. */
  lbPool: string[];
  /** Cluster DNS (cluster.dns), or null when the lab has none. */
  dns: ClusterDns | null;
  /** The Kubernetes objects the lab declares, resolved by the control plane; null without manifests. */
  kubernetes: Kubernetes | null;
}

export interface ClusterDns {
  /** The cluster domain, e.g. cluster.local. */
  domain: string;
  /** The kube-dns Service's ClusterIP: the 10th address of the service CIDR (kubeadm's GetDNSIP). */
  serviceIP: string;
  /** The upstream resolver's address: the client namespace "upstream" runs dnsmasq there. */
  upstream: string;
  /** Names the upstream resolver answers, with their addresses. */
  hosts: [name: string, address: string][];
}

/** What the lab's manifests became: the API contents at `up`, and the manifests they came from. */
export interface Kubernetes {
  state: ClusterState;
  /** Events the controllers emitted while reconciling (IPAllocated, …), for describe. */
  events: { object: string; type: 'Normal' | 'Warning'; reason: string; message: string }[];
  /** Manifest files and the lab file itself when it carries manifests as further documents. */
  sources: string[];
  /** The objects as written (plain data), in order: what `knetlab apply` merges into. */
  objects: unknown[];
  /** When they were applied (the lab was loaded). */
  appliedAt: string;
  /** kube-proxy's configuration: the lab's KubeProxyConfiguration, or kube-proxy's defaults. */
  kubeProxy: KubeProxyConfiguration;
}

export interface ClusterClient {
  name: string;
  address: string;
  prefix: number;
  gateway: string;
  /** The underlay bridge it is plugged into. */
  bridge: string;
  /** Ports an echo server answers on (an "external" backend), or none. */
  serverPorts: number[];
}

export interface Underlay {
  /** A switch joins one subnet; a router joins several and forwards between them. */
  kind: 'switch' | 'router';
  /** Namespace holding the underlay bridges ("switch" or "router"). */
  namespace: string;
  segments: { cidr: string; gateway: string; bridge: string }[];
  mtu: number;
  /** Static routes in the router towards the nodes (underlay.routes), e.g. a cloud load balancer's VIPs. */
  routes: Route[];
}

export interface ClusterNode {
  name: string;
  /** Underlay address and prefix length, e.g. 192.168.56.11 and 24. */
  address: string;
  prefix: number;
  gateway: string;
  /** The node's pod subnet: flannel lease, bridge plugin range, or Calico block. */
  podCIDR: string;
  pods: ClusterPod[];
}

export interface ClusterPod {
  name: string;
  node: string;
  /** The pod IP (no prefix). */
  ip: string;
  /** The host-side end of the pod's veth, in the node namespace. */
  hostIf: string;
  /** TCP ports its echo server answers on (the containers' ports; 80 for a lab pod). */
  ports: number[];
  /** UDP ports it answers on: the containers' ports with protocol UDP. */
  udpPorts: number[];
  /** HTTP paths of readiness probes: answered 503 while the pod is made to fail them. */
  readinessPaths: string[];
}

export interface Namespace {
  name: string;
  description: string;
  sysctls: [key: string, value: string][];
  bridges: Bridge[];
  interfaces: Interface[];
  routes: Route[];
  nat: NatRule[];
  /** The namespace's own iptables chains (iptables: in the lab file), tables in raw → security order. */
  iptables: IptablesChain[];
  ipsets: IpSet[];
  server: Server | null;
}

export type NetfilterTable = 'raw' | 'mangle' | 'nat' | 'filter' | 'security';

/** One chain of a namespace's own rules: a built-in chain of its table, or one of the lab's own. */
export interface IptablesChain {
  table: NetfilterTable;
  chain: string;
  builtin: boolean;
  /** Each rule's words after "-A CHAIN", as iptables-restore reads them (quoted words keep their quotes). */
  rules: string[];
}

/** An ipset: listed members, and a range of consecutive addresses ipset adds itself. */
export interface IpSet {
  name: string;
  type: 'hash:ip' | 'hash:net';
  members: string[];
  range: { from: string; to: string; count: number } | null;
}

export interface Bridge {
  name: string;
  addresses: string[];
  mac: string | null;
  mtu: number | null;
}

export interface Interface {
  name: string;
  addresses: string[];
  mac: string | null;
  mtu: number | null;
  /** Bridge in the same namespace this interface is a port of. */
  master: string | null;
  /** As a bridge port: hairpin mode, so a frame may leave by the port it came in on. */
  hairpin: boolean;
  up: boolean;
}

export interface Endpoint {
  namespace: string;
  interface: string;
}

export interface VethLink {
  a: Endpoint;
  b: Endpoint;
  mtu: number | null;
}

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';

export interface Route {
  to: string;
  via: string | null;
  dev: string | null;
  onlink: boolean;
  src: string | null;
  metric: number | null;
  type: RouteType;
  /** Routing protocol number or name (ip route ... proto), e.g. 80 for routes Felix programs. */
  proto: string | null;
  /** Gateways of a multipath (ECMP) route, instead of via; empty for a route with one next hop. */
  nexthops: string[];
}

export interface NatRule {
  chain: 'PREROUTING' | 'POSTROUTING' | 'OUTPUT';
  source: string | null;
  destination: string | null;
  inInterface: string | null;
  notInInterface: string | null;
  outInterface: string | null;
  notOutInterface: string | null;
  protocol: 'tcp' | 'udp' | null;
  dport: number | null;
  jump: 'MASQUERADE' | 'SNAT' | 'DNAT' | 'RETURN';
  toSource: string | null;
  toDestination: string | null;
  comment: string | null;
}

/** nginx answering every request (UDP: every datagram) with JSON: pod, node, the address it answered on, the client it saw. */
export interface Server {
  /** TCP (HTTP) ports. */
  ports: number[];
  /** UDP ports: each datagram is answered with one datagram holding the same JSON. */
  udpPorts: number[];
  pod: string;
  node: string;
  /** The addresses it answers on: the namespace's own, or those a CNI plugin will assign. */
  addresses: string[];
  /** Readiness probe paths: answered 503 while <instance dir>/unready/<pod> exists. */
  readinessPaths: string[];
}

export interface Observation {
  from: string;
  argv: string[];
  why: string;
}

export type Probe =
  | { kind: 'ping'; address: string }
  | { kind: 'tcp'; address: string; port: number }
  /**
   * hostHeader: the Host header sent instead of the URL's; resolve: the address the URL's host
   * name is pinned to (curl --resolve); bodyBytes: a POST body of that many bytes; cacert: the CA
   * file the server's certificate must verify against ({labdir} for the running lab's folder).
   */
  | { kind: 'http'; url: string; host: string; requests: number; hostHeader?: string; resolve?: string; bodyBytes?: number; cacert?: string }
  /** `requests` datagrams, each from a new source port, or all from `sourcePort`. */
  | { kind: 'udp'; address: string; port: number; requests: number; sourcePort: number | null }
  | { kind: 'sctp'; address: string; port: number }
  /** dig from the namespace: through its resolv.conf's search path unless `search` is false, or at `server`. */
  | { kind: 'dns'; name: string; qtype: string; server: string | null; search: boolean }
  /** Entries whose original destination is address[:port]. */
  | { kind: 'conntrack'; protocol: 'tcp' | 'udp' | 'sctp'; address: string; port: number | null }
  | { kind: 'link'; interface: string }
  | { kind: 'route'; to: string }
  | { kind: 'neigh'; address: string }
  | { kind: 'fdb'; dev: string }
  | { kind: 'bgp'; protocol: string }
  /** One probe traced through every namespace (as knetlab trace does), judged by the hooks and tables it met. */
  | { kind: 'trace'; probe: TraceTarget }
  /** The packet counters of one iptables chain's rules. */
  | { kind: 'counters'; table: NetfilterTable; chain: string }
  | { kind: 'capture'; interface: string; filter: string; during: Check }
  /** Not a probe: a step (make a pod fail its readiness probe, …) that must exit 0. */
  | { kind: 'exec'; argv: string[] };

/** What a trace check sends: an HTTP GET, one ping, or a TCP connection. */
export type TraceTarget = { kind: 'http'; url: string } | { kind: 'ping'; address: string } | { kind: 'tcp'; address: string; port: number };

/** One namespace of an expected walk: the "HOOK table" pairs met there, in order. */
export interface PathStep {
  namespace: string;
  met: string[];
}

export interface Expectation {
  /** false for must-fail checks. */
  reachable: boolean;
  status: number | null;
  bodyContains: string | null;
  json: Record<string, string | number | boolean> | null;
  /** Pods that must all answer over `requests`, each with at least minShare of them; or how many different pods must answer. */
  backends: string[] | number | null;
  minShare: number;
  /** For must-fail tcp/http/sctp: refused (a REJECT) or timeout (a DROP); null: either. */
  failure: 'refused' | 'timeout' | 'untrusted' | null;
  master: string | null;
  state: string | null;
  mtu: number | null;
  /** route, neigh, fdb, conntrack: false when the entry must not exist. */
  present: boolean;
  via: string | null;
  dev: string | null;
  onlink: boolean | null;
  proto: string | null;
  type: string | null;
  lladdr: string | null;
  dst: string | null;
  encap: 'vxlan' | 'udp' | 'none' | null;
  vni: number | null;
  port: number | null;
  outer: { src: string | null; dst: string | null } | null;
  inner: { src: string | null; dst: string | null } | null;
  /** conntrack: the original source port, and the address the flow was DNATed to. */
  sport: number | null;
  dstNat: string | null;
  /** dns: the response code, the records of the asked type (exactly, or at least these), the CNAME chain, the name that answered, the aa flag. */
  rcode: string;
  answers: string[] | null;
  includes: string[] | null;
  cname: string[] | null;
  qname: string | null;
  authoritative: boolean | null;
  /** http: the Location header; response headers by lowercased name; text in the certificate's subject and issuer. */
  location?: string;
  headers?: Record<string, string>;
  certSubject?: string;
  certIssuer?: string;
  /** trace: the namespaces the packet crosses, in order, and what it met in each. */
  path: PathStep[] | null;
  /** counters: the rule (a part of its iptables -S line) and bounds on its packet counter. */
  rule: string | null;
  minPackets: number | null;
  maxPackets: number | null;
  /** http with requests: at most this many answered (the rest must fail). */
  maxAnswered: number | null;
}

export interface Check {
  name: string;
  from: string;
  probe: Probe;
  expect: Expectation;
  timeoutMs: number;
  /** Pause before the check (after an affinity timeout, a probe period…). */
  waitMs: number;
  /** The kube-proxy modes the expectation holds in; null: all of them. */
  proxyModes: readonly string[] | null;
  /** Source line of the check, for messages. */
  line: number;
}
