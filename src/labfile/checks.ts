// The checks of a lab file: which probe each one is (ping, tcp, http, udp, sctp, link, route,
// neigh, fdb, conntrack, bgp, capture, exec), its expectation with only the fields that probe takes, durations, and the
// name a check gets when it has none.

import type { RawCheck, RawExpect } from './schema.js';
import { formatNetwork, network, parseCidr, parseIPv4 } from './net.js';
import { positionOf } from './read.js';
import type { Context, Path } from './context.js';
import { IFNAME_RE, unknownNamespace } from './namespaces.js';
import type { Check, Cluster, Expectation, Namespace, NetfilterTable, PathStep, Probe, TraceTarget } from './types.js';
import { BUILTIN_CHAINS, TABLES } from './netfilter.js';
import { closest } from './suggest.js';

const DEFAULT_TIMEOUT_MS = 5000;

export function readCheck(cx: Context, c: RawCheck, p: Path, namespaces: Map<string, Namespace>, cluster: Cluster | null): Check {
  const kinds = PROBE_KINDS.filter((k) => c[k] !== undefined);
  if (!namespaces.has(c.from)) unknownNamespace(cx, [...p, 'from'], c.from, namespaces);
  if (kinds.length !== 1)
    cx.error(
      p,
      kinds.length ? `a check takes one of ${PROBE_KINDS.join(', ')}, not ${kinds.join(' and ')}` : `a check needs one of ${PROBE_KINDS.join(', ')}`,
      'split it into one check per probe',
    );
  const probe = readProbe(cx, c, p, kinds[0] ?? 'ping', namespaces, cluster);
  const expect = readExpectation(cx, c, p, probe);
  if (typeof c.expect === 'object' && c.expect.path) expect.path = readPath(cx, [...p, 'expect', 'path'], c.expect.path, namespaces);
  const timeoutMs = c.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(c.timeout);
  if (timeoutMs > 120_000) cx.error([...p, 'timeout'], 'timeout is over 120s', 'checks retry until their timeout; keep it short');
  const waitMs = c.wait === undefined ? 0 : durationMs(c.wait);
  if (waitMs > 120_000) cx.error([...p, 'wait'], 'wait is over 120s', 'keep labs quick to run');
  // A number must be above 0 (the schema says so); "0s" and "0ms" are the same zero.
  if (c.timeout !== undefined && timeoutMs <= 0) cx.error([...p, 'timeout'], 'timeout must be above 0', 'e.g. timeout: 5s');
  if (c.wait !== undefined && waitMs <= 0) cx.error([...p, 'wait'], 'wait must be above 0', 'leave wait out for no wait, or e.g. wait: 500ms');
  if (c.proxyModes && !cluster)
    cx.error([...p, 'proxyModes'], 'proxyModes applies to labs whose cluster runs kube-proxy', 'leave it out: this lab has no kube-proxy', 'key');
  return {
    name: c.name ?? defaultCheckName(c.from, probe, expect),
    from: c.from,
    probe,
    expect,
    timeoutMs,
    waitMs,
    proxyModes: c.proxyModes ?? null,
    line: positionOf(cx.src, p).line,
  };
}

