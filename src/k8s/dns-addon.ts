// The cluster DNS addon as kubeadm installs it (cmd/kubeadm/app/phases/addons/dns/manifests.go):
// the coredns Deployment in kube-system (2 replicas, label k8s-app=kube-dns) and the kube-dns
// Service at the 10th address of the service CIDR with ports dns 53/UDP, dns-tcp 53/TCP and
// metrics 9153/TCP. A lab with cluster.dns gets these objects ahead of its own manifests, so the
// control plane schedules, addresses and lists them like any other (kubectl get -n kube-system).
// In these pods knetlab runs its DNS server (components/coredns) instead of the echo server. Like
// kubeadm's, the pods have dnsPolicy Default: CoreDNS resolves through the node's resolver.

import type { Pod } from '../api/objects.js';
import type { ClusterDns } from '../labfile/types.js';

/** The image kubeadm's addon runs; a pod whose container has it runs the cluster DNS server. */
export const COREDNS_IMAGE = 'registry.k8s.io/coredns/coredns:v1.11.3';

/** Does this pod run the cluster DNS server (rather than the echo server)? */
export function runsDns(pod: Pod): boolean {
  return pod.containers.some((c) => c.image.split(':')[0] === COREDNS_IMAGE.split(':')[0]);
}

/** The source name the addon's objects carry in messages and views. */
export const DNS_ADDON_SOURCE = 'kubeadm:addons/coredns.yaml';

export function dnsAddonManifest(dns: ClusterDns): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
spec:
  replicas: 2
  selector:
    matchLabels:
      k8s-app: kube-dns
  template:
    metadata:
      labels:
        k8s-app: kube-dns
    spec:
      dnsPolicy: Default
      containers:
        - name: coredns
          image: ${COREDNS_IMAGE}
          ports:
            - { name: dns, containerPort: 53, protocol: UDP }
            - { name: dns-tcp, containerPort: 53, protocol: TCP }
            - { name: metrics, containerPort: 9153, protocol: TCP }
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
    kubernetes.io/cluster-service: "true"
    kubernetes.io/name: CoreDNS
  annotations:
    prometheus.io/port: "9153"
    prometheus.io/scrape: "true"
spec:
  selector:
    k8s-app: kube-dns
  clusterIP: ${dns.serviceIP}
  ports:
    - { name: dns, port: 53, protocol: UDP, targetPort: 53 }
    - { name: dns-tcp, port: 53, protocol: TCP, targetPort: 53 }
    - { name: metrics, port: 9153, protocol: TCP, targetPort: 9153 }
`;
}
