// How each CNI wires a pod, as far as expanding a cluster into namespaces and veths needs to
// know it: one entry per CNI type (a type without one fails to compile). The facts come from the
// real CNIs (flannel's and Calico's CNI plugins, host-local and Calico IPAM, Felix, the bridge
// plugin); the components that program the rest (src/components/<cni>) take them from here.

import { createHash } from 'node:crypto';
import type { Cluster, CniType, FlannelBackend } from './types.js';

export interface PodWiring {
  /**
   * cni0: the pod's veth is a port of the node's cni0 bridge, the pod has an address in the node
   * subnet and the bridge's first address as gateway (flannel). routed: the pod has a /32 and a
   * gateway nobody owns, answered by proxy ARP on the host-side veth (Calico). plugin: the real CNI
   * plugin makes the veth and the addresses when it is called (the reference bridge plugin).
   */
  attach: 'cni0' | 'routed' | 'plugin';
  /**
   * The pod's bridge port is in hairpin mode (the bridge plugin's hairpinMode, which flannel's
   * delegate configuration sets): a pod reaching itself through a Service needs its frame sent back
   * out of the port it came in on. Meaningless without a bridge (Calico).
   */
  hairpin: boolean;
  /** The first pod address in a node's subnet: host-local starts after the cni0 gateway, Calico IPAM after the block's first address. */
  firstHost: number;
  /** Which subnet of the pod network the i-th node is given (flannel skips the first: etcd mode's SubnetMin). */
  subnetIndex(i: number): number;
  /** The host side of a pod's veth, named as the CNI names it. */
  hostIf(pod: string, namespace: string): string;
  /** The MTU of pod interfaces for this NIC MTU: minus the encapsulation, if any. */
  mtu(cni: Cluster['cni'], nicMtu: number): number;
}

/** flannel's network MTU per backend: the NIC MTU minus the encapsulation overhead. */
function flannelMtu(backend: FlannelBackend, nicMtu: number): number {
  return nicMtu - { vxlan: 50, udp: 28, 'host-gw': 0 }[backend];
}

/** The bridge plugin names host-side veths "veth" + 8 random hex digits; here they come from the pod name, so runs repeat. */
export function bridgeVethName(pod: string): string {
  return 'veth' + createHash('sha1').update(pod).digest('hex').slice(0, 8);
}

/** Host-side veth MAC that Calico forces on every cali* interface. */
export const CALI_MAC = 'ee:ee:ee:ee:ee:ee';
/** The pod's fake default gateway, answered by proxy ARP on the host-side veth. */
export const POD_GATEWAY = '169.254.1.1';
/**
 * BGPConfiguration/FelixConfiguration ipv4NormalRoutePriority default (Calico v3.32+): the kernel metric
 * BIRD gives BGP routes, and the metric Felix gives each pod's host route (`<podIP> dev cali… scope link
 * metric 1024`). A pod route with metric 0 (what the CNI plugin adds before Felix reconciles it) passes
 * calico_aggr's `krt_metric < 1024` test and is exported to peers as a /32 next to its block.
 */
export const NORMAL_ROUTE_PRIORITY = 1024;

/** Host-side interface name: prefix + first 11 hex chars of sha1("<namespace>.<pod>"). */
export function caliName(namespace: string, pod: string, prefix = 'cali'): string {
  return prefix + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11);
}

export const POD_WIRING: Record<CniType, PodWiring> = {
  flannel: {
    attach: 'cni0',
    hairpin: true,
    firstHost: 2,
    subnetIndex: (i) => i + 1,
    hostIf: (pod) => bridgeVethName(pod),
    mtu: (cni, nicMtu) => flannelMtu(cni.backend, nicMtu),
  },
  calico: {
    attach: 'routed',
    hairpin: false,
    firstHost: 1,
    subnetIndex: (i) => i,
    hostIf: (pod, namespace) => caliName(namespace, pod),
    // VXLAN: 50 bytes of outer IP, UDP, VXLAN and inner Ethernet; BGP routes pods unencapsulated.
    mtu: (cni, nicMtu) => (cni.mode === 'vxlan' ? nicMtu - 50 : nicMtu),
  },
  bridge: {
    attach: 'plugin',
    hairpin: true,
    firstHost: 2,
    subnetIndex: (i) => i + 1,
    hostIf: (pod) => bridgeVethName(pod),
    mtu: (_cni, nicMtu) => nicMtu,
  },
};
