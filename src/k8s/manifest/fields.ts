// The fields knetlab reads, and the Kubernetes fields it knows but does not model (each of those
// gets a warning rather than an "unknown field" error): per kind, per nested object, and the values
// an enumerated field takes.

import type { Protocol, ServiceType } from '../../api/objects.js';
import { API_VERSIONS, type ManifestKind } from './types.js';

export const META_UNMODELLED = [
  'generateName',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
];
export const POD_SPEC_UNMODELLED = [
  'activeDeadlineSeconds',
  'affinity',
  'automountServiceAccountToken',
  'enableServiceLinks',
  'ephemeralContainers',
  'hostAliases',
  'hostIPC',
  'hostNetwork',
  'hostPID',
  'hostUsers',
  'imagePullSecrets',
  'initContainers',
  'nodeSelector',
  'os',
  'overhead',
  'preemptionPolicy',
  'priority',
  'priorityClassName',
  'readinessGates',
  'resourceClaims',
  'resources',
  'restartPolicy',
  'runtimeClassName',
  'schedulerName',
  'schedulingGates',
  'securityContext',
  'serviceAccount',
  'serviceAccountName',
  'setHostnameAsFQDN',
  'shareProcessNamespace',
  'terminationGracePeriodSeconds',
  'tolerations',
  'topologySpreadConstraints',
  'volumes',
];
export const CONTAINER_UNMODELLED = [
  'args',
  'command',
  'env',
  'envFrom',
  'imagePullPolicy',
  'lifecycle',
  'livenessProbe',
  'resizePolicy',
  'resources',
  'restartPolicy',
  'securityContext',
  'startupProbe',
  'stdin',
  'stdinOnce',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'tty',
  'volumeDevices',
  'volumeMounts',
  'workingDir',
];
export const DEPLOYMENT_SPEC_UNMODELLED = ['strategy', 'minReadySeconds', 'revisionHistoryLimit', 'progressDeadlineSeconds', 'paused'];
export const SERVICE_SPEC_UNMODELLED = ['allocateLoadBalancerNodePorts', 'loadBalancerClass', 'trafficDistribution'];
/** A Service's status beyond status.loadBalancer.ingress, and an ingress entry beyond ip, ipMode, hostname. */
export const SERVICE_STATUS_UNMODELLED = ['conditions'];
export const LB_INGRESS_UNMODELLED = ['ports'];
export const TARGET_REF_UNMODELLED = ['uid', 'apiVersion', 'resourceVersion', 'fieldPath'];
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
export const SERVICE_TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
export const TOP_FIELDS: Record<ManifestKind, readonly string[]> = {
  Pod: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  Deployment: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  Service: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  Endpoints: ['apiVersion', 'kind', 'metadata', 'subsets'],
  EndpointSlice: ['apiVersion', 'kind', 'metadata', 'addressType', 'endpoints', 'ports'],
  Ingress: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  IngressClass: ['apiVersion', 'kind', 'metadata', 'spec'],
  Secret: ['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData', 'immutable'],
  KubeProxyConfiguration: [
    'apiVersion',
    'kind',
    'mode',
    'clusterCIDR',
    'detectLocalMode',
    'detectLocal',
    'nodePortAddresses',
    'healthzBindAddress',
    'iptables',
    'ipvs',
    'nftables',
    'conntrack',
  ],
};
/** Fields of the real kube-proxy (v1alpha1) that knetlab leaves at their defaults (each warned about by name). */
export const KUBE_PROXY_UNMODELLED = [
  'bindAddress',
  'bindAddressHardFail',
  'clientConnection',
  'configSyncPeriod',
  'enableProfiling',
  'featureGates',
  'hostnameOverride',
  'logging',
  'metricsBindAddress',
  'oomScoreAdj',
  'portRange',
  'showHiddenMetricsForVersion',
  'winkernel',
  'windowsRunAsService',
];
export const SUPPORTED = `knetlab reads ${Object.keys(API_VERSIONS).join(', ')} (and List)`;

/**
 * ingress-nginx annotations knetlab models (nginx.ingress.kubernetes.io/…); every other annotation
 * under that prefix is warned about by name.
 */
export const INGRESS_NGINX_ANNOTATIONS = ['rewrite-target', 'app-root', 'proxy-body-size', 'ssl-redirect', 'force-ssl-redirect', 'use-regex'] as const;
export const INGRESS_NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';
