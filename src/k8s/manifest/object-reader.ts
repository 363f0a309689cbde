// The per-kind checks: ObjectReader reads one object (metadata, a pod spec and its containers and
// probes, a Deployment, a Service, Endpoints, an EndpointSlice, a KubeProxyConfiguration) the way
// the API server validates it, collects every problem with its position, and resolves the object.

import { closest } from '../../labfile/suggest.js';
import type { Diagnostic, Position } from '../../labfile/diagnostics.js';
import type { Located } from '../../labfile/read.js';
import { parseCidr, parseIPv4 } from '../../labfile/net.js';
import {
  DEFAULT_AFFINITY_TIMEOUT,
  PLANNED_PROXY_MODES,
  PROXY_MODES,
  type Container,
  type KubeProxyConfiguration,
  type ProxyMode,
  type ContainerPort,
  type ReadinessProbe,
  type ServicePort,
  type SliceEndpoint,
  type SlicePort,
} from '../../api/objects.js';
import {
  API_VERSIONS,
  fieldPath,
  positionIn,
  type DeploymentSpec,
  type EndpointAddress,
  type EndpointSliceSpec,
  type EndpointsSpec,
  type ManifestBase,
  type ManifestKind,
  type ManifestObject,
  type PodSpec,
  type ServiceSpec,
} from './types.js';
import {
  CONTAINER_UNMODELLED,
  DEPLOYMENT_SPEC_UNMODELLED,
  KUBE_PROXY_UNMODELLED,
  META_UNMODELLED,
  POD_SPEC_UNMODELLED,
  PROTOCOLS,
  SERVICE_SPEC_UNMODELLED,
  SERVICE_TYPES,
  SUPPORTED,
  TARGET_REF_UNMODELLED,
  TOP_FIELDS,
} from './fields.js';
import {
  DNS1035_HINT,
  IANA_HINT,
  LABEL_HINT,
  PORT_HINT,
  SUBDOMAIN_HINT,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isIanaSvcName,
  isLabelValue,
  labelKeyProblem,
} from './names.js';

type Path = (string | number)[];
export type Json = Record<string, unknown>;

export function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `the ${typeof v} ${JSON.stringify(v)}`;
}

/** The known word closest to a typo, if it is close enough to be a likely intent. */

type Resolved = Omit<ManifestObject, 'file' | 'pos' | 'raw' | 'positions'>;

/** Checks one object and resolves it; every problem goes to `diagnostics`. */
export class ObjectReader {
  readonly diagnostics: Diagnostic[] = [];
  private topFields: readonly string[] = [];

  constructor(
    private readonly file: string,
    private readonly positions: Map<string, Located>,
    private readonly start: Position,
    private readonly nodePortRange: [number, number],
  ) {}

  get ok(): boolean {
    return !this.diagnostics.some((d) => d.severity === 'error');
  }

  error(path: Path, message: string, hint?: string, prefer: 'key' | 'value' = 'value'): void {
    this.diagnostics.push({ file: this.file, pos: this.at(path, prefer), severity: 'error', message, hint });
  }

  warn(path: Path, message: string, hint?: string): void {
    this.diagnostics.push({ file: this.file, pos: this.at(path, 'key'), severity: 'warning', message, hint });
  }

  private at(path: Path, prefer: 'key' | 'value'): Position {
    return positionIn({ positions: this.positions, pos: this.start }, path, prefer);
  }

  // ---- typed access: each reports a wrong type or a missing required value, and returns undefined ----

  private absent(value: unknown, path: Path, required: string | undefined): boolean {
    if (value !== undefined && value !== null) return false;
    if (required !== undefined) this.error(path, `${fieldPath(path)} is required`, required, 'key');
    return true;
  }

  map(value: unknown, path: Path, required?: string): Json | undefined {
    if (this.absent(value, path, required)) return undefined;
    if (isJson(value)) return value;
    this.error(path, `${fieldPath(path)} must be a map, not ${describe(value)}`, 'check the indentation: its fields go on the following lines, indented');
    return undefined;
  }

  list(value: unknown, path: Path, required?: string): unknown[] | undefined {
    if (this.absent(value, path, required)) return undefined;
    if (Array.isArray(value)) return value;
    this.error(path, `${fieldPath(path)} must be a list, not ${describe(value)}`, 'write each entry on its own line, starting with "- "');
    return undefined;
  }

  string(value: unknown, path: Path, required?: string): string | undefined {
    if (this.absent(value, path, required)) return undefined;
    if (typeof value === 'string') return value;
    this.error(
      path,
      `${fieldPath(path)} must be a string, not ${describe(value)}`,
      typeof value === 'number' || typeof value === 'boolean' ? 'put it in quotes' : undefined,
    );
    return undefined;
  }

  integer(value: unknown, path: Path, required?: string): number | undefined {
    if (this.absent(value, path, required)) return undefined;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    const quoted = typeof value === 'string' && /^-?\d+$/.test(value.trim());
    this.error(path, `${fieldPath(path)} must be an integer, not ${describe(value)}`, quoted ? 'write the number without quotes' : undefined);
    return undefined;
  }

  boolean(value: unknown, path: Path): boolean | undefined {
    if (this.absent(value, path, undefined)) return undefined;
    if (typeof value === 'boolean') return value;
    this.error(path, `${fieldPath(path)} must be true or false, not ${describe(value)}`);
    return undefined;
  }

  port(value: unknown, path: Path, required?: string): number | undefined {
    const n = this.integer(value, path, required);
    if (n === undefined || (n >= 1 && n <= 65535)) return n;
    this.error(path, `${fieldPath(path)} ${n} is not a valid port number`, PORT_HINT);
    return undefined;
  }

