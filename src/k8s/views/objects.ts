// The objects as the API server returns them (-o yaml / -o json): pods, services and Endpoints with
// the metadata, defaults and status fields the model does not store.

import { createHash } from 'node:crypto';
import {
  INGRESS_NGINX_CONTROLLER,
  runsIngressNginx,
  type ClusterState,
  type Container,
  type Ingress,
  type IngressBackend,
  type Meta,
  type NodeInfo,
  type Pod,
  type Service,
} from '../../api/objects.js';
import { hasSelector, type EndpointAddress, type Endpoints, type EndpointSubset } from './endpoints.js';

export type ApiObject = { [key: string]: Json };
export type Json = string | number | boolean | null | Json[] | ApiObject;

/** A stable UID for objects the lab has no record of (ReplicaSets, Endpoints): a name-based UUID. */
function derivedUid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** metav1.Time: RFC 3339 in whole seconds, as the API server stores it. */
const apiTime = (timestamp: string): string => (timestamp === '' ? '' : new Date(timestamp).toISOString().replace(/\.\d+Z$/, 'Z'));

export function metadata(meta: Meta, extra: ApiObject = {}): ApiObject {
  const m: ApiObject = { name: meta.name, namespace: meta.namespace, uid: meta.uid, creationTimestamp: apiTime(meta.creationTimestamp), ...extra };
  if (Object.keys(meta.labels).length) m.labels = { ...meta.labels };
  if (Object.keys(meta.annotations).length) m.annotations = { ...meta.annotations };
  return m;
}

/** The kubelet's default when a container sets no imagePullPolicy: Always for :latest or no tag. */
function imagePullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  return colon === -1 || lastSegment.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function containerObject(c: Container): ApiObject {
  const o: ApiObject = {
    name: c.name,
    image: c.image,
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: imagePullPolicy(c.image),
  };
  if (c.ports.length) o.ports = c.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort, protocol: p.protocol }));
  const probe = c.readinessProbe;
  if (probe) {
    const handler: ApiObject =
      probe.kind === 'httpGet' ? { httpGet: { path: probe.path, port: probe.port, scheme: 'HTTP' } } : { tcpSocket: { port: probe.port } };
    o.readinessProbe = {
      ...handler,
      ...(probe.initialDelaySeconds ? { initialDelaySeconds: probe.initialDelaySeconds } : {}),
      timeoutSeconds: probe.timeoutSeconds,
      periodSeconds: probe.periodSeconds,
      successThreshold: probe.successThreshold,
      failureThreshold: probe.failureThreshold,
    };
  }
  return o;
}

export function podObject(pod: Pod, state: ClusterState, nodes: NodeInfo[]): ApiObject {
  const extra: ApiObject = {};
  if (pod.replicaSet) {
    const deployment = state.deployments.find((d) => `Deployment/${d.meta.name}` === pod.owner && d.meta.namespace === pod.meta.namespace);
    extra.generateName = `${pod.replicaSet}-`;
    extra.ownerReferences = [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: pod.replicaSet,
        uid: derivedUid(`ReplicaSet/${pod.meta.namespace}/${pod.replicaSet}/${deployment?.meta.uid ?? ''}`),
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
  }
  const since = apiTime(pod.meta.creationTimestamp);
  const condition = (type: string, ok: boolean): ApiObject => ({
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: since,
    ...(ok ? {} : { reason: 'ContainersNotReady', message: `containers with unready status: [${pod.containers.map((c) => c.name).join(' ')}]` }),
  });
  const spec: ApiObject = {
    containers: pod.containers.map(containerObject),
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: pod.dnsPolicy,
    serviceAccountName: 'default',
    serviceAccount: 'default',
    nodeName: pod.nodeName,
    securityContext: {},
    schedulerName: 'default-scheduler',
    // The DefaultTolerationSeconds admission plugin: evict 5 minutes after the node is lost.
    tolerations: ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'].map((key) => ({
      key,
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: 300,
    })),
    priority: 0,
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
  };
  if (pod.hostname) spec.hostname = pod.hostname;
  if (pod.subdomain) spec.subdomain = pod.subdomain;
  if (pod.dnsConfig) {
    const c = pod.dnsConfig;
    const dnsConfig: ApiObject = {};
    if (c.nameservers.length) dnsConfig.nameservers = c.nameservers;
    if (c.searches.length) dnsConfig.searches = c.searches;
    if (c.options.length) dnsConfig.options = c.options.map((o): ApiObject => (o.value === null ? { name: o.name } : { name: o.name, value: o.value }));
    spec.dnsConfig = dnsConfig;
  }
  const hostIP = nodes.find((n) => n.name === pod.nodeName)?.address;
  const status: ApiObject = {
    phase: 'Running',
    conditions: [
      condition('PodReadyToStartContainers', true),
      condition('Initialized', true),
      condition('Ready', pod.ready),
      condition('ContainersReady', pod.ready),
      condition('PodScheduled', true),
    ],
    ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
    podIP: pod.podIP,
    podIPs: [{ ip: pod.podIP }],
    startTime: since,
    containerStatuses: pod.containers.map((c) => ({
      name: c.name,
      state: { running: { startedAt: since } },
      lastState: {},
      ready: pod.ready,
      restartCount: 0,
      image: c.image,
      imageID: '',
      started: true,
    })),
    qosClass: 'BestEffort',
  };
  return { apiVersion: 'v1', kind: 'Pod', metadata: metadata(pod.meta, extra), spec, status };
}

