// Endpoints: the EndpointSlice controller's slices for Services with a selector, the mirroring
// controller's copies of hand-written Endpoints, and a word about hand-written endpoints nothing uses.

import type { ClusterState, EndpointSlice, Pod, Protocol, Service, SliceEndpoint, SlicePort } from '../../api/objects.js';
import type { EndpointsSpec, ManifestObject } from '../manifest/types.js';
import type { ControlPlane } from './context.js';
import { generatedName, keyOf, metaFor } from './meta.js';

const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Hand-written endpoints that nothing will use deserve a word. */
export function checkEndpointObjects(cp: ControlPlane, services: Service[]): void {
  for (const o of cp.objects) {
    if (o.kind !== 'Endpoints' && o.kind !== 'EndpointSlice') continue;
    const target = o.kind === 'Endpoints' ? o.name : o.resolved.service;
    const svc = services.find((s) => s.meta.namespace === o.namespace && s.meta.name === target);
    if (!svc) {
      cp.warn(
        o,
        o.kind === 'Endpoints' ? ['metadata', 'name'] : ['metadata', 'labels', 'kubernetes.io/service-name'],
        `there is no Service ${keyOf(o.namespace, target)}: kube-proxy does not use these ${o.kind}`,
        'add a Service of that name without a selector',
      );
    } else if (o.kind === 'Endpoints' && svc.selector !== null) {
      cp.warn(
        o,
        ['metadata', 'name'],
        `Service ${keyOf(o.namespace, target)} has a selector, so the endpoints controller owns its endpoints and these are replaced`,
        "remove the Service's selector to list its endpoints by hand, or remove these Endpoints",
      );
    } else if (o.kind === 'Endpoints' && svc.type === 'ExternalName') {
      cp.warn(o, ['metadata', 'name'], `Service ${keyOf(o.namespace, target)} is an ExternalName Service: it has no endpoints, and these are ignored`);
    }
  }
}

/**
 * The EndpointSlices the controllers keep for `state`: for each Service with a selector, the
 * EndpointSlice controller's slices from the matching pods; for each Service without one, the
 * mirroring controller's copy of its Endpoints; and hand-written slices as they are. Pods carry
 * their readiness, so a prober that flips `pod.ready` calls computeSlices(state) for the new
 * slices: without `from`, the mirrored and hand-written slices already in `state` are kept, and
 * a slice that did not exist yet is dated like its Service. Slices that existed keep their uid
 * and creationTimestamp.
 */
export function computeSlices(state: ClusterState, from?: { objects: readonly ManifestObject[]; now: string }): EndpointSlice[] {
  const existing = new Map(state.slices.map((s) => [keyOf(s.meta.namespace, s.meta.name), s]));
  const slice = (svc: Service, ports: SlicePort[], endpoints: SliceEndpoint[], managedBy: string): EndpointSlice => {
    const name = generatedName(`${svc.meta.name}-`, `${keyOf(svc.meta.namespace, svc.meta.name)}:${managedBy}:${JSON.stringify(ports)}`);
    const labels = { 'kubernetes.io/service-name': svc.meta.name, 'endpointslice.kubernetes.io/managed-by': managedBy };
    const prev = existing.get(keyOf(svc.meta.namespace, name))?.meta;
    const meta = metaFor('EndpointSlice', { name, namespace: svc.meta.namespace, labels, annotations: {} }, prev, from?.now ?? svc.meta.creationTimestamp);
    return { meta, service: svc.meta.name, ports, endpoints, managedBy };
  };
  const out: EndpointSlice[] = [];
  for (const svc of state.services) {
    if (svc.type === 'ExternalName') continue;
    if (svc.selector !== null) {
      out.push(...selectedSlices(svc, state.pods).map((g) => slice(svc, g.ports, g.endpoints, ENDPOINTSLICE_CONTROLLER)));
    } else if (from) {
      const eps = from.objects.find(
        (o): o is Extract<ManifestObject, { kind: 'Endpoints' }> => o.kind === 'Endpoints' && o.namespace === svc.meta.namespace && o.name === svc.meta.name,
      );
      if (eps) out.push(...mirroredSlices(eps.resolved).map((g) => slice(svc, g.ports, g.endpoints, MIRRORING_CONTROLLER)));
    } else {
      out.push(...state.slices.filter((s) => s.managedBy === MIRRORING_CONTROLLER && s.meta.namespace === svc.meta.namespace && s.service === svc.meta.name));
    }
  }
  if (!from) return [...out, ...state.slices.filter((s) => s.managedBy !== ENDPOINTSLICE_CONTROLLER && s.managedBy !== MIRRORING_CONTROLLER)];
  for (const o of from.objects) {
    if (o.kind !== 'EndpointSlice') continue;
    const meta = metaFor('EndpointSlice', o, existing.get(keyOf(o.namespace, o.name))?.meta, from.now);
    out.push({ meta, service: o.resolved.service, ports: o.resolved.ports, endpoints: o.resolved.endpoints, managedBy: 'user' });
  }
  return out;
}

