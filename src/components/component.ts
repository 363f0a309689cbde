// What the pipeline knows of a real-world component (a CNI, kube-proxy, MetalLB, the control
// plane's node-side parts): the programs it needs on the machine and the phases it plans. Each
// component lives in its own folder with its rule and config text and its node agent; the
// registry in src/plan/registry.ts lists them.

import type { ClusterState, Pod } from '../api/objects.js';
import type { Cluster, CniType } from '../labfile/types.js';
import type { Instance } from '../kernel/instance.js';
import type { Phase } from '../kernel/steps.js';
import type { BirdProtocol } from './calico/bird.js';

export interface Component {
  /** Commands `up` needs for this cluster (see run/tools.ts for the packages). */
  tools(c: Cluster): string[];
  /** What it programs on the nodes, in order. Pure. */
  phases(c: Cluster, inst: Instance): Phase[];
  /** What it does for pods the API adds to a running cluster (`knetlab apply`), once they are wired. Pure. */
  podPhases?(c: Cluster, inst: Instance, pods: Pod[]): Phase[];
  /**
   * What it does when `knetlab apply` changes the API's objects, before the new state is
   * published (ingress-nginx: the certificates of Secrets added with knetlab.dev/generate-certificate). Pure.
   */
  statePhases?(c: Cluster, inst: Instance, before: ClusterState, after: ClusterState): Phase[];
}

/** A CNI: how pods are wired beyond the veths every cluster shares (labfile/cluster.ts). */
export interface Cni extends Component {
  readonly type: CniType;
  /** Sysctls the CNI plugin sets on the host side of a pod's veth (for pods added to a running lab). */
  hostSideSysctls(hostIf: string): [string, string][];
  /** For `bgp` checks, when the CNI runs a BGP daemon: its control socket on a speaker, and its protocol table read. */
  bgp?: { socket(inst: Instance, speaker: string): string; protocols(showProtocols: string): BirdProtocol[] };
}
