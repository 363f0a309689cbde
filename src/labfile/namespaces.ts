// The topology part of a lab file: namespaces (sysctls, bridges, interfaces, routes, NAT, the
// echo server), veth links, and the checks across them (names, addresses used twice, devices that
// must exist). Each function reports through the Context and returns the resolved value.

import type { RawLab, RawNamespace, RawRoute } from './schema.js';
import { formatCidr, formatNetwork, mask, network, parseCidr, parseIPv4, type Cidr } from './net.js';
import { NETNS_SYSCTLS } from './sysctls.js';
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

/** Names the kernel keeps for itself under /proc/sys/net/ipv4/conf: a device cannot take them. */
const RESERVED_IFNAMES = ['all', 'default'];
/** Routing protocol names iproute2 knows (/etc/iproute2/rt_protos); any other must be a number 0-255. */
const RT_PROTOS = [
  'unspec',
  'redirect',
  'kernel',
  'boot',
  'static',
  'gated',
  'ra',
  'mrt',
  'zebra',
  'bird',
  'dnrouted',
  'xorp',
  'ntk',
  'dhcp',
  'keepalived',
  'babel',
  'openr',
  'bgp',
  'isis',
  'ospf',
  'rip',
  'eigrp',
];
/** Where each nat chain is hooked: -i has no meaning after routing, -o none before it (iptables refuses both). */
const NAT_CHAIN_TARGETS: Record<string, string[]> = {
  PREROUTING: ['DNAT', 'RETURN'],
  POSTROUTING: ['MASQUERADE', 'SNAT', 'RETURN'],
  OUTPUT: ['DNAT', 'RETURN'],
};

export function readNamespace(cx: Context, name: string, raw: RawNamespace, path: Path): Namespace {
  const declared = new Set(['lo', ...RESERVED_IFNAMES, ...Object.keys(raw.bridges ?? {}), ...Object.keys(raw.interfaces ?? {})]);
  const sysctls: [string, string][] = Object.entries(raw.sysctls ?? {}).map(([k, v]) => {
    const value = String(v);
    if (!SYSCTL_PREFIXES.some((p) => k.startsWith(p)) || !/^[a-z0-9_.-]+$/.test(k)) {
      cx.error(
        [...path, 'sysctls', k],
        `sysctl "${k}" is not a per-namespace network setting`,
        `only ${SYSCTL_PREFIXES.map((p) => p + '*').join(', ')} may be set: other sysctls would change the whole machine`,
        'key',
      );
    } else checkSysctl(cx, [...path, 'sysctls', k], k, name, declared);
    if (!/^[A-Za-z0-9_. -]+$/.test(value)) cx.error([...path, 'sysctls', k], `sysctl value "${value}" has characters sysctl does not take`);
    return [k, value];
  });
  const bridges: Bridge[] = Object.entries(raw.bridges ?? {}).map(([br, b]) => {
    const p = [...path, 'bridges', br];
    checkIfname(cx, p, br);
    checkMac(cx, [...p, 'mac'], b.mac);
    return { name: br, addresses: readCidrs(cx, p, b.addresses), mac: b.mac?.toLowerCase() ?? null, mtu: b.mtu ?? null };
  });
  const interfaces: Interface[] = Object.entries(raw.interfaces ?? {}).map(([ifn, i]) => {
    const p = [...path, 'interfaces', ifn];
    checkIfname(cx, p, ifn);
    checkMac(cx, [...p, 'mac'], i.mac);
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
      if (v === undefined) continue;
      const c = parseCidr(v);
      if (!c && parseIPv4(v) === undefined) cx.error([...p, f], `${f} "${v}" is not an IPv4 address or CIDR`, 'e.g. 172.17.0.0/16');
      // iptables masks host bits away without a word: 10.1.2.3/8 would match all of 10.0.0.0/8.
      else if (c) hostBits(cx, [...p, f], v, c, `iptables would silently match all of ${formatNetwork(c)}`);
    }
    // A chain the schema refused has nothing more to say.
    const targets = NAT_CHAIN_TARGETS[r.chain] ?? [];
    const hooked = targets.length > 0;
    for (const f of ['inInterface', 'notInInterface'] as const)
      if (r[f] !== undefined && hooked && r.chain !== 'PREROUTING')
        cx.error(
          [...p, f],
          `${f} cannot be used in ${r.chain}: packets there have no input interface`,
          `iptables refuses -i in ${r.chain}; match the output interface (outInterface) instead`,
          'key',
        );
    for (const f of ['outInterface', 'notOutInterface'] as const)
      if (r[f] !== undefined && hooked && r.chain === 'PREROUTING')
        cx.error(
          [...p, f],
          `${f} cannot be used in PREROUTING: the output interface is not chosen yet`,
          'iptables refuses -o in PREROUTING; match the input interface (inInterface) instead',
          'key',
        );
    if (hooked && !targets.includes(r.jump))
      cx.error(
        [...p, 'jump'],
        `${r.jump} cannot be used in ${r.chain}`,
        `the kernel allows ${r.jump} only in ${Object.keys(NAT_CHAIN_TARGETS)
          .filter((c) => NAT_CHAIN_TARGETS[c]!.includes(r.jump))
          .join(' and ')} (source NAT after routing, destination NAT before it)`,
      );
    for (const f of ['inInterface', 'notInInterface', 'outInterface', 'notOutInterface'] as const) {
      const v = r[f];
      if (v !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}\+?$/.test(v))
        cx.error([...p, f], `${f} "${v}" is not an interface name`, 'an interface name, optionally ending in "+" to match a prefix');
    }
    if (r.dport !== undefined && r.protocol === undefined) cx.error([...p, 'dport'], 'dport needs a protocol', 'add protocol: tcp or protocol: udp');
    if (r.jump === 'SNAT' && !r.toSource) cx.error(p, 'SNAT needs toSource', 'add toSource: <address>');
    if (r.jump === 'DNAT' && !r.toDestination) cx.error(p, 'DNAT needs toDestination', 'add toDestination: <address>[:port]');
    if (r.toSource !== undefined && parseIPv4(r.toSource) === undefined) cx.error([...p, 'toSource'], `toSource "${r.toSource}" is not an IPv4 address`);
    if (r.toDestination !== undefined) {
      const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d{1,5}))?$/.exec(r.toDestination);
      if (!m || parseIPv4(m[1]!) === undefined || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)))
        cx.error(
          [...p, 'toDestination'],
          `toDestination "${r.toDestination}" is not address[:port]`,
          'an IPv4 address and optionally a port 1-65535, e.g. 172.17.0.2:80',
        );
      else if (m[2] !== undefined && r.protocol === undefined)
        cx.error([...p, 'toDestination'], 'a port in toDestination needs a protocol', 'iptables maps ports only with -p tcp or -p udp: add protocol');
    }
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
  const to = r.to === 'default' ? undefined : parseCidr(r.to);
  if (r.to !== 'default' && !to) cx.error([...p, 'to'], `route destination "${r.to}" is not "default" or an IPv4 CIDR`, 'e.g. 10.244.1.0/24 or default');
  // ip route add 10.1.2.3/8 fails: "Invalid prefix for given prefix length".
  else if (to) hostBits(cx, [...p, 'to'], r.to, to, 'the kernel refuses a route whose destination has host bits set');
  if (r.proto !== undefined && !RT_PROTOS.includes(r.proto) && !(/^\d{1,3}$/.test(r.proto) && Number(r.proto) <= 255))
    cx.error([...p, 'proto'], `proto "${r.proto}" is not a routing protocol`, `a number 0-255 or one of iproute2's names: ${RT_PROTOS.join(', ')}`);
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
  } else if (RESERVED_IFNAMES.includes(name)) {
    cx.error(p, `"${name}" cannot name an interface`, reservedHint(name), 'key');
  }
}