/**
 * The EndpointSlice controller's view of one Service: a pod's ports are the Service ports whose
 * targetPort it has (a named targetPort is looked up among its container ports by name and
 * protocol, podutil.FindPort); pods are grouped by those ports, one slice per group. A Service
 * that selects nothing still gets one empty slice (the controller's placeholder).
 */
function selectedSlices(svc: Service, pods: Pod[]): { ports: SlicePort[]; endpoints: SliceEndpoint[] }[] {
  const groups = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
  const selected = pods
    .filter((p) => p.meta.namespace === svc.meta.namespace && matches(svc.selector!, p.meta.labels))
    .sort((a, b) => (a.meta.name < b.meta.name ? -1 : a.meta.name > b.meta.name ? 1 : 0));
  for (const pod of selected) {
    const ports = svc.ports.flatMap((sp): SlicePort[] => {
      const port = targetPortOf(pod, sp.targetPort, sp.protocol);
      return port === null ? [] : [{ name: sp.name, port, protocol: sp.protocol }];
    });
    const key = JSON.stringify(ports);
    const group = groups.get(key) ?? { ports, endpoints: [] };
    groups.set(key, group);
    // podToEndpoint: serving is the pod's readiness; ready also when the Service publishes
    // not-ready addresses (headless Services for StatefulSet peers).
    group.endpoints.push({
      address: pod.podIP,
      conditions: { ready: svc.publishNotReadyAddresses || pod.ready, serving: pod.ready, terminating: false },
      nodeName: pod.nodeName,
      pod: pod.meta.name,
    });
  }
  return groups.size > 0 ? [...groups.values()] : [{ ports: [], endpoints: [] }];
}

function targetPortOf(pod: Pod, targetPort: number | string, protocol: Protocol): number | null {
  if (typeof targetPort === 'number') return targetPort;
  for (const c of pod.containers) for (const p of c.ports) if (p.name === targetPort && p.protocol === protocol) return p.containerPort;
  return null;
}

/** The mirroring controller: Endpoints subsets with the same ports share a slice; notReadyAddresses are not ready. */
function mirroredSlices(eps: EndpointsSpec): { ports: SlicePort[]; endpoints: SliceEndpoint[] }[] {
  const groups = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
  for (const subset of eps.subsets) {
    const key = JSON.stringify(subset.ports);
    const group = groups.get(key) ?? { ports: subset.ports, endpoints: [] };
    groups.set(key, group);
    const endpoint = (a: EndpointsSpec['subsets'][number]['addresses'][number], ready: boolean): SliceEndpoint => ({
      address: a.ip,
      conditions: { ready, serving: ready, terminating: false },
      nodeName: a.nodeName,
      pod: a.pod,
    });
    group.endpoints.push(...subset.addresses.map((a) => endpoint(a, true)), ...subset.notReadyAddresses.map((a) => endpoint(a, false)));
  }
  return [...groups.values()];
}
