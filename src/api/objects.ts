// The Kubernetes objects knetlab understands, resolved: every default the API server would fill
// in is filled in, every reference checked. Manifests (k8s/manifest.ts) produce these; the
// control plane (k8s/controlplane.ts) schedules, allocates and computes endpoints from them;
// kube-proxy (components/kube-proxy), MetalLB's speaker and the views (k8s/views.ts) consume
// them. Like k8s.io/api, this folder holds types and constants only and imports nothing.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface Meta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339, set when the object was first applied to the running lab. */
  creationTimestamp: string;
  uid: string;
}

export interface ContainerPort {
  name: string | null;
  containerPort: number;
  protocol: Protocol;
}

export interface ReadinessProbe {
  kind: 'httpGet' | 'tcpSocket';
  /** A number, or the name of a container port. */
  port: number | string;
  /** httpGet only ("/" by default). */
  path: string;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface Container {
  name: string;
  image: string;
  ports: ContainerPort[];
  readinessProbe: ReadinessProbe | null;
}

/**
 * spec.dnsPolicy: where the kubelet points the pod's resolv.conf. ClusterFirst (the API server's
 * default): the cluster DNS Service; Default: the node's resolver; None: only spec.dnsConfig;
 * ClusterFirstWithHostNet: ClusterFirst for hostNetwork pods (hostNetwork is not modelled, so
 * it is ClusterFirst).
 */
export type DNSPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';
export const DNS_POLICIES: readonly DNSPolicy[] = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

/** spec.dnsConfig: merged by the kubelet into what dnsPolicy gives (appendDNSConfig). */
export interface PodDNSConfig {
  nameservers: string[];
  searches: string[];
  /** value null: the option has no value (e.g. edns0). */
  options: { name: string; value: string | null }[];
}

/** A pod as the scheduler and kubelet left it: on a node, with an IP. */
export interface Pod {
  meta: Meta;
  nodeName: string;
  podIP: string;
  hostname: string | null;
  subdomain: string | null;
  dnsPolicy: DNSPolicy;
  dnsConfig: PodDNSConfig | null;
  containers: Container[];
  /** "Deployment/<name>" (via its ReplicaSet) or null for a bare Pod. */
  owner: string | null;
  /** The ReplicaSet name (deployment-name + "-" + pod-template-hash) when owned by a Deployment. */
  replicaSet: string | null;
  /** Ready condition as the kubelet last reported it (no readiness probe → true). */
  ready: boolean;
}

export interface Deployment {
  meta: Meta;
  replicas: number;
  selector: Record<string, string>;
  /** Labels and spec of the pods it creates. */
  template: { labels: Record<string, string>; containers: Container[]; nodeName: string | null };
  /** The pod-template-hash label value. */
  templateHash: string;
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

/**
 * status.loadBalancer.ingress[].ipMode (KEP-1860). VIP: the load balancer delivers packets with
 * the address still their destination, so kube-proxy captures the address on every node (and
 * short-circuits pods' traffic to it). Proxy: the load balancer is a proxy that opens its own
 * connections to the nodes, so kube-proxy writes no rule for the address and traffic to it goes
 * out to the load balancer. The API server defaults it to VIP when ip is set.
 */
export type LoadBalancerIPMode = 'VIP' | 'Proxy';
export const LOAD_BALANCER_IP_MODES: readonly LoadBalancerIPMode[] = ['VIP', 'Proxy'];

/** One status.loadBalancer.ingress entry (hostname entries are not modelled). */
export interface LoadBalancerIngress {
  ip: string;
  ipMode: LoadBalancerIPMode;
}

export interface ServicePort {
  /** "" when unnamed (allowed only when the service has one port). */
  name: string;
  protocol: Protocol;
  port: number;
  /** A number or a container port name; defaults to port. */
  targetPort: number | string;
  /** Allocated or explicit; null for ClusterIP services. */
  nodePort: number | null;
}

export interface Service {
  meta: Meta;
  type: ServiceType;
  /** Allocated or explicit address; "None" for headless; null for ExternalName. */
  clusterIP: string | null;
  ports: ServicePort[];
  /** null: no selector (endpoints are managed by hand). */
  selector: Record<string, string> | null;
  sessionAffinity: 'None' | 'ClientIP';
  /** sessionAffinityConfig.clientIP.timeoutSeconds (10800 by default). */
  affinityTimeoutSeconds: number;
  externalTrafficPolicy: 'Cluster' | 'Local';
  internalTrafficPolicy: 'Cluster' | 'Local';
  externalIPs: string[];
  loadBalancerIP: string | null;
  loadBalancerSourceRanges: string[];
  publishNotReadyAddresses: boolean;
  /** Allocated for LoadBalancer + externalTrafficPolicy Local; null otherwise. */
  healthCheckNodePort: number | null;
  externalName: string | null;
  /**
   * status.loadBalancer.ingress, in order: MetalLB's allocation (ipMode VIP, as MetalLB writes
   * it), or the entries the manifest's status holds, which stand for a cloud provider's load
   * balancer (MetalLB leaves such a Service alone).
   */
  loadBalancerIngress: LoadBalancerIngress[];
}

export interface EndpointConditions {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface SliceEndpoint {
  address: string;
  conditions: EndpointConditions;
  /** The node the endpoint is on; null for addresses outside the cluster. */
  nodeName: string | null;
  /** Pod name (targetRef) or null. */
  pod: string | null;
}

export interface SlicePort {
  /** "" for an unnamed port. */
  name: string;
  port: number;
  protocol: Protocol;
}

/** discovery.k8s.io/v1 EndpointSlice (label kubernetes.io/service-name = service). */
export interface EndpointSlice {
  meta: Meta;
  service: string;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
  /** "endpointslice-controller.k8s.io" for selector services; "user" for hand-written ones. */
  managedBy: string;
}

/** networking.k8s.io/v1 Ingress path types. */
export type IngressPathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';
export const INGRESS_PATH_TYPES: readonly IngressPathType[] = ['Exact', 'Prefix', 'ImplementationSpecific'];

/** An Ingress backend: a Service in the Ingress's namespace and one of its ports, by number or name. */
export interface IngressBackend {
  service: string;
  port: number | string;
}

export interface IngressPath {
  path: string;
  pathType: IngressPathType;
  backend: IngressBackend;
}

export interface IngressRule {
  /** A precise name, a wildcard "*.foo.com" (exactly one more label), or "" for any host. */
  host: string;
  paths: IngressPath[];
}

export interface IngressTLS {
  hosts: string[];
  secretName: string;
}

/** networking.k8s.io/v1 Ingress, with its class resolved (spec.ingressClassName or the legacy annotation). */
export interface Ingress {
  meta: Meta;
  /** null: no class named; the default IngressClass's controller serves it. */
  ingressClassName: string | null;
  defaultBackend: IngressBackend | null;
  rules: IngressRule[];
  tls: IngressTLS[];
}

/** networking.k8s.io/v1 IngressClass. */
export interface IngressClass {
  meta: Meta;
  /** spec.controller, e.g. k8s.io/ingress-nginx. */
  controller: string;
  /** The ingressclass.kubernetes.io/is-default-class annotation is "true". */
  isDefault: boolean;
}

/** A Secret of type kubernetes.io/tls: its tls.crt and tls.key, as PEM text. */
export interface TLSSecret {
  meta: Meta;
  cert: string;
  key: string;
  /**
   * Set for a Secret whose certificate knetlab makes at `up` (the annotation GENERATE_CERTIFICATE):
   * cert and key are then empty in the API, and the controller reads the files knetlab wrote
   * (certificateFiles) instead, so no private key is ever part of a lab or of its plan.
   */
  generate?: { hosts: string[] };
}

/**
 * The annotation on a kubernetes.io/tls Secret, written without data, that asks knetlab to make its
 * tls.key and tls.crt at `up` with openssl: a key and a certificate for the DNS names it lists
 * (comma-separated, the first also the subject CN), signed by the lab's own CA.
 */
export const GENERATE_CERTIFICATE = 'knetlab.dev/generate-certificate';

/** What ingress controllers read from the API. */
export interface IngressState {
  classes: IngressClass[];
  ingresses: Ingress[];
  secrets: TLSSecret[];
}

/** The controller name ingress-nginx's IngressClass names (--controller-class). */
export const INGRESS_NGINX_CONTROLLER = 'k8s.io/ingress-nginx';
/** The controller's image, without tag or digest: a pod running it runs ingress-nginx's nginx, not the echo server. */
export const INGRESS_NGINX_IMAGE = 'registry.k8s.io/ingress-nginx/controller';

export const runsIngressNginx = (containers: readonly Container[]): boolean =>
  containers.some((c) => c.image.replace(/@.*$/, '').replace(/:[^/]*$/, '') === INGRESS_NGINX_IMAGE);

/** Everything in the cluster's API, as one value. */
export interface ClusterState {
  pods: Pod[];
  deployments: Deployment[];
  services: Service[];
  slices: EndpointSlice[];
  /** Ingresses, IngressClasses and TLS Secrets; absent when the lab has none of them. */
  ingress?: IngressState;
}

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const NODE_PORT_RANGE: [number, number] = [30000, 32767];
export const DEFAULT_AFFINITY_TIMEOUT = 10800;

/** "<namespace>/<name>" */
export const key = (m: Meta): string => `${m.namespace}/${m.name}`;

/** A node as kube-proxy and the MetalLB speaker see it. */
export interface NodeInfo {
  name: string;
  /** Underlay address (the node's InternalIP). */
  address: string;
  /** The real network namespace name of the node (with any --prefix). */
  netns: string;
  podCIDR: string;
}

/**
 * The running lab's API contents, written atomically to <instance dir>/cluster/state.json by
 * whoever changes them (up, apply, the control plane's readiness prober) and watched by each
 * node's kube-proxy and MetalLB speaker. `generation` increases with every write.
 */
export interface StateFile {
  generation: number;
  /** The cluster pod network: kube-proxy's --cluster-cidr (local-traffic detector). */
  clusterCIDR: string;
  serviceCIDR: string;
  nodes: NodeInfo[];
  /** MetalLB IPAddressPool addresses (CIDRs), empty when the lab has no load balancer. */
  lbPool: string[];
  /** kube-proxy's configuration on every node (a KubeProxyConfiguration applied later replaces it). */
  kubeProxy: KubeProxyConfiguration;
  state: ClusterState;
}

/**
 * kube-proxy's modes as KubeProxyConfiguration.mode names them. Real kube-proxy also has ipvs,
 * nftables and (until 1.26) userspace; knetlab runs the modes listed here.
 */
export const PROXY_MODES = ['iptables', 'ipvs', 'nftables', 'userspace'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
/** Modes of the real kube-proxy that knetlab does not run yet. */
export const PLANNED_PROXY_MODES: readonly string[] = [];
/** Every mode the real kube-proxy has had on Linux, by KubeProxyConfiguration.mode name (userspace until 1.26). */
export const KUBE_PROXY_MODES = ['iptables', 'ipvs', 'nftables', 'userspace'] as const;

/** How kube-proxy tells traffic from pods ("local") from the rest (KubeProxyConfiguration.detectLocalMode). */
export const LOCAL_MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'] as const;
export type LocalMode = (typeof LOCAL_MODES)[number];

/** The IPVS schedulers kube-proxy accepts (ipvs.scheduler; "" means rr). */
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh'] as const;

/**
 * A KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) with kube-proxy's defaults filled
 * in, as far as knetlab models it. Durations are in milliseconds.
 */
export interface KubeProxyConfiguration {
  /** "" in the document means the platform default: iptables on Linux. */
  mode: ProxyMode;
  /**
   * The pod network kube-proxy calls local with detectLocalMode ClusterCIDR. null: not in the
   * document, so the cluster's pod network (kubeadm writes its podSubnet here); "": no local
   * detector at all, as kube-proxy runs with an empty clusterCIDR.
   */
  clusterCIDR: string | null;
  detectLocalMode: LocalMode;
  detectLocal: { bridgeInterface: string; interfaceNamePrefix: string };
  /** CIDRs and the keywords primary, localhost, all; empty: every local address. */
  nodePortAddresses: string[];
  /** "IP:port" of the proxy's health server (/healthz). */
  healthzBindAddress: string;
  iptables: { masqueradeAll: boolean; masqueradeBit: number; localhostNodePorts: boolean; syncPeriodMs: number; minSyncPeriodMs: number };
  ipvs: {
    scheduler: string;
    strictARP: boolean;
    syncPeriodMs: number;
    minSyncPeriodMs: number;
    excludeCIDRs: string[];
    tcpTimeoutMs: number;
    tcpFinTimeoutMs: number;
    udpTimeoutMs: number;
  };
  nftables: { masqueradeAll: boolean; masqueradeBit: number; syncPeriodMs: number; minSyncPeriodMs: number };
  /** Conntrack sysctls kube-proxy sets in its network namespace; 0 leaves the kernel's value. */
  conntrack: {
    maxPerCore: number;
    min: number;
    tcpEstablishedTimeoutMs: number;
    tcpCloseWaitTimeoutMs: number;
    tcpBeLiberal: boolean;
    udpTimeoutMs: number;
    udpStreamTimeoutMs: number;
  };
}

/** kube-proxy's defaults (pkg/proxy/apis/config/v1alpha1/defaults.go). */
export const DEFAULT_KUBE_PROXY_CONFIGURATION: KubeProxyConfiguration = {
  mode: 'iptables',
  clusterCIDR: null,
  detectLocalMode: 'ClusterCIDR',
  detectLocal: { bridgeInterface: '', interfaceNamePrefix: '' },
  nodePortAddresses: [],
  healthzBindAddress: '0.0.0.0:10256',
  iptables: { masqueradeAll: false, masqueradeBit: 14, localhostNodePorts: true, syncPeriodMs: 30_000, minSyncPeriodMs: 1_000 },
  ipvs: { scheduler: '', strictARP: false, syncPeriodMs: 30_000, minSyncPeriodMs: 0, excludeCIDRs: [], tcpTimeoutMs: 0, tcpFinTimeoutMs: 0, udpTimeoutMs: 0 },
  nftables: { masqueradeAll: false, masqueradeBit: 14, syncPeriodMs: 30_000, minSyncPeriodMs: 1_000 },
  conntrack: {
    maxPerCore: 32 * 1024,
    min: 128 * 1024,
    tcpEstablishedTimeoutMs: 24 * 3600_000,
    tcpCloseWaitTimeoutMs: 3600_000,
    tcpBeLiberal: false,
    udpTimeoutMs: 0,
    udpStreamTimeoutMs: 0,
  },
};

/** What each MetalLB speaker writes to its status file whenever it changes (k8s/store.ts speakerBase). */
export interface SpeakerStatus {
  node: string;
  /** The nodes whose speakers it hears (itself included), sorted. */
  alive: string[];
  /** The addresses it answers ARP for, sorted. */
  announcing: string[];
}
