// A Pod's spec, its containers and their readiness probes, and a Deployment (its selector and the
// pod template), checked the way the API server validates them.

import { DNS_POLICIES, type Container, type ContainerPort, type DNSPolicy, type PodDNSConfig, type ReadinessProbe } from '../../api/objects.js';
import { parseIPv4 } from '../../labfile/net.js';
import { fieldPath, type DeploymentSpec, type PodSpec } from './types.js';
import { CONTAINER_UNMODELLED, DEPLOYMENT_SPEC_UNMODELLED, META_UNMODELLED, POD_SPEC_UNMODELLED, PROTOCOLS } from './fields.js';
import { IANA_HINT, LABEL_HINT, SUBDOMAIN_HINT, isDns1123Label, isDns1123Subdomain, isIanaSvcName } from './names.js';
import { isJson, type ObjectReader, type Path } from './object-reader.js';

export function readPodSpec(r: ObjectReader, value: unknown, path: Path): PodSpec | undefined {
  const spec = r.map(value, path, 'a pod needs a spec with its containers');
  if (!spec) return undefined;
  r.fields(spec, path, ['containers', 'nodeName', 'hostname', 'subdomain', 'dnsPolicy', 'dnsConfig'], POD_SPEC_UNMODELLED);
  const nodeName = r.string(spec.nodeName, [...path, 'nodeName']) ?? null;
  const hostname = r.dnsLabel(spec.hostname, [...path, 'hostname']);
  const subdomain = r.dnsLabel(spec.subdomain, [...path, 'subdomain']);
  // The API server defaults an absent policy to ClusterFirst (SetDefaults_PodSpec).
  const dnsPolicy = r.oneOf(spec.dnsPolicy ?? 'ClusterFirst', [...path, 'dnsPolicy'], DNS_POLICIES) ?? 'ClusterFirst';
  const dnsConfig = readDnsConfig(r, spec.dnsConfig, [...path, 'dnsConfig'], dnsPolicy);
  const list = r.list(spec.containers, [...path, 'containers'], 'add containers: with at least one container (name and image)');
  if (list?.length === 0) r.error([...path, 'containers'], `${fieldPath([...path, 'containers'])} must have at least one container`);
  const containers: Container[] = [];
  const names = new Set<string>();
  (list ?? []).forEach((c, i) => {
    const container = readContainer(r, c, [...path, 'containers', i]);
    const name = isJson(c) && typeof c.name === 'string' ? c.name : undefined;
    if (name !== undefined && names.has(name)) {
      r.error(
        [...path, 'containers', i, 'name'],
        `${fieldPath([...path, 'containers', i, 'name'])} "${name}" is used by another container of this pod`,
        'container names are unique within a pod',
      );
    }
    if (name !== undefined) names.add(name);
    if (container) containers.push(container);
  });
  return { nodeName, hostname, subdomain, dnsPolicy, dnsConfig, containers };
}