/** The spec fields the API server defaults beyond what the model stores. */
export function serviceSpec(svc: Service): {
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
} {
  // ExternalName services are only a DNS CNAME: no address, no families, no traffic policies.
  if (svc.type === 'ExternalName' || svc.clusterIP === null) return {};
  const headless = svc.clusterIP === 'None';
  // A headless service without a selector takes every family the cluster has.
  const ipFamilyPolicy = headless && !hasSelector(svc) ? 'RequireDualStack' : 'SingleStack';
  return {
    clusterIPs: [svc.clusterIP],
    ipFamilies: [svc.clusterIP.includes(':') ? 'IPv6' : 'IPv4'],
    ipFamilyPolicy,
    // Only traffic arriving from outside (node ports, load balancer IPs) has an external policy.
    ...(svc.type === 'NodePort' || svc.type === 'LoadBalancer' ? { externalTrafficPolicy: svc.externalTrafficPolicy } : {}),
    internalTrafficPolicy: svc.internalTrafficPolicy,
  };
}

export function serviceObject(svc: Service): ApiObject {
  const defaults = serviceSpec(svc);
  const spec: ApiObject = { type: svc.type, sessionAffinity: svc.sessionAffinity };
  if (svc.ports.length) {
    spec.ports = svc.ports.map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      protocol: p.protocol,
      port: p.port,
      targetPort: p.targetPort,
      ...(p.nodePort ? { nodePort: p.nodePort } : {}),
    }));
  }
  if (svc.selector && hasSelector(svc)) spec.selector = { ...svc.selector };
  if (svc.clusterIP !== null) spec.clusterIP = svc.clusterIP;
  for (const [k, v] of Object.entries(defaults)) spec[k] = v;
  if (svc.sessionAffinity === 'ClientIP') spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: svc.affinityTimeoutSeconds } };
  if (svc.externalIPs.length) spec.externalIPs = [...svc.externalIPs];
  if (svc.loadBalancerIP) spec.loadBalancerIP = svc.loadBalancerIP;
  if (svc.loadBalancerSourceRanges.length) spec.loadBalancerSourceRanges = [...svc.loadBalancerSourceRanges];
  if (svc.healthCheckNodePort) spec.healthCheckNodePort = svc.healthCheckNodePort;
  if (svc.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts = true;
  if (svc.externalName) spec.externalName = svc.externalName;
  if (svc.publishNotReadyAddresses) spec.publishNotReadyAddresses = true;
  const loadBalancer: ApiObject = svc.loadBalancerIngress.length ? { ingress: svc.loadBalancerIngress.map((ing) => ({ ip: ing.ip, ipMode: ing.ipMode })) } : {};
  return { apiVersion: 'v1', kind: 'Service', metadata: metadata(svc.meta), spec, status: { loadBalancer } };
}

