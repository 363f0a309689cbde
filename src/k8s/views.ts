// What `kubectl get pods|svc|endpoints` and `kubectl describe svc` would print for the lab's
// cluster, computed from the resolved objects alone (no I/O), so a tutorial's output reads like a
// real cluster's. Layouts follow kubectl's printers (k8s.io/kubernetes pkg/printers/internalversion)
// and describers (k8s.io/kubectl pkg/describe); the column alignment is Go's text/tabwriter with
// the settings kubectl gives it.

import { createHash } from 'node:crypto';
import { Document, Schema, visit } from 'yaml';
import { KnetlabError } from '../labfile/diagnostics.js';
import type { ClusterState, Container, EndpointSlice, Meta, NodeInfo, Pod, Protocol, Service } from '../api/objects.js';

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json';

export interface GetOptions {
  output: OutputFormat;
  /** The moment the AGE column is measured from. */
  now: Date;
  /** Objects named on the command line, in that order; all objects in the namespace when omitted. */
  names?: string[];
  /** kubectl's --namespace ("default" when omitted). */
  namespace?: string;
  /** The cluster's nodes: a pod's status.hostIP is its node's address. */
  nodes?: NodeInfo[];
}

/** One row of describe's Events table; `age` is already formatted ("5m", "2m (x3 over 10m)"). */
export interface DescribeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  age: string;
  /** The reporting component (the event's source.component), e.g. "metallb-controller". */
  from: string;
  message: string;
}

type Resource = 'pods' | 'services' | 'endpoints';

/** The API server's answer for a name that does not exist, worded as kubectl prints it. */
export class NotFoundError extends KnetlabError {
  constructor(
    readonly resource: Resource,
    readonly objectName: string,
  ) {
    super(`Error from server (NotFound): ${resource} "${objectName}" not found`, 1);
    this.name = 'NotFoundError';
  }
}

// ---------------------------------------------------------------------------------------------
// Durations and alignment, exactly as kubectl computes them

/**
 * k8s.io/apimachinery/pkg/util/duration.HumanDuration: the AGE column. Precision drops as the
 * duration grows ("90s", "3m2s", "47m", "5h3m", "30h", "2d17h", "120d", "3y4d", "9y"); up to a
 * second in the future still reads "0s", to tolerate clock skew between machines.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

const age = (creationTimestamp: string, now: Date): string =>
  creationTimestamp === '' ? '<unknown>' : humanDuration(now.getTime() - Date.parse(creationTimestamp));

/**
 * Go's text/tabwriter. A cell is text ended by a tab; the text after a line's last tab belongs to
 * no column and is never padded. A column is aligned over each run of consecutive lines that have
 * a cell in it, as wide as its widest cell plus padding, and at least minWidth.
 */
function tabwrite(lines: string[], minWidth: number, padding: number): string {
  const cells = lines.map((line) => line.split('\t'));
  const textWidth = (s: string) => [...s].length;
  const widths: number[] = [];
  const out: string[] = [];
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      out.push(cells[i]!.map((c, j) => (j < widths.length ? c + ' '.repeat(widths[j]! - textWidth(c)) : c)).join(''));
    }
  };
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let line = line0; line < line1; line++) {
      if (column >= cells[line]!.length - 1) continue;
      writeLines(line0, line);
      line0 = line;
      let width = minWidth;
      for (; line < line1 && column < cells[line]!.length - 1; line++) {
        width = Math.max(width, textWidth(cells[line]![column]!) + padding);
      }
      widths.push(width);
      format(line0, line);
      widths.pop();
      line0 = line;
    }
    writeLines(line0, line1);
  };
  format(0, cells.length);
  return out.map((l) => l + '\n').join('');
}

/** kubectl get's table: k8s.io/cli-runtime printers.GetNewTabWriter (minwidth 6, padding 3). */
const table = (header: string[], rows: string[][]): string =>
  tabwrite(
    [header, ...rows].map((cells) => cells.join('\t')),
    6,
    3,
  );

/** kubectl describe's layout: tabbedString (minwidth 0, padding 2). */
const tabbed = (lines: string[]): string => tabwrite(lines, 0, 2);

/** Byte order, as the API server lists objects (by their etcd key) and as Go compares strings. */
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** labels.FormatLabels: "k=v" pairs sorted by key, or <none>. */
function formatLabels(labels: Record<string, string> | null): string {
  const pairs = Object.keys(labels ?? {})
    .sort(compareStrings)
    .map((k) => `${k}=${labels![k]}`);
  return pairs.length ? pairs.join(',') : '<none>';
}