/** The API server's limits on spec.dnsConfig (MaxDNSNameservers, MaxDNSSearchPaths, MaxDNSSearchListChars). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_LIST_CHARS = 2048;

/** spec.dnsConfig, checked as validatePodDNSConfig does; None needs it, with a nameserver. */
function readDnsConfig(r: ObjectReader, value: unknown, path: Path, policy: DNSPolicy): PodDNSConfig | null {
  const m = r.map(value, path);
  if (!m) {
    if (policy === 'None' && (value === undefined || value === null))
      r.error(
        path.slice(0, -1).concat('dnsPolicy'),
        `${fieldPath(path)}: Required value: must provide \`dnsConfig\` when \`dnsPolicy\` is None`,
        'add dnsConfig: { nameservers: [...] }, or use dnsPolicy ClusterFirst',
      );
    return null;
  }
  r.fields(m, path, ['nameservers', 'searches', 'options'], []);
  const strings = (field: string): string[] =>
    (r.list(m[field], [...path, field]) ?? []).flatMap((v, i) => {
      const s = r.string(v, [...path, field, i]);
      return s === undefined ? [] : [s];
    });
  const nameservers = strings('nameservers');
  if (policy === 'None' && nameservers.length === 0)
    r.error(
      [...path, ...(m.nameservers === undefined ? [] : ['nameservers'])],
      `${fieldPath([...path, 'nameservers'])}: Required value: must provide at least one DNS nameserver when \`dnsPolicy\` is None`,
      'add nameservers: [10.96.0.10]',
    );
  if (nameservers.length > MAX_NAMESERVERS)
    r.error([...path, 'nameservers'], `${fieldPath([...path, 'nameservers'])} must not have more than ${MAX_NAMESERVERS} nameservers`);
  nameservers.forEach((ns, i) => {
    // The API server takes IPv6 too; knetlab's networks are IPv4.
    if (parseIPv4(ns) === undefined)
      r.error(
        [...path, 'nameservers', i],
        `${fieldPath([...path, 'nameservers', i])} "${ns}" must be a valid IP address`,
        'knetlab models IPv4: e.g. 10.96.0.10',
      );
  });
  const searches = strings('searches');
  if (searches.length > MAX_SEARCH_PATHS)
    r.error([...path, 'searches'], `${fieldPath([...path, 'searches'])} must not have more than ${MAX_SEARCH_PATHS} search paths`);
  if (searches.join(' ').length > MAX_SEARCH_LIST_CHARS)
    r.error(
      [...path, 'searches'],
      `${fieldPath([...path, 'searches'])} must not have more than ${MAX_SEARCH_LIST_CHARS} characters (including spaces) in the search list`,
    );
  searches.forEach((s, i) => {
    // A trailing dot is allowed.
    if (!isDns1123Subdomain(s.replace(/\.$/, '')))
      r.error([...path, 'searches', i], `${fieldPath([...path, 'searches', i])} "${s}" is not a DNS-1123 subdomain`, SUBDOMAIN_HINT);
  });
  const options: PodDNSConfig['options'] = [];
  (r.list(m.options, [...path, 'options']) ?? []).forEach((v, i) => {
    const p = [...path, 'options', i];
    const o = r.map(v, p);
    if (!o) return;
    r.fields(o, p, ['name', 'value'], []);
    const name = r.string(o.name, [...p, 'name']);
    if (!name) {
      r.error(p, `${fieldPath(p)}: Required value: Option.Name must not be empty`, 'e.g. { name: ndots, value: "2" } or { name: edns0 }');
      return;
    }
    options.push({ name, value: r.string(o.value, [...p, 'value']) ?? null });
  });
  return { nameservers, searches, options };
}

function readContainer(r: ObjectReader, value: unknown, path: Path): Container | undefined {
  const c = r.map(value, path);
  if (!c) return undefined;
  r.fields(c, path, ['name', 'image', 'ports', 'readinessProbe'], CONTAINER_UNMODELLED);
  const name = r.string(c.name, [...path, 'name'], 'every container needs a name');
  if (name !== undefined && !isDns1123Label(name)) r.error([...path, 'name'], `${fieldPath([...path, 'name'])} "${name}" is not a DNS-1123 label`, LABEL_HINT);
  const image = r.string(c.image, [...path, 'image'], 'every container needs an image (knetlab runs its own server in the pod, but the field is required)');
  const ports: ContainerPort[] = [];
  const portNames = new Set<string>();
  (r.list(c.ports, [...path, 'ports']) ?? []).forEach((value, i) => {
    const p = [...path, 'ports', i];
    const m = r.map(value, p);
    if (!m) return;
    r.fields(m, p, ['name', 'containerPort', 'protocol'], ['hostPort', 'hostIP']);
    const containerPort = r.port(m.containerPort, [...p, 'containerPort'], 'add containerPort: the port the container listens on');
    const protocol = r.oneOf(m.protocol ?? 'TCP', [...p, 'protocol'], PROTOCOLS) ?? 'TCP';
    const portName = r.string(m.name, [...p, 'name']) ?? null;
    if (portName !== null) {
      if (!isIanaSvcName(portName)) r.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${portName}" is not a valid port name (IANA_SVC_NAME)`, IANA_HINT);
      else if (portNames.has(portName))
        r.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${portName}" is used twice in this container`, 'port names are unique within a container');
      portNames.add(portName);
    }
    if (containerPort !== undefined) ports.push({ name: portName, containerPort, protocol });
  });
  const readinessProbe = readReadinessProbe(r, c.readinessProbe, [...path, 'readinessProbe'], ports);
  if (name === undefined || image === undefined || readinessProbe === undefined) return undefined;
  return { name, image, ports, readinessProbe };
}