export function endpointsObject({ service, subsets }: Endpoints): ApiObject {
  const namespace = service.meta.namespace;
  const address = (a: EndpointAddress): ApiObject => ({
    ip: a.ip,
    ...(a.hostname ? { hostname: a.hostname } : {}),
    ...(a.nodeName ? { nodeName: a.nodeName } : {}),
    ...(a.pod ? { targetRef: { kind: 'Pod', namespace, name: a.pod.name, ...(a.pod.uid ? { uid: a.pod.uid } : {}) } } : {}),
  });
  const subset = (s: EndpointSubset): ApiObject => ({
    ...(s.addresses.length ? { addresses: s.addresses.map(address) } : {}),
    ...(s.notReadyAddresses.length ? { notReadyAddresses: s.notReadyAddresses.map(address) } : {}),
    ...(s.ports.length ? { ports: s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })) } : {}),
  });
  const labels = { ...service.meta.labels };
  // The endpoints controller marks headless services' Endpoints so kube-proxy can skip them.
  if (service.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
  const meta = { ...service.meta, labels, annotations: {}, uid: derivedUid(`Endpoints/${service.meta.uid}`) };
  // An Endpoints object with no addresses has no subsets field at all.
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: metadata(meta), ...(subsets.length ? { subsets: subsets.map(subset) } : {}) };
}

/** The Service ingress-nginx's deploy.yaml names in --publish-service: $(POD_NAMESPACE)/ingress-nginx-controller. */
export const INGRESS_NGINX_PUBLISH_SERVICE = 'ingress-nginx-controller';

/**
 * status.loadBalancer.ingress of an Ingress, as ingress-nginx writes it (internal/ingress/status):
 * only for the Ingresses of its class while a controller pod runs, copied from its published
 * Service (statusAddressFromService): a LoadBalancer's ingress addresses and external IPs, a
 * NodePort's external IPs or else its cluster IP, a ClusterIP's cluster IP. Without that Service,
 * the addresses of the nodes its pods run on.
 */
export function ingressAddresses(state: ClusterState, ing: Ingress, nodes: NodeInfo[] = []): string[] {
  const classes = state.ingress?.classes.filter((c) => c.controller === INGRESS_NGINX_CONTROLLER) ?? [];
  const served = ing.ingressClassName === null ? classes.some((c) => c.isDefault) : classes.some((c) => c.meta.name === ing.ingressClassName);
  const pods = state.pods.filter((p) => runsIngressNginx(p.containers));
  if (!served || !pods.length) return [];
  const svc = state.services.find((s) => s.meta.name === INGRESS_NGINX_PUBLISH_SERVICE && pods.some((p) => p.meta.namespace === s.meta.namespace));
  if (!svc) return [...new Set(pods.flatMap((p) => nodes.find((n) => n.name === p.nodeName)?.address ?? []))];
  switch (svc.type) {
    case 'LoadBalancer':
      return [...svc.loadBalancerIngress.map((i) => i.ip), ...svc.externalIPs];
    case 'NodePort':
      return svc.externalIPs.length ? svc.externalIPs : svc.clusterIP ? [svc.clusterIP] : [];
    case 'ClusterIP':
      return svc.clusterIP ? [svc.clusterIP] : [];
    case 'ExternalName':
      return [];
  }
}

/** spec.ingressClassName as written: null when the class came from the legacy annotation or was not named. */
export function writtenClassName(ing: Ingress): string | null {
  return ing.ingressClassName !== null && ing.meta.annotations['kubernetes.io/ingress.class'] !== ing.ingressClassName ? ing.ingressClassName : null;
}

function backendObject(b: IngressBackend): ApiObject {
  return { service: { name: b.service, port: typeof b.port === 'number' ? { number: b.port } : { name: b.port } } };
}

export function ingressObject(ing: Ingress, state: ClusterState, nodes: NodeInfo[] = []): ApiObject {
  const spec: ApiObject = {};
  const cls = writtenClassName(ing);
  if (cls !== null) spec.ingressClassName = cls;
  if (ing.defaultBackend) spec.defaultBackend = backendObject(ing.defaultBackend);
  if (ing.rules.length)
    spec.rules = ing.rules.map((r) => ({
      ...(r.host ? { host: r.host } : {}),
      http: { paths: r.paths.map((p) => ({ path: p.path, pathType: p.pathType, backend: backendObject(p.backend) })) },
    }));
  if (ing.tls.length) spec.tls = ing.tls.map((t) => ({ hosts: [...t.hosts], secretName: t.secretName }));
  const addresses = ingressAddresses(state, ing, nodes);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: metadata(ing.meta, { generation: 1 }),
    spec,
    status: { loadBalancer: addresses.length ? { ingress: addresses.map((ip) => ({ ip })) } : {} },
  };
}
