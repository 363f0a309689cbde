// A packet's walk from the kernel's own account: nftables trace events. A table of the lab's own
// (TRACE_TABLE) sets `meta nftrace` on the probe's packets in the prerouting and output hooks,
// before raw, and `nft monitor trace` in the namespace then reports every base chain of every
// table the packet meets, each rule that matched and its verdict, and the packet as that chain
// saw it. iptables here is the nf_tables backend, so kube-proxy's and flannel's iptables rules
// are nftables chains and appear in the same trace. The trace flag does not cross namespaces
// (a veth scrubs it), hence one table per namespace. Pure: commands out, parsed text in.

import type { Command } from './command.js';
import { inNetns } from './lower.js';

export const TRACE_TABLE = 'knetlab-trace';
/** Before raw (-300) and conntrack (-200): every later table sees the flag already set. */
export const TRACE_PRIORITY = -350;

/** The trace table's base chains that show hooks: one per hook, before everything. */
const TRACE_CHAINS: Record<string, { hook: string; prio: number } | undefined> = Object.fromEntries(
  ['prerouting', 'input', 'forward', 'output', 'postrouting'].map((h) => [h, { hook: h, prio: TRACE_PRIORITY }]),
);
/** Its chain after source NAT (priority 100), where a request's new source port is remembered. */
const AFTER_SNAT = 'after-snat';

/** What picks the probe's packets out of everything else in the lab, in both directions. */
export type FlowMatch = { protocol: 'tcp'; port: number } | { protocol: 'icmp'; length: number };

/**
 * A TCP probe's packets carry their direction in their DSCP, which no NAT rewrites: the client's
 * trace table marks the request as it leaves (REQUEST_DSCP), and the namespace that answers marks
 * the reply (REPLY_DSCP). The client's port alone would not do: a SNAT (kube-proxy's MASQUERADE
 * --random-fully) changes it on the way. ICMP probes are told by their IP length, which NAT keeps.
 */
export const REQUEST_DSCP = 'af41';
export const REPLY_DSCP = 'af42';

/**
 * The ruleset of the trace table, for `nft -f -`: the flag set on the flow's packets in both hooks
 * where packets start. `origin`: this is the client's namespace, where the request is marked.
 * Every namespace remembers where marked requests came from (before and after its own SNAT), so
 * the reply it sends or forwards back is known even when its ports changed.
 */
export function traceRuleset(m: FlowMatch, origin = false): string {
  const tcp = m.protocol === 'tcp';
  const traced = tcp
    ? [`meta l4proto tcp ip dscp { ${REQUEST_DSCP}, ${REPLY_DSCP} } meta nftrace set 1`]
    : [`meta l4proto icmp ip length ${m.length} meta nftrace set 1`];
  const remember = `meta l4proto tcp ip dscp ${REQUEST_DSCP} update @flows { ip saddr . tcp sport }`;
  const rules: Record<'prerouting' | 'output', string[]> = tcp
    ? {
        prerouting: [remember, ...traced],
        output: [
          ...(origin ? [`tcp sport ${m.port} ip dscp set ${REQUEST_DSCP}`] : []),
          `meta l4proto tcp ip daddr . tcp dport @flows ip dscp set ${REPLY_DSCP}`,
          ...traced,
        ],
      }
    : { prerouting: traced, output: traced };
  const chain = (name: 'prerouting' | 'output') => [
    `  chain ${name} {`,
    `    type filter hook ${name} priority ${TRACE_PRIORITY}; policy accept;`,
    ...rules[name].map((x) => `    ${x}`),
    '  }',
  ];
  // Empty chains in the other three hooks: a flagged packet shows every hook it meets, even in a
  // namespace (a pod) with no other table.
  const empty = (hook: string) => [`  chain ${hook} {`, `    type filter hook ${hook} priority ${TRACE_PRIORITY}; policy accept;`, '  }'];
  // "add" then "flush": a table left by a killed trace is replaced, not doubled.
  return [
    `table ip ${TRACE_TABLE}`,
    `flush table ip ${TRACE_TABLE}`,
    `table ip ${TRACE_TABLE} {`,
    ...(tcp ? ['  set flows {', '    type ipv4_addr . inet_service; flags dynamic, timeout; timeout 1m;', '  }'] : []),
    ...chain('prerouting'),
    ...empty('input'),
    ...empty('forward'),
    ...chain('output'),
    ...empty('postrouting'),
    // After source NAT (priority 100): the request as it leaves, so its reply is known on return.
    ...(tcp ? [`  chain ${AFTER_SNAT} {`, '    type filter hook postrouting priority 300; policy accept;', `    ${remember}`, '  }'] : []),
    '}',
    '',
  ].join('\n');
}

