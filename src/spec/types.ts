// The resolved lab: every default applied, every reference checked. Nothing here is optional
// or undefined; code downstream of the loader never re-checks input.

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
  observe: Observation[];
  checks: Check[];
}

export interface Namespace {
  name: string;
  description: string;
  sysctls: [key: string, value: string][];
  bridges: Bridge[];
  interfaces: Interface[];
  routes: Route[];
  nat: NatRule[];
  server: Server | null;
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

/** nginx answering every request with JSON: pod, node, the address it answered on, the client it saw. */
export interface Server {
  port: number;
  pod: string;
  node: string;
}

export interface Observation {
  from: string;
  argv: string[];
  why: string;
}

export type Probe =
  | { kind: 'ping'; address: string }
  | { kind: 'tcp'; address: string; port: number }
  | { kind: 'http'; url: string; host: string; requests: number }
  | { kind: 'link'; interface: string };

export interface Expectation {
  /** false for must-fail checks. */
  reachable: boolean;
  status: number | null;
  bodyContains: string | null;
  json: Record<string, string | number | boolean> | null;
  /** Pods that must all answer over `requests`, each with at least minShare of them. */
  backends: string[] | null;
  minShare: number;
  master: string | null;
  state: string | null;
  mtu: number | null;
}

export interface Check {
  name: string;
  from: string;
  probe: Probe;
  expect: Expectation;
  timeoutMs: number;
  /** Source line of the check, for messages. */
  line: number;
}
