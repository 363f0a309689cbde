// Shared by kube-proxy tests: API objects in the upstream test conventions
// (../shared/reference/kube-proxy.md, "Conventions"), and the rules of a restore payload.
import type { EndpointConditions, EndpointSlice, Meta, NodeInfo, Service, ServicePort, SliceEndpoint, SlicePort } from '../../../src/api/objects.js';

export const NODE: NodeInfo = { name: 'test-node', address: '192.168.0.2', netns: 'test-node', podCIDR: '10.0.1.0/24' };

export const meta = (namespace: string, name: string): Meta => ({
  name,
  namespace,
  labels: {},
  annotations: {},
  creationTimestamp: '2024-01-01T00:00:00Z',
  uid: `${namespace}-${name}`,
});

export function service(namespace: string, name: string, fields: Partial<Service> = {}): Service {
  return {
    meta: meta(namespace, name),
    type: 'ClusterIP',
    clusterIP: '172.30.0.41',
    ports: [port('p80', 80)],
    selector: { app: name },
    sessionAffinity: 'None',
    affinityTimeoutSeconds: 10800,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    externalIPs: [],
    loadBalancerIP: null,
    loadBalancerSourceRanges: [],
    publishNotReadyAddresses: false,
    healthCheckNodePort: null,
    externalName: null,
    loadBalancerIngress: [],
    ...fields,
  };
}

export const port = (name: string, number: number, fields: Partial<ServicePort> = {}): ServicePort => ({
  name,
  protocol: 'TCP',
  port: number,
  targetPort: number,
  nodePort: null,
  ...fields,
});

export const READY: EndpointConditions = { ready: true, serving: true, terminating: false };

export const endpoint = (address: string, nodeName: string | null = 'other-node', conditions = READY): SliceEndpoint => ({
  address,
  conditions,
  nodeName,
  pod: null,
});

/** EndpointSlice "<service>-1" with one port (named like the service port "p80" unless told). */
export function slice(
  namespace: string,
  svc: string,
  endpoints: SliceEndpoint[],
  ports: SlicePort[] = [{ name: 'p80', port: 80, protocol: 'TCP' }],
): EndpointSlice {
  return { meta: meta(namespace, `${svc}-1`), service: svc, ports, endpoints, managedBy: 'endpointslice-controller.k8s.io' };
}

/** The rules of one table of an iptables-restore payload, without chain lines. */
export function rules(payload: string, table: 'filter' | 'nat'): string[] {
  const start = payload.indexOf(`*${table}\n`);
  const end = payload.indexOf('COMMIT\n', start);
  return payload
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith('-'));
}

/** The chains a table of the payload declares. */
export function chains(payload: string, table: 'filter' | 'nat'): string[] {
  const start = payload.indexOf(`*${table}\n`);
  const end = payload.indexOf('COMMIT\n', start);
  return payload
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith(':'))
    .map((l) => l.slice(1, l.indexOf(' ')));
}
