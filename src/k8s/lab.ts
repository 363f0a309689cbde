// A lab's Kubernetes objects: its manifest files (and any manifests that follow the lab itself
// in lab.yaml as further YAML documents) read, reconciled by the control plane against the
// lab's nodes, and the resulting pods placed on the cluster's nodes as ordinary cluster pods,
// so that the CNI wires them like any other.

import type { Diagnostic } from '../labfile/diagnostics.js';
import { podHostIf } from '../labfile/cluster.js';
import { contains, parseCidr, parseIPv4 } from '../labfile/net.js';
import { POD_WIRING } from '../labfile/pod-wiring.js';
import type { ReadBudget } from '../labfile/read.js';
import type { Cluster, ClusterPod } from '../labfile/types.js';
import { reconcile } from './controlplane.js';
import { DNS_ADDON_SOURCE, dnsAddonManifest, runsDns } from './dns-addon.js';
import type { ControlPlaneConfig } from './controlplane/context.js';
import { readManifests } from './manifest.js';
import { positionIn, type ManifestObject } from './manifest/types.js';
import type { ClusterState, KubeProxyConfiguration, Pod, Protocol } from '../api/objects.js';
import { DEFAULT_KUBE_PROXY_CONFIGURATION, NODE_PORT_RANGE, runsIngressNginx } from '../api/objects.js';

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
  // The DNS server listens on the DNS pods' ports itself: no echo server there.
  const dns = runsDns(pod);
  const paths = pod.containers.flatMap((k) => (k.readinessProbe?.kind === 'httpGet' ? [k.readinessProbe.path] : []));
  // ingress-nginx's controller pod runs its own nginx (components/ingress-nginx), not the echo server.
  if (runsIngressNginx(pod.containers))
    return {
      name: pod.meta.name,
      node: pod.nodeName,
      ip: pod.podIP,
      hostIf: podHostIf(c.cni.type, pod.meta.name, pod.meta.namespace),
      ports: [],
      udpPorts: [],
      readinessPaths: [],
    };
  return {
    name: pod.meta.name,
    node: pod.nodeName,
    ip: pod.podIP,
    hostIf: podHostIf(c.cni.type, pod.meta.name, pod.meta.namespace),
    ports: dns ? [] : echoPorts(pod),
    udpPorts: dns ? [] : echoUdpPorts(pod),
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
export function addKubernetes(
  c: Cluster,
  given: { file: string; text: string; counted?: boolean }[],
  now: string,
  prev: ClusterState | null = null,
  budget?: ReadBudget,
): Diagnostic[] {
  // Cluster DNS's objects come first, as kubeadm installs them before anything else. They are
  // knetlab's own text, a few hundred tokens: not counted against what the lab may have.
  const sources = c.dns ? [{ file: DNS_ADDON_SOURCE, text: dnsAddonManifest(c.dns), counted: true }, ...given] : given;
  const read = readManifests(sources, { budget });
  const diagnostics = [...read.diagnostics];
  if (diagnostics.some((d) => d.severity === 'error')) return diagnostics;
  const r = reconcile(read.objects, controlPlaneConfig(c, now), prev);
  for (const d of [...r.diagnostics, ...cloudLoadBalancerDiagnostics(c, read.objects)]) diagnostics.push(d); // not spread into push: there may be 100k
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

/**
 * What a cloud provider's load balancer, written in Services' status, needs from the lab. Its
 * addresses lie outside the nodes' subnets, the pod network and the service CIDR, and each
 * belongs to one Service. A Proxy-mode address needs the router in front of the nodes, where the
 * load balancer's proxy runs; a VIP-mode one that no underlay route sends to the nodes is reached
 * from the nodes and pods only (kube-proxy captures it there), which is worth a warning.
 */
export function cloudLoadBalancerDiagnostics(c: Cluster, objects: ManifestObject[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (o: ManifestObject, path: (string | number)[], severity: Diagnostic['severity'], message: string, hint?: string) =>
    out.push({ file: o.file, pos: positionIn(o, path, severity === 'warning' ? 'key' : 'value'), severity, message, hint });
  const within = (text: string, ip: number) => {
    const cidr = parseCidr(text);
    return cidr !== undefined && contains(cidr, ip);
  };
  const places: [string, string][] = [
    ...c.underlay.segments.map((s): [string, string] => [s.cidr, `the underlay subnet ${s.cidr}`]),
    [c.podNetwork, `the pod network ${c.podNetwork}`],
    [c.serviceCIDR, `the service CIDR ${c.serviceCIDR}`],
  ];
  const owner = new Map<string, string>();
  for (const o of objects) {
    if (o.kind !== 'Service' || o.resolved.type !== 'LoadBalancer' || !o.resolved.statusIngress) continue;
    // The entries as written, to point at; a status kept by `apply` from before is not in this file.
    const written = (o.raw.status as { loadBalancer?: { ingress?: { ip?: unknown }[] } } | undefined)?.loadBalancer?.ingress ?? [];
    const name = `${o.namespace}/${o.name}`;
    for (const ing of o.resolved.statusIngress) {
      const path = ['status', 'loadBalancer', 'ingress', written.findIndex((w) => w?.ip === ing.ip)];
      const ip = parseIPv4(ing.ip)!;
      // One from MetalLB's pool is refused by the allocation already.
      if (c.lbPool.some((pool) => within(pool, ip))) continue;
      const inside = places.find(([cidr]) => within(cidr, ip));
      if (inside) {
        at(
          o,
          [...path, 'ip'],
          'error',
          `${ing.ip} is inside ${inside[1]}`,
          "a cloud load balancer's address lies outside the cluster's own networks, e.g. 203.0.113.10",
        );
        continue;
      }
      const other = owner.get(ing.ip);
      if (other !== undefined && other !== name) {
        at(
          o,
          [...path, 'ip'],
          'error',
          `${ing.ip} is already the load balancer address of Service ${other}`,
          'each Service has its own load balancer addresses',
        );
        continue;
      }
      owner.set(ing.ip, name);
      if (ing.ipMode === 'Proxy') {
        if (c.underlay.kind !== 'router')
          at(
            o,
            [...path, 'ipMode'],
            'error',
            `ipMode Proxy needs a router in front of the nodes: the load balancer's proxy runs there`,
            'list two or more underlay subnets in the lab: the nodes on one, their clients on another',
          );
        o.resolved.ports.forEach((p, i) => {
          if (p.protocol === 'SCTP')
            at(o, ['spec', 'ports', i], 'warning', `${ing.ip}:${p.port}/SCTP is not proxied: the load balancer's proxy (nginx) carries TCP and UDP only`);
        });
      } else if (!c.underlay.routes.some((r) => within(r.to, ip))) {
        at(
          o,
          [...path, 'ip'],
          'warning',
          `no underlay route sends ${ing.ip} to the nodes: only the nodes and their pods reach it`,
          `route it to the nodes with cluster.underlay.routes, e.g. { to: ${ing.ip}, via: [<node addresses>] }`,
        );
      }
    }
  }
  return out;
}