function readProbe(cx: Context, c: RawCheck, p: Path, kind: ProbeKind, namespaces: Map<string, Namespace>, cluster: Cluster | null): Probe {
  if (c.requests !== undefined && kind !== 'http' && kind !== 'udp') cx.error([...p, 'requests'], 'requests applies to http and udp checks only');
  if (c.sourcePort !== undefined && kind !== 'udp') cx.error([...p, 'sourcePort'], 'sourcePort applies to udp checks only', undefined, 'key');
  for (const f of ['qtype', 'server', 'search'] as const)
    if (c[f] !== undefined && kind !== 'dns') cx.error([...p, f], `${f} applies to dns checks only`, undefined, 'key');
  for (const f of ['filter', 'during'] as const)
    if (c[f] !== undefined && kind !== 'capture') cx.error([...p, f], `${f} applies to capture checks only`, undefined, 'key');
  const ns = namespaces.get(c.from);
  const devicesOf = (n: Namespace) => [...n.bridges, ...n.interfaces].map((i) => i.name);
  switch (kind) {
    case 'ping': {
      const address = c.ping ?? '';
      if (parseIPv4(address) === undefined) cx.error([...p, 'ping'], `"${address}" is not an IPv4 address`, 'e.g. ping: 192.168.1.2');
      return { kind, address };
    }
    case 'tcp':
    case 'sctp':
      return { kind, ...addressPort(cx, [...p, kind], c[kind] ?? '', `${kind}: 172.17.0.3:80`) };
    case 'udp':
      return { kind, ...addressPort(cx, [...p, kind], c.udp ?? '', 'udp: 10.96.0.10:53'), requests: c.requests ?? 1, sourcePort: c.sourcePort ?? null };
    case 'dns': {
      const name = c.dns ?? '';
      const qtype = c.qtype ?? 'A';
      if (qtype === 'PTR' ? parseIPv4(name) === undefined && !DNS_NAME_RE.test(name) : !DNS_NAME_RE.test(name))
        cx.error([...p, 'dns'], `"${name}" is not a DNS name${qtype === 'PTR' ? ' or an IPv4 address' : ''}`, 'e.g. dns: web.default.svc.cluster.local');
      if (c.server !== undefined && parseIPv4(c.server) === undefined)
        cx.error([...p, 'server'], `"${c.server}" is not an IPv4 address`, 'e.g. server: 10.96.0.10');
      return { kind, name, qtype, server: c.server ?? null, search: c.search ?? true };
    }
    case 'conntrack': {
      const m = /^(tcp|udp|sctp) (\S+)$/.exec(c.conntrack ?? '');
      if (!m) {
        cx.error([...p, 'conntrack'], `"${c.conntrack}" is not "PROTOCOL ADDRESS[:PORT]"`, 'e.g. conntrack: udp 10.96.0.10:53 (tcp, udp or sctp)');
        return { kind, protocol: 'udp', address: '', port: null };
      }
      const to = m[2]!.includes(':') ? addressPort(cx, [...p, 'conntrack'], m[2]!, 'conntrack: udp 10.96.0.10:53') : { address: m[2]!, port: null };
      if (parseIPv4(to.address) === undefined) cx.error([...p, 'conntrack'], `"${to.address}" is not an IPv4 address`, 'e.g. conntrack: udp 10.96.0.10:53');
      return { kind, protocol: m[1] as 'tcp' | 'udp' | 'sctp', ...to };
    }
    case 'http': {
      let url: URL | undefined;
      try {
        url = new URL(c.http ?? '');
      } catch {
        /* reported below */
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
        cx.error([...p, 'http'], `"${c.http}" is not an http:// or https:// URL`, 'e.g. http: http://172.17.0.3/');
        return { kind, url: '', host: '', requests: 1 };
      }
      return { kind, url: url.href, host: url.hostname, requests: c.requests ?? 1, ...httpOptions(cx, c, p, url) };
    }
    case 'link':
    case 'capture': {
      const ifn = (kind === 'link' ? c.link : c.capture) ?? '';
      // Devices a CNI creates (flannel.1, vxlan.calico, flannel0) are not in the topology: only
      // declared devices can be checked by name here, the rest by the kernel at run time.
      if (ns && !ns.interfaces.some((i) => i.name === ifn) && !ns.bridges.some((b) => b.name === ifn) && !cniDevices(cluster).includes(ifn)) {
        cx.error([...p, kind], `interface "${ifn}" is not in namespace ${c.from}`, `interfaces in ${c.from}: ${devicesOf(ns).join(', ') || 'none'}`);
      }
      if (kind === 'link') return { kind, interface: ifn };
      const filter = c.filter ?? '';
      if (!/^[A-Za-z0-9 ._:/()!<>=&|-]*$/.test(filter)) cx.error([...p, 'filter'], 'filter has characters tcpdump expressions do not use');
      if (!c.during) {
        cx.error(p, 'a capture check needs "during": the traffic to send while capturing', 'e.g. during: { from: pod1, ping: 10.244.2.2 }');
        return { kind, interface: ifn, filter, during: { ...PLACEHOLDER_CHECK } };
      }
      const during = readCheck(cx, { from: c.during.from, ping: c.during.ping, http: c.during.http }, [...p, 'during'], namespaces, cluster);
      return { kind, interface: ifn, filter, during };
    }
    case 'route': {
      const to = c.route ?? '';
      if (to !== 'default' && !parseCidr(to) && parseIPv4(to) === undefined)
        cx.error([...p, 'route'], `route "${to}" is not "default", an IPv4 address or a CIDR`, 'e.g. route: 10.244.2.0/24');
      else {
        // ip route prints destinations without host bits: 10.1.2.3/8 would never be found.
        const c = to === 'default' ? undefined : parseCidr(to);
        if (c && network(c) !== c.address)
          cx.error([...p, 'route'], `route "${to}" has host bits set`, `ip route shows it as ${formatNetwork(c)}: check for that, or for the address as /32`);
      }
      return { kind, to };
    }
    case 'neigh': {
      const address = c.neigh ?? '';
      if (parseIPv4(address) === undefined) cx.error([...p, 'neigh'], `"${address}" is not an IPv4 address`, 'e.g. neigh: 10.244.2.0');
      return { kind, address };
    }
    case 'fdb': {
      const dev = c.fdb ?? '';
      if (!IFNAME_RE.test(dev)) cx.error([...p, 'fdb'], `"${dev}" is not an interface name`, 'e.g. fdb: flannel.1');
      return { kind, dev };
    }
    case 'bgp': {
      const protocol = c.bgp ?? '';
      if (!/^[A-Za-z0-9_]+$/.test(protocol)) cx.error([...p, 'bgp'], `"${protocol}" is not a BIRD protocol name`, 'e.g. bgp: Mesh_192_168_56_12');
      if (!birdSpeakers(cluster).includes(c.from))
        cx.error(
          [...p, 'from'],
          `${c.from} runs no BIRD`,
          'bgp checks run on the nodes of a calico cluster in bgp mode (and on the router when it reflects routes)',
        );
      return { kind, protocol };
    }
    case 'trace':
      return { kind, probe: readTraceTarget(cx, [...p, 'trace'], c.trace ?? '') };
    case 'counters': {
      const m = /^(raw|mangle|nat|filter|security) (\S+)$/.exec(c.counters ?? '');
      if (!m) {
        cx.error([...p, 'counters'], `"${c.counters}" is not "TABLE CHAIN"`, 'e.g. counters: filter FORWARD (raw, mangle, nat, filter or security)');
        return { kind, table: 'filter', chain: '' };
      }
      const [table, chain] = [m[1] as NetfilterTable, m[2]!];
      const known = ns?.iptables.filter((x) => x.table === table).map((x) => x.chain) ?? [];
      if (ns && !BUILTIN_CHAINS[table].includes(chain) && !known.includes(chain))
        cx.error(
          [...p, 'counters'],
          `${c.from} has no ${table} chain ${chain}`,
          `${table} chains: ${[...new Set([...BUILTIN_CHAINS[table], ...known])].join(', ')}`,
        );
      return { kind, table, chain };
    }
    case 'exec': {
      const argv = c.exec ?? [];
      argv.forEach((arg, j) => {
        if (/[\n\0]/.test(arg)) cx.error([...p, 'exec', j], 'command arguments cannot contain newlines');
      });
      return { kind, argv };
    }
  }
}

