// How each CNI wires a pod, as far as expanding a cluster into namespaces and veths needs to
// know it: the host-side veth's name and MAC, the pod's gateway, the metric of its host route.
// These are facts of the real CNIs (Calico's cni-plugin and Felix, the bridge plugin); the
// components that program the rest (components/calico, components/flannel) take them from here.

import { createHash } from 'node:crypto';

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
