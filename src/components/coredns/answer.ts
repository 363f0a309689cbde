// The cluster DNS server's answers, as CoreDNS's kubernetes plugin gives them with kubeadm's
// Corefile (`kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure; fallthrough
// in-addr.arpa ip6.arpa; ttl 30 }`): the Kubernetes DNS specification 1.1.0 and CoreDNS's own
// extensions. Pure: the API contents (StateFile) and a question in, a reply (or "forward it") out.
// The wire format and the sockets are server.ts's.
//
// How CoreDNS decides, mirrored function by function (plugin/kubernetes parse.go, kubernetes.go,
// handler.go, reverse.go; plugin/backend_lookup.go):
// - parseRequest splits the name below the zone, right to left: svc|pod, namespace, service, then
//   one more label (an endpoint) or two (_port._protocol); anything longer is NXDOMAIN.
// - findServices: ExternalName → CNAME; headless, or a name with an endpoint label → one record
//   per ready endpoint × matching port; ClusterIP → the ClusterIP per matching port. No match at
//   all is a name error (NXDOMAIN), a match without data of the asked type is NODATA.
// - Every negative answer is authoritative with the zone's SOA in the authority section.

import type { EndpointSlice, Service, StateFile } from '../../api/objects.js';

export const DNS_SCHEMA_VERSION = '1.1.0';
/** CoreDNS gives the schema version record this TTL (DNSSchemaVersion's, hard-coded). */
const SCHEMA_TTL = 28800;

export type RType = 'A' | 'AAAA' | 'CNAME' | 'PTR' | 'SRV' | 'TXT' | 'SOA' | 'NS' | 'MX' | string;

export type RData =
  | { type: 'A'; address: string }
  | { type: 'CNAME'; target: string }
  | { type: 'PTR'; target: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'TXT'; text: string }
  | { type: 'NS'; target: string }
  | { type: 'SOA'; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };

export interface Record {
  /** Fully qualified, with the trailing dot, in the case the question used for the owner name. */
  name: string;
  ttl: number;
  data: RData;
}

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'FORMERR' | 'NOTIMP' | 'REFUSED';

export interface Reply {
  rcode: Rcode;
  authoritative: boolean;
  answer: Record[];
  authority: Record[];
  additional: Record[];
  /**
   * The answer ends in a CNAME to a name outside the cluster's zones: CoreDNS resolves it through
   * its upstream (the forward plugin) and appends what it gets. The server does that.
   */
  chase: { name: string; type: string } | null;
}

/** Not ours: the name is outside the plugin's zones, or a reverse name it does not know (fallthrough). */
export interface Forward {
  forward: true;
}

export interface DnsOptions {
  /** The cluster domain, e.g. cluster.local (no trailing dot). */
  domain: string;
  /** The kubernetes plugin's ttl (kubeadm: 30; the plugin's default: 5). */
  ttl: number;
  /** The kube-dns Service's ClusterIP: the address of ns.dns.<zone>. */
  nameserver: string | null;
}

interface Endpoint {
  ip: string;
  /** The endpoint's DNS label: the pod's hostname when its subdomain names the Service, else the dashed IP. */
  label: string;
  ports: { name: string; protocol: string; port: number }[];
}

/** The API contents indexed the way the plugin's informers index them (all keys lower case). */
export interface DnsIndex {
  opts: DnsOptions;
  zone: string;
  namespaces: Set<string>;
  services: Map<string, Service>;
  /** Ready endpoints per "<ns>/<service>". */
  endpoints: Map<string, Endpoint[]>;
  /** PTR targets per address: the Service's name for a ClusterIP, else one per endpoint. */
  reverse: Map<string, string[]>;
}

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const lower = (s: string) => s.toLowerCase();
const dashed = (ip: string) => ip.replaceAll('.', '-');

