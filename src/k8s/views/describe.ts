// kubectl describe service: the fields, labels and annotations, each port's endpoints read from
// the slices, and the events. Layouts follow kubectl's describers (k8s.io/kubectl pkg/describe).

import type { ClusterState, EndpointSlice, IngressBackend, NodeInfo } from '../../api/objects.js';
import { NotFoundError } from './errors.js';
import { compareStrings, formatLabels, joinHostPort, tabbed } from './format.js';
import { slicesOf } from './endpoints.js';
import { ingressAddresses, serviceSpec, writtenClassName } from './objects.js';

/** One row of describe's Events table; `age` is already formatted ("5m", "2m (x3 over 10m)"). */
export interface DescribeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  age: string;
  /** The reporting component (the event's source.component), e.g. "metallb-controller". */
  from: string;
  message: string;
}

/**
 * describe's Endpoints line for one service port: ready "ip:port" pairs from the slices, in slice
 * order. The count of "more" follows kubectl's loop, which marks the list full at the fourth
 * endpoint even when that one turns out not ready ("+ 0 more...").
 */
function endpointsLine(slices: EndpointSlice[], portName: string): string {
  if (slices.length === 0) return '<none>';
  const list: string[] = [];
  let more = false;
  let count = 0;
  const add = (ready: boolean, text: () => string) => {
    if (list.length === 3) more = true;
    if (!ready) return;
    if (!more) list.push(text());
    count++;
  };
  for (const slice of slices) {
    if (slice.ports.length === 0) {
      for (const e of slice.endpoints) add(e.conditions.ready, () => e.address);
      continue;
    }
    for (const port of slice.ports.filter((p) => p.name === portName)) {
      for (const e of slice.endpoints) add(e.conditions.ready, () => joinHostPort(e.address, port.port));
    }
  }
  return more ? `${list.join(',')} + ${count - 3} more...` : list.join(',');
}

/** Labels: one "k=v" per line, sorted, continuation lines aligned under the first. */
function labelLines(labels: Record<string, string>): string[] {
  const keys = Object.keys(labels).sort(compareStrings);
  if (keys.length === 0) return ['Labels:\t<none>'];
  return keys.map((k, i) => `${i === 0 ? 'Labels:' : ''}\t${k}=${labels[k]}`);
}

const MAX_ANNOTATION_LEN = 140;

/** Annotations: "k: v" per line; long or multi-line values go below their key, each line clipped. */
function annotationLines(annotations: Record<string, string>): string[] {
  // kubectl hides the copy of the whole object that `kubectl apply` keeps.
  const keys = Object.keys(annotations)
    .filter((k) => k !== 'kubectl.kubernetes.io/last-applied-configuration')
    .sort(compareStrings);
  if (keys.length === 0) return ['Annotations:\t<none>'];
  const lines: string[] = [];
  keys.forEach((k, i) => {
    const lead = i === 0 ? 'Annotations:\t' : '\t';
    const value = annotations[k]!.replace(/\n$/, '');
    if (value.length + k.length + 2 > MAX_ANNOTATION_LEN || value.includes('\n')) {
      lines.push(`${lead}${k}:`);
      const clip = MAX_ANNOTATION_LEN - 2;
      for (const line of value.split('\n')) lines.push(`\t  ${line.length > clip ? line.slice(0, clip) + '...' : line}`);
    } else {
      lines.push(`${lead}${k}: ${value}`);
    }
  });
  return lines;
}

/**
 * `kubectl describe service NAME`, laid out as current kubectl (1.32 and later) prints it: with
 * Internal Traffic Policy, each ingress address followed by its ipMode ("(VIP)", "(Proxy)") and
 * Endpoints read from the slices. Events are listed in the order given.
 */
