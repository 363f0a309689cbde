// The topology part of a lab file: namespaces (sysctls, bridges, interfaces, routes, NAT, the
// echo server), veth links, and the checks across them (names, addresses used twice, devices that
// must exist). Each function reports through the Context and returns the resolved value.

import type { RawLab, RawNamespace, RawRoute } from './schema.js';
import { contains, formatCidr, parseCidr, parseIPv4 } from './net.js';
import { cidrsOf } from './routes.js';
import { closest } from './suggest.js';
import { readIpsets, readIptables } from './netfilter.js';
import type { Context, Path } from './context.js';
import type { Bridge, Interface, Namespace, NatRule, Route, VethLink } from './types.js';

export const NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
export const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
/** Words that go into generated config files (nginx) and tutorials: keep them plain. */
const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Only per-namespace network sysctls: anything else would change the whole machine. */
const SYSCTL_PREFIXES = ['net.ipv4.', 'net.ipv6.', 'net.bridge.'];

export function readNamespace(cx: Context, name: string, raw: RawNamespace, path: Path): Namespace {
  const sysctls: [string, string][] = Object.entries(raw.sysctls ?? {}).map(([k, v]) => {
    const value = String(v);
    if (!SYSCTL_PREFIXES.some((p) => k.startsWith(p)) || !/^[a-z0-9_.-]+$/.test(k)) {
      cx.error(
        [...path, 'sysctls', k],
        `sysctl "${k}" is not a per-namespace network setting`,
        `only ${SYSCTL_PREFIXES.map((p) => p + '*').join(', ')} may be set: other sysctls would change the whole machine`,
        'key',
      );
    }
    if (!/^[A-Za-z0-9_. -]+$/.test(value)) cx.error([...path, 'sysctls', k], `sysctl value "${value}" has characters sysctl does not take`);
    return [k, value];
  });
  const bridges: Bridge[] = Object.entries(raw.bridges ?? {}).map(([br, b]) => {
    const p = [...path, 'bridges', br];
    checkIfname(cx, p, br);
    return { name: br, addresses: readCidrs(cx, p, b.addresses), mac: b.mac?.toLowerCase() ?? null, mtu: b.mtu ?? null };
  });
  const interfaces: Interface[] = Object.entries(raw.interfaces ?? {}).map(([ifn, i]) => {
    const p = [...path, 'interfaces', ifn];
    checkIfname(cx, p, ifn);
    if (bridges.some((b) => b.name === ifn))
      cx.error(p, `"${ifn}" is declared both as a bridge and as an interface in namespace ${name}`, 'give them different names', 'key');
    if (i.master !== undefined && !bridges.some((b) => b.name === i.master)) {
      cx.error(
        [...p, 'master'],
        `master "${i.master}" is not a bridge in namespace ${name}`,
        bridges.length ? `bridges in ${name}: ${bridges.map((b) => b.name).join(', ')}` : `declare it under topology.namespaces.${name}.bridges`,
      );
    }
    return {
      name: ifn,
      addresses: readCidrs(cx, p, i.addresses),
      mac: i.mac?.toLowerCase() ?? null,
      mtu: i.mtu ?? null,
      master: i.master ?? null,
      hairpin: false,
      up: i.up ?? true,
    };
  });
  const devices = new Set([...bridges.map((b) => b.name), ...interfaces.map((i) => i.name), 'lo']);
  const routes: Route[] = (raw.routes ?? []).map((r, i) => readRoute(cx, r, [...path, 'routes', i], devices, name));
  const nat: NatRule[] = (raw.nat ?? []).map((r, i) => {
    const p = [...path, 'nat', i];
    for (const f of ['source', 'destination'] as const) {
      const v = r[f];
      if (v !== undefined && !parseCidr(v) && parseIPv4(v) === undefined)
        cx.error([...p, f], `${f} "${v}" is not an IPv4 address or CIDR`, 'e.g. 172.17.0.0/16');
    }
    for (const f of ['inInterface', 'notInInterface', 'outInterface', 'notOutInterface'] as const) {
      const v = r[f];
      if (v !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}\+?$/.test(v))
        cx.error([...p, f], `${f} "${v}" is not an interface name`, 'an interface name, optionally ending in "+" to match a prefix');
    }
    if (r.dport !== undefined && r.protocol === undefined) cx.error([...p, 'dport'], 'dport needs a protocol', 'add protocol: tcp or protocol: udp');
    if (r.jump === 'SNAT' && !r.toSource) cx.error(p, 'SNAT needs toSource', 'add toSource: <address>');
    if (r.jump === 'DNAT' && !r.toDestination) cx.error(p, 'DNAT needs toDestination', 'add toDestination: <address>[:port]');
    if (r.toSource !== undefined && parseIPv4(r.toSource) === undefined) cx.error([...p, 'toSource'], `toSource "${r.toSource}" is not an IPv4 address`);
    if (r.toDestination !== undefined && !/^\d+\.\d+\.\d+\.\d+(:\d{1,5})?$/.test(r.toDestination))
      cx.error([...p, 'toDestination'], `toDestination "${r.toDestination}" is not address[:port]`);
    if (r.comment !== undefined && !/^[A-Za-z0-9 _.,:/()-]*$/.test(r.comment))
      cx.error([...p, 'comment'], 'comment may only hold letters, digits, spaces and _.,:/()-');
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
        cx.error([...path, 'server', f], `server.${f} "${v}" must be a plain name`, 'letters, digits, "_", "." and "-", at most 63 characters');
    }
    server = { ports: [s.port ?? 80], udpPorts: [] as number[], pod: s.pod ?? name, node: s.node ?? name, addresses: [] as string[], readinessPaths: [] };
  }
  const ipsets = readIpsets(cx, raw.ipsets, path);
  const iptables = readIptables(cx, raw.iptables, path, ipsets, nat.length > 0);
  const ns: Namespace = { name, description: raw.description ?? '', sysctls, bridges, interfaces, routes, nat, iptables, ipsets, server };
  if (server) server.addresses = cidrsOf(ns).map((a) => a.split('/')[0]!);
  return ns;
}

