// What the controllers of one reconcile share: the manifests, the configuration and the previous
// state they start from, and what they report (diagnostics pointing into the manifests, and
// events as `kubectl describe` lists them).

import type { Diagnostic } from '../../labfile/diagnostics.js';
import { positionIn, type ManifestObject } from '../manifest/types.js';
import { API_HINT } from '../manifest/object-reader.js';
import type { ClusterState } from '../../api/objects.js';

export interface ControlPlaneConfig {
  /** kube-apiserver --service-cluster-ip-range */
  serviceCIDR: string;
  /** kube-apiserver --service-node-port-range */
  nodePortRange: [number, number];
  nodes: {
    name: string;
    podCIDR: string;
    /** Offset of the first pod address: 2 for host-local (flannel, bridge: .1 is cni0), 1 for Calico. */
    firstHost: number;
    /** Addresses already used by the lab's own pods. */
    reserved: string[];
  }[];
  /** MetalLB IPAddressPool addresses (CIDRs); empty: no load balancer. */
  lbPool: string[];
  /** RFC 3339; the creationTimestamp of objects created now. */
  now: string;
}

/** An event as `kubectl describe` lists it; `object` is kubectl's kind/name (service/web). */
export interface ClusterEvent {
  object: string;
  /** The object's namespace (the event's involvedObject.namespace). */
  namespace: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** The reporting component (the event's source), e.g. metallb-controller. */
  source: string;
}

export type Path = (string | number)[];

/** One reconcile: its inputs, and the diagnostics and events its controllers report. */
export class ControlPlane {
  readonly diagnostics: Diagnostic[] = [];
  readonly events: ClusterEvent[] = [];

  constructor(
    readonly objects: ManifestObject[],
    readonly cfg: ControlPlaneConfig,
    readonly prev: ClusterState | null,
  ) {}

  error(obj: ManifestObject, path: Path, message: string, hint?: string): void {
    const pos = positionIn(obj, path);
    // A Deployment's replicas share one source: one error per place is enough.
    if (this.diagnostics.some((d) => d.file === obj.file && d.pos.line === pos.line && d.pos.col === pos.col && d.message === message)) return;
    this.diagnostics.push({ file: obj.file, pos, severity: 'error', message, hint: hint ?? API_HINT });
  }

  warn(obj: ManifestObject, path: Path, message: string, hint?: string): void {
    this.diagnostics.push({ file: obj.file, pos: positionIn(obj, path, 'key'), severity: 'warning', message, hint });
  }

  event(object: string, namespace: string, type: ClusterEvent['type'], reason: string, message: string, source: string): void {
    this.events.push({ object, namespace, type, reason, message, source });
  }
}
