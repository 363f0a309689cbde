// A lab's Kubernetes objects: its manifest files (and any manifests that follow the lab itself
// in lab.yaml as further YAML documents) read, reconciled by the control plane against the
// lab's nodes, and the resulting pods placed on the cluster's nodes as ordinary cluster pods,
// so that the CNI wires them like any other.

import type { Diagnostic } from '../labfile/diagnostics.js';
import { podHostIf } from '../labfile/cluster.js';
import { POD_WIRING } from '../labfile/pod-wiring.js';
import type { Cluster, ClusterPod } from '../labfile/types.js';
import { reconcile } from './controlplane.js';
import type { ControlPlaneConfig } from './controlplane/context.js';
import { readManifests } from './manifest.js';
import type { ManifestObject } from './manifest/types.js';
import type { ClusterState, KubeProxyConfiguration, Pod, Protocol } from '../api/objects.js';
import { DEFAULT_KUBE_PROXY_CONFIGURATION, NODE_PORT_RANGE } from '../api/objects.js';

export function controlPlaneConfig(c: Cluster, now: string): ControlPlaneConfig {
  return {
    serviceCIDR: c.serviceCIDR,
    nodePortRange: NODE_PORT_RANGE,
    // host-local (flannel, bridge) starts at .2 after the cni0 gateway; Calico IPAM at block+1.
    nodes: c.nodes.map((n) => ({ name: n.name, podCIDR: n.podCIDR, firstHost: POD_WIRING[c.cni.type].firstHost, reserved: n.pods.map((p) => p.ip) })),
    lbPool: c.lbPool,
    now,
  };
}

/** A pod's containers' ports of one protocol, sorted, each once. */
function containerPorts(pod: Pod, protocol: Protocol): number[] {
  return [...new Set(pod.containers.flatMap((c) => c.ports.filter((p) => p.protocol === protocol).map((p) => p.containerPort)))].sort((a, b) => a - b);
}

/** The TCP ports a pod's echo server answers on: its containers' TCP ports, or 80 when none is declared (nginx's). */
export function echoPorts(pod: Pod): number[] {
  const ports = containerPorts(pod, 'TCP');
  return ports.length ? ports : [80];
}

/**
 * The UDP ports it answers on: its containers' UDP ports. SCTP ports get no server: nginx has no
 * SCTP, and a kernel without SCTP sockets (CONFIG_IP_SCTP unset) could not run one anyway.
 */
export function echoUdpPorts(pod: Pod): number[] {
  return containerPorts(pod, 'UDP');
}

export function clusterPod(c: Cluster, pod: Pod): ClusterPod {
  const paths = pod.containers.flatMap((k) => (k.readinessProbe?.kind === 'httpGet' ? [k.readinessProbe.path] : []));
  return {
    name: pod.meta.name,
    node: pod.nodeName,
    ip: pod.podIP,
    hostIf: podHostIf(c.cni.type, pod.meta.name, pod.meta.namespace),
    ports: echoPorts(pod),
    udpPorts: echoUdpPorts(pod),
    readinessPaths: [...new Set(paths)],
  };
}

/** The lab's KubeProxyConfiguration (at most one: kube-proxy reads one --config file), or kube-proxy's defaults. */
export function kubeProxyConfiguration(objects: readonly ManifestObject[], diagnostics: Diagnostic[]): KubeProxyConfiguration {
  const docs = objects.filter((o) => o.kind === 'KubeProxyConfiguration');
  for (const extra of docs.slice(1))
    diagnostics.push({
      file: extra.file,
      pos: extra.pos,
      severity: 'error',
      message: `a second KubeProxyConfiguration (the first is in ${docs[0]!.file}:${docs[0]!.pos.line})`,
      hint: 'kube-proxy reads one configuration file: merge the two documents',
    });
  const first = docs[0];
  return first?.kind === 'KubeProxyConfiguration' ? first.resolved : DEFAULT_KUBE_PROXY_CONFIGURATION;
}

export interface LabKubernetes {
  objects: ManifestObject[];
  diagnostics: Diagnostic[];
}

/**
 * Read and reconcile the lab's manifests, then put their pods on the nodes. `sources` are
 * (file, text) pairs; names already taken by the lab (nodes, clients, its own pods) are refused.
 */
export function addKubernetes(c: Cluster, sources: { file: string; text: string }[], now: string, prev: ClusterState | null = null): Diagnostic[] {
  const read = readManifests(sources);
  const diagnostics = [...read.diagnostics];
  if (diagnostics.some((d) => d.severity === 'error')) return diagnostics;
  const r = reconcile(read.objects, controlPlaneConfig(c, now), prev);
  diagnostics.push(...r.diagnostics);
  const taken = new Set([
    ...c.nodes.map((n) => n.name),
    ...c.nodes.flatMap((n) => n.pods.map((p) => p.name)),
    ...c.clients.map((x) => x.name),
    c.underlay.namespace,
  ]);
  for (const pod of r.state.pods) {
    if (taken.has(pod.meta.name)) {
      const o = read.objects.find((x) => x.name === pod.meta.name) ?? read.objects[0];
      diagnostics.push({
        file: o?.file ?? sources[0]?.file ?? '',
        pos: o?.pos ?? { line: 1, col: 1 },
        severity: 'error',
        message: `pod name "${pod.meta.name}" is already a node, a client or a pod of the lab`,
        hint: 'pods become network namespaces named after them; rename one of the two',
      });
      continue;
    }
    taken.add(pod.meta.name);
    c.nodes.find((n) => n.name === pod.nodeName)?.pods.push(clusterPod(c, pod));
  }
  c.kubernetes = {
    state: r.state,
    events: r.events,
    sources: sources.map((s) => s.file),
    objects: read.objects.map((o) => o.raw),
    appliedAt: now,
    kubeProxy: kubeProxyConfiguration(read.objects, diagnostics),
  };
  return diagnostics;
}