function readRoute(cx: Context, r: RawRoute, p: Path, devices: Set<string>, ns: string): Route {
  const type = r.type ?? 'unicast';
  if (r.to !== 'default' && !parseCidr(r.to))
    cx.error([...p, 'to'], `route destination "${r.to}" is not "default" or an IPv4 CIDR`, 'e.g. 10.244.1.0/24 or default');
  if (r.via !== undefined && parseIPv4(r.via) === undefined) cx.error([...p, 'via'], `gateway "${r.via}" is not an IPv4 address`);
  if (r.src !== undefined && parseIPv4(r.src) === undefined) cx.error([...p, 'src'], `src "${r.src}" is not an IPv4 address`);
  if (r.dev !== undefined && !devices.has(r.dev))
    cx.error([...p, 'dev'], `device "${r.dev}" does not exist in namespace ${ns}`, `devices in ${ns}: ${[...devices].join(', ')}`);
  if (type === 'unicast' && r.via === undefined && r.dev === undefined) cx.error(p, 'a route needs "via" or "dev"', 'add via: <gateway> or dev: <interface>');
  if (type !== 'unicast' && (r.via !== undefined || r.dev !== undefined)) cx.error(p, `a ${type} route takes neither via nor dev`);
  if (r.onlink && (r.via === undefined || r.dev === undefined)) cx.error([...p, 'onlink'], 'onlink needs both via and dev');
  return {
    to: r.to,
    via: r.via ?? null,
    dev: r.dev ?? null,
    onlink: r.onlink ?? false,
    src: r.src ?? null,
    metric: r.metric ?? null,
    type,
    proto: r.proto ?? null,
    nexthops: [],
  };
}

