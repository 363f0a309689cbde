// What kube-proxy's IPVS mode wants on one node, as pure data: the ipset entries, the virtual
// servers with their real servers, the addresses bound to kube-ipvs0 and the per-LB output filter
// rules. It transcribes the service loop of syncProxyRules in kubernetes/pkg/proxy/ipvs/proxier.go
// (v1.30–1.34; reference kube-proxy.md §2), with the Service and endpoint handling shared with
// iptables mode (../iptables/sync.ts servicePorts, categorizeEndpoints). IPv4 only.

import type { EndpointSlice, NodeInfo, Service } from '../../../api/objects.js';
import { contains, formatNetwork, parseIPv4Sloppy } from '../../../labfile/net.js';
import { categorizeEndpoints, servicePorts, type Endpoint, type ServicePortInfo } from '../iptables/sync.js';
import { SET, type SetName } from './sets.js';

/** A virtual server: `-t|-u|--sctp-service addr:port`, its scheduler and persistence, and its real servers "ip:port". */
export interface VirtualServer {
  protocol: 'tcp' | 'udp' | 'sctp';
  address: string;
  port: number;
  scheduler: string;
  /** ClientIP affinity: persistence timeout in seconds (`-p`), or null. */
  persistence: number | null;
  realServers: string[];
}

/** kube-proxy's key for a virtual server (and ipvsadm's -t/-u/--sctp-service argument). */
export const vsKey = (vs: Pick<VirtualServer, 'protocol' | 'address' | 'port'>): string => `${vs.protocol} ${vs.address}:${vs.port}`;

export interface IpvsState {
  /** Entries per set (every kube-proxy set is listed, most empty). */
  sets: Map<SetName, Set<string>>;
  virtualServers: VirtualServer[];
  /** Addresses kube-proxy binds to kube-ipvs0 (each /32). */
  bindAddresses: string[];
  /** filter KUBE-IPVS-OUT-FILTER rules (LB IPs with source ranges that leave the node out). */
  outFilterRules: string[];
  stats: { services: number; endpoints: number };
}

export interface IpvsProxierConfig {
  /** ipvs.scheduler ("" means rr). */
  scheduler: string;
  /** The node's local addresses, except those on kube-ipvs0 (kube-proxy's nodeAddressSet). */
  nodeAddresses: readonly string[];
  /** nodePortAddresses resolved to this node's IPs (config.ts nodePortIPs); null: every address. */
  nodePortIPs: string[] | null;
}

const isLoopback = (ip: string): boolean => ip.startsWith('127.');

/** The real servers of one virtual server (syncEndpoint): local ones with a Local policy, unless there are none. */
function realServers(sp: ServicePortInfo, onlyNodeLocal: boolean): Endpoint[] {
  const { clusterEndpoints, localEndpoints } = categorizeEndpoints(sp);
  // PR 97081: with a Local policy and no local endpoint, the VS gets the cluster's endpoints, so
  // that pods on this node still reach the Service (iptables mode DROPs instead). A ClusterIP with
  // internalTrafficPolicy Local has no cluster endpoints unless it is also reachable from outside.
  return onlyNodeLocal && localEndpoints.length > 0 ? localEndpoints : clusterEndpoints;
}