const reservedHint = (name: string) => `the kernel keeps "${name}" for its settings (/proc/sys/net/ipv4/conf/${name}): pick another name`;

/** A device's own MAC: not multicast (the I/G bit of the first byte) and not all zeros, which the kernel refuses. */
function checkMac(cx: Context, p: Path, mac: string | undefined): void {
  if (mac === undefined || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) return;
  if (parseInt(mac.slice(0, 2), 16) & 1)
    cx.error(p, `MAC ${mac} is a multicast address`, 'a device address has the lowest bit of the first byte clear, e.g. 02:42:ac:11:00:02');
  else if (/^(00:){5}00$/.test(mac)) cx.error(p, 'MAC 00:00:00:00:00:00 is not a device address', 'e.g. 02:42:ac:11:00:02');
}

/** A prefix written with host bits set, where the kernel or a tool would refuse or silently mask it. */
function hostBits(cx: Context, p: Path, text: string, c: Cidr, why: string): void {
  if (network(c) !== c.address) cx.error(p, `"${text}" has host bits set`, `${why}: write ${formatNetwork(c)}, or the address itself as /32`);
}

/** A sysctl that a fresh namespace has; per-device ones name "all", "default" or a device of the namespace. */
function checkSysctl(cx: Context, p: Path, key: string, ns: string, devices: Set<string>): void {
  const m = /^(net\.ipv[46]\.(?:conf|neigh)\.)(.+)\.([^.]+)$/.exec(key);
  if (m && NETNS_SYSCTLS.has(`${m[1]}<dev>.${m[3]}`)) {
    if (!devices.has(m[2]!))
      cx.error(
        p,
        `sysctl "${key}" names device "${m[2]}", which is not in namespace ${ns}`,
        `use all, default or a device of ${ns}: ${[...devices].join(', ')}`,
        'key',
      );
    return;
  }
  if (!NETNS_SYSCTLS.has(key)) {
    const guess = closest(
      key,
      [...NETNS_SYSCTLS].filter((s) => !s.includes('<dev>')),
    );
    cx.error(
      p,
      `sysctl "${key}" does not exist in a network namespace`,
      guess ? `did you mean "${guess}"?` : 'see sysctl -a in a new namespace (ip netns exec … sysctl -a)',
      'key',
    );
  }
}