/** Create the trace table in a namespace (`origin`: the client's, where the probe starts). */
export function addTraceTable(netns: string, m: FlowMatch, origin = false): Command {
  return { ...inNetns(netns, ['nft', '-f', '-']), input: traceRuleset(m, origin) };
}

/** Remove it; idempotent (declaring the table first makes deleting an absent one succeed). */
export function removeTraceTable(netns: string): Command {
  return { ...inNetns(netns, ['nft', '-f', '-']), input: `table ip ${TRACE_TABLE}\ndelete table ip ${TRACE_TABLE}\n` };
}

export function isTraceCleanup(cmd: Command): boolean {
  return cmd.file === 'ip' && cmd.args[0] === 'netns' && cmd.args.at(-1) === '-' && cmd.input === removeTraceTable(cmd.args[2] ?? '').input;
}

/**
 * `nft -a monitor trace` for a bounded time: even if knetlab is killed with SIGKILL, the monitor
 * ends by itself. The line on stderr says the monitor is about to subscribe.
 */
export const MONITOR_READY = 'knetlab: monitoring';
export function monitorCommand(netns: string, seconds: number): Command {
  return inNetns(netns, ['sh', '-c', `echo '${MONITOR_READY}' >&2; exec timeout ${seconds} nft -a monitor trace`]);
}

/** The packet as a trace event prints it ("packet: iif … ip saddr … tcp sport …"). */
export interface TracedPacket {
  iif: string | null;
  oif: string | null;
  saddr: string;
  daddr: string;
  ttl: number | null;
  id: number | null;
  length: number | null;
  protocol: string;
  sport: number | null;
  dport: number | null;
  /** tcp flags ("syn", "0x12") or the ICMP type ("echo-request"). */
  flags: string | null;
  /** The DSCP as nft names it ("cs0", "af41"). */
  dscp: string | null;
  mark: string | null;
}

export interface TraceEvent {
  id: string;
  family: string;
  table: string;
  chain: string;
  kind: 'packet' | 'rule' | 'policy' | 'verdict';
  packet: TracedPacket | null;
  /** The rule as nft prints it, without its handle comment. */
  rule: string | null;
  handle: number | null;
  /** accept, drop, continue, return, "jump CHAIN", "goto CHAIN". */
  verdict: string | null;
}

const LINE = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (packet: |rule |policy |verdict )(.*)$/;

/** Parse `nft monitor trace` output (with or without -a), one event a line. */
export function parseTrace(text: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw.trimEnd());
    if (!m) continue;
    const [, id, family, table, chain, what, rest] = m as unknown as [string, string, string, string, string, string, string];
    const base = { id, family, table, chain, packet: null, rule: null, handle: null, verdict: null };
    if (what === 'packet: ') events.push({ ...base, kind: 'packet', packet: parsePacket(rest) });
    else if (what === 'policy ') events.push({ ...base, kind: 'policy', verdict: rest.trim() });
    else if (what === 'verdict ') events.push({ ...base, kind: 'verdict', verdict: rest.trim() });
    else {
      // "RULE TEXT # handle N (verdict V)"; the handle is there with -a.
      const r = /^(.*?)(?:\s+# handle (\d+))?\s+\(verdict ([^)]*)\)$/.exec(rest.trim());
      events.push({
        ...base,
        kind: 'rule',
        rule: (r ? r[1]! : rest).replace(/\s+/g, ' ').trim(),
        handle: r?.[2] ? Number(r[2]) : null,
        verdict: r ? r[3]! : null,
      });
    }
  }
  return events;
}