/** Index the state for answering: done once per generation, not per query. */
export function indexState(s: StateFile, opts: DnsOptions): DnsIndex {
  const zone = lower(opts.domain.replace(/\.$/, '')) + '.';
  const namespaces = new Set<string>(SYSTEM_NAMESPACES);
  for (const o of [...s.state.pods, ...s.state.services, ...s.state.deployments, ...s.state.slices]) namespaces.add(lower(o.meta.namespace));
  const services = new Map<string, Service>();
  for (const svc of s.state.services) services.set(lower(`${svc.meta.namespace}/${svc.meta.name}`), svc);
  const pods = new Map(s.state.pods.map((p) => [`${p.meta.namespace}/${p.meta.name}`, p]));
  const endpoints = new Map<string, Endpoint[]>();
  const reverse = new Map<string, string[]>();
  const addReverse = (ip: string, target: string) => {
    const l = reverse.get(ip);
    if (l) l.push(target);
    else reverse.set(ip, [target]);
  };
  for (const svc of s.state.services)
    if (svc.clusterIP && svc.clusterIP !== 'None') addReverse(svc.clusterIP, `${svc.meta.name}.${svc.meta.namespace}.svc.${zone}`);
  // A ClusterIP's PTR is the Service alone; endpoint PTRs are looked at only for other addresses.
  const clusterIPs = new Set(reverse.keys());
  const slices = [...s.state.slices].sort((a, b) => a.meta.name.localeCompare(b.meta.name));
  for (const slice of slices) {
    const k = lower(`${slice.meta.namespace}/${slice.service}`);
    const list = endpoints.get(k) ?? [];
    for (const e of slice.endpoints) {
      // CoreDNS keeps only ready addresses; the endpoints controller marks every address ready
      // when the Service has publishNotReadyAddresses.
      if (!e.conditions.ready) continue;
      const label = endpointLabel(slice, e.address, e.pod ? pods.get(`${slice.meta.namespace}/${e.pod}`) : undefined);
      // A slice without ports: CoreDNS adds a sentinel port (-1) that gives A records but no SRV.
      const ports = slice.ports.length
        ? slice.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port }))
        : [{ name: '', protocol: '', port: -1 }];
      list.push({ ip: e.address, label, ports });
      if (!clusterIPs.has(e.address)) addReverse(e.address, `${label}.${slice.service}.${slice.meta.namespace}.svc.${zone}`);
    }
    endpoints.set(k, list);
  }
  return { opts, zone, namespaces, services, endpoints, reverse };
}

/**
 * The endpoint's hostname: the endpoints controller sets it only when the pod has spec.hostname
 * and its spec.subdomain is the Service's name in the same namespace (ShouldSetHostname); CoreDNS
 * names any other endpoint by its dashed address.
 */
function endpointLabel(slice: EndpointSlice, ip: string, pod: { hostname: string | null; subdomain: string | null } | undefined): string {
  if (pod?.hostname && pod.subdomain === slice.service) return pod.hostname;
  return dashed(ip);
}

interface Request {
  podOrSvc: string;
  namespace: string;
  service: string;
  endpoint: string;
  port: string;
  protocol: string;
}

const NAME_ERROR = 'name error';
type Found = { services: Found1[] } | typeof NAME_ERROR;
/** One msg.Service: a host (address or name) and a port, under a key (its DNS name). */
interface Found1 {
  host: string;
  port: number;
  /** The name the record stands for (SRV targets): <svc>.<ns>.svc.<zone> or <endpoint>.<svc>… */
  key: string;
  ttl: number;
  cname: boolean;
  text?: string;
}

const stripUnderscore = (s: string) => (s.startsWith('_') ? s.slice(1) : s);

