// kubectl get endpoints: the core/v1 Endpoints the endpoints controller keeps beside the slices,
// computed from a service's EndpointSlices (and the slices themselves, for describe).

import type { ClusterState, EndpointSlice, Protocol, Service } from '../../api/objects.js';
import { compareStrings } from './format.js';

export interface EndpointAddress {
  ip: string;
  /** Published when the pod's subdomain names this service (a DNS A record per pod). */
  hostname: string | null;
  nodeName: string | null;
  pod: { name: string; uid: string | null } | null;
}

export interface EndpointSubset {
  addresses: EndpointAddress[];
  notReadyAddresses: EndpointAddress[];
  /** "" names an unnamed port. */
  ports: { name: string; port: number; protocol: Protocol }[];
}

export interface Endpoints {
  service: Service;
  subsets: EndpointSubset[];
}

export const slicesOf = (state: ClusterState, svc: Service): EndpointSlice[] =>
  state.slices.filter((s) => s.service === svc.meta.name && s.meta.namespace === svc.meta.namespace);

export const hasSelector = (svc: Service): boolean => svc.selector !== null && Object.keys(svc.selector).length > 0;

/**
 * The Endpoints object for a service, or null when none exists: the controller writes one for
 * every service with a selector (ExternalName excepted), empty or not; a service without one has
 * Endpoints only when its addresses were supplied by hand.
 */
export function endpointsOf(state: ClusterState, svc: Service): Endpoints | null {
  const slices = slicesOf(state, svc);
  if (svc.type === 'ExternalName' || (!hasSelector(svc) && slices.length === 0)) return null;
  // RepackSubsets: addresses that serve the same set of ports share one subset.
  const subsets = new Map<string, EndpointSubset>();
  for (const slice of slices) {
    const ports = slice.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol }));
    const portsKey = JSON.stringify(ports);
    const subset = subsets.get(portsKey) ?? { addresses: [], notReadyAddresses: [], ports };
    subsets.set(portsKey, subset);
    for (const endpoint of slice.endpoints) {
      // A terminating pod leaves Endpoints at once unless the service publishes unready addresses.
      if (endpoint.conditions.terminating && !svc.publishNotReadyAddresses) continue;
      const pod = state.pods.find((p) => p.meta.name === endpoint.pod && p.meta.namespace === svc.meta.namespace);
      const address: EndpointAddress = {
        ip: endpoint.address,
        hostname: pod?.hostname && pod.subdomain === svc.meta.name ? pod.hostname : null,
        nodeName: endpoint.nodeName,
        pod: endpoint.pod === null ? null : { name: endpoint.pod, uid: pod?.meta.uid ?? null },
      };
      (endpoint.conditions.ready ? subset.addresses : subset.notReadyAddresses).push(address);
    }
  }
  // SortSubsets orders addresses by IP as a string: 10.32.0.10 comes before 10.32.0.9.
  const byIP = (a: EndpointAddress, b: EndpointAddress) => compareStrings(a.ip, b.ip) || compareStrings(a.pod?.uid ?? '', b.pod?.uid ?? '');
  return {
    service: svc,
    subsets: [...subsets.values()]
      .filter((s) => s.addresses.length + s.notReadyAddresses.length > 0)
      .map((s) => ({ ...s, addresses: [...s.addresses].sort(byIP), notReadyAddresses: [...s.notReadyAddresses].sort(byIP) })),
  };
}