function parsePacket(text: string): TracedPacket {
  const word = (re: RegExp) => re.exec(text)?.[1] ?? null;
  const num = (re: RegExp) => {
    const w = word(re);
    return w === null ? null : Number(w);
  };
  const protocol = word(/\b(tcp|udp|icmp|sctp) /) ?? word(/ip protocol (\S+)/) ?? 'ip';
  return {
    iif: word(/\biif "([^"]+)"/),
    oif: word(/\boif "([^"]+)"/),
    saddr: word(/\bip saddr (\S+)/) ?? '',
    daddr: word(/\bip daddr (\S+)/) ?? '',
    ttl: num(/\bip ttl (\d+)/),
    id: num(/\bip id (\d+)/),
    length: num(/\bip length (\d+)/),
    protocol,
    sport: num(/\b(?:tcp|udp|sctp) sport (\d+)/),
    dport: num(/\b(?:tcp|udp|sctp) dport (\d+)/),
    flags: word(/\btcp flags == (\S+)/) ?? word(/\bicmp type (\S+)/),
    dscp: word(/\bip dscp (\S+)/),
    mark: word(/\bmeta mark (0x[0-9a-f]+)/),
  };
}

/** A base chain's facts, from `nft -j list ruleset`. */
export interface ChainInfo {
  hook: string;
  prio: number;
  type: string;
}

export interface Ruleset {
  /** "family table chain" → base chain facts (absent for regular chains). */
  chains: Map<string, ChainInfo>;
  /** "family table chain" → its rules' handles, in order. */
  handles: Map<string, number[]>;
}

export const chainKey = (family: string, table: string, chain: string) => `${family} ${table} ${chain}`;

export function parseRuleset(json: string): Ruleset {
  const chains = new Map<string, ChainInfo>();
  const handles = new Map<string, number[]>();
  let items: Record<string, Record<string, unknown>>[] = [];
  try {
    items = (JSON.parse(json) as { nftables?: typeof items }).nftables ?? [];
  } catch {
    /* no ruleset read: hooks stay unknown */
  }
  for (const item of items) {
    const c = item.chain as { family: string; table: string; name: string; hook?: string; prio?: number; type?: string } | undefined;
    if (c?.hook !== undefined) chains.set(chainKey(c.family, c.table, c.name), { hook: c.hook, prio: c.prio ?? 0, type: c.type ?? 'filter' });
    const r = item.rule as { family: string; table: string; chain: string; handle: number } | undefined;
    if (r) {
      const k = chainKey(r.family, r.table, r.chain);
      handles.set(k, [...(handles.get(k) ?? []), r.handle]);
    }
  }
  return { chains, handles };
}

/** iptables-save's "-A CHAIN …" lines per "table chain", in order: the rule as iptables wrote it. */
export function parseIptablesSave(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    const m = /^(?:\[\d+:\d+\] )?-A (\S+) /.exec(line);
    if (!m) continue;
    const k = `${table} ${m[1]}`;
    out.set(k, [...(out.get(k) ?? []), line.replace(/^\[\d+:\d+\] /, '')]);
  }
  return out;
}

/** A rule that matched (or the policy), in the chain it is in. */
export interface RuleHit {
  chain: string;
  rule: string | null;
  verdict: string;
  handle: number | null;
  /** The same rule as `iptables-save` prints it, when it is an iptables rule. */
  iptables: string | null;
}