/** net.JoinHostPort: IPv6 addresses are bracketed. */
const joinHostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

// ---------------------------------------------------------------------------------------------
// Selecting what `get` shows

/**
 * The objects `kubectl get` would print: every object in the namespace sorted by name, or the
 * named ones in the order given. The first name with no object fails the command.
 */
function select<T extends { meta: { namespace: string; name: string } }>(resource: Resource, all: T[], opts: GetOptions): T[] {
  const namespace = opts.namespace ?? 'default';
  const inNamespace = all.filter((o) => o.meta.namespace === namespace).sort((a, b) => compareStrings(a.meta.name, b.meta.name));
  if (!opts.names) return inNamespace;
  return opts.names.map((name) => {
    const found = inNamespace.find((o) => o.meta.name === name);
    if (!found) throw new NotFoundError(resource, name);
    return found;
  });
}

/** Table output (or the line kubectl writes to stderr when there is nothing to show), or the objects as YAML/JSON. */
function print<T>(
  selected: T[],
  opts: GetOptions,
  header: string[],
  wideHeader: string[],
  row: (o: T, wide: boolean) => string[],
  object: (o: T) => ApiObject,
): string {
  if (opts.output === 'yaml' || opts.output === 'json') {
    const objects = selected.map(object);
    // One object named on the command line prints as itself; anything else as a List.
    const value = opts.names?.length === 1 ? objects[0]! : { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } };
    return opts.output === 'yaml' ? toYaml(value) : toJson(value);
  }
  if (selected.length === 0) return `No resources found in ${opts.namespace ?? 'default'} namespace.\n`;
  const wide = opts.output === 'wide';
  return table(
    wide ? [...header, ...wideHeader] : header,
    selected.map((o) => row(o, wide)),
  );
}

// ---------------------------------------------------------------------------------------------
// kubectl get pods

export function getPods(state: ClusterState, opts: GetOptions): string {
  const nodes = opts.nodes ?? [];
  return print(
    select('pods', state.pods, opts),
    opts,
    ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
    ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
    (pod, wide) => {
      // The readiness probe decides every container's Ready; a Running pod that fails it is 0/N.
      const ready = pod.ready ? pod.containers.length : 0;
      const cells = [pod.meta.name, `${ready}/${pod.containers.length}`, 'Running', '0', age(pod.meta.creationTimestamp, opts.now)];
      return wide ? [...cells, pod.podIP || '<none>', pod.nodeName || '<none>', '<none>', '<none>'] : cells;
    },
    (pod) => podObject(pod, state, nodes),
  );
}

// ---------------------------------------------------------------------------------------------
// kubectl get services

/** Ingress addresses are a sorted set; without -o wide the list is clipped to 16 characters. */
function loadBalancerIngress(svc: Service, wide: boolean): string {
  const ips = [...new Set(svc.ingressIPs)].sort(compareStrings).join(',');
  return !wide && ips.length > 16 ? ips.slice(0, 13) + '...' : ips;
}

function externalIPColumn(svc: Service, wide: boolean): string {
  switch (svc.type) {
    case 'ClusterIP':
    case 'NodePort':
      return svc.externalIPs.length ? svc.externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress = loadBalancerIngress(svc, wide);
      if (svc.externalIPs.length) return [...(ingress ? ingress.split(',') : []), ...svc.externalIPs].join(',');
      return ingress || '<pending>';
    }
    case 'ExternalName':
      return svc.externalName ?? '';
  }
}

