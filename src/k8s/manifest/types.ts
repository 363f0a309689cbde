// What reading manifests produces: the kinds knetlab reads and the apiVersion each is served by,
// each kind's spec as resolved (defaults filled in, nothing allocated yet), and where an object's
// fields are written in its file.

import type { Position } from '../../labfile/diagnostics.js';
import type { SourcePositions } from '../../labfile/positions.js';
import type {
  Container,
  DNSPolicy,
  Ingress,
  IngressClass,
  KubeProxyConfiguration,
  LoadBalancerIngress,
  PodDNSConfig,
  Service,
  SliceEndpoint,
  SlicePort,
  TLSSecret,
} from '../../api/objects.js';

export type ManifestKind = 'Pod' | 'Deployment' | 'Service' | 'Endpoints' | 'EndpointSlice' | 'Ingress' | 'IngressClass' | 'Secret' | 'KubeProxyConfiguration';

/** The apiVersion each supported kind is served by. */
export const API_VERSIONS: Readonly<Record<ManifestKind, string>> = {
  Pod: 'v1',
  Deployment: 'apps/v1',
  Service: 'v1',
  Endpoints: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Ingress: 'networking.k8s.io/v1',
  IngressClass: 'networking.k8s.io/v1',
  Secret: 'v1',
  // Not an API object: kube-proxy's own configuration file (--config), read from the lab like one.
  KubeProxyConfiguration: 'kubeproxy.config.k8s.io/v1alpha1',
};

/** A pod's spec (a bare Pod's, or a Deployment's template's), before scheduling. */
export interface PodSpec {
  /** spec.nodeName: the pod is bound to this node and never scheduled. */
  nodeName: string | null;
  hostname: string | null;
  subdomain: string | null;
  dnsPolicy: DNSPolicy;
  dnsConfig: PodDNSConfig | null;
  containers: Container[];
}

export interface DeploymentSpec {
  replicas: number;
  /** spec.selector.matchLabels */
  selector: Record<string, string>;
  template: { labels: Record<string, string>; annotations: Record<string, string>; spec: PodSpec };
}

/**
 * A Service as requested. Unlike the allocated model.Service: clusterIP null means "allocate one"
 * (ExternalName services have none either), a port's nodePort null means "allocate one if the type
 * needs it", healthCheckNodePort null likewise.
 */
export type ServiceSpec = Omit<Service, 'meta' | 'loadBalancerIngress'> & {
  /**
   * status.loadBalancer.ingress as the manifest writes it, for a LoadBalancer Service: a cloud
   * provider's load balancer, which MetalLB leaves alone. null when the manifest writes none.
   */
  statusIngress: LoadBalancerIngress[] | null;
};

export interface EndpointAddress {
  ip: string;
  nodeName: string | null;
  hostname: string | null;
  /** targetRef.name when targetRef.kind is Pod. */
  pod: string | null;
}

export interface EndpointsSpec {
  subsets: { addresses: EndpointAddress[]; notReadyAddresses: EndpointAddress[]; ports: SlicePort[] }[];
}

export interface EndpointSliceSpec {
  /** The kubernetes.io/service-name label: how kube-proxy finds a Service's slices. */
  service: string;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

/** An Ingress as written; its backends and secrets are checked against the other objects by the control plane. */
export type IngressSpec = Omit<Ingress, 'meta'>;
export type IngressClassSpec = Omit<IngressClass, 'meta'>;
/** A kubernetes.io/tls Secret's PEM text. */
export type SecretSpec = Omit<TLSSecret, 'meta'>;

export interface ManifestBase {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  file: string;
  /** Where the object starts: its document, or its entry in a List. */
  pos: Position;
  /** The object as written, as plain data. */
  raw: Record<string, unknown>;
  /** Where each field of the object (spec.ports[0].nodePort) has its key and value written. */
  positions: SourcePositions;
}

export type ManifestObject =
  | (ManifestBase & { kind: 'Pod'; resolved: PodSpec })
  | (ManifestBase & { kind: 'Deployment'; resolved: DeploymentSpec })
  | (ManifestBase & { kind: 'Service'; resolved: ServiceSpec })
  | (ManifestBase & { kind: 'Endpoints'; resolved: EndpointsSpec })
  | (ManifestBase & { kind: 'EndpointSlice'; resolved: EndpointSliceSpec })
  | (ManifestBase & { kind: 'Ingress'; resolved: IngressSpec })
  | (ManifestBase & { kind: 'IngressClass'; resolved: IngressClassSpec })
  | (ManifestBase & { kind: 'Secret'; resolved: SecretSpec })
  | (ManifestBase & { kind: 'KubeProxyConfiguration'; resolved: KubeProxyConfiguration });

/** Where a field of an object is written, or its nearest written ancestor. */
export function positionIn(obj: Pick<ManifestObject, 'positions' | 'pos'>, path: readonly (string | number)[], prefer: 'key' | 'value' = 'value'): Position {
  return obj.positions.nearest(path, prefer) ?? obj.pos;
}

/** A field path as the API server prints it: spec.ports[0].nodePort. */
export function fieldPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