  oneOf<T extends string>(value: unknown, path: Path, options: readonly T[], hint?: string): T | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    if ((options as readonly string[]).includes(s)) return s as T;
    const guess = closest(s, options);
    this.error(
      path,
      `${fieldPath(path)} is "${s}"; it must be one of ${options.map((o) => `"${o}"`).join(', ')}`,
      hint ?? (guess ? `did you mean "${guess}"? (the values are case-sensitive)` : undefined),
    );
    return undefined;
  }

  /** A port given as a number, or as the name of a container port (IntOrString). */
  portOrName(value: unknown, path: Path, required?: string): number | string | undefined {
    if (typeof value === 'string') {
      if (/^\d+$/.test(value.trim())) {
        this.error(path, `${fieldPath(path)} "${value}" is a string, so it names a port, and a port name needs a letter`, 'write the number without quotes');
        return undefined;
      }
      if (!isIanaSvcName(value)) {
        this.error(path, `${fieldPath(path)} "${value}" is not a valid port name (IANA_SVC_NAME)`, IANA_HINT);
        return undefined;
      }
      return value;
    }
    return this.port(value, path, required);
  }

  /** labels, annotations, selectors: string → string. */
  stringMap(value: unknown, path: Path, kind: 'labels' | 'annotations'): Record<string, string> {
    const m = this.map(value, path);
    const out: Record<string, string> = {};
    if (!m) return out;
    for (const [k, v] of Object.entries(m)) {
      const p = [...path, k];
      const problem = labelKeyProblem(k);
      if (problem)
        this.error(
          p,
          `${fieldPath(path)} key "${k}" ${problem}`,
          'a key is an optional DNS-subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or "."',
          'key',
        );
      const s = this.string(v, p);
      if (s === undefined) continue;
      if (kind === 'labels' && !isLabelValue(s)) {
        this.error(
          p,
          `${fieldPath(p)} "${s}" is not a valid label value`,
          'a label value is empty or at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
        );
      }
      out[k] = s;
    }
    return out;
  }

  /**
   * Every key of a map is read, known-but-ignored, or an error: kubectl apply's strict field
   * validation rejects unknown fields ('strict decoding error: unknown field "spec.portss"').
   */
  fields(m: Json, path: Path, modelled: readonly string[], unmodelled: readonly string[]): void {
    for (const k of Object.keys(m)) {
      if (modelled.includes(k)) continue;
      const p = [...path, k];
      if (unmodelled.includes(k)) {
        this.warn(p, `${fieldPath(p)} is not modelled by knetlab and is ignored`);
        continue;
      }
      const guess = closest(k, [...modelled, ...unmodelled]);
      const misplaced = path.length > 0 && this.topFields.includes(k);
      this.error(
        p,
        `unknown field "${fieldPath(p)}"`,
        misplaced
          ? `${k} belongs at the top level of the object: check its indentation`
          : guess
            ? `did you mean "${guess}"?`
            : `${fieldPath(path) || 'the object'} takes: ${[...modelled, ...unmodelled].join(', ')}`,
        'key',
      );
    }
  }

  // ---- objects ----

  read(raw: unknown): Resolved | undefined {
    if (!isJson(raw)) {
      this.error([], `a manifest must be a map with apiVersion, kind and metadata, not ${describe(raw)}`);
      return undefined;
    }
    const obj = raw;
    const kind = this.string(
      obj.kind,
      ['kind'],
      `a manifest starts with apiVersion, kind and metadata; kind is one of ${Object.keys(API_VERSIONS).join(', ')}`,
    );
    if (kind === undefined) return undefined;
    if (!(kind in API_VERSIONS)) {
      const guess = closest(kind, Object.keys(API_VERSIONS));
      this.error(['kind'], `kind "${kind}" is not supported`, guess ? `did you mean "${guess}"? ${SUPPORTED}` : SUPPORTED);
      return undefined;
    }
    const k = kind as ManifestKind;
    this.topFields = TOP_FIELDS[k];
    const apiVersion = this.string(obj.apiVersion, ['apiVersion'], `${k} is served by apiVersion ${API_VERSIONS[k]}`);
    if (apiVersion !== undefined && apiVersion !== API_VERSIONS[k]) {
      this.error(['apiVersion'], `no matches for kind "${k}" in version "${apiVersion}"`, `${k} is served by apiVersion ${API_VERSIONS[k]}`);
    }
    if (k === 'KubeProxyConfiguration') {
      this.fields(obj, [], TOP_FIELDS[k], KUBE_PROXY_UNMODELLED);
      const resolved = this.kubeProxyMode(obj.mode);
      return resolved ? { kind: k, namespace: '', name: 'kube-proxy', labels: {}, annotations: {}, resolved } : undefined;
    }
    this.fields(obj, [], TOP_FIELDS[k], []);
    if (obj.status !== undefined && obj.status !== null) {
      this.warn(
        ['status'],
        'status is written by the cluster, not by a manifest, and is ignored',
        "knetlab's control plane fills it in (pod IPs, load balancer addresses)",
      );
    }
    const meta = this.metadata(obj.metadata, k);
    switch (k) {
      case 'Pod': {
        const resolved = this.podSpec(obj.spec, ['spec']);
        return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
      }
      case 'Deployment': {
        const resolved = this.deployment(obj.spec);
        return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
      }
      case 'Service': {
        const resolved = this.service(obj.spec);
        return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
      }
      case 'Endpoints': {
        const resolved = this.endpoints(obj.subsets);
        return meta ? { kind: k, ...meta, resolved } : undefined;
      }
      case 'EndpointSlice': {
        const resolved = this.endpointSlice(obj, meta?.labels ?? {});
        return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
      }
    }
  }

  /** mode: "" (the default, iptables on Linux) or a mode knetlab runs; the others are named as not yet available. */
  private kubeProxyMode(value: unknown): KubeProxyConfiguration | undefined {
    if (value === undefined || value === null || value === '') return { mode: 'iptables' };
    const mode = this.string(value, ['mode'], `mode is one of ${PROXY_MODES.join(', ')} (or "" for the default, iptables)`);
    if (mode === undefined) return undefined;
    if ((PROXY_MODES as readonly string[]).includes(mode)) return { mode: mode as ProxyMode };
    if (PLANNED_PROXY_MODES.includes(mode)) {
      this.error(
        ['mode'],
        `kube-proxy mode "${mode}" is not available in knetlab yet`,
        `knetlab runs ${PROXY_MODES.join(', ')} (the default); ${PLANNED_PROXY_MODES.join(', ')} are not yet available`,
      );
    } else {
      this.error(
        ['mode'],
        `unknown kube-proxy mode "${mode}"`,
        `kube-proxy's modes on Linux are ${[...PROXY_MODES, ...PLANNED_PROXY_MODES].join(', ')} ("" means iptables)`,
      );
    }
    return undefined;
  }

  private metadata(value: unknown, kind: ManifestKind): Pick<ManifestBase, 'name' | 'namespace' | 'labels' | 'annotations'> | undefined {
    const m = this.map(value, ['metadata'], 'add metadata: with at least a name');
    if (!m) return undefined;
    this.fields(m, ['metadata'], ['name', 'namespace', 'labels', 'annotations'], META_UNMODELLED);
    const name = this.string(
      m.name,
      ['metadata', 'name'],
      m.generateName !== undefined ? 'knetlab does not generate names: give the object a name' : 'add name: under metadata',
    );
    if (name !== undefined) {
      // ValidateServiceName is a DNS-1035 label (it becomes a DNS name and an env var prefix);
      // the other kinds here take a DNS-1123 subdomain.
      if (kind === 'Service' && !isDns1035Label(name)) {
        this.error(['metadata', 'name'], `metadata.name "${name}" is not a valid Service name (a DNS-1035 label)`, DNS1035_HINT);
      } else if (kind !== 'Service' && !isDns1123Subdomain(name)) {
        this.error(['metadata', 'name'], `metadata.name "${name}" is not a valid ${kind} name (a DNS-1123 subdomain)`, SUBDOMAIN_HINT);
      }
    }
    const namespace = this.string(m.namespace, ['metadata', 'namespace']) ?? 'default';
    if (!isDns1123Label(namespace))
      this.error(['metadata', 'namespace'], `metadata.namespace "${namespace}" is not a valid namespace name (a DNS-1123 label)`, LABEL_HINT);
    const labels = this.stringMap(m.labels, ['metadata', 'labels'], 'labels');
    const annotations = this.stringMap(m.annotations, ['metadata', 'annotations'], 'annotations');
    return name === undefined ? undefined : { name, namespace, labels, annotations };
  }

  private podSpec(value: unknown, path: Path): PodSpec | undefined {
    const spec = this.map(value, path, 'a pod needs a spec with its containers');
    if (!spec) return undefined;
    this.fields(spec, path, ['containers', 'nodeName', 'hostname', 'subdomain'], POD_SPEC_UNMODELLED);
    const nodeName = this.string(spec.nodeName, [...path, 'nodeName']) ?? null;
    const hostname = this.dnsLabel(spec.hostname, [...path, 'hostname']);
    const subdomain = this.dnsLabel(spec.subdomain, [...path, 'subdomain']);
    const list = this.list(spec.containers, [...path, 'containers'], 'add containers: with at least one container (name and image)');
    if (list?.length === 0) this.error([...path, 'containers'], `${fieldPath([...path, 'containers'])} must have at least one container`);
    const containers: Container[] = [];
    const names = new Set<string>();
    (list ?? []).forEach((c, i) => {
      const container = this.container(c, [...path, 'containers', i]);
      const name = isJson(c) && typeof c.name === 'string' ? c.name : undefined;
      if (name !== undefined && names.has(name)) {
        this.error(
          [...path, 'containers', i, 'name'],
          `${fieldPath([...path, 'containers', i, 'name'])} "${name}" is used by another container of this pod`,
          'container names are unique within a pod',
        );
      }
      if (name !== undefined) names.add(name);
      if (container) containers.push(container);
    });
    return { nodeName, hostname, subdomain, containers };
  }

  private dnsLabel(value: unknown, path: Path): string | null {
    const s = this.string(value, path);
    if (s === undefined) return null;
    if (!isDns1123Label(s)) this.error(path, `${fieldPath(path)} "${s}" is not a DNS-1123 label`, LABEL_HINT);
    return s;
  }

  private container(value: unknown, path: Path): Container | undefined {
    const c = this.map(value, path);
    if (!c) return undefined;
    this.fields(c, path, ['name', 'image', 'ports', 'readinessProbe'], CONTAINER_UNMODELLED);
    const name = this.string(c.name, [...path, 'name'], 'every container needs a name');
    if (name !== undefined && !isDns1123Label(name))
      this.error([...path, 'name'], `${fieldPath([...path, 'name'])} "${name}" is not a DNS-1123 label`, LABEL_HINT);
    const image = this.string(
      c.image,
      [...path, 'image'],
      'every container needs an image (knetlab runs its own server in the pod, but the field is required)',
    );
    const ports: ContainerPort[] = [];
    const portNames = new Set<string>();
    (this.list(c.ports, [...path, 'ports']) ?? []).forEach((value, i) => {
      const p = [...path, 'ports', i];
      const m = this.map(value, p);
      if (!m) return;
      this.fields(m, p, ['name', 'containerPort', 'protocol'], ['hostPort', 'hostIP']);
      const containerPort = this.port(m.containerPort, [...p, 'containerPort'], 'add containerPort: the port the container listens on');
      const protocol = this.oneOf(m.protocol ?? 'TCP', [...p, 'protocol'], PROTOCOLS) ?? 'TCP';
      const portName = this.string(m.name, [...p, 'name']) ?? null;
      if (portName !== null) {
        if (!isIanaSvcName(portName))
          this.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${portName}" is not a valid port name (IANA_SVC_NAME)`, IANA_HINT);
        else if (portNames.has(portName))
          this.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${portName}" is used twice in this container`, 'port names are unique within a container');
        portNames.add(portName);
      }
      if (containerPort !== undefined) ports.push({ name: portName, containerPort, protocol });
    });
    const readinessProbe = this.readinessProbe(c.readinessProbe, [...path, 'readinessProbe'], ports);
    if (name === undefined || image === undefined || readinessProbe === undefined) return undefined;
    return { name, image, ports, readinessProbe };
  }

  /** null: no probe (the pod is ready once running); undefined: an error was reported. */
  private readinessProbe(value: unknown, path: Path, ports: ContainerPort[]): ReadinessProbe | null | undefined {
    const m = this.map(value, path);
    if (!m) return value === undefined || value === null ? null : undefined;
    const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'];
    this.fields(
      m,
      path,
      [...handlers, 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'],
      ['terminationGracePeriodSeconds'],
    );
    const given = handlers.filter((h) => m[h] !== undefined && m[h] !== null);
    for (const h of given.filter((g) => g === 'exec' || g === 'grpc')) {
      this.error(
        [...path, h],
        `${fieldPath([...path, h])} probes are not supported`,
        "knetlab's prober runs httpGet and tcpSocket probes; use one of those",
        'key',
      );
    }
    if (given.length === 0) {
      this.error(path, `${fieldPath(path)} must specify a handler type`, 'add httpGet: { path: /, port: 80 } or tcpSocket: { port: 80 }');
    } else if (given.length > 1) {
      this.error([...path, given[1]!], `${fieldPath(path)} may not specify more than 1 handler type`, `keep one of ${given.join(', ')}`, 'key');
    }
    let kind: ReadinessProbe['kind'] | undefined;
    let port: number | string | undefined;
    let httpPath = '/';
    if (given[0] === 'httpGet') {
      const p = [...path, 'httpGet'];
      const h = this.map(m.httpGet, p);
      if (h) {
        this.fields(h, p, ['path', 'port', 'scheme'], ['host', 'httpHeaders']);
        kind = 'httpGet';
        port = this.portOrName(h.port, [...p, 'port'], 'add port: the container port to probe');
        httpPath = this.string(h.path, [...p, 'path']) ?? '/';
        const scheme = this.oneOf(h.scheme ?? 'HTTP', [...p, 'scheme'], ['HTTP', 'HTTPS']);
        if (scheme === 'HTTPS')
          this.error([...p, 'scheme'], `${fieldPath([...p, 'scheme'])} HTTPS is not supported`, "knetlab's pods serve plain HTTP; use scheme: HTTP");
      }
    } else if (given[0] === 'tcpSocket') {
      const p = [...path, 'tcpSocket'];
      const t = this.map(m.tcpSocket, p);
      if (t) {
        this.fields(t, p, ['port'], ['host']);
        kind = 'tcpSocket';
        port = this.portOrName(t.port, [...p, 'port'], 'add port: the container port to probe');
      }
    }
    if (typeof port === 'string' && !ports.some((cp) => cp.name === port)) {
      this.warn(
        [...path, kind!, 'port'],
        `${fieldPath([...path, kind!, 'port'])} names "${port}", which is not a port of this container: the probe will fail and the pod will never be ready`,
      );
    }
    // The API server defaults a zero period, timeout and thresholds (SetDefaults_Probe) and
    // refuses negative values (ValidateNonnegativeField).
    const seconds = (field: string, fallback: number): number => {
      const n = this.integer(m[field], [...path, field]);
      if (n === undefined) return fallback;
      if (n < 0) this.error([...path, field], `${fieldPath([...path, field])} ${n} must be greater than or equal to 0`);
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

  private deployment(value: unknown): DeploymentSpec | undefined {
    const spec = this.map(value, ['spec'], 'a Deployment needs a spec with selector and template');
    if (!spec) return undefined;
    this.fields(spec, ['spec'], ['replicas', 'selector', 'template'], DEPLOYMENT_SPEC_UNMODELLED);
    const replicas = this.integer(spec.replicas, ['spec', 'replicas']) ?? 1;
    if (replicas < 0) this.error(['spec', 'replicas'], `spec.replicas ${replicas} must be greater than or equal to 0`);
    const sel = this.map(spec.selector, ['spec', 'selector'], 'apps/v1 Deployments need selector.matchLabels matching the template labels');
    let selector: Record<string, string> = {};
    if (sel) {
      this.fields(sel, ['spec', 'selector'], ['matchLabels', 'matchExpressions'], []);
      if (sel.matchExpressions !== undefined && sel.matchExpressions !== null) {
        this.error(
          ['spec', 'selector', 'matchExpressions'],
          'spec.selector.matchExpressions is not supported: knetlab selects pods by matchLabels only',
          'write the selector as matchLabels (equal labels)',
          'key',
        );
      }
      selector = this.stringMap(sel.matchLabels, ['spec', 'selector', 'matchLabels'], 'labels');
      if (Object.keys(selector).length === 0)
        this.error(['spec', 'selector'], 'spec.selector: empty selector is invalid for deployment', 'add matchLabels, e.g. app: web');
    }
    const tpl = this.map(spec.template, ['spec', 'template'], 'add template: with metadata.labels and the pod spec');
    if (!tpl) return undefined;
    this.fields(tpl, ['spec', 'template'], ['metadata', 'spec'], []);
    const tmeta = this.map(tpl.metadata, ['spec', 'template', 'metadata'], 'the template needs metadata.labels matching the selector');
    let labels: Record<string, string> = {};
    let annotations: Record<string, string> = {};
    if (tmeta) {
      this.fields(tmeta, ['spec', 'template', 'metadata'], ['labels', 'annotations'], [...META_UNMODELLED, 'name', 'namespace']);
      labels = this.stringMap(tmeta.labels, ['spec', 'template', 'metadata', 'labels'], 'labels');
      annotations = this.stringMap(tmeta.annotations, ['spec', 'template', 'metadata', 'annotations'], 'annotations');
      const missing = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
      if (Object.keys(selector).length > 0 && missing.length > 0) {
        this.error(
          ['spec', 'template', 'metadata', 'labels'],
          'spec.template.metadata.labels: `selector` does not match template `labels`',
          `the template needs ${missing.map(([k, v]) => `${k}: ${v}`).join(', ')} (every matchLabels pair)`,
        );
      }
    }
    const podSpec = this.podSpec(tpl.spec, ['spec', 'template', 'spec']);
    return podSpec ? { replicas, selector, template: { labels, annotations, spec: podSpec } } : undefined;
  }

  private service(value: unknown): ServiceSpec | undefined {
    const spec = this.map(value, ['spec'], 'a Service needs a spec with its ports');
    if (!spec) return undefined;
    const S = (...p: Path): Path => ['spec', ...p];
    this.fields(
      spec,
      ['spec'],
      [
        'type',
        'ports',
        'selector',
        'clusterIP',
        'clusterIPs',
        'ipFamilies',
        'ipFamilyPolicy',
        'sessionAffinity',
        'sessionAffinityConfig',
        'externalTrafficPolicy',
        'internalTrafficPolicy',
        'loadBalancerIP',
        'loadBalancerSourceRanges',
        'externalIPs',
        'publishNotReadyAddresses',
        'healthCheckNodePort',
        'externalName',
      ],
      SERVICE_SPEC_UNMODELLED,
    );
    const type = this.oneOf(spec.type ?? 'ClusterIP', S('type'), SERVICE_TYPES) ?? 'ClusterIP';
    const externalName = type === 'ExternalName';
    const needsNodePorts = type === 'NodePort' || type === 'LoadBalancer';

    // clusterIP / clusterIPs: knetlab's clusters are IPv4 single-stack.
    let clusterIP = this.string(spec.clusterIP, S('clusterIP'));
    const clusterIPs = this.list(spec.clusterIPs, S('clusterIPs'));
    if (clusterIPs && clusterIPs.length > 0) {
      const first = this.string(clusterIPs[0], S('clusterIPs', 0));
      if (clusterIPs.length > 1)
        this.error(S('clusterIPs', 1), 'spec.clusterIPs may hold one address: knetlab clusters are IPv4 single-stack', 'remove the second address');
      if (clusterIP !== undefined && first !== undefined && first !== clusterIP) {
        this.error(
          S('clusterIPs', 0),
          `spec.clusterIPs[0] "${first}" must match spec.clusterIP "${clusterIP}"`,
          'write the same address in both, or only in clusterIP',
        );
      }
      clusterIP ??= first;
    }
    const clusterIPPath = spec.clusterIP !== undefined ? S('clusterIP') : S('clusterIPs', 0);
    const headless = clusterIP === 'None';
    if (clusterIP !== undefined && clusterIP !== '' && !headless && parseIPv4(clusterIP) === undefined) {
      this.error(
        clusterIPPath,
        `${fieldPath(clusterIPPath)} "${clusterIP}" is not an IPv4 address`,
        'omit clusterIP to have one allocated, write None for a headless Service, or give an address in the service CIDR',
      );
    }
    if (externalName && clusterIP !== undefined && clusterIP !== '') {
      this.error(
        clusterIPPath,
        `${fieldPath(clusterIPPath)} may not be set for ExternalName services`,
        'an ExternalName Service is a DNS CNAME and has no cluster IP; remove clusterIP',
        'key',
      );
    }
    if (headless && needsNodePorts) {
      this.error(
        clusterIPPath,
        `spec.clusterIP may not be set to 'None' for ${type} services`,
        `a ${type} Service needs a cluster IP; remove clusterIP: None or use type: ClusterIP`,
      );
    }
    const families = this.list(spec.ipFamilies, S('ipFamilies')) ?? [];
    families.forEach((f, i) => {
      if (this.oneOf(f, S('ipFamilies', i), ['IPv4', 'IPv6']) === 'IPv6')
        this.error(S('ipFamilies', i), 'spec.ipFamilies: IPv6 is not supported: knetlab clusters are IPv4 single-stack', 'remove ipFamilies or write [IPv4]');
    });
    const familyPolicy = this.oneOf(spec.ipFamilyPolicy, S('ipFamilyPolicy'), ['SingleStack', 'PreferDualStack', 'RequireDualStack']);
    if (familyPolicy === 'RequireDualStack')
      this.error(
        S('ipFamilyPolicy'),
        'spec.ipFamilyPolicy RequireDualStack cannot be met: knetlab clusters are IPv4 single-stack',
        'use SingleStack or PreferDualStack',
      );

    // Ports: ValidateService / validateServicePort.
    const portList = this.list(spec.ports, S('ports')) ?? [];
    if (portList.length === 0 && !headless && !externalName) {
      this.error(S('ports'), 'spec.ports is required', 'add ports: - port: 80 (only headless and ExternalName Services may have none)', 'key');
    }
    const ports: ServicePort[] = [];
    const names = new Set<string>();
    const seen = new Set<string>();
    const nodePorts = new Set<string>();
    portList.forEach((value, i) => {
      const p = S('ports', i);
      const m = this.map(value, p);
      if (!m) return;
      this.fields(m, p, ['name', 'port', 'targetPort', 'nodePort', 'protocol'], ['appProtocol']);
      const name = this.string(m.name, [...p, 'name']) ?? '';
      if (name === '' && portList.length > 1) {
        this.error(
          m.name === undefined ? p : [...p, 'name'],
          `${fieldPath([...p, 'name'])} is required when a Service has more than one port`,
          'name every port, e.g. name: http',
        );
      } else if (name !== '' && !isDns1123Label(name)) {
        this.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${name}" is not a DNS-1123 label`, LABEL_HINT);
      } else if (name !== '' && names.has(name)) {
        this.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${name}" is used by another port of this Service`, 'port names are unique within a Service');
      }
      names.add(name);
      const port = this.port(m.port, [...p, 'port'], 'add port: the port the Service listens on');
      const protocol = this.oneOf(m.protocol ?? 'TCP', [...p, 'protocol'], PROTOCOLS) ?? 'TCP';
      if (port !== undefined) {
        if (seen.has(`${port}/${protocol}`))
          this.error(
            [...p, 'port'],
            `${fieldPath(p)}: port ${port}/${protocol} is used by another port of this Service`,
            'each port and protocol pair appears once',
          );
        seen.add(`${port}/${protocol}`);
      }
      const targetPort = m.targetPort === undefined || m.targetPort === null ? port : this.portOrName(m.targetPort, [...p, 'targetPort']);
      let nodePort: number | null = null;
      const np = this.integer(m.nodePort, [...p, 'nodePort']);
      if (np !== undefined && np !== 0) {
        const at: Path = [...p, 'nodePort'];
        const [lo, hi] = this.nodePortRange;
        if (type === 'ClusterIP') {
          this.error(at, `${fieldPath(at)} may not be used when type is 'ClusterIP'`, 'remove nodePort, or set type: NodePort', 'key');
        } else if (externalName) {
          this.warn(at, `${fieldPath(at)} is ignored: an ExternalName Service has no node ports`);
        } else if (np < lo || np > hi) {
          this.error(at, `${fieldPath(at)} ${np} is outside ${lo}-${hi}`, 'omit nodePort to have one allocated, or pick a port in the NodePort range');
        } else if (nodePorts.has(`${np}/${protocol}`)) {
          this.error(at, `${fieldPath(at)} ${np} is used by another port of this Service`, 'omit nodePort to have one allocated');
        } else {
          nodePorts.add(`${np}/${protocol}`);
          nodePort = np;
        }
      }
      if (port !== undefined && targetPort !== undefined) ports.push({ name, protocol, port, targetPort, nodePort: needsNodePorts ? nodePort : null });
    });

    const selectorMap = this.stringMap(spec.selector, S('selector'), 'labels');
    // An empty selector is stored as none (omitempty): the Service gets no endpoints from pods.
    const selector = Object.keys(selectorMap).length > 0 ? selectorMap : null;

    const sessionAffinity = this.oneOf(spec.sessionAffinity ?? 'None', S('sessionAffinity'), ['None', 'ClientIP']) ?? 'None';
    let affinityTimeoutSeconds = DEFAULT_AFFINITY_TIMEOUT;
    const affinityConfig = this.map(spec.sessionAffinityConfig, S('sessionAffinityConfig'));
    if (affinityConfig) {
      this.fields(affinityConfig, S('sessionAffinityConfig'), ['clientIP'], []);
      if (sessionAffinity !== 'ClientIP') {
        this.error(
          S('sessionAffinityConfig'),
          "spec.sessionAffinityConfig must not be set when sessionAffinity is 'None'",
          'set sessionAffinity: ClientIP, or remove sessionAffinityConfig',
          'key',
        );
      }
      const clientIP = this.map(affinityConfig.clientIP, S('sessionAffinityConfig', 'clientIP'));
      if (clientIP) {
        const at = S('sessionAffinityConfig', 'clientIP', 'timeoutSeconds');
        this.fields(clientIP, S('sessionAffinityConfig', 'clientIP'), ['timeoutSeconds'], []);
        const timeout = this.integer(clientIP.timeoutSeconds, at);
        if (timeout !== undefined && (timeout < 1 || timeout > 86400)) {
          this.error(at, `${fieldPath(at)} ${timeout} must be greater than 0 and less than or equal to 86400`, 'the default is 10800 (3 hours)');
        } else if (timeout !== undefined) affinityTimeoutSeconds = timeout;
      }
    }

    const externalIPs: string[] = [];
    (this.list(spec.externalIPs, S('externalIPs')) ?? []).forEach((v, i) => {
      const ip = this.string(v, S('externalIPs', i));
      if (ip === undefined) return;
      if (parseIPv4(ip) === undefined) this.error(S('externalIPs', i), `spec.externalIPs[${i}] "${ip}" is not an IPv4 address`);
      else externalIPs.push(ip);
    });

    // validateServiceExternalTrafficPolicy: only externally reachable Services take one.
    const externallyAccessible = needsNodePorts || (type === 'ClusterIP' && externalIPs.length > 0);
    const etp = this.oneOf(spec.externalTrafficPolicy, S('externalTrafficPolicy'), ['Cluster', 'Local']);
    if (etp !== undefined && !externallyAccessible) {
      this.error(
        S('externalTrafficPolicy'),
        'spec.externalTrafficPolicy may only be set for externally-accessible services',
        'it applies to NodePort and LoadBalancer Services (and to externalIPs); remove it or change the type',
        'key',
      );
    }
    const externalTrafficPolicy = etp ?? 'Cluster';
    const internalTrafficPolicy = this.oneOf(spec.internalTrafficPolicy, S('internalTrafficPolicy'), ['Cluster', 'Local']) ?? 'Cluster';

    const lbIP = this.string(spec.loadBalancerIP, S('loadBalancerIP'));
    let loadBalancerIP: string | null = null;
    if (lbIP !== undefined && lbIP !== '') {
      if (parseIPv4(lbIP) === undefined) this.error(S('loadBalancerIP'), `spec.loadBalancerIP "${lbIP}" is not an IPv4 address`);
      else if (type !== 'LoadBalancer') this.warn(S('loadBalancerIP'), `spec.loadBalancerIP is ignored: the Service is of type ${type}, not LoadBalancer`);
      else loadBalancerIP = lbIP;
    }
    const loadBalancerSourceRanges: string[] = [];
    const ranges = this.list(spec.loadBalancerSourceRanges, S('loadBalancerSourceRanges')) ?? [];
    if (ranges.length > 0 && type !== 'LoadBalancer') {
      this.error(
        S('loadBalancerSourceRanges'),
        "spec.loadBalancerSourceRanges may only be used when type is 'LoadBalancer'",
        'remove it, or set type: LoadBalancer',
        'key',
      );
    }
    ranges.forEach((v, i) => {
      const r = this.string(v, S('loadBalancerSourceRanges', i));
      if (r === undefined) return;
      // kube-proxy trims the ranges (" 203.0.113.0/25" works), so the API accepts them padded.
      const trimmed = r.trim();
      if (parseCidr(trimmed) === undefined) {
        this.error(
          S('loadBalancerSourceRanges', i),
          `spec.loadBalancerSourceRanges[${i}] "${r}" is not an IPv4 CIDR`,
          'must be a list of IP ranges, e.g. 10.240.0.0/24',
        );
      } else loadBalancerSourceRanges.push(trimmed);
    });

    const publishNotReadyAddresses = this.boolean(spec.publishNotReadyAddresses, S('publishNotReadyAddresses')) ?? false;

    let healthCheckNodePort: number | null = null;
    const hc = this.integer(spec.healthCheckNodePort, S('healthCheckNodePort'));
    if (hc !== undefined && hc !== 0) {
      const [lo, hi] = this.nodePortRange;
      if (type !== 'LoadBalancer' || externalTrafficPolicy !== 'Local') {
        this.error(
          S('healthCheckNodePort'),
          "spec.healthCheckNodePort may only be set when type is 'LoadBalancer' and externalTrafficPolicy is 'Local'",
          'remove healthCheckNodePort',
          'key',
        );
      } else if (hc < lo || hc > hi) {
        this.error(
          S('healthCheckNodePort'),
          `spec.healthCheckNodePort ${hc} is outside ${lo}-${hi}`,
          'omit healthCheckNodePort to have one allocated, or pick a port in the NodePort range',
        );
      } else if ([...nodePorts].some((np) => np.startsWith(`${hc}/`))) {
        this.error(
          S('healthCheckNodePort'),
          `spec.healthCheckNodePort ${hc} is also a nodePort of this Service`,
          'omit healthCheckNodePort to have one allocated',
        );
      } else healthCheckNodePort = hc;
    }

    const en = this.string(spec.externalName, S('externalName'));
    let externalNameValue: string | null = null;
    if (externalName) {
      if (en === undefined || en === '') {
        this.error(
          S('externalName'),
          'spec.externalName is required for ExternalName services',
          'add externalName: the DNS name the Service is an alias for (e.g. my.database.example.com)',
          'key',
        );
      } else if (!isDns1123Subdomain(en.replace(/\.$/, ''))) {
        this.error(S('externalName'), `spec.externalName "${en}" is not a valid DNS name`, SUBDOMAIN_HINT);
      } else externalNameValue = en;
    } else if (en !== undefined && en !== '') {
      this.warn(S('externalName'), `spec.externalName is ignored: the Service is of type ${type}, not ExternalName`);
    }

    return {
      type,
      clusterIP: externalName || clusterIP === undefined || clusterIP === '' ? null : clusterIP,
      ports,
      selector,
      sessionAffinity,
      affinityTimeoutSeconds,
      externalTrafficPolicy,
      internalTrafficPolicy,
      externalIPs,
      loadBalancerIP,
      loadBalancerSourceRanges,
      publishNotReadyAddresses,
      healthCheckNodePort,
      externalName: externalNameValue,
    };
  }

  private endpoints(value: unknown): EndpointsSpec {
    const subsets: EndpointsSpec['subsets'] = [];
    (this.list(value, ['subsets']) ?? []).forEach((v, i) => {
      const p: Path = ['subsets', i];
      const m = this.map(v, p);
      if (!m) return;
      this.fields(m, p, ['addresses', 'notReadyAddresses', 'ports'], []);
      const addresses = this.endpointAddresses(m.addresses, [...p, 'addresses']);
      const notReadyAddresses = this.endpointAddresses(m.notReadyAddresses, [...p, 'notReadyAddresses']);
      if (addresses.length === 0 && notReadyAddresses.length === 0)
        this.error(p, `subsets[${i}] must specify addresses or notReadyAddresses`, 'add addresses: - ip: 10.0.0.1');
      const ports = this.slicePorts(m.ports, [...p, 'ports'], 'Endpoints');
      subsets.push({ addresses, notReadyAddresses, ports });
    });
    return { subsets };
  }

  private endpointAddresses(value: unknown, path: Path): EndpointAddress[] {
    const out: EndpointAddress[] = [];
    (this.list(value, path) ?? []).forEach((v, i) => {
      const p = [...path, i];
      const m = this.map(v, p);
      if (!m) return;
      this.fields(m, p, ['ip', 'nodeName', 'hostname', 'targetRef'], []);
      const ip = this.endpointIP(m.ip, [...p, 'ip']);
      const nodeName = this.string(m.nodeName, [...p, 'nodeName']) ?? null;
      const hostname = this.dnsLabel(m.hostname, [...p, 'hostname']);
      const pod = this.targetRef(m.targetRef, [...p, 'targetRef']);
      if (ip !== undefined) out.push({ ip, nodeName, hostname, pod });
    });
    return out;
  }

  /** validateNonSpecialIP: an endpoint must be an address a packet can be sent to. */
  private endpointIP(value: unknown, path: Path): string | undefined {
    const ip = this.string(value, path, 'add ip: the endpoint address');
    if (ip === undefined) return undefined;
    const n = parseIPv4(ip);
    if (n === undefined) {
      this.error(path, `${fieldPath(path)} "${ip}" is not an IPv4 address`);
      return undefined;
    }
    const special =
      n === 0
        ? 'may not be unspecified (0.0.0.0)'
        : n >>> 24 === 127
          ? 'may not be in the loopback range (127.0.0.0/8)'
          : n >>> 16 === 0xa9fe
            ? 'may not be in the link-local range (169.254.0.0/16)'
            : n >>> 8 === 0xe00000
              ? 'may not be in the link-local multicast range (224.0.0.0/24)'
              : undefined;
    if (special) this.error(path, `${fieldPath(path)} "${ip}" ${special}`, 'use the address of a pod or of a server outside the cluster');
    return special ? undefined : ip;
  }

  private targetRef(value: unknown, path: Path): string | null {
    const m = this.map(value, path);
    if (!m) return null;
    this.fields(m, path, ['kind', 'name', 'namespace'], TARGET_REF_UNMODELLED);
    const kind = this.string(m.kind, [...path, 'kind']);
    const name = this.string(m.name, [...path, 'name']);
    this.string(m.namespace, [...path, 'namespace']);
    return kind === 'Pod' && name !== undefined ? name : null;
  }

  /** Endpoints and EndpointSlice ports: names are DNS-1123 labels, unique; required when several. */
  private slicePorts(value: unknown, path: Path, kind: 'Endpoints' | 'EndpointSlice'): SlicePort[] {
    const list = this.list(value, path) ?? [];
    const out: SlicePort[] = [];
    const names = new Set<string>();
    list.forEach((v, i) => {
      const p = [...path, i];
      const m = this.map(v, p);
      if (!m) return;
      this.fields(m, p, ['name', 'port', 'protocol'], ['appProtocol']);
      // EndpointSlice ports default a missing name to "" (SetDefaults_EndpointPort), which is
      // what matches an unnamed Service port.
      const name = this.string(m.name, [...p, 'name']) ?? '';
      if (name === '' && kind === 'Endpoints' && list.length > 1) {
        this.error(p, `${fieldPath([...p, 'name'])} is required when there is more than one port`, "use the Service port's name");
      } else if (name !== '' && !isDns1123Label(name)) {
        this.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${name}" is not a DNS-1123 label`, LABEL_HINT);
      } else if (names.has(name)) {
        this.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${name}" is used by another port`, 'port names are unique');
      }
      names.add(name);
      const port = this.port(
        m.port,
        [...p, 'port'],
        kind === 'EndpointSlice'
          ? 'knetlab does not model all-ports slices: give the port the endpoints listen on'
          : 'add port: the port the endpoints listen on',
      );
      const protocol = this.oneOf(m.protocol ?? 'TCP', [...p, 'protocol'], PROTOCOLS) ?? 'TCP';
      if (port !== undefined) out.push({ name, port, protocol });
    });
    return out;
  }

  private endpointSlice(obj: Json, labels: Record<string, string>): EndpointSliceSpec | undefined {
    const addressType = this.string(obj.addressType, ['addressType'], 'add addressType: IPv4');
    if (addressType !== undefined && addressType !== 'IPv4') {
      this.error(
        ['addressType'],
        `addressType "${addressType}" is not supported`,
        addressType === 'IPv6' || addressType === 'FQDN'
          ? 'knetlab clusters are IPv4 single-stack; use addressType: IPv4'
          : 'the values are IPv4, IPv6 and FQDN; knetlab supports IPv4',
      );
    }
    const endpoints: SliceEndpoint[] = [];
    (this.list(obj.endpoints, ['endpoints']) ?? []).forEach((v, i) => {
      const p: Path = ['endpoints', i];
      const m = this.map(v, p);
      if (!m) return;
      this.fields(m, p, ['addresses', 'conditions', 'nodeName', 'targetRef'], ['hostname', 'zone', 'hints', 'deprecatedTopology']);
      const addresses = this.list(m.addresses, [...p, 'addresses'], 'add addresses: [the endpoint IP]') ?? [];
      if (m.addresses !== undefined && addresses.length === 0) this.error([...p, 'addresses'], `endpoints[${i}].addresses must have at least one address`);
      if (addresses.length > 1) this.warn([...p, 'addresses', 1], `endpoints[${i}].addresses has more than one address: kube-proxy uses only the first`);
      const address = addresses.length > 0 ? this.endpointIP(addresses[0], [...p, 'addresses', 0]) : undefined;
      const c = this.map(m.conditions, [...p, 'conditions']) ?? {};
      this.fields(c, [...p, 'conditions'], ['ready', 'serving', 'terminating'], []);
      // kube-proxy reads an unset ready or serving as true, an unset terminating as false.
      const conditions = {
        ready: this.boolean(c.ready, [...p, 'conditions', 'ready']) ?? true,
        serving: this.boolean(c.serving, [...p, 'conditions', 'serving']) ?? true,
        terminating: this.boolean(c.terminating, [...p, 'conditions', 'terminating']) ?? false,
      };
      const nodeName = this.string(m.nodeName, [...p, 'nodeName']) ?? null;
      const pod = this.targetRef(m.targetRef, [...p, 'targetRef']);
      if (address !== undefined) endpoints.push({ address, conditions, nodeName, pod });
    });
    const ports = this.slicePorts(obj.ports, ['ports'], 'EndpointSlice');
    const service = labels['kubernetes.io/service-name'];
    if (service === undefined) {
      this.error(
        ['metadata', 'labels'],
        'an EndpointSlice needs the label kubernetes.io/service-name',
        "kube-proxy finds a Service's slices by this label: add kubernetes.io/service-name: <service name> under metadata.labels",
      );
      return undefined;
    }
    return { service, ports, endpoints };
  }
}