/** What a trace check sends: "http://…", "ping ADDRESS" or "tcp ADDRESS:PORT", as knetlab trace takes them. */
function readTraceTarget(cx: Context, p: Path, text: string): TraceTarget {
  const example = 'e.g. trace: http://10.0.2.2/, trace: ping 10.0.2.2 or trace: tcp 10.0.2.2:80';
  if (text.startsWith('http://')) {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      /* reported below */
    }
    if (url?.hostname && parseIPv4(url.hostname) !== undefined) return { kind: 'http', url: url.href };
    cx.error(p, `"${text}" is not an http:// URL to an IPv4 address`, example);
    return { kind: 'http', url: '' };
  }
  const ping = /^ping (\S+)$/.exec(text);
  if (ping) {
    if (parseIPv4(ping[1]!) === undefined) cx.error(p, `"${ping[1]}" is not an IPv4 address`, example);
    return { kind: 'ping', address: ping[1]! };
  }
  const tcp = /^tcp (\S+)$/.exec(text);
  if (tcp) return { kind: 'tcp', ...addressPort(cx, p, tcp[1]!, 'trace: tcp 10.0.2.2:80') };
  cx.error(p, `"${text}" is not a probe to trace`, example);
  return { kind: 'ping', address: '' };
}

/** expect.path: one single-key map per namespace, each item "HOOK" or "HOOK table". */
function readPath(cx: Context, p: Path, raw: Record<string, string[]>[], namespaces: Map<string, Namespace>): PathStep[] {
  return raw.map((entry, i) => {
    const [namespace, met] = Object.entries(entry)[0] ?? ['', []];
    if (!namespaces.has(namespace)) unknownNamespace(cx, [...p, i], namespace, namespaces);
    met.forEach((item, j) => {
      const m = /^(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING)(?: (\S+))?$/.exec(item);
      if (!m) {
        const hook = closest(item.split(' ')[0] ?? '', HOOKS);
        cx.error(
          [...p, i, namespace, j],
          `"${item}" is not "HOOK" or "HOOK table"`,
          hook && hook !== item.split(' ')[0]
            ? `did you mean "${[hook, ...item.split(' ').slice(1)].join(' ')}"?`
            : `a hook (${HOOKS.join(', ')}) and a table, e.g. PREROUTING raw`,
        );
      } else if (m[2] !== undefined && (TABLES as string[]).includes(m[2]) && !BUILTIN_CHAINS[m[2] as NetfilterTable].includes(m[1]!)) {
        cx.error(
          [...p, i, namespace, j],
          `the ${m[2]} table has no ${m[1]} chain, so a packet cannot meet it there`,
          `${m[2]} has ${BUILTIN_CHAINS[m[2] as NetfilterTable].join(', ')}`,
        );
      }
    });
    return { namespace, met };
  });
}
const HOOKS = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

