// kube-proxy's conntrack cleanup for UDP Services, as a pure function: the API contents of the
// last successful sync and of this one in, the `conntrack -D` commands kube-proxy runs after the
// sync out. It transcribes CleanStaleEntries in kubernetes/pkg/proxy/conntrack/cleanup.go from the
// era when kube-proxy ran the conntrack binary (ClearEntriesForIP, ClearEntriesForPort,
// ClearEntriesForNAT, ClearEntriesForPortNAT in conntrack.go, before the move to netlink), with the change detection
// of pkg/proxy/endpoints.go (detectStaleConntrackEntries) and servicechangetracker.go
// (DeletedUDPClusterIPs). The same for every proxy mode: it is about the kernel's flow table,
// not the rules.
//
// Why: NAT is decided on a flow's first packet and conntrack applies it to the rest. UDP has no
// connection to end, so a client that keeps sending from the same port keeps matching its entry,
// DNATed to an endpoint that may be gone, until 30 s (120 s once "assured") pass without a
// datagram. Deleting the entry makes the next datagram a new flow, which the rules send to a live
// endpoint. And datagrams sent while a Service had no endpoints were REJECTed, which leaves
// entries without DNAT that would keep swallowing the flow once endpoints appear.
//
// IPv4 only, like the iptables proxier knetlab runs (conntrack's default family is IPv4).

import type { EndpointSlice, Service } from '../../api/objects.js';
import type { Command } from '../../kernel/command.js';
import { formatIPv4, parseIPv4Sloppy } from '../../labfile/net.js';

/** What conntrack says, on stderr with exit status 1, when nothing matched: no error (NoConnectionToDelete). */
export const NO_CONNECTION_TO_DELETE = '0 flow entries have been deleted';

export interface ApiContents {
  services: Service[];
  slices: EndpointSlice[];
}

/** proxy.ServicePort, as far as the cleanup reads it. */
interface ServicePortInfo {
  protocol: string;
  clusterIP: string;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  nodePort: number;
}

const ipv4 = (text: string): string | null => {
  const v = parseIPv4Sloppy(text);
  return v === undefined ? null : formatIPv4(v);
};
const ipv4s = (list: string[]): string[] => list.map(ipv4).filter((ip): ip is string => ip !== null);

/** proxy.ServicePortName: namespace/name:port plus the protocol, which tells a UDP port from a TCP one of the same name. */
const portKey = (namespace: string, name: string, port: string, protocol: string) => `${namespace}/${name}:${port}/${protocol}`;

/** The service port map (svcPortMap): services with an IPv4 ClusterIP, as ShouldSkipService and the IPv4 proxier keep them. */
function servicePortMap(services: Service[]): Map<string, ServicePortInfo> {
  const map = new Map<string, ServicePortInfo>();
  for (const svc of services) {
    if (svc.type === 'ExternalName' || svc.clusterIP === null || svc.clusterIP === 'None') continue;
    const clusterIP = ipv4(svc.clusterIP);
    if (clusterIP === null) continue;
    for (const port of svc.ports)
      map.set(portKey(svc.meta.namespace, svc.meta.name, port.name, port.protocol), {
        protocol: port.protocol,
        clusterIP,
        externalIPs: ipv4s(svc.externalIPs),
        // Only VIP-mode addresses are captured by kube-proxy (a Proxy one reaches the nodes as NodePort traffic).
        loadBalancerVIPs: ipv4s(svc.loadBalancerIngress.filter((ing) => ing.ipMode === 'VIP').map((ing) => ing.ip)),
        nodePort: port.nodePort ?? 0,
      });
  }
  return map;
}

/** The endpoints map: "IP:port" and whether it serves, per service port, from the EndpointSlices (one entry per "IP:port"). */
function endpointsMap(slices: EndpointSlice[]): Map<string, Map<string, boolean>> {
  const map = new Map<string, Map<string, boolean>>();
  for (const slice of slices)
    for (const port of slice.ports) {
      if (port.port === 0) continue;
      const key = portKey(slice.meta.namespace, slice.service, port.name, port.protocol);
      const eps = map.get(key) ?? new Map<string, boolean>();
      map.set(key, eps);
      for (const ep of slice.endpoints) {
        const ip = ipv4(ep.address);
        if (ip !== null) eps.set(`${ip}:${port.port}`, (eps.get(`${ip}:${port.port}`) ?? false) || ep.conditions.serving);
      }
    }
  return map;
}

