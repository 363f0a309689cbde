// The components the pipeline knows, by role: one CNI per cluster, chosen by cni.type (a CNI
// type without an entry fails to compile); the Kubernetes node components (and the cloud load
// balancer in front of the nodes), in the order they start when a lab has Kubernetes objects,
// with what `knetlab apply` asks of the load balancer; kube-proxy's modes; and the echo server
// every lab's pods and servers run. The rest of the pipeline reaches components only through here.

import type { CniType } from '../labfile/types.js';
import type { Cni, Component } from '../components/component.js';
import { calico } from '../components/calico/plan.js';
import { cniPlugins } from '../components/cni-plugins/plan.js';
import { coredns } from '../components/coredns/plan.js';
import { cloudLoadBalancer } from '../components/cloud-load-balancer/plan.js';
import { apiStore, readinessProber } from '../components/controlplane/plan.js';
import { flannel } from '../components/flannel/plan.js';
import { ingressNginx } from '../components/ingress-nginx/plan.js';
import { kubeProxy } from '../components/kube-proxy/plan.js';
import { metallb } from '../components/metallb/plan.js';

export { PROXIERS } from '../components/kube-proxy/modes.js';
export { modeCleanupPhase, modeStartPhase } from '../components/kube-proxy/plan.js';
export type { KernelListing } from '../components/kube-proxy/proxier.js';
export { updateCloudLoadBalancer } from '../components/cloud-load-balancer/plan.js';
export { NGINX_STREAM_MODULE, nginxConfig, portsKey } from '../components/echo-server/nginx.js';

export const CNIS: Record<CniType, Cni> = { flannel, calico, bridge: cniPlugins };

/**
 * Services come after the pods' servers: readiness probes find them answering. Cluster DNS after
 * kube-proxy, whose rules carry the kube-dns Service to its pods. The ingress controllers once
 * their backends' endpoints are known. Last, the cloud load balancer in front of the nodes, once
 * their node ports are programmed.
 */
export const NODE_COMPONENTS: readonly Component[] = [apiStore, kubeProxy, coredns, readinessProber, ingressNginx, metallb, cloudLoadBalancer];