/** A DNS name as a resolver takes it: labels of letters, digits, "-" and "_" (SRV's _port._proto), an optional final dot. */
const DNS_NAME_RE = /^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** What an http check sends besides its URL: a Host header, a pinned address, a body. */
function httpOptions(cx: Context, c: RawCheck, p: Path, url: URL): { hostHeader?: string; resolve?: string; bodyBytes?: number; cacert?: string } {
  const out: { hostHeader?: string; resolve?: string; bodyBytes?: number; cacert?: string } = {};
  if (c.cacert !== undefined) {
    if (url.protocol !== 'https:') cx.error([...p, 'cacert'], 'cacert needs an https:// URL', 'a CA verifies the certificate of a TLS handshake', 'key');
    else out.cacert = c.cacert;
  }
  if (c.host !== undefined) out.hostHeader = c.host;
  if (c.resolve !== undefined) {
    if (parseIPv4(c.resolve) === undefined)
      cx.error([...p, 'resolve'], `resolve "${c.resolve}" is not an IPv4 address`, 'the address the URL host name stands for, e.g. 192.168.56.240');
    else if (parseIPv4(url.hostname) !== undefined)
      cx.error([...p, 'resolve'], `resolve pins a host name, and ${url.hostname} is an address`, 'write the name in the URL, e.g. https://foo.bar.com/', 'key');
    else out.resolve = c.resolve;
  }
  if (c.body !== undefined) out.bodyBytes = c.body;
  return out;
}