const servingCount = (eps: Map<string, boolean> | undefined): number => [...(eps ?? new Map<string, boolean>()).values()].filter(Boolean).length;
const isUDP = (key: string) => key.endsWith('/UDP');

const conntrackDelete = (...args: string[]): Command => ({ file: 'conntrack', args: ['-D', ...args] });

/**
 * The conntrack deletions after a successful sync that went from `prev` (the API as last synced;
 * null before the first sync, when every UDP Service with endpoints counts as newly active, as at
 * kube-proxy's start) to `cur`. In kube-proxy's order: stale Service IPs and NodePorts first, then
 * the flows DNATed to each deleted endpoint.
 */
export function conntrackCleanup(prev: ApiContents | null, cur: ApiContents): Command[] {
  const prevServices = servicePortMap(prev?.services ?? []);
  const services = servicePortMap(cur.services);
  const prevEndpoints = endpointsMap(prev?.slices ?? []);
  const endpoints = endpointsMap(cur.slices);

  // DeletedUDPClusterIPs: the ClusterIPs of UDP service ports that are gone.
  const staleIPs = new Set<string>();
  for (const [key, sp] of prevServices) if (isUDP(key) && !services.has(key)) staleIPs.add(sp.clusterIP);

  // NewlyActiveUDPServices: from no serving endpoint to some. Datagrams sent meanwhile were
  // REJECTed and left entries without DNAT for every address the Service answers on.
  const staleNodePorts = new Set<number>();
  for (const [key, eps] of endpoints) {
    if (!isUDP(key) || servingCount(eps) === 0 || servingCount(prevEndpoints.get(key)) > 0) continue;
    const sp = services.get(key);
    if (!sp) continue;
    for (const ip of [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerVIPs]) staleIPs.add(ip);
    if (sp.nodePort !== 0) staleNodePorts.add(sp.nodePort);
  }

  // DeletedUDPEndpoints: endpoints that served and no longer do (gone, or no longer serving).
  const deleted: { key: string; ip: string }[] = [];
  for (const [key, eps] of prevEndpoints) {
    if (!isUDP(key)) continue;
    for (const [hostPort, serving] of eps)
      if (serving && endpoints.get(key)?.get(hostPort) !== true) deleted.push({ key, ip: hostPort.slice(0, hostPort.lastIndexOf(':')) });
  }

  // kube-proxy walks Go sets and maps (random order); sorted here, so the commands are a function of the change.
  const byAddress = (a: string, b: string) => (parseIPv4Sloppy(a) ?? 0) - (parseIPv4Sloppy(b) ?? 0);
  const commands: Command[] = [
    // ClearEntriesForIP
    ...[...staleIPs].sort(byAddress).map((ip) => conntrackDelete('--orig-dst', ip, '-p', 'udp')),
    // ClearEntriesForPort
    ...[...staleNodePorts].sort((a, b) => a - b).map((port) => conntrackDelete('-p', 'udp', '--dport', String(port))),
  ];
  for (const { key, ip } of deleted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : byAddress(a.ip, b.ip)))) {
    // A Service deleted along with its endpoints: DeletedUDPClusterIPs covered it.
    const sp = services.get(key);
    if (!sp) continue;
    // ClearEntriesForPortNAT: NodePort flows arrive addressed to any of the node's addresses.
    if (sp.nodePort !== 0) commands.push(conntrackDelete('-p', 'udp', '--dport', String(sp.nodePort), '--dst-nat', ip));
    // ClearEntriesForNAT, for the ClusterIP, each external IP and each load balancer IP.
    for (const vip of [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerVIPs])
      commands.push(conntrackDelete('--orig-dst', vip, '--dst-nat', ip, '-p', 'udp'));
  }
  return commands;
}

/** How many entries a `conntrack -D` deleted, from its stderr ("3 flow entries have been deleted."); null if it did not say. */
export function deletedCount(stderr: string): number | null {
  const m = /(\d+) flow entries have been deleted/.exec(stderr);
  return m ? Number(m[1]) : null;
}