/** One base chain the packet went through: its hook, table, priority and what matched. */
export interface Visit {
  hook: string;
  family: string;
  table: string;
  chain: string;
  prio: number | null;
  packet: TracedPacket;
  hits: RuleHit[];
  /** This is the trace table itself, which only sets the flag. */
  ours: boolean;
}

/**
 * Group a namespace's events into base chain visits: a "packet:" line opens one, the rule and
 * policy lines with its trace id that follow belong to it (they may name regular chains it jumped to).
 */
export function visitsOf(events: TraceEvent[], rules: Ruleset, iptables: Map<string, string[]> = new Map()): Visit[] {
  const visits: Visit[] = [];
  const open = new Map<string, Visit>();
  for (const e of events) {
    // The trace table's chain after source NAT only remembers the flow: it is no step of the walk.
    if (e.table === TRACE_TABLE && e.chain === AFTER_SNAT) continue;
    if (e.kind === 'packet' && e.packet) {
      const info = rules.chains.get(chainKey(e.family, e.table, e.chain));
      const ours = e.table === TRACE_TABLE;
      const mine = ours ? TRACE_CHAINS[e.chain] : undefined;
      const v: Visit = {
        hook: info?.hook ?? mine?.hook ?? '?',
        family: e.family,
        table: e.table,
        chain: e.chain,
        prio: info?.prio ?? mine?.prio ?? null,
        packet: e.packet,
        hits: [],
        ours,
      };
      visits.push(v);
      open.set(e.id, v);
      continue;
    }
    const v = open.get(e.id);
    if (!v || v.ours || e.verdict === null) continue;
    const handles = rules.handles.get(chainKey(e.family, e.table, e.chain)) ?? [];
    const at = e.handle !== null ? handles.indexOf(e.handle) : -1;
    const ipt = at >= 0 && e.family === 'ip' ? (iptables.get(`${e.table} ${e.chain}`)?.[at] ?? null) : null;
    v.hits.push({
      chain: e.chain,
      rule: e.kind === 'rule' ? e.rule : null,
      verdict: e.kind === 'rule' ? e.verdict : `${e.kind} ${e.verdict}`,
      handle: e.handle,
      iptables: ipt,
    });
  }
  return visits;
}

/** The hook's place in the kernel: where a packet meets it first. */
const HOOK_ORDER = ['prerouting', 'input', 'forward', 'output', 'postrouting'];

/** The verdict that ended a visit: the last hit's, or accept when only "continue"s matched. */
export function visitVerdict(v: Visit): string {
  const last = v.hits.at(-1);
  if (!last) return 'accept';
  const w = last.verdict.replace(/^policy /, '');
  return w === 'continue' || w === 'return' || w.startsWith('jump') ? 'accept' : w;
}

/** Which direction a traced packet goes: for TCP, as its DSCP says (traceRuleset). */
export function directionOf(p: TracedPacket, m: FlowMatch): 'request' | 'reply' | null {
  if (m.protocol === 'tcp') return p.dscp === REQUEST_DSCP ? 'request' : p.dscp === REPLY_DSCP ? 'reply' : null;
  if (p.flags === 'echo-request') return 'request';
  if (p.flags === 'echo-reply') return 'reply';
  return null;
}

/** One namespace on the path of one packet. */
export interface Hop {
  netns: string;
  /** The device it came in by (null: sent from this namespace). */
  in: string | null;
  /** The device it left by (null: delivered here, or dropped). */
  out: string | null;
  /** bridged: through the ip hooks of a bridge (br_netfilter) without being routed, so its TTL is unchanged. */
  fate: 'sent' | 'forwarded' | 'bridged' | 'delivered' | 'dropped' | 'seen';
  /** The packet when it arrived and as it was when it left (after DNAT: a new destination). */
  arrived: TracedPacket;
  left: TracedPacket;
  /** The base chains met, ordered by hook and priority. */
  visits: Visit[];
  /** The same, in the order the kernel reported them: what a trace check judges. */
  asMet: Visit[];
}