/** "address:port" of a tcp, udp or sctp check. */
function addressPort(cx: Context, p: Path, text: string, example: string): { address: string; port: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(text);
  if (!m || parseIPv4(m[1]!) === undefined || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    cx.error(p, `"${text}" is not address:port`, `e.g. ${example}`);
    return { address: '', port: 0 };
  }
  return { address: m[1]!, port: Number(m[2]) };
}

function readExpectation(cx: Context, c: RawCheck, p: Path, probe: Probe): Expectation {
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
    sport: e.sport ?? null,
    dstNat: e.dstNat ?? null,
    rcode: e.rcode ?? 'NOERROR',
    answers: e.answers ?? null,
    includes: e.includes ?? null,
    cname: e.cname ?? null,
    qname: e.qname ?? null,
    authoritative: e.authoritative ?? null,
    path: null,
    rule: e.rule ?? null,
    minPackets: e.minPackets ?? null,
    maxPackets: e.maxPackets ?? null,
    maxAnswered: e.maxAnswered ?? null,
  };
  if (e.location !== undefined) out.location = e.location;
  if (e.headers !== undefined) out.headers = Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k.toLowerCase(), v]));
  if (e.certSubject !== undefined) out.certSubject = e.certSubject;
  if (e.certIssuer !== undefined) out.certIssuer = e.certIssuer;
  for (const f of ['certSubject', 'certIssuer'] as const)
    if (e[f] !== undefined && probe.kind === 'http' && !probe.url.startsWith('https:'))
      cx.error([...p, 'expect', f], `expect.${f} needs an https:// URL`, 'only a TLS handshake shows a certificate', 'key');
  for (const f of ['host', 'resolve', 'body', 'cacert'] as const)
    if (c[f] !== undefined && probe.kind !== 'http') cx.error([...p, f], `${f} applies to http checks only`, undefined, 'key');
  for (const [field, kinds] of EXPECT_FIELDS) {
    if (e[field] !== undefined && !kinds.includes(probe.kind))
      cx.error([...p, 'expect', field], `expect.${field} applies to ${kinds.join(', ')} checks only`, undefined, 'key');
  }
  if (e.reachable !== undefined || c.expect === 'unreachable' || c.expect === 'reachable') {
    if (!['ping', 'tcp', 'http', 'udp', 'sctp'].includes(probe.kind))
      cx.error(
        [...p, 'expect'],
        `a ${probe.kind} check cannot expect reachable or unreachable`,
        probe.kind in PRESENCE ? 'use expect: { present: false }' : undefined,
      );
  }
  if (e.state !== undefined) {
    const allowed = STATES[probe.kind];
    if (allowed && !allowed.includes(e.state))
      cx.error([...p, 'expect', 'state'], `state "${e.state}" is not a ${probe.kind} state`, `one of ${allowed.join(', ')}`);
  }
  for (const f of ['via', 'dst', 'dstNat'] as const)
    if (e[f] !== undefined && parseIPv4(e[f]!) === undefined) cx.error([...p, 'expect', f], `${f} "${e[f]}" is not an IPv4 address`);
  for (const pair of ['outer', 'inner'] as const)
    for (const f of ['src', 'dst'] as const) {
      const v = e[pair]?.[f];
      if (v !== undefined && parseIPv4(v) === undefined) cx.error([...p, 'expect', pair, f], `${pair}.${f} "${v}" is not an IPv4 address`);
    }
  if (probe.kind === 'capture' && e.encap === undefined && e.present !== false)
    cx.error([...p, 'expect'], 'a capture check needs expect.encap', "vxlan, udp (flannel's UDP backend) or none (plain routed packets)");
  if (e.vni !== undefined && e.encap !== 'vxlan') cx.error([...p, 'expect', 'vni'], 'vni needs encap: vxlan');
  // A conntrack entry that must be absent is still named by its source port and DNAT target.
  const absentFields = probe.kind === 'conntrack' ? ['present', 'sport', 'dstNat'] : ['present'];
  if (!out.present && Object.keys(e).some((k) => !absentFields.includes(k)))
    cx.error(
      [...p, 'expect'],
      'an entry that must be absent has no other fields to match',
      probe.kind === 'conntrack' ? 'keep only present: false, sport and dstNat' : 'keep only present: false',
    );
  if (reachable && out.failure !== null) cx.error([...p, 'expect', 'failure'], 'failure needs reachable: false', 'add reachable: false');
  if (out.failure === 'untrusted' && (probe.kind !== 'http' || probe.cacert === undefined))
    cx.error(
      [...p, 'expect', 'failure'],
      'failure untrusted needs an https check with cacert',
      'add cacert: the CA file the certificate must not verify against',
    );
  if (
    !reachable &&
    ((out.status ?? out.bodyContains ?? out.json ?? out.backends) !== null || [e.location, e.headers, e.certSubject, e.certIssuer].some((v) => v !== undefined))
  )
    cx.error([...p, 'expect'], 'an unreachable check cannot also expect a response');
  if (e.minShare !== undefined && !e.backends)
    cx.error([...p, 'expect', 'minShare'], 'minShare needs backends', 'list the pods that must answer under expect.backends');
  const wanted = typeof e.backends === 'number' ? e.backends : (e.backends?.length ?? 0);
  if (e.backends !== undefined && (probe.kind === 'http' || probe.kind === 'udp') && probe.requests < wanted)
    cx.error([...p, 'requests'], `${probe.requests} request(s) cannot reach ${wanted} backends`, `set requests to at least ${wanted}, e.g. ${wanted * 20}`);
  if (probe.kind === 'udp' && probe.sourcePort !== null && wanted > 1)
    cx.error(
      [...p, 'sourcePort'],
      `datagrams from one source port cannot reach ${wanted} backends`,
      'they are one conntrack flow, DNATed to one endpoint; leave sourcePort out to spread them',
    );
  if (probe.kind === 'trace' && !e.path)
    cx.error([...p, 'expect'], 'a trace check needs expect.path', 'e.g. expect: { path: [router: [PREROUTING raw, FORWARD filter]] }');
  if (probe.kind === 'counters' && out.rule === null)
    cx.error([...p, 'expect'], 'a counters check needs expect.rule', 'a part of the rule as iptables -S prints it, e.g. rule: "--match-set many src"');
  if (probe.kind === 'counters' && out.minPackets === null && out.maxPackets === null)
    cx.error([...p, 'expect'], 'a counters check needs minPackets or maxPackets', 'e.g. minPackets: 1');
  if (probe.kind === 'exec' && typeof c.expect === 'object' && Object.keys(e).length)
    cx.error([...p, 'expect'], 'an exec step has nothing to expect but its exit status 0', 'remove expect');
  return out;
}