/** parseRequest: the labels below the zone, read right to left. null: an invalid request (NXDOMAIN). */
function parseRequest(base: string[]): Request | null {
  const r: Request = { podOrSvc: '', namespace: '', service: '', endpoint: '', port: '', protocol: '' };
  let last = base.length - 1;
  if (last < 0) return r;
  r.podOrSvc = base[last]!;
  if (r.podOrSvc !== 'pod' && r.podOrSvc !== 'svc') return null;
  if (--last < 0) return r;
  r.namespace = base[last]!;
  if (--last < 0) return r;
  r.service = base[last]!;
  if (--last < 0) return r;
  if (last === 0) r.endpoint = base[0]!;
  else if (last === 1) {
    r.protocol = stripUnderscore(base[1]!);
    r.port = stripUnderscore(base[0]!);
  } else return null;
  return r;
}

const matchPart = (want: string, have: string) => want === '' || want === lower(have);

function records(ix: DnsIndex, base: string[]): Found {
  const r = parseRequest(base);
  if (!r) return NAME_ERROR;
  if (r.podOrSvc === '' || r.namespace === '') return { services: [] }; // empty non-terminals: NODATA
  if (!ix.namespaces.has(r.namespace)) return NAME_ERROR;
  return r.podOrSvc === 'pod' ? findPods(ix, r) : findServices(ix, r);
}

/** pods insecure: any well-formed dashed address in an existing namespace, whether or not a pod has it. */
function findPods(ix: DnsIndex, r: Request): Found {
  if (r.service === '') return { services: [] };
  const name = r.service;
  const v4 = (name.match(/-/g) ?? []).length === 3 && !name.includes('--');
  const ip = v4 ? name.replaceAll('-', '.') : name.replaceAll('-', ':');
  // Only IPv4 is modelled: an IPv6-looking label is not an address here.
  if (!v4 || !/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(ip)) return NAME_ERROR;
  return { services: [{ host: ip, port: 0, key: `${name}.${r.namespace}.pod.${ix.zone}`, ttl: ix.opts.ttl, cname: false }] };
}

function findServices(ix: DnsIndex, r: Request): Found {
  if (r.service === '') return { services: [] };
  const svc = ix.services.get(`${r.namespace}/${r.service}`);
  if (!svc) return NAME_ERROR;
  const ttl = ix.opts.ttl;
  const svcKey = `${svc.meta.name}.${svc.meta.namespace}.svc.${ix.zone}`;
  if (svc.type === 'ExternalName') {
    // No endpoints, no port or protocol sub-names.
    if (r.endpoint || r.port || r.protocol || !svc.externalName) return NAME_ERROR;
    return { services: [{ host: svc.externalName, port: 0, key: svcKey, ttl, cname: true }] };
  }
  const out: Found1[] = [];
  let found = false;
  if (svc.clusterIP === 'None' || r.endpoint !== '') {
    for (const e of ix.endpoints.get(`${r.namespace}/${r.service}`) ?? []) {
      if (r.endpoint !== '' && r.endpoint !== lower(e.label)) continue;
      for (const p of e.ports) {
        if (!(matchPart(r.port, p.name) && matchPart(r.protocol, p.protocol))) continue;
        found = true;
        out.push({ host: e.ip, port: p.port, key: `${e.label}.${svcKey}`, ttl, cname: false });
      }
    }
    return found ? { services: out } : NAME_ERROR;
  }
  for (const p of svc.ports) {
    if (!(matchPart(r.port, p.name) && matchPart(r.protocol, p.protocol))) continue;
    found = true;
    if (svc.clusterIP) out.push({ host: svc.clusterIP, port: p.port, key: svcKey, ttl, cname: false });
  }
  return found ? { services: out } : NAME_ERROR;
}

/** The labels of `qname` below `zone` (both lower case, fully qualified), or null when it is not inside. */
function below(qname: string, zone: string): string[] | null {
  if (qname === zone) return [];
  if (!qname.endsWith('.' + zone)) return null;
  return qname.slice(0, -zone.length - 1).split('.');
}

function soa(ix: DnsIndex, zone: string, serial: number): Record {
  const ttl = Math.min(ix.opts.ttl, 300);
  return {
    name: zone,
    ttl,
    data: { type: 'SOA', mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ix.opts.ttl },
  };
}