function readCidrs(cx: Context, p: Path, list: string[] | undefined): string[] {
  return (list ?? []).map((text, i) => {
    const c = parseCidr(text);
    if (!c) cx.error([...p, 'addresses', i], `"${text}" is not an IPv4 address with prefix length`, 'e.g. 172.17.0.2/16');
    else {
      const bad = unassignable(c);
      if (bad)
        cx.error([...p, 'addresses', i], `"${text}" cannot be an interface's address: ${bad}`, 'give the interface a unicast address, e.g. 172.17.0.2/16');
    }
    return c ? formatCidr(c) : text;
  });
}

/** Why an address cannot be on an interface, if it cannot. */
function unassignable(c: Cidr): string | undefined {
  if (c.address === 0 || c.prefix === 0) return 'it is the unspecified address or covers every address';
  if (c.address === 0xffffffff) return 'it is the limited broadcast address';
  if (c.address >>> 28 === 0xe) return 'it is a multicast address (224.0.0.0/4)';
  return undefined;
}

export function unknownNamespace(cx: Context, p: Path, name: string, namespaces: Map<string, Namespace>): void {
  // One error in a manifest (a kind knetlab does not read) would otherwise come back as one more
  // error for every check and observation from the pods it holds.
  if (cx.manifestPodsMissing) return;
  // Suggestions compare with every namespace: the first few errors get one, so that a lab of many
  // namespaces and many misnamed checks stays linear (only the first errors are printed anyway).
  const asked = suggested.get(cx) ?? 0;
  suggested.set(cx, asked + 1);
  const guess = asked < MAX_SUGGESTIONS ? closest(name, [...namespaces.keys()]) : undefined;
  const some: string[] = [];
  for (const k of namespaces.keys()) if (some.push(k) >= 20) break;
  cx.error(
    p,
    `namespace "${name}" is not in topology.namespaces`,
    guess ? `did you mean "${guess}"?` : `namespaces: ${some.join(', ')}${namespaces.size > some.length ? `, … (${namespaces.size} in all)` : ''}`,
  );
}

const MAX_SUGGESTIONS = 100;
const suggested = new WeakMap<Context, number>();

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
      else if (RESERVED_IFNAMES.includes(ifn)) cx.error(p, `"${ifn}" cannot name an interface`, reservedHint(ifn));
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
    const devices: [Bridge | Interface, 'bridges' | 'interfaces'][] = [
      ...ns.bridges.map((b) => [b, 'bridges'] as [Bridge, 'bridges']),
      ...ns.interfaces.map((i) => [i, 'interfaces'] as [Interface, 'interfaces']),
    ];
    for (const [dev, kind] of devices) {
      dev.addresses.forEach((a, idx) => {
        const ip = a.split('/')[0]!;
        if (seen.has(ip))
          cx.error(
            ['topology', 'namespaces', ns.name, kind, dev.name, 'addresses', idx],
            `address ${ip} is already assigned to ${seen.get(ip)}`,
            'every address in a lab must be unique',
          );
        seen.set(ip, `${ns.name}/${dev.name}`);
      });
    }
    // Reachable directly: on a connected subnet, or covered by a device route ("169.254.1.1 dev eth0").
    // Worked out once per namespace, not once per route.
    // The networks by prefix length, so a gateway is looked up at each of 33 lengths, not compared with each.
    let onLink: Set<number>[] | undefined;
    ns.routes.forEach((r, idx) => {
      if (!r.via || r.onlink) return;
      const gw = parseIPv4(r.via)!;
      if (!onLink) {
        onLink = Array.from({ length: 33 }, () => new Set<number>());
        for (const text of [...cidrsOf(ns), ...ns.routes.filter((x) => x.dev && !x.via && x.type === 'unicast' && x.to !== 'default').map((x) => x.to)]) {
          const c = parseCidr(text.includes('/') ? text : `${text}/32`);
          if (c) onLink[c.prefix]!.add(network(c));
        }
      }
      const connected = onLink.some((nets, prefix) => nets.size > 0 && nets.has((gw & mask(prefix)) >>> 0));
      if (!connected)
        cx.warn(
          ['topology', 'namespaces', ns.name, 'routes', idx, 'via'],
          `gateway ${r.via} is not on any subnet of ${ns.name}; the kernel will refuse the route ("Nexthop has invalid gateway")`,
          'use a gateway on a connected subnet, or set onlink: true with dev',
        );
    });
  }
}