function durationMs(d: number | string): number {
  if (typeof d === 'number') return d * 1000;
  return d.endsWith('ms') ? Number(d.slice(0, -2)) : Number(d.slice(0, -1)) * 1000;
}

const PROBE_KINDS = [
  'ping',
  'tcp',
  'http',
  'udp',
  'sctp',
  'dns',
  'trace',
  'link',
  'route',
  'neigh',
  'fdb',
  'conntrack',
  'counters',
  'bgp',
  'capture',
  'exec',
] as const;
type ProbeKind = (typeof PROBE_KINDS)[number];
const PRESENCE = { route: 1, neigh: 1, fdb: 1, conntrack: 1, capture: 1 };
// udp takes no failure: nc cannot tell an ICMP port unreachable (a REJECT) from silence.
const EXPECT_FIELDS: [keyof RawExpect, ProbeKind[]][] = [
  ['status', ['http']],
  ['bodyContains', ['http', 'udp']],
  ['json', ['http', 'udp']],
  ['backends', ['http', 'udp']],
  ['minShare', ['http', 'udp']],
  ['failure', ['tcp', 'http', 'sctp']],
  ['master', ['link']],
  ['mtu', ['link']],
  ['state', ['link', 'neigh', 'fdb', 'bgp']],
  ['present', ['route', 'neigh', 'fdb', 'conntrack', 'capture']],
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
  ['sport', ['conntrack']],
  ['dstNat', ['conntrack']],
  ['rcode', ['dns']],
  ['answers', ['dns']],
  ['includes', ['dns']],
  ['cname', ['dns']],
  ['qname', ['dns']],
  ['authoritative', ['dns']],
  ['location', ['http']],
  ['headers', ['http']],
  ['certSubject', ['http']],
  ['certIssuer', ['http']],
  ['path', ['trace']],
  ['rule', ['counters']],
  ['minPackets', ['counters']],
  ['maxPackets', ['counters']],
  ['maxAnswered', ['http']],
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
  proxyModes: null,
  line: 0,
};