const REVERSE_ZONES = ['in-addr.arpa.', 'ip6.arpa.'];

/** "5.1.244.10.in-addr.arpa." → "10.244.1.5"; null for anything that is not a whole IPv4 reverse name. */
function reverseAddress(qname: string): string | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.$/.exec(qname);
  if (!m) return null;
  const parts = [m[4], m[3], m[2], m[1]].map(Number);
  return parts.every((n) => n <= 255) ? parts.join('.') : null;
}

/**
 * Answer one question as the kubernetes plugin does. `qname` keeps the asker's case in owner
 * names (CoreDNS answers in the case it was asked); matching is case-insensitive.
 */
export function answer(ix: DnsIndex, qname: string, qtype: RType, serial: number): Reply | Forward {
  const fq = qname.endsWith('.') ? qname : qname + '.';
  const name = lower(fq);
  const zones = [ix.zone, ...REVERSE_ZONES];
  const zone = zones.filter((z) => below(name, z) !== null).sort((a, b) => b.length - a.length)[0];
  if (!zone) return { forward: true };
  // The zone as the asker wrote it, for the SOA's owner name.
  const askedZone = fq.slice(fq.length - zone.length);
  const reply: Reply = { rcode: 'NOERROR', authoritative: true, answer: [], authority: [], additional: [], chase: null };
  const negative = (rcode: Rcode): Reply => ({ ...reply, rcode, answer: [], additional: [], chase: null, authority: [soa(ix, askedZone, serial)] });
  const isReverse = zone !== ix.zone;

  let result: Record[] | typeof NAME_ERROR;
  if (isReverse) {
    if (qtype === 'PTR') {
      const ip = reverseAddress(name);
      const targets = ip ? ix.reverse.get(ip) : undefined;
      // Unknown addresses fall through to the next plugin: forward, i.e. the upstream resolver.
      if (!targets) return { forward: true };
      result = targets.map((t) => ({ name: fq, ttl: ix.opts.ttl, data: { type: 'PTR', target: t } }));
    } else if (qtype === 'SOA' && name === zone) result = [soa(ix, askedZone, serial)];
    else return { forward: true };
  } else {
    result = lookup(ix, fq, name, qtype, askedZone, serial, reply);
  }
  if (result === NAME_ERROR) return negative('NXDOMAIN');
  if (result.length === 0) return negative('NOERROR');
  reply.answer = result;
  return reply;
}

function lookup(ix: DnsIndex, fq: string, name: string, qtype: RType, askedZone: string, serial: number, reply: Reply): Record[] | typeof NAME_ERROR {
  const base = below(name, ix.zone)!;
  const ttl = ix.opts.ttl;
  const services = (): Found => {
    if (base.length === 2 && base[0] === 'ns' && base[1] === 'dns')
      return { services: ix.opts.nameserver ? [{ host: ix.opts.nameserver, port: 0, key: name, ttl, cname: false }] : [] };
    return records(ix, base);
  };
  switch (qtype) {
    case 'A':
      return addressRecords(ix, fq, services(), reply, 0);
    case 'AAAA': {
      // Only IPv4 is modelled: a name that exists has no AAAA (NODATA); one that does not is NXDOMAIN.
      const f = services();
      if (f === NAME_ERROR) return NAME_ERROR;
      const cnames = f.services.filter((s) => s.cname);
      if (cnames.length) return addressRecords(ix, fq, { services: cnames }, reply, 0, 'AAAA');
      return [];
    }
    case 'TXT': {
      if (base.length === 1 && base[0] === 'dns-version') return [{ name: fq, ttl: SCHEMA_TTL, data: { type: 'TXT', text: DNS_SCHEMA_VERSION } }];
      const f = services();
      return f === NAME_ERROR || f.services.length === 0 ? NAME_ERROR : [];
    }
    case 'CNAME': {
      const f = services();
      if (f === NAME_ERROR) return NAME_ERROR;
      return f.services.filter((s) => s.cname).map((s) => ({ name: fq, ttl: s.ttl, data: { type: 'CNAME', target: fqdn(s.host) } }));
    }
    case 'SRV':
      return srvRecords(fq, services(), reply);
    case 'PTR': {
      const f = services();
      return f === NAME_ERROR ? NAME_ERROR : [];
    }
    case 'SOA':
      // Only the apex has one; any other name gets NODATA, existing or not (handler.go).
      return base.length === 0 ? [soa(ix, askedZone, serial)] : [];
    case 'NS':
      if (base.length === 0) return ix.opts.nameserver ? [{ name: fq, ttl, data: { type: 'NS', target: `ns.dns.${askedZone}` } }] : [];
      return fakeA(services());
    default:
      // A fake A lookup tells NODATA from NXDOMAIN.
      return fakeA(services());
  }
}

