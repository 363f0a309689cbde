// Validation and resolution: as-written data → every error collected → a resolved Lab.
// Shape errors come from the JSON Schema (ajv); meaning errors (references, addresses, names)
// from the checks below. Both point at file:line:column with a hint.

import { closest } from './suggest.js';
import { dirname, isAbsolute, relative, resolve as resolvePath } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import type { Diagnostic } from './diagnostics.js';
import { LabFileError } from './diagnostics.js';
import { laterDocuments, positionOf, readSource, type SourceDoc } from './read.js';
import { LabSchema, type RawCheck, type RawExpect, type RawLab, type RawNamespace, type RawRoute } from './schema.js';
import { contains, formatCidr, parseCidr, parseIPv4 } from './net.js';
import { cidrsOf } from './routes.js';
import { resolveCluster } from './cluster.js';
import { readFileSync } from 'node:fs';
import type { Bridge, Check, Cluster, Expectation, Interface, Lab, Namespace, NatRule, Probe, Route, VethLink } from './types.js';

type Path = (string | number)[];

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
ajv.addKeyword('x-hint');
const validateShape = ajv.compile(LabSchema);

const NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
/** Words that go into generated config files (nginx) and tutorials: keep them plain. */
const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Only per-namespace network sysctls: anything else would change the whole machine. */
const SYSCTL_PREFIXES = ['net.ipv4.', 'net.ipv6.', 'net.bridge.'];
const DEFAULT_TIMEOUT_MS = 5000;
const VALUE_KEYWORDS = new Set(['pattern', 'maxLength', 'minLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);
const isEnum = (e: ErrorObject) => Array.isArray(e.schema) && (e.schema as { const?: unknown }[]).every((s) => s.const !== undefined);

export interface LoadResult {
  lab: Lab;
  warnings: Diagnostic[];
}

/** A manifest's text and the name messages give its file. */
export interface ManifestSource {
  file: string;
  text: string;
}

/**
 * What becomes of a cluster's manifests: read, reconciled and placed on the nodes by the caller
 * (the Kubernetes side lives above the lab file format). Returns their diagnostics.
 */
export type ManifestHook = (c: Cluster, sources: ManifestSource[]) => Diagnostic[];

/**
 * Read, validate and resolve a lab file. `manifests` receives the cluster's Kubernetes manifests
 * (files named under manifests:, then the documents after the lab); without it they are not read.
 */
export function readLabFile(file: string, text?: string, manifests?: ManifestHook): LoadResult {
  const abs = resolvePath(file);
  // Messages name the file as the user would: relative to where they are, when it is below.
  const shown = relative(process.cwd(), abs);
  const source = text ?? readFileSync(abs, 'utf8');
  const src = readSource(shown.startsWith('..') || isAbsolute(shown) ? abs : shown, source);
  const diags = [...src.diagnostics];
  let lab: Lab | undefined;
  if (!diags.some((d) => d.severity === 'error')) {
    const v = new Validator(src, abs, source, manifests);
    lab = v.run();
    diags.push(...v.diags);
  }
  const errors = diags.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !lab) throw new LabFileError(sortDiags(diags));
  return { lab, warnings: diags.filter((d) => d.severity === 'warning') };
}

function sortDiags(d: Diagnostic[]): Diagnostic[] {
  return [...d].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
}

class Validator {
  readonly diags: Diagnostic[] = [];
  constructor(
    private readonly src: SourceDoc,
    private readonly abs: string,
    private readonly text: string,
    private readonly manifests: ManifestHook | undefined,
  ) {}

  error(path: Path, message: string, hint?: string, at: 'key' | 'value' = 'value'): void {
    const pos = positionOf(this.src, path, at);
    // A name can fail both the schema's pattern and a meaning check: report one error per place.
    if (this.diags.some((d) => d.severity === 'error' && d.pos.line === pos.line && d.pos.col === pos.col)) return;
    this.diags.push({ file: this.src.file, pos: positionOf(this.src, path, at), severity: 'error', message, hint });
  }

  warn(path: Path, message: string, hint?: string): void {
    this.diags.push({ file: this.src.file, pos: positionOf(this.src, path), severity: 'warning', message, hint });
  }

  run(): Lab | undefined {
    const data = this.src.data;
    // Further documents are Kubernetes manifests; they need a cluster to run on.
    const hasCluster = typeof data === 'object' && data !== null && 'cluster' in data;
    if (!hasCluster && this.src.extra[0]) {
      this.diags.push({
        file: this.src.file,
        pos: this.src.extra[0].pos,
        severity: 'error',
        message: 'Kubernetes manifests after the lab need a cluster to run on',
        hint: 'add a cluster: section (nodes, underlay, cni), or remove the documents after the first "---"',
      });
    }
    if (!validateShape(data)) {
      const errors = shapeErrors(validateShape.errors ?? []);
      for (const e of errors) this.shapeError(e);
      // Errors in a value (a bad pattern, a number out of range) leave the structure intact:
      // go on, so the user sees the meaning errors too. Structural errors stop here.
      if (errors.some((e) => !VALUE_KEYWORDS.has(e.keyword) && !(e.keyword === 'anyOf' && isEnum(e)))) return undefined;
    }
    const raw = data as RawLab;
    const lab = this.resolve(raw);
    return this.diags.some((d) => d.severity === 'error') ? undefined : lab;
  }

  private shapeError(e: ErrorObject): void {
    const path = e.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const where = path.length ? path.join('.') : 'the lab';
    const schemaHint = (e.parentSchema as { 'x-hint'?: string; description?: string } | undefined)?.['x-hint'];
    switch (e.keyword) {
      case 'required': {
        const field = (e.params as { missingProperty: string }).missingProperty;
        const props = (e.parentSchema as { properties?: Record<string, { description?: string }> }).properties ?? {};
        this.error(path, `${where} is missing required field "${field}"`, props[field]?.description ?? `add "${field}:"`);
        return;
      }
      case 'additionalProperties': {
        const field = (e.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {}).filter((k) => k !== '$schema');
        const guess = closest(field, known);
        this.error(
          [...path, field],
          `unknown field "${field}" in ${where}`,
          guess ? `did you mean "${guess}"? (${where} takes: ${known.join(', ')})` : `${where} takes: ${known.join(', ')}`,
          'key',
        );
        return;
      }
      case 'type':
        this.error(path, `${where} must be ${article((e.params as { type: string }).type)}, not ${describe(e.data)}`, schemaHint);
        return;
      case 'anyOf': {
        const options = (e.schema as { const?: unknown }[]).map((s) => s.const);
        if (options.every((o) => o !== undefined)) {
          this.error(path, `${where} is ${JSON.stringify(e.data)}; it must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}`);
        } else {
          this.error(path, `${where} has an invalid value ${JSON.stringify(e.data)}`, schemaHint);
        }
        return;
      }
      case 'pattern':
        this.error(path, `${where} ${JSON.stringify(e.data)} is not valid`, schemaHint);
        return;
      case 'maxLength':
        this.error(path, `${where} ${JSON.stringify(e.data)} is longer than ${(e.params as { limit: number }).limit} characters`, schemaHint);
        return;
      default:
        this.error(path, `${where} ${e.message ?? 'is invalid'}${typeof e.data === 'string' ? ` (got "${e.data}")` : ''}`, schemaHint);
    }
  }

  private resolve(raw: RawLab): Lab {
    const namespaces = new Map<string, Namespace>();
    const topology = raw.topology ?? { namespaces: {} };
    const nsNames = Object.keys(topology.namespaces);
    if (!raw.cluster && !raw.topology) this.error([], 'the lab has neither a topology nor a cluster', 'add a topology: section, a cluster: section, or both');
    else if (!raw.cluster && nsNames.length === 0)
      this.error(['topology', 'namespaces'], 'the lab has no namespaces', 'add at least one namespace under topology.namespaces');
    if (raw.manifests && !raw.cluster) this.error(['manifests'], 'manifests need a cluster to run on', 'add a cluster: section (nodes, underlay, cni)', 'key');
    const expanded = raw.cluster
      ? resolveCluster(
          raw.cluster,
          (p, m, h, at) => this.error(p, m, h, at),
          (c) => this.kubernetes(c, raw),
        )
      : undefined;
    for (const ns of expanded?.namespaces ?? []) namespaces.set(ns.name, ns);
    for (const name of nsNames) {
      const path: Path = ['topology', 'namespaces', name];
      if (!NAME_RE.test(name) || name.length > 24) {
        this.error(path, `invalid namespace name "${name}"`, 'use lowercase letters, digits and dashes, at most 24 characters, e.g. "node1"', 'key');
      }
      if (namespaces.has(name)) this.error(path, `namespace "${name}" is already a node, a pod or the underlay of the cluster`, 'give it another name', 'key');
      namespaces.set(name, this.namespace(name, topology.namespaces[name]!, path));
    }
    const links = [...(expanded?.links ?? []), ...this.links(topology.links ?? [], namespaces)];
    this.crossChecks(namespaces, links);
    const checks = (raw.checks ?? []).map((c, i) => this.check(c, ['checks', i], namespaces, expanded?.cluster ?? null));
    const observe = (raw.observe ?? []).map((o, i) => {
      if (!namespaces.has(o.from)) this.unknownNamespace(['observe', i, 'from'], o.from, namespaces);
      o.run.forEach((arg, j) => {
        if (/[\n\0]/.test(arg)) this.error(['observe', i, 'run', j], 'command arguments cannot contain newlines');
      });
      return { from: o.from, argv: o.run, why: o.why ?? '' };
    });
    return {
      name: raw.name,
      title: raw.title,
      source: raw.source ?? '',
      description: raw.description ?? '',
      file: this.abs,
      dir: dirname(this.abs),
      namespaces: [...namespaces.values()],
      links,
      cluster: expanded?.cluster ?? null,
      observe,
      checks,
    };
  }

  /** Read the lab's manifests (files, then documents after the lab) and put their pods on the nodes. */
  private kubernetes(c: Cluster, raw: RawLab): void {
    if (!this.manifests || this.diags.some((d) => d.severity === 'error')) return; // allocation needs sound nodes
    const sources: ManifestSource[] = [];
    (raw.manifests ?? []).forEach((m, i) => {
      const abs = resolvePath(dirname(this.abs), m);
      try {
        sources.push({ file: relative(process.cwd(), abs).startsWith('..') ? abs : relative(process.cwd(), abs), text: readFileSync(abs, 'utf8') });
      } catch (e) {
        this.error(
          ['manifests', i],
          `cannot read manifest ${m}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          'paths are relative to the lab folder',
        );
      }
    });
    const later = laterDocuments(this.text);
    if (later !== null) sources.push({ file: this.src.file, text: later });
    if (!sources.length) return;
    this.diags.push(...this.manifests(c, sources));
  }

  private namespace(name: string, raw: RawNamespace, path: Path): Namespace {
    const sysctls: [string, string][] = Object.entries(raw.sysctls ?? {}).map(([k, v]) => {
      const value = String(v);
      if (!SYSCTL_PREFIXES.some((p) => k.startsWith(p)) || !/^[a-z0-9_.-]+$/.test(k)) {
        this.error(
          [...path, 'sysctls', k],
          `sysctl "${k}" is not a per-namespace network setting`,
          `only ${SYSCTL_PREFIXES.map((p) => p + '*').join(', ')} may be set: other sysctls would change the whole machine`,
          'key',
        );
      }
      if (!/^[A-Za-z0-9_. -]+$/.test(value)) this.error([...path, 'sysctls', k], `sysctl value "${value}" has characters sysctl does not take`);
      return [k, value];
    });
    const bridges: Bridge[] = Object.entries(raw.bridges ?? {}).map(([br, b]) => {
      const p = [...path, 'bridges', br];
      this.ifname(p, br);
      return { name: br, addresses: this.cidrs(p, b.addresses), mac: b.mac?.toLowerCase() ?? null, mtu: b.mtu ?? null };
    });
    const interfaces: Interface[] = Object.entries(raw.interfaces ?? {}).map(([ifn, i]) => {
      const p = [...path, 'interfaces', ifn];
      this.ifname(p, ifn);
      if (bridges.some((b) => b.name === ifn))
        this.error(p, `"${ifn}" is declared both as a bridge and as an interface in namespace ${name}`, 'give them different names', 'key');
      if (i.master !== undefined && !bridges.some((b) => b.name === i.master)) {
        this.error(
          [...p, 'master'],
          `master "${i.master}" is not a bridge in namespace ${name}`,
          bridges.length ? `bridges in ${name}: ${bridges.map((b) => b.name).join(', ')}` : `declare it under topology.namespaces.${name}.bridges`,
        );
      }
      return {
        name: ifn,
        addresses: this.cidrs(p, i.addresses),
        mac: i.mac?.toLowerCase() ?? null,
        mtu: i.mtu ?? null,
        master: i.master ?? null,
        up: i.up ?? true,
      };
    });
    const devices = new Set([...bridges.map((b) => b.name), ...interfaces.map((i) => i.name), 'lo']);
    const routes: Route[] = (raw.routes ?? []).map((r, i) => this.route(r, [...path, 'routes', i], devices, name));
    const nat: NatRule[] = (raw.nat ?? []).map((r, i) => {
      const p = [...path, 'nat', i];
      for (const f of ['source', 'destination'] as const) {
        const v = r[f];
        if (v !== undefined && !parseCidr(v) && parseIPv4(v) === undefined)
          this.error([...p, f], `${f} "${v}" is not an IPv4 address or CIDR`, 'e.g. 172.17.0.0/16');
      }
      for (const f of ['inInterface', 'notInInterface', 'outInterface', 'notOutInterface'] as const) {
        const v = r[f];
        if (v !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}\+?$/.test(v))
          this.error([...p, f], `${f} "${v}" is not an interface name`, 'an interface name, optionally ending in "+" to match a prefix');
      }
      if (r.dport !== undefined && r.protocol === undefined) this.error([...p, 'dport'], 'dport needs a protocol', 'add protocol: tcp or protocol: udp');
      if (r.jump === 'SNAT' && !r.toSource) this.error(p, 'SNAT needs toSource', 'add toSource: <address>');
      if (r.jump === 'DNAT' && !r.toDestination) this.error(p, 'DNAT needs toDestination', 'add toDestination: <address>[:port]');
      if (r.toSource !== undefined && parseIPv4(r.toSource) === undefined) this.error([...p, 'toSource'], `toSource "${r.toSource}" is not an IPv4 address`);
      if (r.toDestination !== undefined && !/^\d+\.\d+\.\d+\.\d+(:\d{1,5})?$/.test(r.toDestination))
        this.error([...p, 'toDestination'], `toDestination "${r.toDestination}" is not address[:port]`);
      if (r.comment !== undefined && !/^[A-Za-z0-9 _.,:/()-]*$/.test(r.comment))
        this.error([...p, 'comment'], 'comment may only hold letters, digits, spaces and _.,:/()-');
      return {
        chain: r.chain,
        source: r.source ?? null,
        destination: r.destination ?? null,
        inInterface: r.inInterface ?? null,
        notInInterface: r.notInInterface ?? null,
        outInterface: r.outInterface ?? null,
        notOutInterface: r.notOutInterface ?? null,
        protocol: r.protocol ?? null,
        dport: r.dport ?? null,
        jump: r.jump,
        toSource: r.toSource ?? null,
        toDestination: r.toDestination ?? null,
        comment: r.comment ?? null,
      };
    });
    let server = null;
    if (raw.server) {
      const s = raw.server;
      for (const f of ['pod', 'node'] as const) {
        const v = s[f];
        if (v !== undefined && !LABEL_RE.test(v))
          this.error([...path, 'server', f], `server.${f} "${v}" must be a plain name`, 'letters, digits, "_", "." and "-", at most 63 characters');
      }
      server = { ports: [s.port ?? 80], pod: s.pod ?? name, node: s.node ?? name, addresses: [] as string[], readinessPaths: [] };
    }
    const ns: Namespace = { name, description: raw.description ?? '', sysctls, bridges, interfaces, routes, nat, server };
    if (server) server.addresses = cidrsOf(ns).map((a) => a.split('/')[0]!);
    return ns;
  }

  private route(r: RawRoute, p: Path, devices: Set<string>, ns: string): Route {
    const type = r.type ?? 'unicast';
    if (r.to !== 'default' && !parseCidr(r.to))
      this.error([...p, 'to'], `route destination "${r.to}" is not "default" or an IPv4 CIDR`, 'e.g. 10.244.1.0/24 or default');
    if (r.via !== undefined && parseIPv4(r.via) === undefined) this.error([...p, 'via'], `gateway "${r.via}" is not an IPv4 address`);
    if (r.src !== undefined && parseIPv4(r.src) === undefined) this.error([...p, 'src'], `src "${r.src}" is not an IPv4 address`);
    if (r.dev !== undefined && !devices.has(r.dev))
      this.error([...p, 'dev'], `device "${r.dev}" does not exist in namespace ${ns}`, `devices in ${ns}: ${[...devices].join(', ')}`);
    if (type === 'unicast' && r.via === undefined && r.dev === undefined)
      this.error(p, 'a route needs "via" or "dev"', 'add via: <gateway> or dev: <interface>');
    if (type !== 'unicast' && (r.via !== undefined || r.dev !== undefined)) this.error(p, `a ${type} route takes neither via nor dev`);
    if (r.onlink && (r.via === undefined || r.dev === undefined)) this.error([...p, 'onlink'], 'onlink needs both via and dev');
    return {
      to: r.to,
      via: r.via ?? null,
      dev: r.dev ?? null,
      onlink: r.onlink ?? false,
      src: r.src ?? null,
      metric: r.metric ?? null,
      type,
      proto: r.proto ?? null,
    };
  }

  private ifname(p: Path, name: string): void {
    if (!IFNAME_RE.test(name)) {
      this.error(
        p,
        `invalid interface name "${name}"${name.length > 15 ? ` (${name.length} characters)` : ''}`,
        'interface names are at most 15 characters (the kernel\'s IFNAMSIZ) of letters, digits, "_", "." and "-"',
        'key',
      );
    } else if (name === 'lo') {
      this.error(p, '"lo" is created by the kernel in every namespace', 'remove it: knetlab brings lo up by itself', 'key');
    }
  }

  private cidrs(p: Path, list: string[] | undefined): string[] {
    return (list ?? []).map((text, i) => {
      const c = parseCidr(text);
      if (!c) this.error([...p, 'addresses', i], `"${text}" is not an IPv4 address with prefix length`, 'e.g. 172.17.0.2/16');
      return c ? formatCidr(c) : text;
    });
  }

  private unknownNamespace(p: Path, name: string, namespaces: Map<string, Namespace>): void {
    const guess = closest(name, [...namespaces.keys()]);
    this.error(p, `namespace "${name}" is not in topology.namespaces`, guess ? `did you mean "${guess}"?` : `namespaces: ${[...namespaces.keys()].join(', ')}`);
  }

  private links(raw: NonNullable<RawLab['topology']>['links'] & object, namespaces: Map<string, Namespace>): VethLink[] {
    const used = new Map<string, number>();
    return raw.map((l, i) => {
      const ends = l.endpoints.map((text, j) => {
        const p: Path = ['topology', 'links', i, 'endpoints', j];
        const m = /^([^:]+):([^:]+)$/.exec(text);
        if (!m) {
          this.error(p, `endpoint "${text}" is not "namespace:interface"`, 'e.g. test1:veth-test1');
          return { namespace: '', interface: '' };
        }
        const [, ns, ifn] = m as unknown as [string, string, string];
        if (!namespaces.has(ns)) this.unknownNamespace(p, ns, namespaces);
        else if (!IFNAME_RE.test(ifn))
          this.error(
            p,
            `invalid interface name "${ifn}"${ifn.length > 15 ? ` (${ifn.length} characters, the kernel allows 15)` : ''}`,
            'interface names are at most 15 characters of letters, digits, "_", "." and "-"',
          );
        else if (namespaces.get(ns)!.bridges.some((b) => b.name === ifn))
          this.error(p, `"${ifn}" is a bridge in ${ns}; a veth end needs its own name`, `name the veth end and set master: ${ifn} on it`);
        const key = `${ns}:${ifn}`;
        if (used.has(key)) this.error(p, `interface ${key} is already used by link ${used.get(key)! + 1}`, 'each interface belongs to one link');
        used.set(key, i);
        return { namespace: ns, interface: ifn };
      });
      return { a: ends[0]!, b: ends[1]!, mtu: l.mtu ?? null };
    });
  }

  /** Interfaces must come from links; addresses must be unique. */
  private crossChecks(namespaces: Map<string, Namespace>, links: VethLink[]): void {
    const linked = new Set(links.flatMap((l) => [`${l.a.namespace}:${l.a.interface}`, `${l.b.namespace}:${l.b.interface}`]));
    const seen = new Map<string, string>();
    for (const ns of namespaces.values()) {
      for (const i of ns.interfaces) {
        if (!linked.has(`${ns.name}:${i.name}`)) {
          this.error(
            ['topology', 'namespaces', ns.name, 'interfaces', i.name],
            `interface ${i.name} in ${ns.name} is not created by any link`,
            `add a link with endpoint "${ns.name}:${i.name}" or remove the interface`,
            'key',
          );
        }
      }
      for (const dev of [...ns.bridges, ...ns.interfaces]) {
        dev.addresses.forEach((a, idx) => {
          const ip = a.split('/')[0]!;
          const kind = ns.bridges.includes(dev as Bridge) ? 'bridges' : 'interfaces';
          if (seen.has(ip))
            this.error(
              ['topology', 'namespaces', ns.name, kind, dev.name, 'addresses', idx],
              `address ${ip} is already assigned to ${seen.get(ip)}`,
              'every address in a lab must be unique',
            );
          seen.set(ip, `${ns.name}/${dev.name}`);
        });
      }
      ns.routes.forEach((r, idx) => {
        if (!r.via || r.onlink) return;
        const gw = parseIPv4(r.via)!;
        // Reachable directly: on a connected subnet, or covered by a device route ("169.254.1.1 dev eth0").
        const linkRoutes = ns.routes.filter((x) => x.dev && !x.via && x.type === 'unicast' && x.to !== 'default').map((x) => x.to);
        const connected = [...cidrsOf(ns), ...linkRoutes].map((c) => parseCidr(c.includes('/') ? c : `${c}/32`)).some((c) => c && contains(c, gw));
        if (!connected)
          this.warn(
            ['topology', 'namespaces', ns.name, 'routes', idx, 'via'],
            `gateway ${r.via} is not on any subnet of ${ns.name}; the kernel will refuse the route ("Nexthop has invalid gateway")`,
            'use a gateway on a connected subnet, or set onlink: true with dev',
          );
      });
    }
  }

  private check(c: RawCheck, p: Path, namespaces: Map<string, Namespace>, cluster: Cluster | null): Check {
    const kinds = PROBE_KINDS.filter((k) => c[k] !== undefined);
    if (!namespaces.has(c.from)) this.unknownNamespace([...p, 'from'], c.from, namespaces);
    if (kinds.length !== 1)
      this.error(
        p,
        kinds.length ? `a check takes one of ${PROBE_KINDS.join(', ')}, not ${kinds.join(' and ')}` : `a check needs one of ${PROBE_KINDS.join(', ')}`,
        'split it into one check per probe',
      );
    const probe = this.probe(c, p, kinds[0] ?? 'ping', namespaces, cluster);
    const expect = this.expectation(c, p, probe);
    const timeoutMs = c.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(c.timeout);
    if (timeoutMs > 120_000) this.error([...p, 'timeout'], 'timeout is over 120s', 'checks retry until their timeout; keep it short');
    const waitMs = c.wait === undefined ? 0 : durationMs(c.wait);
    if (waitMs > 120_000) this.error([...p, 'wait'], 'wait is over 120s', 'keep labs quick to run');
    return {
      name: c.name ?? defaultCheckName(c.from, probe, expect),
      from: c.from,
      probe,
      expect,
      timeoutMs,
      waitMs,
      line: positionOf(this.src, p).line,
    };
  }

  private probe(c: RawCheck, p: Path, kind: ProbeKind, namespaces: Map<string, Namespace>, cluster: Cluster | null): Probe {
    if (c.requests !== undefined && kind !== 'http') this.error([...p, 'requests'], 'requests applies to http checks only');
    for (const f of ['filter', 'during'] as const)
      if (c[f] !== undefined && kind !== 'capture') this.error([...p, f], `${f} applies to capture checks only`, undefined, 'key');
    const ns = namespaces.get(c.from);
    const devicesOf = (n: Namespace) => [...n.bridges, ...n.interfaces].map((i) => i.name);
    switch (kind) {
      case 'ping': {
        const address = c.ping ?? '';
        if (parseIPv4(address) === undefined) this.error([...p, 'ping'], `"${address}" is not an IPv4 address`, 'e.g. ping: 192.168.1.2');
        return { kind, address };
      }
      case 'tcp': {
        const m = /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(c.tcp ?? '');
        if (!m || parseIPv4(m[1]!) === undefined || Number(m[2]) < 1 || Number(m[2]) > 65535) {
          this.error([...p, 'tcp'], `"${c.tcp}" is not address:port`, 'e.g. tcp: 172.17.0.3:80');
          return { kind, address: '', port: 0 };
        }
        return { kind, address: m[1]!, port: Number(m[2]) };
      }
      case 'http': {
        let url: URL | undefined;
        try {
          url = new URL(c.http ?? '');
        } catch {
          /* reported below */
        }
        if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
          this.error([...p, 'http'], `"${c.http}" is not an http:// or https:// URL`, 'e.g. http: http://172.17.0.3/');
          return { kind, url: '', host: '', requests: 1 };
        }
        return { kind, url: url.href, host: url.hostname, requests: c.requests ?? 1 };
      }
      case 'link':
      case 'capture': {
        const ifn = (kind === 'link' ? c.link : c.capture) ?? '';
        // Devices a CNI creates (flannel.1, vxlan.calico, flannel0) are not in the topology: only
        // declared devices can be checked by name here, the rest by the kernel at run time.
        if (ns && !ns.interfaces.some((i) => i.name === ifn) && !ns.bridges.some((b) => b.name === ifn) && !cniDevices(cluster).includes(ifn)) {
          this.error([...p, kind], `interface "${ifn}" is not in namespace ${c.from}`, `interfaces in ${c.from}: ${devicesOf(ns).join(', ') || 'none'}`);
        }
        if (kind === 'link') return { kind, interface: ifn };
        const filter = c.filter ?? '';
        if (!/^[A-Za-z0-9 ._:/()!<>=&|-]*$/.test(filter)) this.error([...p, 'filter'], 'filter has characters tcpdump expressions do not use');
        if (!c.during) {
          this.error(p, 'a capture check needs "during": the traffic to send while capturing', 'e.g. during: { from: pod1, ping: 10.244.2.2 }');
          return { kind, interface: ifn, filter, during: { ...PLACEHOLDER_CHECK } };
        }
        const during = this.check({ from: c.during.from, ping: c.during.ping, http: c.during.http }, [...p, 'during'], namespaces, cluster);
        return { kind, interface: ifn, filter, during };
      }
      case 'route': {
        const to = c.route ?? '';
        if (to !== 'default' && !parseCidr(to) && parseIPv4(to) === undefined)
          this.error([...p, 'route'], `route "${to}" is not "default", an IPv4 address or a CIDR`, 'e.g. route: 10.244.2.0/24');
        return { kind, to };
      }
      case 'neigh': {
        const address = c.neigh ?? '';
        if (parseIPv4(address) === undefined) this.error([...p, 'neigh'], `"${address}" is not an IPv4 address`, 'e.g. neigh: 10.244.2.0');
        return { kind, address };
      }
      case 'fdb': {
        const dev = c.fdb ?? '';
        if (!IFNAME_RE.test(dev)) this.error([...p, 'fdb'], `"${dev}" is not an interface name`, 'e.g. fdb: flannel.1');
        return { kind, dev };
      }
      case 'bgp': {
        const protocol = c.bgp ?? '';
        if (!/^[A-Za-z0-9_]+$/.test(protocol)) this.error([...p, 'bgp'], `"${protocol}" is not a BIRD protocol name`, 'e.g. bgp: Mesh_192_168_56_12');
        if (!birdSpeakers(cluster).includes(c.from))
          this.error(
            [...p, 'from'],
            `${c.from} runs no BIRD`,
            'bgp checks run on the nodes of a calico cluster in bgp mode (and on the router when it reflects routes)',
          );
        return { kind, protocol };
      }
      case 'exec': {
        const argv = c.exec ?? [];
        argv.forEach((arg, j) => {
          if (/[\n\0]/.test(arg)) this.error([...p, 'exec', j], 'command arguments cannot contain newlines');
        });
        return { kind, argv };
      }
    }
  }

  private expectation(c: RawCheck, p: Path, probe: Probe): Expectation {
    const e = typeof c.expect === 'object' ? c.expect : {};
    const reachable = c.expect === 'unreachable' ? false : (e.reachable ?? true);
    const out: Expectation = {
      reachable,
      status: e.status ?? null,
      bodyContains: e.bodyContains ?? null,
      json: e.json ?? null,
      backends: e.backends ?? null,
      minShare: e.minShare ?? 0,
      failure: e.failure ?? null,
      master: e.master ?? null,
      state: e.state ?? null,
      mtu: e.mtu ?? null,
      present: e.present ?? true,
      via: e.via ?? null,
      dev: e.dev ?? null,
      onlink: e.onlink ?? null,
      proto: e.proto ?? null,
      type: e.type ?? null,
      lladdr: e.lladdr?.toLowerCase() ?? null,
      dst: e.dst ?? null,
      encap: e.encap ?? null,
      vni: e.vni ?? null,
      port: e.port ?? null,
      outer: e.outer ? { src: e.outer.src ?? null, dst: e.outer.dst ?? null } : null,
      inner: e.inner ? { src: e.inner.src ?? null, dst: e.inner.dst ?? null } : null,
    };
    for (const [field, kinds] of EXPECT_FIELDS) {
      if (e[field] !== undefined && !kinds.includes(probe.kind))
        this.error([...p, 'expect', field], `expect.${field} applies to ${kinds.join(', ')} checks only`, undefined, 'key');
    }
    if (e.reachable !== undefined || c.expect === 'unreachable' || c.expect === 'reachable') {
      if (!['ping', 'tcp', 'http'].includes(probe.kind))
        this.error(
          [...p, 'expect'],
          `a ${probe.kind} check cannot expect reachable or unreachable`,
          probe.kind in PRESENCE ? 'use expect: { present: false }' : undefined,
        );
    }
    if (e.state !== undefined) {
      const allowed = STATES[probe.kind];
      if (allowed && !allowed.includes(e.state))
        this.error([...p, 'expect', 'state'], `state "${e.state}" is not a ${probe.kind} state`, `one of ${allowed.join(', ')}`);
    }
    for (const f of ['via', 'dst'] as const)
      if (e[f] !== undefined && parseIPv4(e[f]!) === undefined) this.error([...p, 'expect', f], `${f} "${e[f]}" is not an IPv4 address`);
    for (const pair of ['outer', 'inner'] as const)
      for (const f of ['src', 'dst'] as const) {
        const v = e[pair]?.[f];
        if (v !== undefined && parseIPv4(v) === undefined) this.error([...p, 'expect', pair, f], `${pair}.${f} "${v}" is not an IPv4 address`);
      }
    if (probe.kind === 'capture' && e.encap === undefined && e.present !== false)
      this.error([...p, 'expect'], 'a capture check needs expect.encap', "vxlan, udp (flannel's UDP backend) or none (plain routed packets)");
    if (e.vni !== undefined && e.encap !== 'vxlan') this.error([...p, 'expect', 'vni'], 'vni needs encap: vxlan');
    if (!out.present && Object.keys(e).some((k) => k !== 'present'))
      this.error([...p, 'expect'], 'an entry that must be absent has no other fields to match', 'keep only present: false');
    if (reachable && out.failure !== null) this.error([...p, 'expect', 'failure'], 'failure needs reachable: false', 'add reachable: false');
    if (!reachable && (out.status ?? out.bodyContains ?? out.json ?? out.backends) !== null)
      this.error([...p, 'expect'], 'an unreachable check cannot also expect a response');
    if (e.minShare !== undefined && !e.backends)
      this.error([...p, 'expect', 'minShare'], 'minShare needs backends', 'list the pods that must answer under expect.backends');
    const wanted = typeof e.backends === 'number' ? e.backends : (e.backends?.length ?? 0);
    if (e.backends !== undefined && probe.kind === 'http' && probe.requests < wanted)
      this.error([...p, 'requests'], `${probe.requests} request(s) cannot reach ${wanted} backends`, `set requests to at least ${wanted}, e.g. ${wanted * 20}`);
    if (probe.kind === 'exec' && typeof c.expect === 'object' && Object.keys(e).length)
      this.error([...p, 'expect'], 'an exec step has nothing to expect but its exit status 0', 'remove expect');
    return out;
  }
}

function durationMs(d: number | string): number {
  if (typeof d === 'number') return d * 1000;
  return d.endsWith('ms') ? Number(d.slice(0, -2)) : Number(d.slice(0, -1)) * 1000;
}

const PROBE_KINDS = ['ping', 'tcp', 'http', 'link', 'route', 'neigh', 'fdb', 'bgp', 'capture', 'exec'] as const;
type ProbeKind = (typeof PROBE_KINDS)[number];
const PRESENCE = { route: 1, neigh: 1, fdb: 1, capture: 1 };
const EXPECT_FIELDS: [keyof RawExpect, ProbeKind[]][] = [
  ['status', ['http']],
  ['bodyContains', ['http']],
  ['json', ['http']],
  ['backends', ['http']],
  ['minShare', ['http']],
  ['failure', ['tcp', 'http']],
  ['master', ['link']],
  ['mtu', ['link']],
  ['state', ['link', 'neigh', 'fdb', 'bgp']],
  ['present', ['route', 'neigh', 'fdb', 'capture']],
  ['via', ['route']],
  ['onlink', ['route']],
  ['proto', ['route']],
  ['type', ['route']],
  ['dev', ['route', 'neigh']],
  ['lladdr', ['neigh', 'fdb']],
  ['dst', ['fdb']],
  ['encap', ['capture']],
  ['vni', ['capture']],
  ['port', ['capture']],
  ['outer', ['capture']],
  ['inner', ['capture']],
];
const STATES: Partial<Record<ProbeKind, string[]>> = {
  link: ['UP', 'DOWN', 'UNKNOWN'],
  neigh: ['PERMANENT', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'INCOMPLETE', 'FAILED', 'NOARP'],
  fdb: ['permanent'],
  bgp: ['Established', 'Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm'],
};
const PLACEHOLDER_CHECK: Check = {
  name: '',
  from: '',
  probe: { kind: 'ping', address: '' },
  expect: {} as Expectation,
  timeoutMs: DEFAULT_TIMEOUT_MS,
  waitMs: 0,
  line: 0,
};

/** Devices a cluster's CNI creates on its nodes. */
function cniDevices(cluster: Cluster | null): string[] {
  if (!cluster) return [];
  if (cluster.cni.type === 'flannel') return { vxlan: ['flannel.1'], udp: ['flannel0'], 'host-gw': [] }[cluster.cni.backend];
  if (cluster.cni.type === 'calico') return cluster.cni.mode === 'vxlan' ? ['vxlan.calico'] : [];
  return ['cni0'];
}

/** The namespaces that run BIRD. */
export function birdSpeakers(cluster: Cluster | null): string[] {
  if (!cluster || cluster.cni.type !== 'calico' || cluster.cni.mode !== 'bgp') return [];
  // With a route reflector on a routed underlay the router runs BIRD too (as the reflector, or as its peer).
  const router = cluster.cni.routeReflector !== null && cluster.underlay.kind === 'router';
  return [...cluster.nodes.map((n) => n.name), ...(router ? [cluster.underlay.namespace] : [])];
}

export function defaultCheckName(from: string, probe: Probe, expect: Expectation): string {
  const verb = expect.reachable ? '' : 'cannot ';
  switch (probe.kind) {
    case 'ping':
      return `${from} ${verb}ping${expect.reachable ? 's' : ''} ${probe.address}`;
    case 'tcp':
      return `${from} ${verb}connect${expect.reachable ? 's' : ''} to ${probe.address}:${probe.port}`;
    case 'http':
      return `${from} ${verb}GET${expect.reachable ? 's' : ''} ${probe.url}${probe.requests > 1 ? ` ×${probe.requests}` : ''}`;
    case 'link':
      return `${from} has link ${probe.interface}`;
    case 'route':
      return `${from} ${expect.present ? 'has a' : 'has no'} route to ${probe.to}`;
    case 'neigh':
      return `${from} ${expect.present ? 'has a' : 'has no'} neighbour entry for ${probe.address}`;
    case 'fdb':
      return `${from} ${expect.present ? 'has an' : 'has no'} FDB entry on ${probe.dev}${expect.dst ? ` to ${expect.dst}` : ''}`;
    case 'bgp':
      return `${from}'s BGP session ${probe.protocol} is ${expect.state ?? 'Established'}`;
    case 'capture':
      return `${probe.during.name}, captured on ${from} ${probe.interface}`;
    case 'exec':
      return `in ${from}: ${probe.argv.join(' ')}`;
  }
}

/** Keep the errors that say something: drop the branch noise of anyOf. */
function shapeErrors(errors: ErrorObject[]): ErrorObject[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  let rest = errors.filter((e) => e.keyword !== 'anyOf');
  const out: ErrorObject[] = [];
  for (const a of anyOfs) {
    const branch = rest.filter((e) => e.schemaPath.startsWith(a.schemaPath + '/'));
    rest = rest.filter((e) => !branch.includes(e));
    const meaningful = branch.filter((e) => !['type', 'const', 'enum'].includes(e.keyword) && !(e.keyword === 'pattern' && e.instancePath === a.instancePath));
    out.push(...(meaningful.length ? meaningful : [a]));
  }
  return [...out, ...rest];
}

function article(type: string): string {
  return { object: 'a map', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false' }[type] ?? type;
}

function describe(v: unknown): string {
  if (v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The known word closest to a typo, if it is close enough to be a likely intent. */
