// The programs labs use, and the Debian package that provides each.

import type { Host } from '../exec/host.js';
import type { Lab } from '../labfile/types.js';
import { CNIS, NGINX_STREAM_MODULE, NODE_COMPONENTS } from '../plan/registry.js';
import { FONT_FILE } from './graph.js';

export interface Tool {
  command: string;
  pkg: string;
  why: string;
  /** Not a program but a file a program loads (an nginx module): it must exist. */
  file?: true;
}

export const TOOLS: Tool[] = [
  { command: 'ip', pkg: 'iproute2', why: 'namespaces, links, addresses, routes' },
  { command: 'bridge', pkg: 'iproute2', why: 'bridge ports and FDB entries' },
  { command: 'sysctl', pkg: 'procps', why: 'per-namespace kernel parameters' },
  { command: 'iptables-restore', pkg: 'iptables', why: 'NAT and filter rules, as kube-proxy writes them' },
  { command: 'iptables-save', pkg: 'iptables', why: 'rule listings and counters in check evidence' },
  { command: 'iptables', pkg: 'iptables', why: 'rule counters (counters checks)' },
  { command: 'nft', pkg: 'nftables', why: 'nftables rules (kube-proxy nftables mode)' },
  { command: 'ipset', pkg: 'ipset', why: 'address sets (kube-proxy IPVS mode)' },
  { command: 'ipvsadm', pkg: 'ipvsadm', why: 'IPVS virtual servers (kube-proxy IPVS mode)' },
  { command: 'conntrack', pkg: 'conntrack', why: 'connection tracking entries' },
  { command: 'nginx', pkg: 'nginx-light', why: "the pods' echo servers, ingress-nginx" },
  { command: NGINX_STREAM_MODULE, pkg: 'libnginx-mod-stream', why: "nginx's stream module: the echo servers' UDP ports", file: true },
  { command: 'openssl', pkg: 'openssl', why: "ingress-nginx's default fake certificate" },
  { command: 'ping', pkg: 'iputils-ping', why: 'ICMP checks' },
  { command: 'arping', pkg: 'iputils-arping', why: "the bridge plugin's gratuitous ARP for pods added to a running flannel cluster" },
  { command: 'curl', pkg: 'curl', why: 'HTTP checks' },
  { command: 'nc', pkg: 'netcat-openbsd', why: 'TCP and UDP checks' },
  { command: 'socat', pkg: 'socat', why: 'SCTP checks' },
  { command: 'tcpdump', pkg: 'tcpdump', why: 'captures on the underlay' },
  { command: 'dig', pkg: 'dnsutils', why: 'DNS checks' },
  { command: 'dnsmasq', pkg: 'dnsmasq-base', why: "the cluster's upstream DNS resolver (cluster.dns)" },
  { command: 'iperf3', pkg: 'iperf3', why: 'throughput benchmarks' },
  { command: 'tee', pkg: 'coreutils', why: 'writing config files' },
  { command: 'xargs', pkg: 'findutils', why: 'starting many servers at once' },
  { command: 'bird', pkg: 'bird2', why: "Calico's BGP daemon" },
  { command: 'birdc', pkg: 'bird2', why: 'BGP session state in checks' },
  {
    command: 'node',
    pkg: 'nodejs',
    why: "knetlab's daemons: flannel's UDP backend, kube-proxy, the readiness prober, MetalLB's speaker, the cluster DNS server",
  },
  { command: 'env', pkg: 'coreutils', why: 'calling CNI plugins with CNI_* variables' },
  { command: '/usr/lib/cni/bridge', pkg: 'containernetworking-plugins', why: 'the reference bridge CNI plugin' },
  { command: '/usr/lib/cni/host-local', pkg: 'containernetworking-plugins', why: 'the reference host-local IPAM plugin' },
  { command: '/usr/lib/cni/loopback', pkg: 'containernetworking-plugins', why: 'the reference loopback CNI plugin' },
  { command: FONT_FILE, pkg: 'fonts-dejavu-core', why: 'the font knetlab graph draws PNGs with', file: true },
];

function tool(command: string): Tool {
  return TOOLS.find((t) => t.command === command)!;
}

/** Whether this machine has a tool: a program on the PATH, or a module file. */
export function hasTool(host: Host, t: Tool): boolean {
  return t.file ? host.hasFile(t.command) : host.hasCommand(t.command);
}

/** The tools `up` and the lab's checks need. */
export function requiredTools(lab: Lab): Tool[] {
  const need = new Set(['ip', 'tee']);
  for (const ns of lab.namespaces) {
    if (ns.sysctls.length) need.add('sysctl');
    if (ns.nat.length || ns.iptables.length) need.add('iptables-restore');
    if (ns.ipsets.length) need.add('ipset');
    if (ns.server) need.add('nginx').add('xargs');
    if (ns.server?.udpPorts.length) need.add(NGINX_STREAM_MODULE);
  }
  const c = lab.cluster;
  if (c) for (const component of [CNIS[c.cni.type], ...(c.kubernetes ? NODE_COMPONENTS : [])]) for (const t of component.tools(c)) need.add(t);
  const probeTool = {
    ping: 'ping',
    tcp: 'nc',
    http: 'curl',
    udp: 'nc',
    sctp: 'socat',
    dns: 'dig',
    conntrack: 'conntrack',
    link: 'ip',
    route: 'ip',
    neigh: 'ip',
    fdb: 'bridge',
    bgp: 'birdc',
    capture: 'tcpdump',
    exec: 'ip',
    trace: 'nft',
    counters: 'iptables',
  } as const;
  for (const check of lab.checks) {
    need.add(probeTool[check.probe.kind]);
    if (check.probe.kind === 'capture') need.add(probeTool[check.probe.during.probe.kind]);
    if (check.probe.kind === 'trace') need.add(probeTool[check.probe.probe.kind]);
  }
  return [...need].map(tool);
}
