// A picture of a running lab, from the kernel's own account: `ip -j -d link`, `ip -j addr` and
// `ip -j netns list-id` in each of the lab's namespaces become a model (namespaces, their
// interfaces and addresses, veth pairs, bridge ports, VXLAN and TUN devices with their underlay),
// and the model becomes Graphviz DOT text. Pure: text in, text out; reading the kernel and
// laying the picture out happen in src/run/graph.ts.
//
// The picture must not change when the lab did not: no MAC addresses, no ifindexes, no nsids,
// no instance prefix, and everything in a fixed order.

import type { EndpointSlice, Service } from '../api/objects.js';

/** One namespace's three readings, as `ip -j` printed them. */
export interface NamespaceReading {
  /** The real namespace name (with the instance prefix). */
  netns: string;
  /** `ip -n NS -j -d link show` */
  links: string;
  /** `ip -n NS -j addr show` */
  addrs: string;
  /** `ip -n NS -j netns list-id`: the nsids this namespace uses for the others (a veth's link_netnsid). */
  nsids: string;
}

/** What the namespace is in the lab: node, pod, client, switch, router, host. */
export type NamespaceRole = string;

export interface VxlanInfo {
  vni: number;
  local: string | null;
  dstport: number | null;
  /** The underlay device (`dev eth0`), or null when the kernel picks by route. */
  via: string | null;
  remote: string | null;
  learning: boolean | null;
}

export interface GraphInterface {
  name: string;
  /** veth, bridge, vxlan, tun, dummy, ipip, loopback, … (linkinfo's kind, else the link type). */
  kind: string;
  /** IPv4 addresses and IPv6 addresses that are not link-local, as "ADDR/LEN", in the kernel's order. */
  addresses: string[];
  mtu: number;
  up: boolean;
  /** The bridge this is a port of. */
  master: string | null;
  /** A veth's other end: its namespace (short name) and name; null when it is outside the lab. */
  peer: { namespace: string; name: string } | null;
  vxlan: VxlanInfo | null;
  /** The lower device of a VLAN, macvlan, ipvlan or tunnel (`ip link … link DEV`). */
  lower: string | null;
}

export interface GraphNamespace {
  /** As the lab names it: without the instance prefix. */
  name: string;
  role: NamespaceRole | null;
  interfaces: GraphInterface[];
  /** The lab's processes in this namespace (kube-proxy, flanneld, nginx, …), sorted, each once. */
  daemons: string[];
}

export interface GraphService {
  namespace: string;
  name: string;
  type: Service['type'];
  clusterIP: string | null;
  /** "8080/TCP → 80" */
  ports: string[];
  nodePorts: number[];
  loadBalancer: string[];
  externalName: string | null;
  endpoints: { address: string; pod: string | null; ready: boolean }[];
}

export interface LabGraph {
  lab: string;
  namespaces: GraphNamespace[];
  services: GraphService[];
}