/** One sync's desired state on `node`. */
export function ipvsState(node: NodeInfo, services: Service[], slices: EndpointSlice[], cfg: IpvsProxierConfig): IpvsState {
  const sets = new Map<SetName, Set<string>>(Object.values(SET).map((s) => [s.name, new Set<string>()]));
  const add = (set: SetName, entry: string) => sets.get(set)!.add(entry);
  const virtualServers: VirtualServer[] = [];
  const bind = new Set<string>();
  const outFilterRules: string[] = [];
  const scheduler = cfg.scheduler || 'rr';
  const nodeAddressSet = new Set(cfg.nodeAddresses);
  const nodeIP = parseIPv4Sloppy(node.address);
  // NodePorts: one VS per node address (every local one but loopback, or those in nodePortAddresses).
  const nodeIPs = (cfg.nodePortIPs ?? cfg.nodeAddresses).filter((ip) => !isLoopback(ip));

  const ports = servicePorts(node, services, slices);
  for (const sp of ports) {
    const protocol = sp.protocol as VirtualServer['protocol'];
    const ipPort = (ip: string) => `${ip},${protocol}:${sp.port}`;
    const vs = (address: string, port: number, onlyNodeLocal: boolean): void => {
      virtualServers.push({
        protocol,
        address,
        port,
        scheduler,
        persistence: sp.affinitySeconds,
        realServers: realServers(sp, onlyNodeLocal).map((ep) => ep.hostPort),
      });
    };

    // Hairpin: a local endpoint reaching itself through the Service is masqueraded (KUBE-LOOP-BACK).
    for (const ep of sp.endpoints) if (ep.isLocal) add(SET.loopBack.name, `${ep.ip},${protocol}:${ep.hostPort.split(':')[1]},${ep.ip}`);

    // ClusterIP: always bound to kube-ipvs0.
    add(SET.clusterIP.name, ipPort(sp.clusterIP));
    vs(sp.clusterIP, sp.port, sp.internalPolicyLocal);
    bind.add(sp.clusterIP);

    // externalIPs: bound unless the address already belongs to another interface of the node.
    for (const ip of sp.externalIPs) {
      add(sp.externalPolicyLocal ? SET.externalIPLocal.name : SET.externalIP.name, ipPort(ip));
      vs(ip, sp.port, sp.externalPolicyLocal);
      if (!nodeAddressSet.has(ip)) bind.add(ip);
    }

    // LoadBalancer ingress IPs.
    for (const ip of sp.loadBalancerVIPs) {
      add(SET.loadBalancer.name, ipPort(ip));
      if (sp.externalPolicyLocal) add(SET.loadBalancerLocal.name, ipPort(ip));
      if (sp.sourceRanges.length > 0) {
        add(SET.loadBalancerFW.name, ipPort(ip));
        let allowFromNode = false;
        for (const range of sp.sourceRanges) {
          add(SET.loadBalancerSourceCIDR.name, `${ipPort(ip)},${formatNetwork(range)}`);
          if (nodeIP !== undefined && contains(range, nodeIP)) allowFromNode = true;
        }
        // The node's own requests to a local LB IP come from the LB IP itself: let them through when the node is allowed,
        if (allowFromNode) add(SET.loadBalancerSourceIP.name, `${ipPort(ip)},${ip}`);
        // and otherwise stop them before IPVS forwards them.
        else outFilterRules.push(`-A KUBE-IPVS-OUT-FILTER -s ${ip} -m ipvs --vaddr ${ip} --vproto ${protocol} --vport ${sp.port} -j DROP`);
      }
      vs(ip, sp.port, sp.externalPolicyLocal);
      if (!nodeAddressSet.has(ip)) bind.add(ip);
    }

    // NodePort: a port in the bitmap set (SCTP: ip,port per node IP) and a VS per node IP, never bound.
    if (sp.nodePort !== 0 && nodeIPs.length > 0) {
      if (protocol === 'sctp') {
        for (const ip of nodeIPs) {
          add(SET.nodePortSCTP.name, `${ip},sctp:${sp.nodePort}`);
          if (sp.externalPolicyLocal) add(SET.nodePortLocalSCTP.name, `${ip},sctp:${sp.nodePort}`);
        }
      } else {
        add(protocol === 'tcp' ? SET.nodePortTCP.name : SET.nodePortUDP.name, String(sp.nodePort));
        if (sp.externalPolicyLocal) add(protocol === 'tcp' ? SET.nodePortLocalTCP.name : SET.nodePortLocalUDP.name, String(sp.nodePort));
      }
      for (const ip of nodeIPs) vs(ip, sp.nodePort, sp.externalPolicyLocal);
    }

    if (sp.healthCheckNodePort !== 0) add(SET.healthCheckNodePort.name, String(sp.healthCheckNodePort));
  }
  const bindAddresses = [...bind];
  for (const ip of bindAddresses) add(SET.ipvsIPs.name, ip);
  return {
    sets,
    virtualServers,
    bindAddresses,
    outFilterRules,
    stats: { services: ports.length, endpoints: ports.reduce((n, sp) => n + sp.endpoints.length, 0) },
  };
}