function checkIfname(cx: Context, p: Path, name: string): void {
  if (!IFNAME_RE.test(name)) {
    cx.error(
      p,
      `invalid interface name "${name}"${name.length > 15 ? ` (${name.length} characters)` : ''}`,
      'interface names are at most 15 characters (the kernel\'s IFNAMSIZ) of letters, digits, "_", "." and "-"',
      'key',
    );
  } else if (name === 'lo') {
    cx.error(p, '"lo" is created by the kernel in every namespace', 'remove it: knetlab brings lo up by itself', 'key');
  }
}

function readCidrs(cx: Context, p: Path, list: string[] | undefined): string[] {
  return (list ?? []).map((text, i) => {
    const c = parseCidr(text);
    if (!c) cx.error([...p, 'addresses', i], `"${text}" is not an IPv4 address with prefix length`, 'e.g. 172.17.0.2/16');
    return c ? formatCidr(c) : text;
  });
}

export function unknownNamespace(cx: Context, p: Path, name: string, namespaces: Map<string, Namespace>): void {
  // One error in a manifest (a kind knetlab does not read) would otherwise come back as one more
  // error for every check and observation from the pods it holds.
  if (cx.manifestPodsMissing) return;
  const guess = closest(name, [...namespaces.keys()]);
  cx.error(p, `namespace "${name}" is not in topology.namespaces`, guess ? `did you mean "${guess}"?` : `namespaces: ${[...namespaces.keys()].join(', ')}`);
}

export function readLinks(cx: Context, raw: NonNullable<RawLab['topology']>['links'] & object, namespaces: Map<string, Namespace>): VethLink[] {
  const used = new Map<string, number>();
  return raw.map((l, i) => {
    const ends = l.endpoints.map((text, j) => {
      const p: Path = ['topology', 'links', i, 'endpoints', j];
      const m = /^([^:]+):([^:]+)$/.exec(text);
      if (!m) {
        cx.error(p, `endpoint "${text}" is not "namespace:interface"`, 'e.g. test1:veth-test1');
        return { namespace: '', interface: '' };
      }
      const [, ns, ifn] = m as unknown as [string, string, string];
      if (!namespaces.has(ns)) unknownNamespace(cx, p, ns, namespaces);
      else if (!IFNAME_RE.test(ifn))
        cx.error(
          p,
          `invalid interface name "${ifn}"${ifn.length > 15 ? ` (${ifn.length} characters, the kernel allows 15)` : ''}`,
          'interface names are at most 15 characters of letters, digits, "_", "." and "-"',
        );
      else if (namespaces.get(ns)!.bridges.some((b) => b.name === ifn))
        cx.error(p, `"${ifn}" is a bridge in ${ns}; a veth end needs its own name`, `name the veth end and set master: ${ifn} on it`);
      const key = `${ns}:${ifn}`;
      if (used.has(key)) cx.error(p, `interface ${key} is already used by link ${used.get(key)! + 1}`, 'each interface belongs to one link');
      used.set(key, i);
      return { namespace: ns, interface: ifn };
    });
    return { a: ends[0]!, b: ends[1]!, mtu: l.mtu ?? null };
  });
}

/** Interfaces must come from links; addresses must be unique. */
export function crossChecks(cx: Context, namespaces: Map<string, Namespace>, links: VethLink[]): void {
  const linked = new Set(links.flatMap((l) => [`${l.a.namespace}:${l.a.interface}`, `${l.b.namespace}:${l.b.interface}`]));
  const seen = new Map<string, string>();
  for (const ns of namespaces.values()) {
    for (const i of ns.interfaces) {
      if (!linked.has(`${ns.name}:${i.name}`)) {
        cx.error(
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
          cx.error(
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
        cx.warn(
          ['topology', 'namespaces', ns.name, 'routes', idx, 'via'],
          `gateway ${r.via} is not on any subnet of ${ns.name}; the kernel will refuse the route ("Nexthop has invalid gateway")`,
          'use a gateway on a connected subnet, or set onlink: true with dev',
        );
    });
  }
}