interface IpLink {
  ifindex: number;
  ifname: string;
  link_index?: number;
  link_netnsid?: number;
  link?: string | null;
  master?: string;
  mtu: number;
  operstate?: string;
  flags?: string[];
  link_type?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

function parseJson<T>(text: string, what: string, netns: string): T {
  try {
    return JSON.parse(text.trim() || '[]') as T;
  } catch {
    throw new Error(`could not read ${what} of namespace ${netns}: not the JSON ip -j prints`);
  }
}

/** The namespace name without the instance prefix. */
export function shortName(prefix: string, netns: string): string {
  return prefix && netns.startsWith(`${prefix}-`) ? netns.slice(prefix.length + 1) : netns;
}

/**
 * The lab's namespaces with their interfaces, veth peers resolved across namespaces (a veth
 * reports its peer as link_netnsid, this namespace's id for the other one, and the peer's
 * ifindex there).
 */
export function buildGraph(
  prefix: string,
  readings: NamespaceReading[],
  roles: Map<string, NamespaceRole>,
  processes: { name: string; netns: string }[],
): GraphNamespace[] {
  const parsed = readings.map((r) => ({
    r,
    links: parseJson<IpLink[]>(r.links, 'the links', r.netns),
    addrs: parseJson<IpAddr[]>(r.addrs, 'the addresses', r.netns),
    nsids: new Map(parseJson<{ nsid: number; name?: string }[]>(r.nsids, 'the namespace ids', r.netns).map((n) => [n.nsid, n.name ?? null])),
  }));
  const byNetns = new Map(parsed.map((p) => [p.r.netns, p]));
  const nameOf = (netns: string, ifindex: number) => byNetns.get(netns)?.links.find((l) => l.ifindex === ifindex)?.ifname ?? null;

  return parsed.map(({ r, links, addrs, nsids }) => {
    const short = shortName(prefix, r.netns);
    const interfaces = links
      .map((l): GraphInterface => {
        const kind = l.linkinfo?.info_kind ?? l.link_type ?? 'device';
        const data = l.linkinfo?.info_data ?? {};
        let peer: GraphInterface['peer'] = null;
        if (kind === 'veth') {
          if (l.link_netnsid !== undefined) {
            const other = nsids.get(l.link_netnsid) ?? null;
            const name = other && l.link_index !== undefined ? nameOf(other, l.link_index) : null;
            if (other && name && byNetns.has(other)) peer = { namespace: shortName(prefix, other), name };
          } else if (l.link_index !== undefined && l.link_index !== l.ifindex) {
            const name = nameOf(r.netns, l.link_index);
            if (name) peer = { namespace: short, name };
          } else if (typeof l.link === 'string') peer = { namespace: short, name: l.link };
        }
        const vxlan: VxlanInfo | null =
          kind === 'vxlan'
            ? {
                vni: Number(data.id),
                local: str(data.local) ?? str(data.local6),
                dstport: typeof data.port === 'number' ? data.port : null,
                via: str(data.link),
                remote: str(data.remote) ?? str(data.group),
                learning: typeof data.learning === 'boolean' ? data.learning : null,
              }
            : null;
        const addresses = (addrs.find((a) => a.ifname === l.ifname)?.addr_info ?? [])
          .filter((a) => a.family === 'inet' || (a.family === 'inet6' && a.scope !== 'link'))
          .map((a) => `${a.local}/${a.prefixlen}`);
        return {
          name: l.ifname,
          kind,
          addresses,
          mtu: l.mtu,
          up: (l.flags ?? []).includes('UP'),
          master: l.master ?? null,
          peer,
          vxlan,
          lower: kind !== 'veth' && kind !== 'vxlan' && typeof l.link === 'string' ? l.link : (str(data.link) ?? null),
        };
      })
      // lo with nothing but 127.0.0.1 and ::1 is in every namespace and says nothing.
      .filter((i) => !(i.kind === 'loopback' && i.addresses.every((a) => a === '127.0.0.1/8' || a === '::1/128')))
      // In a fixed order: by name, except that a veth to another namespace goes by its peer. The
      // reference bridge plugin names a pod's host end at random (veth + 8 hex digits), and those
      // names must not reorder the picture each time the lab comes up.
      .sort((a, b) => compare(orderKey(a), orderKey(b)));
    const daemons = [...new Set(processes.filter((p) => p.netns === r.netns).map((p) => p.name))].sort();
    return { name: short, role: roles.get(short) ?? null, interfaces, daemons };
  });
}

const orderKey = (i: GraphInterface) => (i.peer ? `1 ${i.peer.namespace}/${i.peer.name}` : `0 ${i.name}`);
/** Code-unit order: the same whatever the locale. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Services with their ClusterIP, ports and endpoints, from the running lab's API state, sorted. */
export function servicesOf(services: Service[], slices: EndpointSlice[]): GraphService[] {
  return services
    .map((s): GraphService => {
      const mine = slices.filter((sl) => sl.service === s.meta.name && sl.meta.namespace === s.meta.namespace);
      const seen = new Set<string>();
      const endpoints = mine
        .flatMap((sl) => sl.endpoints)
        .filter((e) => !seen.has(e.address) && seen.add(e.address))
        .map((e) => ({ address: e.address, pod: e.pod, ready: e.conditions.ready }))
        .sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
      return {
        namespace: s.meta.namespace,
        name: s.meta.name,
        type: s.type,
        clusterIP: s.clusterIP,
        ports: s.ports.map((p) => `${p.port}/${p.protocol}${String(p.targetPort) !== String(p.port) ? ` → ${p.targetPort}` : ''}`),
        nodePorts: s.ports.flatMap((p) => (p.nodePort === null ? [] : [p.nodePort])),
        loadBalancer: s.loadBalancerIngress.map((i) => i.ip),
        externalName: s.externalName,
        endpoints,
      };
    })
    .sort((a, b) => compare(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
}

/** One namespace a traced packet crossed, with the interfaces it came in and left by. */
export interface WalkHop {
  namespace: string;
  in: string | null;
  out: string | null;
}

/** A packet's walk to draw over the picture: the request's hops in order, and the reply's when it was seen. */
export interface WalkOverlay {
  hops: WalkHop[];
  reply?: WalkHop[];
}

// ---------------------------------------------------------------------------------------------
// DOT

const FONT = 'DejaVu Sans';
const WALK_RED = '#d62728';
const WALK_BLUE = '#1f77b4';

const ROLE_FILL: Record<string, string> = {
  node: '#e8f1fb',
  pod: '#eaf7ea',
  client: '#fff6e0',
  switch: '#f1f1f1',
  router: '#f1f1f1',
  host: '#f7f7f7',
};

/** DOT's escString in double quotes: backslash and quote escaped, newlines as \n (centred lines). */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

const ifId = (ns: string, name: string) => q(`${ns}/${name}`);
/** Not an interface name: those never contain a space. */
const daemonsId = (ns: string) => q(`${ns}/ processes`);

function ifaceLabel(i: GraphInterface): string {
  const lines = [i.name, ...i.addresses];
  if (i.vxlan) {
    const v = i.vxlan;
    lines.push(['vxlan ' + v.vni, v.dstport !== null ? `dstport ${v.dstport}` : null, v.via ? `via ${v.via}` : null].filter(Boolean).join(' · '));
    if (v.local) lines.push(`local ${v.local}`);
  } else if (i.kind === 'bridge') lines.push('bridge');
  else if (i.kind === 'tun') lines.push('tun (user-space tunnel)');
  else if (!['veth', 'loopback'].includes(i.kind)) lines.push(i.kind + (i.lower ? ` · via ${i.lower}` : ''));
  if (!i.up) lines.push('DOWN');
  return lines.join('\n');
}

function ifaceStyle(i: GraphInterface): string {
  const style = (extra: string) => (i.up ? extra : `${extra},dashed`);
  switch (i.kind) {
    case 'bridge':
      return `shape=box, style=${q(style('filled,bold'))}, peripheries=2, fillcolor="#fde7c3"`;
    case 'vxlan':
      return `shape=cds, style=${q(style('filled'))}, fillcolor="#e7ddf7", margin="0.3,0.06"`;
    case 'tun':
      return `shape=cds, style=${q(style('filled'))}, fillcolor="#f7dde9", margin="0.3,0.06"`;
    case 'veth':
      return `shape=box, style=${q(style('rounded,filled'))}, fillcolor=white`;
    default:
      return `shape=box, style=${q(style('rounded,filled'))}, fillcolor="#f4f4f4"`;
  }
}

/**
 * Levels from the top: a breadth-first walk over the veth pairs from the underlay (or the first
 * namespace), so the switch sits above the nodes and the nodes above their pods. An edge is
 * written from the upper namespace to the lower one, which is what dot ranks by.
 */
function levels(namespaces: GraphNamespace[]): Map<string, number> {
  const level = new Map<string, number>();
  const adj = new Map<string, string[]>(namespaces.map((n) => [n.name, []]));
  for (const n of namespaces) for (const i of n.interfaces) if (i.peer && i.peer.namespace !== n.name) adj.get(n.name)?.push(i.peer.namespace);
  const starts = [...namespaces.filter((n) => n.role === 'switch' || n.role === 'router'), ...namespaces];
  for (const s of starts) {
    if (level.has(s.name)) continue;
    level.set(s.name, 0);
    const queue = [s.name];
    while (queue.length) {
      const cur = queue.shift()!;
      for (const next of adj.get(cur) ?? []) {
        if (level.has(next)) continue;
        level.set(next, level.get(cur)! + 1);
        queue.push(next);
      }
    }
  }
  return level;
}

export function toDot(graph: LabGraph, overlay: WalkOverlay | null = null): string {
  const out: string[] = [];
  const { namespaces } = graph;
  const level = levels(namespaces);
  const lv = (ns: string) => level.get(ns) ?? 0;
  const walked = new Set([...(overlay?.hops ?? []), ...(overlay?.reply ?? [])].map((h) => h.namespace));
  const path = overlay ? walkPath(namespaces, overlay) : [];
  const replyPath = overlay?.reply?.length ? walkPath(namespaces, { hops: overlay.reply }) : [];
  const walkedIf = new Set([...path, ...replyPath]);
  /** "tail head" of each link drawn, so the walk can follow a link the way it was laid out. */
  const laid = new Set<string>();

  out.push(`digraph ${q(graph.lab)} {`);
  out.push(
    `  graph [fontname=${q(FONT)}, fontsize=12, rankdir=TB, newrank=true, compound=true, nodesep=0.25, ranksep=0.45, bgcolor=white, pad=0.2, labelloc=t, label=${q(`${graph.lab}${overlay ? (replyPath.length ? ' · the walk of a trace: request in red, reply in blue' : ' · the walk of a trace') : ''}`)}];`,
  );
  out.push(`  node [fontname=${q(FONT)}, fontsize=10, margin="0.12,0.04"];`);
  out.push(`  edge [fontname=${q(FONT)}, fontsize=9, arrowsize=0.6];`);

  /** The interfaces whose veth peer is in a namespace above: where the namespace hangs from. */
  const uplinksOf = (n: GraphNamespace) =>
    n.interfaces.filter((i) => i.peer && i.peer.namespace !== n.name && lv(i.peer.namespace) < lv(n.name)).map((i) => i.name);
  /** A namespace nothing hangs from below: its name goes under its interfaces, out of the way of the edges coming in from above. */
  const leaf = (n: GraphNamespace) => n.interfaces.every((i) => !i.peer || i.peer.namespace === n.name || lv(i.peer.namespace) < lv(n.name));

  namespaces.forEach((n, k) => {
    const label = n.role && n.role !== n.name ? `${n.name} (${n.role})` : n.name;
    const hot = walked.has(n.name);
    out.push(`  subgraph cluster_${k} {`);
    out.push(
      `    graph [label=${q(label)}, labeljust=l, labelloc=${leaf(n) ? 'b' : 't'}, style="rounded,filled", fillcolor=${q(ROLE_FILL[n.role ?? 'host'] ?? ROLE_FILL.host!)}, color=${hot ? `"${WALK_RED}"` : '"#8a8a8a"'}, penwidth=${hot ? 2.5 : 1}];`,
    );
    if (!n.interfaces.length && !n.daemons.length) out.push(`    ${ifId(n.name, '')} [label="(no interfaces)", shape=plaintext];`);
    for (const i of n.interfaces) {
      const hotIf = walkedIf.has(`${n.name}/${i.name}`);
      out.push(`    ${ifId(n.name, i.name)} [label=${q(ifaceLabel(i))}, ${ifaceStyle(i)}${hotIf ? `, color="${WALK_RED}", penwidth=2.5` : ''}];`);
    }
    if (n.daemons.length) {
      // The lab's processes here, beside the interface the namespace hangs from.
      out.push(`    ${daemonsId(n.name)} [label=${q(n.daemons.join('\n'))}, shape=component, style=filled, fillcolor="#fffbe6", fontsize=9];`);
      const up = uplinksOf(n)[0];
      if (up) out.push(`    { rank=same; ${ifId(n.name, up)}; ${daemonsId(n.name)}; }`);
    }
    out.push('  }');
  });

  // veth pairs: one undirected edge each, from the upper namespace to the lower.
  const drawn = new Set<string>();
  for (const n of namespaces) {
    for (const i of n.interfaces) {
      if (!i.peer) continue;
      const a = `${n.name}/${i.name}`;
      const b = `${i.peer.namespace}/${i.peer.name}`;
      const key = [a, b].sort().join(' ');
      if (drawn.has(key)) continue;
      drawn.add(key);
      const down = lv(n.name) <= lv(i.peer.namespace);
      const [t, h] = down ? [a, b] : [b, a];
      laid.add(`${t} ${h}`);
      out.push(`  ${q(t)} -> ${q(h)} [dir=none, penwidth=1.6, tooltip="veth pair"];`);
    }
  }

  // Inside a namespace: bridges to their ports, tunnels to their underlay device. The interfaces
  // whose veth peer is above (the namespace's uplinks) come first, so a node's cni0 hangs below
  // its eth0 rather than floating at the top.
  for (const n of namespaces) {
    const uplinks = uplinksOf(n);
    const byName = new Map(n.interfaces.map((i) => [i.name, i]));
    for (const i of n.interfaces) {
      if (i.master && byName.has(i.master)) {
        const [t, h] = uplinks.includes(i.name) ? [i.name, i.master] : [i.master, i.name];
        laid.add(`${n.name}/${t} ${n.name}/${h}`);
        out.push(`  ${ifId(n.name, t)} -> ${ifId(n.name, h)} [dir=none, color="#c77c02", penwidth=1.4, tooltip="bridge port"];`);
      }
      // A TUN device's packets go to whichever process holds it open: flanneld's UDP backend.
      if (i.kind === 'tun' && n.daemons.length)
        out.push(`  ${ifId(n.name, i.name)} -> ${daemonsId(n.name)} [dir=both, style=dashed, color="#a0406a", label=" read/write", fontcolor="#a0406a"];`);
      const under = i.vxlan?.via ?? i.lower;
      if (under && byName.has(under)) {
        laid.add(`${n.name}/${under} ${n.name}/${i.name}`);
        out.push(`  ${ifId(n.name, under)} -> ${ifId(n.name, i.name)} [dir=none, style=dashed, color="#6a3d9a", label=" underlay", fontcolor="#6a3d9a"];`);
      } else if (!(i.master && byName.has(i.master)) && uplinks.length && !uplinks.includes(i.name)) {
        const ports = n.interfaces.filter((p) => p.master === i.name);
        if (!ports.some((p) => uplinks.includes(p.name))) out.push(`  ${ifId(n.name, uplinks[0]!)} -> ${ifId(n.name, i.name)} [style=invis];`);
      }
    }
  }

  // VXLAN devices with the same VNI and port in different namespaces are one overlay.
  const vteps = namespaces.flatMap((n) => n.interfaces.filter((i) => i.vxlan).map((i) => ({ ns: n.name, i })));
  for (let x = 0; x < vteps.length; x++) {
    for (let y = x + 1; y < vteps.length; y++) {
      const a = vteps[x]!;
      const b = vteps[y]!;
      if (a.ns === b.ns || a.i.vxlan!.vni !== b.i.vxlan!.vni || a.i.vxlan!.dstport !== b.i.vxlan!.dstport) continue;
      out.push(
        `  ${ifId(a.ns, a.i.name)} -> ${ifId(b.ns, b.i.name)} [dir=none, style=dotted, color="#6a3d9a", constraint=false, tooltip=${q(`VXLAN VNI ${a.i.vxlan!.vni}`)}];`,
      );
    }
  }

  // Services: ClusterIP → the pod interfaces holding the endpoint addresses (kube-proxy's DNAT targets).
  if (graph.services.length) {
    const holder = new Map<string, string>();
    for (const n of namespaces) for (const i of n.interfaces) for (const a of i.addresses) holder.set(a.split('/')[0]!, `${n.name}/${i.name}`);
    out.push('  subgraph cluster_services {');
    out.push(`    graph [label="Services (kube-proxy)", style="rounded,filled", fillcolor="#fdecec", color="#b55d5d"];`);
    const external: string[] = [];
    for (const s of graph.services) {
      const name = s.namespace === 'default' ? s.name : `${s.namespace}/${s.name}`;
      const lines = [`${name} (${s.type})`];
      if (s.externalName) lines.push(`→ ${s.externalName}`);
      else if (s.clusterIP === 'None') lines.push(`headless · ${s.ports.join(', ')}`);
      else if (s.clusterIP) lines.push(`${s.clusterIP} · ${s.ports.join(', ')}`);
      if (s.nodePorts.length) lines.push(`NodePort ${s.nodePorts.join(', ')}`);
      if (s.loadBalancer.length) lines.push(`LoadBalancer ${s.loadBalancer.join(', ')}`);
      out.push(`    ${q(`svc/${s.namespace}/${s.name}`)} [label=${q(lines.join('\n'))}, shape=box, style="rounded,filled", fillcolor=white, color="#b55d5d"];`);
      for (const e of s.endpoints) if (!holder.has(e.address) && !external.includes(e.address)) external.push(e.address);
    }
    for (const a of external) out.push(`    ${q(`ep/${a}`)} [label=${q(`${a}\n(outside the lab's pods)`)}, shape=box, style="dashed"];`);
    out.push('  }');
    for (const s of graph.services) {
      for (const e of s.endpoints) {
        const target = holder.get(e.address) ?? `ep/${e.address}`;
        const color = e.ready ? '#1f77b4' : '#9a9a9a';
        out.push(
          `  ${q(`svc/${s.namespace}/${s.name}`)} -> ${q(target)} [style=dashed, color=${q(color)}${e.ready ? '' : ', label=" not ready", fontcolor="#9a9a9a"'}];`,
        );
      }
    }
  }

  // The walk: numbered red edges along the interfaces the packet crossed, in order. One that
  // goes up a link (a reply, or a pod to its node) is written the way the link was laid out, with
  // the arrow turned round, so dot draws it beside the link instead of looping round the picture.
  // The reply the same way in blue and dashed, numbered on its own.
  const drawWalk = (steps: string[], style: string) => {
    for (let k = 1; k < steps.length; k++) {
      const [a, b] = [steps[k - 1]!, steps[k]!];
      const back = laid.has(`${b} ${a}`);
      out.push(`  ${q(back ? b : a)} -> ${q(back ? a : b)} [${style}, penwidth=2.2, constraint=false${back ? ', dir=back' : ''}, xlabel=${q(String(k))}];`);
    }
  };
  drawWalk(path, `color="${WALK_RED}", fontcolor="${WALK_RED}"`);
  drawWalk(replyPath, `color="${WALK_BLUE}", fontcolor="${WALK_BLUE}", style=dashed`);

  out.push('}');
  return out.join('\n') + '\n';
}

/**
 * The interfaces a walk crossed, as "namespace/interface", in order. A trace names the device a
 * packet came in by and left by in each namespace it was traced in; between two of those the
 * packet crossed links the trace does not name: veth pairs, bridge ports (a bridged hop reports
 * the bridge, cni0, both ways), and for an encapsulated packet the underlay (flannel.1 → eth0 →
 * the switch → the other node's eth0 → its flannel.1). Those are found as the shortest way
 * through the picture's links; a namespace the walk does not name (an underlay router, which
 * sees only the outer packet) may be crossed from any interface to any other.
 */
export function walkPath(namespaces: GraphNamespace[], overlay: WalkOverlay): string[] {
  const exists = new Set(namespaces.flatMap((n) => n.interfaces.map((i) => `${n.name}/${i.name}`)));
  const walked = new Set(overlay.hops.map((h) => h.namespace));
  const links = new Map<string, { to: string; cost: number }[]>([...exists].map((id) => [id, []]));
  const link = (a: string, b: string, cost: number) => {
    if (!exists.has(a) || !exists.has(b) || a === b) return;
    links.get(a)!.push({ to: b, cost });
    links.get(b)!.push({ to: a, cost });
  };
  for (const n of namespaces) {
    for (const i of n.interfaces) {
      const id = `${n.name}/${i.name}`;
      if (i.peer) link(id, `${i.peer.namespace}/${i.peer.name}`, 1);
      if (i.master) link(id, `${n.name}/${i.master}`, 1);
      const under = i.vxlan?.via ?? i.lower;
      if (under) link(id, `${n.name}/${under}`, 1);
      if (!walked.has(n.name)) for (const j of n.interfaces) if (j.name > i.name) link(id, `${n.name}/${j.name}`, 3);
    }
  }
  /** The interfaces strictly between a and b on the cheapest way (Dijkstra; the graphs are small). */
  const between = (a: string, b: string): string[] => {
    const dist = new Map<string, number>([[a, 0]]);
    const prev = new Map<string, string>();
    const open = new Set([a]);
    while (open.size) {
      const cur = [...open].reduce((x, y) => (dist.get(y)! < dist.get(x)! || (dist.get(y) === dist.get(x) && y < x) ? y : x));
      open.delete(cur);
      if (cur === b) break;
      for (const { to, cost } of links.get(cur) ?? []) {
        const d = dist.get(cur)! + cost;
        if (d < (dist.get(to) ?? Infinity)) {
          dist.set(to, d);
          prev.set(to, cur);
          open.add(to);
        }
      }
    }
    if (!prev.has(b)) return [];
    const way: string[] = [];
    for (let x = prev.get(b)!; x !== a; x = prev.get(x)!) way.unshift(x);
    return way;
  };
  const path: string[] = [];
  const push = (id: string) => {
    if (exists.has(id) && path.at(-1) !== id) path.push(id);
  };
  for (const h of overlay.hops) {
    for (const dev of [h.in, h.out]) {
      if (!dev) continue;
      const id = `${h.namespace}/${dev}`;
      if (!exists.has(id)) continue;
      const last = path.at(-1);
      // Within a namespace the kernel routed it (cni0 → flannel.1): one step, nothing between.
      const routed = last?.startsWith(`${h.namespace}/`);
      if (last && !routed && !links.get(last)!.some((l) => l.to === id)) for (const x of between(last, id)) push(x);
      push(id);
    }
  }
  return path;
}