/**
 * The walk of one packet (the first of its direction, identified by its IP ID in every namespace
 * it crosses: forwarding and NAT keep the ID) through every namespace whose trace saw it. The
 * order is the kernel's too: every router on the way lowers the TTL by one, so the TTL the packet
 * arrives with orders the namespaces; among equal TTLs, the one it was sent from comes first and
 * the one it was delivered in last.
 */
export function walkOf(perNetns: { netns: string; visits: Visit[] }[], m: FlowMatch, direction: 'request' | 'reply', startNetns: string | null): Hop[] {
  // The packet: the first of this direction sent by the namespace it starts from (or anywhere).
  const starts = perNetns
    .filter((n) => startNetns === null || n.netns === startNetns)
    .flatMap((n) => n.visits.filter((v) => v.hook === 'output' && directionOf(v.packet, m) === direction));
  const first = starts[0];
  if (!first) return [];
  const id = first.packet.id;
  const hops: Hop[] = [];
  for (const { netns, visits } of perNetns) {
    const mine = visits.filter((v) => v.packet.id === id && directionOf(v.packet, m) === direction);
    if (!mine.length) continue;
    // A retransmission meets the same chains again: keep the first pass.
    const seen = new Set<string>();
    const pass = mine.filter((v) => {
      const k = chainKey(v.family, v.table, v.chain);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    const asMet = [...pass];
    pass.sort((a, b) => HOOK_ORDER.indexOf(a.hook) - HOOK_ORDER.indexOf(b.hook) || (a.prio ?? 0) - (b.prio ?? 0));
    const hooks = new Set(pass.map((v) => v.hook));
    const dropped = pass.some((v) => visitVerdict(v) === 'drop');
    const arrived = pass[0]!.packet;
    const left = pass.at(-1)!.packet;
    const routed = left.ttl !== arrived.ttl;
    // IPVS takes a packet for a virtual server at LOCAL_IN and sends it on, rewritten, through
    // LOCAL_OUT: input then output for one packet is forwarding by IPVS, not delivery.
    const fate = dropped
      ? 'dropped'
      : hooks.has('input')
        ? hooks.has('output') && left.daddr !== arrived.daddr
          ? 'forwarded'
          : 'delivered'
        : hooks.has('forward')
          ? routed
            ? 'forwarded'
            : 'bridged'
          : hooks.has('output')
            ? 'sent'
            : 'seen';
    hops.push({
      netns,
      in: arrived.iif,
      out: fate === 'delivered' || fate === 'dropped' ? null : ([...pass].reverse().find((v) => v.packet.oif)?.packet.oif ?? null),
      fate,
      arrived,
      left,
      visits: pass,
      asMet,
    });
  }
  // At one TTL: sent, then bridged (which keeps the TTL), then routed (which lowers it), then delivered.
  const rank = (h: Hop) => ({ sent: 0, bridged: 1, seen: 2, dropped: 2, forwarded: 3, delivered: 4 })[h.fate];
  return hops.sort((a, b) => (b.arrived.ttl ?? 0) - (a.arrived.ttl ?? 0) || rank(a) - rank(b));
}

/** The routing decision for a packet, as `ip route get` takes it (iif for a forwarded packet). */
export function routeGetCommand(netns: string, p: { daddr: string; saddr: string; iif: string | null; mark: string | null }): Command {
  return {
    file: 'ip',
    args: [
      '-n',
      netns,
      '-j',
      'route',
      'get',
      p.daddr,
      'from',
      p.saddr,
      ...(p.iif ? ['iif', p.iif] : []),
      ...(p.mark && p.mark !== '0x00000000' ? ['mark', p.mark] : []),
    ],
  };
}

export interface RouteDecision {
  type: string;
  dev: string | null;
  gateway: string | null;
  prefsrc: string | null;
  text: string;
}

export function parseRouteGet(json: string): RouteDecision | null {
  try {
    const r = (JSON.parse(json) as { type?: string; dst?: string; dev?: string; gateway?: string; prefsrc?: string; flags?: string[] }[])[0];
    if (!r) return null;
    const text = [
      r.type && r.type !== 'unicast' ? r.type : '',
      r.dst,
      r.gateway ? `via ${r.gateway}` : '',
      r.dev ? `dev ${r.dev}` : '',
      r.prefsrc ? `src ${r.prefsrc}` : '',
      ...(r.flags ?? []),
    ]
      .filter(Boolean)
      .join(' ');
    return { type: r.type ?? 'unicast', dev: r.dev ?? null, gateway: r.gateway ?? null, prefsrc: r.prefsrc ?? null, text };
  } catch {
    return null;
  }
}

/** A device's kind and, for a VXLAN device, its VNI, local address and UDP port (`ip -j -d link`). */
export interface DeviceInfo {
  name: string;
  kind: string;
  vni: number | null;
  local: string | null;
  port: number | null;
}

export function parseLinkDetails(json: string): DeviceInfo | null {
  try {
    const l = (
      JSON.parse(json) as {
        ifname: string;
        link_type?: string;
        linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
      }[]
    )[0];
    if (!l) return null;
    const d = l.linkinfo?.info_data;
    return { name: l.ifname, kind: l.linkinfo?.info_kind ?? l.link_type ?? 'device', vni: d?.id ?? null, local: d?.local ?? null, port: d?.port ?? null };
  } catch {
    return null;
  }
}

/** conntrack's entries of the flow in a namespace: by the client's port for TCP, by its address for ICMP. */
export function conntrackCommand(netns: string, m: FlowMatch, client: string): Command {
  return inNetns(netns, [
    'conntrack',
    '-L',
    ...(m.protocol === 'tcp' ? ['-p', 'tcp', '--orig-port-src', String(m.port)] : ['-p', 'icmp', '--orig-src', client]),
  ]);
}

/**
 * What a packet met in one namespace, as a trace check writes it: "HOOK table" for each table
 * that saw it (in the order the kernel reported), and "HOOK" alone for a hook where only the
 * trace table did.
 */
export function metOf(visits: Visit[]): string[] {
  const out: string[] = [];
  for (const v of visits) {
    const hook = v.hook.toUpperCase();
    if (!v.ours) out.push(`${hook} ${v.table}`);
    else if (!visits.some((o) => !o.ours && o.hook === v.hook)) out.push(hook);
  }
  return out;
}

/** An expected walk against the one seen: null when they agree, else the lines that show where they part. */
export function pathDiff(expected: { namespace: string; met: string[] }[], seen: { namespace: string; met: string[] }[]): string[] | null {
  const lines: string[] = [];
  let from = 0;
  for (const want of expected) {
    const at = seen.findIndex((h, i) => i >= from && h.namespace === want.namespace);
    if (at < 0) {
      const earlier = seen.some((h) => h.namespace === want.namespace);
      lines.push(
        `${want.namespace}: ${earlier ? 'crossed, but not in the expected order' : 'not crossed'}; the walk was ${seen.map((h) => h.namespace).join(' → ') || 'empty'}`,
      );
      continue;
    }
    from = at + 1;
    const got = seen[at]!.met;
    const n = Math.max(want.met.length, got.length);
    const same = want.met.length === got.length && want.met.every((m, i) => m === got[i]);
    if (same) continue;
    const width = Math.max(8, ...want.met.map((m) => m.length));
    const first = want.met.findIndex((m, i) => m !== got[i]);
    lines.push(`${want.namespace}: the walk differs from step ${(first < 0 ? want.met.length : first) + 1}`, `     ${'expected'.padEnd(width)}   met`);
    for (let i = 0; i < n; i++) {
      const a = want.met[i] ?? '';
      const b = got[i] ?? '';
      lines.push(`  ${String(i + 1).padStart(2)} ${a.padEnd(width)} ${a === b ? ' ' : '≠'} ${b}`);
    }
  }
  return lines.length ? lines : null;
}
