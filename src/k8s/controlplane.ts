// The mini control plane, as pure functions: what kube-apiserver's allocators, the Deployment and
// ReplicaSet controllers, the scheduler, the CNI's IPAM, MetalLB's controller and the
// EndpointSlice controllers would make of a set of manifests. Where Kubernetes picks at random
// (cluster IPs, node ports, generated names) knetlab picks deterministically, so that the same
// lab gives the same addresses and names on every run; the comments say where.
//
// One reconcile runs the controllers in order: controlplane/scheduling.ts (Deployments, pods,
// nodes, pod addresses), controlplane/allocation.ts (cluster IPs, node ports, load balancer
// addresses), controlplane/endpoints.ts (EndpointSlices), then controlplane/ingress.ts (Ingresses
// checked against the Services and Secrets), sharing controlplane/context.ts.

import type { Diagnostic } from '../labfile/diagnostics.js';
import type { ManifestObject } from './manifest/types.js';
import type { ClusterState } from '../api/objects.js';
import { ControlPlane, type ClusterEvent, type ControlPlaneConfig } from './controlplane/context.js';
import { workloads } from './controlplane/scheduling.js';
import { allocateServices } from './controlplane/allocation.js';
import { checkEndpointObjects, computeSlices } from './controlplane/endpoints.js';
import { resolveIngresses } from './controlplane/ingress.js';

export { computeSlices };

export interface ReconcileResult {
  state: ClusterState;
  diagnostics: Diagnostic[];
  events: ClusterEvent[];
}

/**
 * Bring the cluster to what `objects` describe, keeping from `prev` everything that still applies:
 * uids and creation times, pod names, nodes, addresses and readiness, cluster IPs, node ports,
 * load balancer addresses. Objects missing from `objects` are gone, and so are their allocations.
 * An object the API server would refuse (an address already allocated, a port outside the range)
 * gets an error and is left out of the state; the rest of the cluster is still reconciled.
 */
export function reconcile(objects: ManifestObject[], cfg: ControlPlaneConfig, prev: ClusterState | null): ReconcileResult {
  const cp = new ControlPlane(objects, cfg, prev);
  const { pods, deployments } = workloads(cp);
  const services = allocateServices(cp);
  const state: ClusterState = { pods, deployments, services, slices: cp.prev?.slices ?? [] };
  checkEndpointObjects(cp, services);
  const ingress = resolveIngresses(cp, services);
  return {
    state: { ...state, slices: computeSlices(state, { objects: cp.objects, now: cp.cfg.now }), ...(ingress ? { ingress } : {}) },
    diagnostics: cp.diagnostics,
    events: cp.events,
  };
}