/** Devices a cluster's CNI creates on its nodes. */
function cniDevices(cluster: Cluster | null): string[] {
  if (!cluster) return [];
  if (cluster.cni.type === 'flannel') return { vxlan: ['flannel.1'], udp: ['flannel0'], 'host-gw': [] }[cluster.cni.backend] ?? [];
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
      return `${from} ${verb}${probe.bodyBytes !== undefined ? `POST${expect.reachable ? 's' : ''} ${probe.bodyBytes} bytes to` : `GET${expect.reachable ? 's' : ''}`} ${probe.url}${probe.hostHeader !== undefined ? ` (Host: ${probe.hostHeader})` : ''}${probe.resolve !== undefined ? ` at ${probe.resolve}` : ''}${probe.requests > 1 ? ` ×${probe.requests}` : ''}`;
    case 'udp':
      return `${from} gets ${expect.reachable ? '' : 'no '}UDP ${expect.reachable ? 'answers' : 'answer'} from ${probe.address}:${probe.port}${probe.requests > 1 ? ` ×${probe.requests}` : ''}${probe.sourcePort !== null ? ` (from port ${probe.sourcePort})` : ''}`;
    case 'sctp':
      return `${from} ${verb}associate${expect.reachable ? 's' : ''} with ${probe.address}:${probe.port} over SCTP`;
    case 'dns':
      return `${from} looks up ${probe.name}${probe.qtype !== 'A' ? ` ${probe.qtype}` : ''}${probe.server ? ` at ${probe.server}` : ''}: ${expect.rcode}${expect.answers ? ` ${expect.answers.join(', ')}` : ''}`;
    case 'conntrack':
      return `${from} ${expect.present ? 'tracks' : 'tracks no'} ${probe.protocol} flow to ${probe.address}${probe.port !== null ? `:${probe.port}` : ''}${expect.sport !== null ? ` from port ${expect.sport}` : ''}${expect.dstNat !== null ? ` DNATed to ${expect.dstNat}` : ''}`;
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
    case 'trace': {
      const t = probe.probe;
      return `trace from ${from}: ${t.kind === 'http' ? t.url : t.kind === 'ping' ? `ping ${t.address}` : `tcp ${t.address}:${t.port}`}`;
    }
    case 'counters':
      return `${from} ${probe.table} ${probe.chain}: the rule with "${expect.rule ?? ''}" counted ${expect.minPackets !== null ? `at least ${expect.minPackets}` : ''}${expect.minPackets !== null && expect.maxPackets !== null ? ' and ' : ''}${expect.maxPackets !== null ? `at most ${expect.maxPackets}` : ''} packet(s)`;
  }
}
