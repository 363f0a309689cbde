// kubectl get pods|services|endpoints: which objects are shown, their columns (and -o wide's), or
// the objects themselves as YAML/JSON. Layouts follow kubectl's printers
// (k8s.io/kubernetes pkg/printers/internalversion).

import type { ClusterState, NodeInfo, Service } from '../../api/objects.js';
import { InputError } from '../../labfile/diagnostics.js';
import { NotFoundError, type Resource } from './errors.js';
import { age, compareStrings, formatLabels, joinHostPort, table } from './format.js';
import { endpointsOf, type Endpoints } from './endpoints.js';
import { endpointsObject, ingressAddresses, ingressObject, podObject, serviceObject, writtenClassName, type ApiObject } from './objects.js';
import { toJson, toYaml } from './serialize.js';

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json';

export interface GetOptions {
  output: OutputFormat;
  /** The moment the AGE column is measured from. */
  now: Date;
  /** Objects named on the command line, in that order; all objects in the namespace when omitted. */
  names?: string[];
  /** kubectl's --namespace ("default" when omitted). */
  namespace?: string;
  /** kubectl's --all-namespaces (-A): every namespace, with a NAMESPACE column first; --namespace is ignored. */
  allNamespaces?: boolean;
  /** The cluster's nodes: a pod's status.hostIP is its node's address. */
  nodes?: NodeInfo[];
}

// ---------------------------------------------------------------------------------------------
// Selecting what `get` shows

/**
 * The objects `kubectl get` would print: every object in the namespace sorted by name, or the
 * named ones in the order given. The first name with no object fails the command. With
 * --all-namespaces, every object by namespace and name (the API server's order), and no names.
 */
function select<T extends Named>(resource: Resource, all: T[], opts: GetOptions): T[] {
  if (opts.allNamespaces) {
    if (opts.names) throw new InputError('error: a resource cannot be retrieved by name across all namespaces');
    return [...all].sort((a, b) => compareStrings(a.meta.namespace, b.meta.namespace) || compareStrings(a.meta.name, b.meta.name));
  }
  const namespace = opts.namespace ?? 'default';
  const inNamespace = all.filter((o) => o.meta.namespace === namespace).sort((a, b) => compareStrings(a.meta.name, b.meta.name));
  if (!opts.names) return inNamespace;
  return opts.names.map((name) => {
    const found = inNamespace.find((o) => o.meta.name === name);
    if (!found) throw new NotFoundError(resource, name);
    return found;
  });
}

type Named = { meta: { namespace: string; name: string } };

/**
 * Table output (or the line kubectl writes to stderr when there is nothing to show), or the
 * objects as YAML/JSON. With --all-namespaces each row starts with its NAMESPACE.
 */
function print<T extends Named>(
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
  if (selected.length === 0) return opts.allNamespaces ? 'No resources found\n' : `No resources found in ${opts.namespace ?? 'default'} namespace.\n`;
  const wide = opts.output === 'wide';
  const columns = wide ? [...header, ...wideHeader] : header;
  return table(
    opts.allNamespaces ? ['NAMESPACE', ...columns] : columns,
    selected.map((o) => (opts.allNamespaces ? [o.meta.namespace, ...row(o, wide)] : row(o, wide))),
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
  const ips = [...new Set(svc.loadBalancerIngress.map((ing) => ing.ip))].sort(compareStrings).join(',');
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
// kubectl get endpoints (the Endpoints themselves are computed in endpoints.ts)

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
// kubectl get ingress

/** formatHosts: the first three rule hosts, "*" when no rule names one, "+ N more..." past three rules. */
function hostsColumn(hosts: string[]): string {
  const list: string[] = [];
  let more = false;
  for (const host of hosts) {
    if (list.length === 3) more = true;
    if (!more && host !== '') list.push(host);
  }
  if (!list.length) return '*';
  return more ? `${list.join(',')} + ${hosts.length - 3} more...` : list.join(',');
}

export function getIngresses(state: ClusterState, opts: GetOptions): string {
  return print(
    select('ingresses', state.ingress?.ingresses ?? [], opts),
    opts,
    ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE'],
    [],
    (ing, wide) => {
      // ingressLoadBalancerStatusStringer: a sorted set, clipped to 16 characters unless -o wide.
      const ips = [...new Set(ingressAddresses(state, ing, opts.nodes))].sort(compareStrings).join(',');
      return [
        ing.meta.name,
        writtenClassName(ing) ?? '<none>',
        hostsColumn(ing.rules.map((r) => r.host)),
        !wide && ips.length > 16 ? ips.slice(0, 13) + '...' : ips,
        ing.tls.length ? '80, 443' : '80',
        age(ing.meta.creationTimestamp, opts.now),
      ];
    },
    (ing) => ingressObject(ing, state, opts.nodes),
  );
}