/** null: no probe (the pod is ready once running); undefined: an error was reported. */
function readReadinessProbe(r: ObjectReader, value: unknown, path: Path, ports: ContainerPort[]): ReadinessProbe | null | undefined {
  const m = r.map(value, path);
  if (!m) return value === undefined || value === null ? null : undefined;
  const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'];
  r.fields(
    m,
    path,
    [...handlers, 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'],
    ['terminationGracePeriodSeconds'],
  );
  const given = handlers.filter((h) => m[h] !== undefined && m[h] !== null);
  for (const h of given.filter((g) => g === 'exec' || g === 'grpc')) {
    r.error([...path, h], `${fieldPath([...path, h])} probes are not supported`, "knetlab's prober runs httpGet and tcpSocket probes; use one of those", 'key');
  }
  if (given.length === 0) {
    r.error(path, `${fieldPath(path)} must specify a handler type`, 'add httpGet: { path: /, port: 80 } or tcpSocket: { port: 80 }');
  } else if (given.length > 1) {
    r.error([...path, given[1]!], `${fieldPath(path)} may not specify more than 1 handler type`, `keep one of ${given.join(', ')}`, 'key');
  }
  let kind: ReadinessProbe['kind'] | undefined;
  let port: number | string | undefined;
  let httpPath = '/';
  if (given[0] === 'httpGet') {
    const p = [...path, 'httpGet'];
    const h = r.map(m.httpGet, p);
    if (h) {
      r.fields(h, p, ['path', 'port', 'scheme'], ['host', 'httpHeaders']);
      kind = 'httpGet';
      port = r.portOrName(h.port, [...p, 'port'], 'add port: the container port to probe');
      httpPath = r.string(h.path, [...p, 'path']) ?? '/';
      const scheme = r.oneOf(h.scheme ?? 'HTTP', [...p, 'scheme'], ['HTTP', 'HTTPS']);
      if (scheme === 'HTTPS')
        r.error([...p, 'scheme'], `${fieldPath([...p, 'scheme'])} HTTPS is not supported`, "knetlab's pods serve plain HTTP; use scheme: HTTP");
    }
  } else if (given[0] === 'tcpSocket') {
    const p = [...path, 'tcpSocket'];
    const t = r.map(m.tcpSocket, p);
    if (t) {
      r.fields(t, p, ['port'], ['host']);
      kind = 'tcpSocket';
      port = r.portOrName(t.port, [...p, 'port'], 'add port: the container port to probe');
    }
  }
  if (typeof port === 'string' && !ports.some((cp) => cp.name === port)) {
    r.warn(
      [...path, kind!, 'port'],
      `${fieldPath([...path, kind!, 'port'])} names "${port}", which is not a port of this container: the probe will fail and the pod will never be ready`,
    );
  }
  // The API server defaults a zero period, timeout and thresholds (SetDefaults_Probe) and
  // refuses negative values (ValidateNonnegativeField).
  const seconds = (field: string, fallback: number): number => {
    const n = r.integer(m[field], [...path, field]);
    if (n === undefined) return fallback;
    if (n < 0) r.error([...path, field], `${fieldPath([...path, field])} ${n} must be greater than or equal to 0`);
    return n === 0 && field !== 'initialDelaySeconds' ? fallback : n;
  };
  const probe = {
    initialDelaySeconds: seconds('initialDelaySeconds', 0),
    periodSeconds: seconds('periodSeconds', 10),
    timeoutSeconds: seconds('timeoutSeconds', 1),
    successThreshold: seconds('successThreshold', 1),
    failureThreshold: seconds('failureThreshold', 3),
  };
  if (kind === undefined || port === undefined) return undefined;
  return { kind, port, path: httpPath, ...probe };
}

export function readDeployment(r: ObjectReader, value: unknown): DeploymentSpec | undefined {
  const spec = r.map(value, ['spec'], 'a Deployment needs a spec with selector and template');
  if (!spec) return undefined;
  r.fields(spec, ['spec'], ['replicas', 'selector', 'template'], DEPLOYMENT_SPEC_UNMODELLED);
  const replicas = r.integer(spec.replicas, ['spec', 'replicas']) ?? 1;
  if (replicas < 0) r.error(['spec', 'replicas'], `spec.replicas ${replicas} must be greater than or equal to 0`);
  // The field is an int32: the API server refuses more when it decodes the object.
  else if (replicas > 2 ** 31 - 1)
    r.error(['spec', 'replicas'], `spec.replicas ${replicas} does not fit in an int32`, 'a lab runs a handful of replicas, e.g. replicas: 3');
  const sel = r.map(spec.selector, ['spec', 'selector'], 'apps/v1 Deployments need selector.matchLabels matching the template labels');
  let selector: Record<string, string> = {};
  if (sel) {
    r.fields(sel, ['spec', 'selector'], ['matchLabels', 'matchExpressions'], []);
    if (sel.matchExpressions !== undefined && sel.matchExpressions !== null) {
      r.error(
        ['spec', 'selector', 'matchExpressions'],
        'spec.selector.matchExpressions is not supported: knetlab selects pods by matchLabels only',
        'write the selector as matchLabels (equal labels)',
        'key',
      );
    }
    selector = r.stringMap(sel.matchLabels, ['spec', 'selector', 'matchLabels'], 'labels');
    if (Object.keys(selector).length === 0)
      r.error(['spec', 'selector'], 'spec.selector: empty selector is invalid for deployment', 'add matchLabels, e.g. app: web');
  }
  const tpl = r.map(spec.template, ['spec', 'template'], 'add template: with metadata.labels and the pod spec');
  if (!tpl) return undefined;
  r.fields(tpl, ['spec', 'template'], ['metadata', 'spec'], []);
  const tmeta = r.map(tpl.metadata, ['spec', 'template', 'metadata'], 'the template needs metadata.labels matching the selector');
  let labels: Record<string, string> = {};
  let annotations: Record<string, string> = {};
  if (tmeta) {
    r.fields(tmeta, ['spec', 'template', 'metadata'], ['labels', 'annotations'], [...META_UNMODELLED, 'name', 'namespace']);
    labels = r.stringMap(tmeta.labels, ['spec', 'template', 'metadata', 'labels'], 'labels');
    annotations = r.stringMap(tmeta.annotations, ['spec', 'template', 'metadata', 'annotations'], 'annotations');
    const missing = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
    if (Object.keys(selector).length > 0 && missing.length > 0) {
      r.error(
        ['spec', 'template', 'metadata', 'labels'],
        'spec.template.metadata.labels: `selector` does not match template `labels`',
        `the template needs ${missing.map(([k, v]) => `${k}: ${v}`).join(', ')} (every matchLabels pair)`,
      );
    }
  }
  const podSpec = readPodSpec(r, tpl.spec, ['spec', 'template', 'spec']);
  return podSpec ? { replicas, selector, template: { labels, annotations, spec: podSpec } } : undefined;
}