function portsColumn(svc: Service): string {
  const ports = svc.ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`)).join(',');
  return ports || '<none>';
}

export function getServices(state: ClusterState, opts: GetOptions): string {
  return print(
    select('services', state.services, opts),
    opts,
    ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
    ['SELECTOR'],
    (svc, wide) => {
      const cells = [
        svc.meta.name,
        svc.type,
        svc.clusterIP ?? '<none>',
        externalIPColumn(svc, wide),
        portsColumn(svc),
        age(svc.meta.creationTimestamp, opts.now),
      ];
      return wide ? [...cells, formatLabels(svc.selector)] : cells;
    },
    serviceObject,
  );
}

// ---------------------------------------------------------------------------------------------
// kubectl get endpoints: the core/v1 Endpoints the endpoints controller keeps beside the slices

interface EndpointAddress {
  ip: string;
  /** Published when the pod's subdomain names this service (a DNS A record per pod). */
  hostname: string | null;
  nodeName: string | null;
  pod: { name: string; uid: string | null } | null;
}

interface EndpointSubset {
  addresses: EndpointAddress[];
  notReadyAddresses: EndpointAddress[];
  /** "" names an unnamed port. */
  ports: { name: string; port: number; protocol: Protocol }[];
}

interface Endpoints {
  service: Service;
  subsets: EndpointSubset[];
}

const slicesOf = (state: ClusterState, svc: Service): EndpointSlice[] =>
  state.slices.filter((s) => s.service === svc.meta.name && s.meta.namespace === svc.meta.namespace);

const hasSelector = (svc: Service): boolean => svc.selector !== null && Object.keys(svc.selector).length > 0;

/**
 * The Endpoints object for a service, or null when none exists: the controller writes one for
 * every service with a selector (ExternalName excepted), empty or not; a service without one has
 * Endpoints only when its addresses were supplied by hand.
 */
function endpointsOf(state: ClusterState, svc: Service): Endpoints | null {
  const slices = slicesOf(state, svc);
  if (svc.type === 'ExternalName' || (!hasSelector(svc) && slices.length === 0)) return null;
  // RepackSubsets: addresses that serve the same set of ports share one subset.
  const subsets = new Map<string, EndpointSubset>();
  for (const slice of slices) {
    const ports = slice.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol }));
    const portsKey = JSON.stringify(ports);
    const subset = subsets.get(portsKey) ?? { addresses: [], notReadyAddresses: [], ports };
    subsets.set(portsKey, subset);
    for (const endpoint of slice.endpoints) {
      // A terminating pod leaves Endpoints at once unless the service publishes unready addresses.
      if (endpoint.conditions.terminating && !svc.publishNotReadyAddresses) continue;
      const pod = state.pods.find((p) => p.meta.name === endpoint.pod && p.meta.namespace === svc.meta.namespace);
      const address: EndpointAddress = {
        ip: endpoint.address,
        hostname: pod?.hostname && pod.subdomain === svc.meta.name ? pod.hostname : null,
        nodeName: endpoint.nodeName,
        pod: endpoint.pod === null ? null : { name: endpoint.pod, uid: pod?.meta.uid ?? null },
      };
      (endpoint.conditions.ready ? subset.addresses : subset.notReadyAddresses).push(address);
    }
  }
  // SortSubsets orders addresses by IP as a string: 10.32.0.10 comes before 10.32.0.9.
  const byIP = (a: EndpointAddress, b: EndpointAddress) => compareStrings(a.ip, b.ip) || compareStrings(a.pod?.uid ?? '', b.pod?.uid ?? '');
  return {
    service: svc,
    subsets: [...subsets.values()]
      .filter((s) => s.addresses.length + s.notReadyAddresses.length > 0)
      .map((s) => ({ ...s, addresses: [...s.addresses].sort(byIP), notReadyAddresses: [...s.notReadyAddresses].sort(byIP) })),
  };
}

/**
 * The ENDPOINTS column: ready "ip:port" pairs, every port of every subset, the first three then
 * "+ N more...". Subsets holding only unready addresses print an empty cell, as kubectl does.
 */
function endpointsColumn(endpoints: Endpoints): string {
  if (endpoints.subsets.length === 0) return '<none>';
  const all = endpoints.subsets.flatMap((s) =>
    // A headless service may declare no ports: its endpoints are bare addresses.
    s.ports.length ? s.ports.flatMap((p) => s.addresses.map((a) => joinHostPort(a.ip, p.port))) : s.addresses.map((a) => a.ip),
  );
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

export function getEndpoints(state: ClusterState, opts: GetOptions): string {
  const all = state.services.flatMap((svc) => {
    const endpoints = endpointsOf(state, svc);
    return endpoints ? [{ meta: svc.meta, endpoints }] : [];
  });
  return print(
    select('endpoints', all, opts),
    opts,
    ['NAME', 'ENDPOINTS', 'AGE'],
    [],
    ({ meta, endpoints }) => [meta.name, endpointsColumn(endpoints), age(meta.creationTimestamp, opts.now)],
    ({ endpoints }) => endpointsObject(endpoints),
  );
}

// ---------------------------------------------------------------------------------------------
// kubectl describe service

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
 * Internal Traffic Policy, "(VIP)" after ingress addresses and Endpoints read from the slices.
 * Events are listed in the order given.
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
  if (svc.ingressIPs.length) lines.push(`LoadBalancer Ingress:\t${svc.ingressIPs.map((ip) => `${ip} (VIP)`).join(', ')}`);
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
  if (events.length === 0) return tabbed([...lines, 'Events:\t<none>']);
  // kubectl flushes the fields before the events, so the events table is aligned on its own.
  const rows = events.map((e) => `  ${e.type}\t${e.reason}\t${e.age}\t${e.from}\t${e.message.trim()}`);
  return tabbed(lines) + 'Events:\n' + tabbed(['  Type\tReason\tAge\tFrom\tMessage', '  ----\t------\t----\t----\t-------', ...rows]);
}

// ---------------------------------------------------------------------------------------------
// The objects as the API server returns them (-o yaml / -o json)

type ApiObject = { [key: string]: Json };
type Json = string | number | boolean | null | Json[] | ApiObject;

/** A stable UID for objects the lab has no record of (ReplicaSets, Endpoints): a name-based UUID. */
function derivedUid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** metav1.Time: RFC 3339 in whole seconds, as the API server stores it. */
const apiTime = (timestamp: string): string => (timestamp === '' ? '' : new Date(timestamp).toISOString().replace(/\.\d+Z$/, 'Z'));

function metadata(meta: Meta, extra: ApiObject = {}): ApiObject {
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

function podObject(pod: Pod, state: ClusterState, nodes: NodeInfo[]): ApiObject {
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
    dnsPolicy: 'ClusterFirst',
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
function serviceSpec(svc: Service): {
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

function serviceObject(svc: Service): ApiObject {
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
  const loadBalancer: ApiObject = svc.ingressIPs.length ? { ingress: svc.ingressIPs.map((ip) => ({ ip, ipMode: 'VIP' })) } : {};
  return { apiVersion: 'v1', kind: 'Service', metadata: metadata(svc.meta), spec, status: { loadBalancer } };
}

function endpointsObject({ service, subsets }: Endpoints): ApiObject {
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

// ---------------------------------------------------------------------------------------------
// Serialisation as kubectl does it: Go's encoding/json over a map (keys in byte order, 4-space
// indent, HTML characters escaped) and sigs.k8s.io/yaml (go-yaml v2: YAML 1.1, its own key order)

function sortKeys(value: Json, compare: (a: string, b: string) => number): Json {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, compare));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort(compare)
      .map((k) => [k, sortKeys(value[k]!, compare)]),
  );
}

function toJson(value: ApiObject): string {
  const text = JSON.stringify(sortKeys(value, compareStrings), null, 4);
  const goEscapes: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };
  return text.replace(/[<>&\u2028\u2029]/g, (c) => goEscapes[c]!) + '\n';
}

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string) => c >= '0' && c <= '9';

/**
 * go-yaml v2's map key order (sorter.go keyList.Less): letters compare as characters, anything
 * else sorts before a letter, and runs of digits compare as numbers ("a9" before "a10").
 */
function goYamlKeyOrder(a: string, b: string): number {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ac = ar[i]!;
    const bc = br[i]!;
    if (ac === bc) continue;
    const al = isLetter(ac);
    const bl = isLetter(bc);
    if (al && bl) return ac < bc ? -1 : 1;
    if (al || bl) return bl ? -1 : 1;
    let an = 0;
    let bn = 0;
    if (ac === '0' || bc === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10 + Number(ar[ai]);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an < bn ? -1 : 1;
    if (ai !== bi) return ai < bi ? -1 : 1;
    return ac < bc ? -1 : 1;
  }
  return ar.length - br.length;
}

const yaml11 = new Schema({ schema: 'yaml-1.1' }).tags;

/**
 * Would this string, written plain, read back as something else (null, bool, number, timestamp)?
 * Every YAML 1.1 scalar tag with a plain-text pattern counts, whether or not the yaml package
 * currently treats it as a default (test harnesses switch timestamps off).
 */
const resolvesAsNonString = (s: string): boolean => yaml11.some((tag) => tag.tag !== 'tag:yaml.org,2002:str' && tag.test !== undefined && tag.test.test(s));

function toYaml(value: ApiObject): string {
  const doc = new Document(sortKeys(value, goYamlKeyOrder));
  // go-yaml double-quotes strings that would resolve to another type ("True", timestamps, "")
  // and single-quotes the rest of those that cannot be written plain.
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && resolvesAsNonString(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ indentSeq: false, singleQuote: true });
}