function fakeA(f: Found): Record[] | typeof NAME_ERROR {
  return f === NAME_ERROR ? NAME_ERROR : [];
}

const fqdn = (s: string) => (s.endsWith('.') ? s : s + '.');

/**
 * plugin.A: an address per distinct host; a CNAME (ExternalName) answered as the CNAME, chased
 * inside the zone (at most 8 deep), or left for the upstream resolver outside it.
 */
function addressRecords(ix: DnsIndex, owner: string, f: Found, reply: Reply, depth: number, qtype: 'A' | 'AAAA' = 'A'): Record[] | typeof NAME_ERROR {
  if (f === NAME_ERROR) return NAME_ERROR;
  const out: Record[] = [];
  const seen = new Set<string>();
  for (const s of f.services) {
    if (s.cname) {
      const target = fqdn(s.host);
      if (lower(target) === lower(owner)) continue; // a CNAME to itself: CoreDNS skips it
      const cname: Record = { name: owner, ttl: s.ttl, data: { type: 'CNAME', target } };
      const inside = below(lower(target), ix.zone);
      if (inside !== null) {
        if (depth >= 7) continue;
        const next = qtype === 'A' ? addressRecords(ix, target, records(ix, inside), reply, depth + 1) : [];
        // Inside the zone, the CNAME is given only when its target resolves.
        if (next !== NAME_ERROR && next.length) out.push(cname, ...next);
        continue;
      }
      out.push(cname);
      reply.chase = { name: target, type: qtype };
      continue;
    }
    if (qtype !== 'A' || seen.has(s.host)) continue;
    seen.add(s.host);
    out.push({ name: owner, ttl: s.ttl, data: { type: 'A', address: s.host } });
  }
  return out;
}

/**
 * plugin.SRV: one record per (host, port), weight 100 split evenly over the records of a priority
 * (all are priority 0), target the record's key, its address in the additional section. CNAMEs
 * (ExternalName) give no SRV; sentinel ports (-1) give none either.
 */
function srvRecords(owner: string, f: Found, reply: Reply): Record[] | typeof NAME_ERROR {
  if (f === NAME_ERROR) return NAME_ERROR;
  const internal = f.services.filter((s) => !s.cname);
  const total = internal.length * 100;
  const out: Record[] = [];
  const dup = new Set<string>();
  for (const s of internal) {
    if (s.port === -1) continue;
    const weight = Math.max(1, Math.floor((100 / total) * 100));
    const k = `${s.key} ${s.port}`;
    if (!dup.has(k)) {
      dup.add(k);
      out.push({ name: owner, ttl: s.ttl, data: { type: 'SRV', priority: 0, weight, port: s.port, target: s.key } });
    }
    const a = `${s.key} ${s.host}`;
    if (!dup.has(a)) {
      dup.add(a);
      reply.additional.push({ name: s.key, ttl: s.ttl, data: { type: 'A', address: s.host } });
    }
  }
  return out;
}