export function describeService(state: ClusterState, name: string, namespace = 'default', events: DescribeEvent[] = []): string {
  const svc = state.services.find((s) => s.meta.name === name && s.meta.namespace === namespace);
  if (!svc) throw new NotFoundError('services', name);
  const spec = serviceSpec(svc);
  const slices = slicesOf(state, svc);
  const lines = [
    `Name:\t${svc.meta.name}`,
    `Namespace:\t${svc.meta.namespace}`,
    ...labelLines(svc.meta.labels),
    ...annotationLines(svc.meta.annotations),
    `Selector:\t${formatLabels(svc.selector)}`,
    `Type:\t${svc.type}`,
  ];
  if (spec.ipFamilyPolicy) lines.push(`IP Family Policy:\t${spec.ipFamilyPolicy}`);
  lines.push(`IP Families:\t${spec.ipFamilies?.join(',') ?? '<none>'}`);
  lines.push(`IP:\t${svc.clusterIP ?? ''}`);
  lines.push(`IPs:\t${spec.clusterIPs?.join(',') ?? '<none>'}`);
  if (svc.externalIPs.length) lines.push(`External IPs:\t${svc.externalIPs.join(',')}`);
  if (svc.loadBalancerIP) lines.push(`Desired LoadBalancer IP:\t${svc.loadBalancerIP}`);
  if (svc.externalName) lines.push(`External Name:\t${svc.externalName}`);
  if (svc.loadBalancerIngress.length) lines.push(`LoadBalancer Ingress:\t${svc.loadBalancerIngress.map((ing) => `${ing.ip} (${ing.ipMode})`).join(', ')}`);
  for (const p of svc.ports) {
    const portName = p.name || '<unset>';
    lines.push(`Port:\t${portName}\t${p.port}/${p.protocol}`);
    lines.push(`TargetPort:\t${p.targetPort}/${p.protocol}`);
    if (p.nodePort) lines.push(`NodePort:\t${portName}\t${p.nodePort}/${p.protocol}`);
    lines.push(`Endpoints:\t${endpointsLine(slices, p.name)}`);
  }
  lines.push(`Session Affinity:\t${svc.sessionAffinity}`);
  if (spec.externalTrafficPolicy) lines.push(`External Traffic Policy:\t${spec.externalTrafficPolicy}`);
  if (spec.internalTrafficPolicy) lines.push(`Internal Traffic Policy:\t${spec.internalTrafficPolicy}`);
  if (svc.healthCheckNodePort) lines.push(`HealthCheck NodePort:\t${svc.healthCheckNodePort}`);
  if (svc.loadBalancerSourceRanges.length) lines.push(`LoadBalancer Source Ranges:\t${svc.loadBalancerSourceRanges.join(',')}`);
  return withEvents(lines, events);
}

/** The fields, then the events: kubectl flushes the fields first, so the events table is aligned on its own. */
function withEvents(lines: string[], events: DescribeEvent[]): string {
  if (events.length === 0) return tabbed([...lines, 'Events:\t<none>']);
  const rows = events.map((e) => `  ${e.type}\t${e.reason}\t${e.age}\t${e.from}\t${e.message.trim()}`);
  return tabbed(lines) + 'Events:\n' + tabbed(['  Type\tReason\tAge\tFrom\tMessage', '  ----\t------\t----\t----\t-------', ...rows]);
}

/**
 * describeBackendV1: "service:port (endpoints)", the endpoints those of the Service's slices for the
 * Service port the backend names, as describe svc lists them.
 */
function backendLine(state: ClusterState, namespace: string, b: IngressBackend): string {
  const shown = `${b.service}:${b.port}`;
  const svc = state.services.find((s) => s.meta.namespace === namespace && s.meta.name === b.service);
  if (!svc) return `${shown} (<error: services "${b.service}" not found>)`;
  // The last port that matches wins, as in kubectl's loop; a port by number matches its number.
  let portName = '';
  for (const p of svc.ports) if (typeof b.port === 'number' ? p.port === b.port : p.name === b.port) portName = p.name;
  return `${shown} (${endpointsLine(slicesOf(state, svc), portName)})`;
}

/**
 * `kubectl describe ingress NAME` (describeIngressV1): the address ingress-nginx published, the
 * class as written, the default backend, the TLS section, the rules with each path's backend and
 * its endpoints, the annotations and the events.
 */
export function describeIngress(state: ClusterState, name: string, namespace = 'default', events: DescribeEvent[] = [], nodes: NodeInfo[] = []): string {
  const ing = state.ingress?.ingresses.find((i) => i.meta.name === name && i.meta.namespace === namespace);
  if (!ing) throw new NotFoundError('ingresses', name);
  const lines = [
    `Name:\t${ing.meta.name}`,
    ...labelLines(ing.meta.labels),
    `Namespace:\t${ing.meta.namespace}`,
    `Address:\t${[...new Set(ingressAddresses(state, ing, nodes))].sort(compareStrings).join(',')}`,
    `Ingress Class:\t${writtenClassName(ing) ?? '<none>'}`,
    `Default backend:\t${ing.defaultBackend ? backendLine(state, namespace, ing.defaultBackend) : '<default>'}`,
  ];
  if (ing.tls.length) {
    lines.push('TLS:');
    for (const t of ing.tls) lines.push(t.secretName ? `  ${t.secretName} terminates ${t.hosts.join(',')}` : `  SNI routes ${t.hosts.join(',')}`);
  }
  lines.push('Rules:', '  Host\tPath\tBackends', '  ----\t----\t--------');
  for (const rule of ing.rules) {
    lines.push(`  ${rule.host || '*'}\t`);
    for (const p of rule.paths) lines.push(`    \t${p.path} \t${backendLine(state, namespace, p.backend)}`);
  }
  if (!ing.rules.length) lines.push(`  *\t*\t${ing.defaultBackend ? backendLine(state, namespace, ing.defaultBackend) : ''}`);
  lines.push(...annotationLines(ing.meta.annotations));
  return withEvents(lines, events);
}
