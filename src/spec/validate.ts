// Validation and resolution: as-written data → every error collected → a resolved Lab.
// Shape errors come from the JSON Schema (ajv); meaning errors (references, addresses, names)
// from the checks below. Both point at file:line:column with a hint.

import { dirname, isAbsolute, relative, resolve as resolvePath } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import type { Diagnostic } from './diagnostics.js';
import { LabFileError } from './diagnostics.js';
import { positionOf, readSource, type SourceDoc } from './read.js';
import { LabSchema, type RawCheck, type RawLab, type RawNamespace, type RawRoute } from './schema.js';
import { contains, formatCidr, parseCidr, parseIPv4 } from './net.js';
import { cidrsOf } from './lab.js';
import type { Bridge, Check, Expectation, Interface, Lab, Namespace, NatRule, Probe, Route, VethLink } from './types.js';

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

/** Read, validate and resolve a lab file. Throws LabFileError with every diagnostic. */
export function loadLabFile(file: string, text?: string): LoadResult {
  const abs = resolvePath(file);
  // Messages name the file as the user would: relative to where they are, when it is below.
  const shown = relative(process.cwd(), abs);
  const src = readSource(shown.startsWith('..') || isAbsolute(shown) ? abs : shown, text);
  const diags = [...src.diagnostics];
  let lab: Lab | undefined;
  if (!diags.some((d) => d.severity === 'error')) {
    const v = new Validator(src, abs);
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
    for (const doc of this.src.extra) {
      this.diags.push({
        file: this.src.file,
        pos: doc.pos,
        severity: 'error',
        message: 'this lab file has more than one YAML document',
        hint: 'put the whole lab in one document (Kubernetes manifests as further documents need a cluster section, which this lab format version does not have yet)',
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
    const nsNames = Object.keys(raw.topology.namespaces);
    if (nsNames.length === 0) this.error(['topology', 'namespaces'], 'the lab has no namespaces', 'add at least one namespace under topology.namespaces');
    for (const name of nsNames) {
      const path: Path = ['topology', 'namespaces', name];
      if (!NAME_RE.test(name) || name.length > 24) {
        this.error(path, `invalid namespace name "${name}"`, 'use lowercase letters, digits and dashes, at most 24 characters, e.g. "node1"', 'key');
      }
      namespaces.set(name, this.namespace(name, raw.topology.namespaces[name]!, path));
    }
    const links = this.links(raw, namespaces);
    this.crossChecks(namespaces, links);
    const checks = (raw.checks ?? []).map((c, i) => this.check(c, ['checks', i], namespaces));
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
      observe,
      checks,
    };
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
      server = { port: s.port ?? 80, pod: s.pod ?? name, node: s.node ?? name };
    }
    return { name, description: raw.description ?? '', sysctls, bridges, interfaces, routes, nat, server };
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
    return { to: r.to, via: r.via ?? null, dev: r.dev ?? null, onlink: r.onlink ?? false, src: r.src ?? null, metric: r.metric ?? null, type };
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

  private links(raw: RawLab, namespaces: Map<string, Namespace>): VethLink[] {
    const used = new Map<string, number>();
    return (raw.topology.links ?? []).map((l, i) => {
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
        const connected = cidrsOf(ns)
          .map(parseCidr)
          .some((c) => c && contains(c, gw));
        if (!connected)
          this.warn(
            ['topology', 'namespaces', ns.name, 'routes', idx, 'via'],
            `gateway ${r.via} is not on any subnet of ${ns.name}; the kernel will refuse the route ("Nexthop has invalid gateway")`,
            'use a gateway on a connected subnet, or set onlink: true with dev',
          );
      });
    }
  }

  private check(c: RawCheck, p: Path, namespaces: Map<string, Namespace>): Check {
    const kinds = (['ping', 'tcp', 'http', 'link'] as const).filter((k) => c[k] !== undefined);
    if (!namespaces.has(c.from)) this.unknownNamespace([...p, 'from'], c.from, namespaces);
    if (kinds.length !== 1)
      this.error(
        p,
        kinds.length ? `a check takes one of ping, tcp, http or link, not ${kinds.join(' and ')}` : 'a check needs one of ping, tcp, http or link',
        'split it into one check per probe',
      );
    const probe = this.probe(c, p, kinds[0] ?? 'ping', namespaces);
    const expect = this.expectation(c, p, probe);
    let timeoutMs = DEFAULT_TIMEOUT_MS;
    if (typeof c.timeout === 'number') timeoutMs = c.timeout * 1000;
    else if (typeof c.timeout === 'string') timeoutMs = c.timeout.endsWith('ms') ? Number(c.timeout.slice(0, -2)) : Number(c.timeout.slice(0, -1)) * 1000;
    if (timeoutMs > 120_000) this.error([...p, 'timeout'], 'timeout is over 120s', 'checks retry until their timeout; keep it short');
    return { name: c.name ?? defaultCheckName(c.from, probe, expect), from: c.from, probe, expect, timeoutMs, line: positionOf(this.src, p).line };
  }

  private probe(c: RawCheck, p: Path, kind: 'ping' | 'tcp' | 'http' | 'link', namespaces: Map<string, Namespace>): Probe {
    if (c.requests !== undefined && kind !== 'http') this.error([...p, 'requests'], 'requests applies to http checks only');
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
      case 'link': {
        const ns = namespaces.get(c.from);
        const ifn = c.link ?? '';
        if (ns && !ns.interfaces.some((i) => i.name === ifn) && !ns.bridges.some((b) => b.name === ifn)) {
          this.error(
            [...p, 'link'],
            `interface "${ifn}" is not in namespace ${c.from}`,
            `interfaces in ${c.from}: ${[...ns.bridges, ...ns.interfaces].map((i) => i.name).join(', ') || 'none'}`,
          );
        }
        return { kind, interface: ifn };
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
      master: e.master ?? null,
      state: e.state ?? null,
      mtu: e.mtu ?? null,
    };
    const only = (fields: (keyof typeof e)[], kind: Probe['kind']) => {
      for (const f of fields) if (e[f] !== undefined && probe.kind !== kind) this.error([...p, 'expect', f], `expect.${f} applies to ${kind} checks only`);
    };
    only(['status', 'bodyContains', 'json', 'backends', 'minShare'], 'http');
    only(['master', 'state', 'mtu'], 'link');
    if (probe.kind === 'link' && c.expect === 'unreachable') this.error([...p, 'expect'], 'a link check cannot expect unreachable');
    if (!reachable && (out.status ?? out.bodyContains ?? out.json ?? out.backends) !== null)
      this.error([...p, 'expect'], 'an unreachable check cannot also expect a response');
    if (e.minShare !== undefined && !e.backends)
      this.error([...p, 'expect', 'minShare'], 'minShare needs backends', 'list the pods that must answer under expect.backends');
    if (e.backends && probe.kind === 'http' && probe.requests < e.backends.length)
      this.error(
        [...p, 'requests'],
        `${probe.requests} request(s) cannot reach ${e.backends.length} backends`,
        `set requests to at least ${e.backends.length}, e.g. ${e.backends.length * 20}`,
      );
    return out;
  }
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
function closest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
