// knetlab trace: one real probe from a pod, and its walk as the kernel tells it. A trace table of
// the lab's own in every namespace of the lab flags the probe's packets, `nft monitor trace` in
// each reports the hooks, tables, chains and rules they met; `ip route get` gives each hop's
// routing decision, `ip -d link` the device it leaves by, a capture in the underlay the
// encapsulation, conntrack the translations. The trace tables are in the lab's record before
// they exist and are removed on every way out (an error, SIGINT, SIGTERM); after a SIGKILL the
// record still names them, and the next trace or `down` removes them.

import { randomInt } from 'node:crypto';
import { KnetlabError } from '../labfile/diagnostics.js';
import type { Lab, TraceTarget } from '../labfile/types.js';
import type { Host, Running } from '../exec/host.js';
import { renderCommand, type Command } from '../kernel/command.js';
import type { Instance } from '../kernel/instance.js';
import { inNetns } from '../kernel/lower.js';
import { describePacket, parseCapture, type Packet } from '../kernel/capture.js';
import { parseConntrack, parseCurl, traceProbeCommand, type ConntrackEntry } from '../kernel/probe.js';
import {
  addTraceTable,
  conntrackCommand,
  isTraceCleanup,
  metOf,
  monitorCommand,
  MONITOR_READY,
  parseIptablesSave,
  parseLinkDetails,
  parseRouteGet,
  parseRuleset,
  parseTrace,
  removeTraceTable,
  routeGetCommand,
  visitsOf,
  visitVerdict,
  walkOf,
  type DeviceInfo,
  type FlowMatch,
  type Hop,
  type RouteDecision,
  type Visit,
} from '../kernel/trace.js';
import { Lock } from './lock.js';
import { runningState } from '../k8s/store.js';
import type { RecordStore } from './record.js';

export type TraceProbe = TraceTarget;

export interface TraceOptions {
  host: Host;
  store: RecordStore;
  /** Aborted by SIGINT/SIGTERM: the trace stops, removes its tables and throws. */
  signal?: AbortSignal;
  /** The flow to match (a trace check's, known in advance); a random one otherwise. */
  flow?: FlowMatch;
}

export interface HopReport {
  /** The namespace as the lab names it. */
  namespace: string;
  in: string | null;
  out: string | null;
  fate: Hop['fate'];
  arrived: { src: string; dst: string; ttl: number | null };
  left: { src: string; dst: string; ttl: number | null };
  /** "HOOK table" (or "HOOK" where only the trace table saw it) in the order the kernel reported them. */
  met: string[];
  /** Base chains in the order the packet met them. */
  chains: { hook: string; table: string; chain: string; family: string; priority: number | null; verdict: string; rules: Visit['hits'] }[];
  route: (RouteDecision & { command: string }) | null;
  device: DeviceInfo | null;
  /** The packet on the underlay when it left encapsulated. */
  encapsulation: { kind: 'vxlan' | 'udp'; vni: number | null; outer: string; text: string } | null;
}

export interface TraceReport {
  lab: string;
  from: string;
  probe: { command: string; ok: boolean; saw: string };
  flow: FlowMatch;
  iptablesBackend: 'nf_tables' | 'legacy' | 'unknown';
  request: HopReport[];
  reply: HopReport[];
  conntrack: { namespace: string; entry: ConntrackEntry; dnat: string | null; snat: string | null }[];
  /**
   * In kube-proxy's IPVS mode the endpoint is chosen by an IPVS virtual server, not by a rule a
   * trace can show: its choice is in the IPVS connection table (`ipvsadm -Lnc`) of the node that
   * made it, one entry per namespace on the request's path that holds one for the probe.
   */
  ipvs: { namespace: string; entry: string }[];
  kubeProxy: {
    service: string | null;
    endpointChain: string | null;
    dnatTo: string | null;
    deliveredTo: string | null;
    answeredBy: string | null;
    agree: boolean | null;
  } | null;
  notes: string[];
}

/** How long a monitor may run at most, whatever happens to knetlab. */
const MONITOR_SECONDS = 30;

export async function trace(lab: Lab, inst: Instance, from: string, probe: TraceProbe, opts: TraceOptions): Promise<TraceReport> {
  const { host, store } = opts;
  const rec = store.load(inst.name);
  if (!rec || rec.status !== 'up') throw new KnetlabError(`lab ${inst.name} is not up`, 1);
  const all = rec.namespaces.map((n) => n.name);
  const fromNs = inst.netns(from);
  if (!all.includes(fromNs)) {
    throw new KnetlabError(`no namespace "${from}" in lab ${inst.name}`, 2, [`  hint: one of ${all.map((n) => short(inst, n)).join(', ')}`]);
  }
  const flow: FlowMatch =
    opts.flow ?? (probe.kind === 'ping' ? { protocol: 'icmp', length: randomInt(200, 1200) } : { protocol: 'tcp', port: randomInt(42000, 49000) });
  const probeCmd = traceProbeCommand(fromNs, probe, flow);

  const lock = Lock.acquire(store.root, inst.name, host, `trace ${lab.name}`);
  const monitors: { netns: string; run: Running }[] = [];
  let capture: Running | null = null;
  let captureOut = '';
  const outputs = new Map<string, string>();
  let probeResult: { exitCode: number; stdout: string; stderr: string } | null = null;
  const abort = abortPromise(opts.signal);
  const step = <T>(p: Promise<T>) => Promise.race([p, abort.promise]);
  try {
    // What a killed trace left is removed first, then this trace's tables are recorded before they exist.
    const stale = (rec.cleanups ?? []).filter(isTraceCleanup);
    for (const cmd of stale) await host.run(cmd, { timeoutMs: 10_000 });
    rec.cleanups = [...(rec.cleanups ?? []).filter((c) => !isTraceCleanup(c)), ...all.map(removeTraceTable)];
    store.save(rec);
    await step(
      Promise.all(
        all.map(async (ns) => {
          const r = await host.run(addTraceTable(ns, flow, ns === fromNs), { timeoutMs: 10_000 });
          if (r.exitCode !== 0) throw new KnetlabError(`could not create the trace table in ${ns}`, 1, [`  it said: ${r.stderr.trim()}`]);
        }),
      ),
    );
    for (const ns of all) monitors.push({ netns: ns, run: await step(host.start(monitorCommand(ns, MONITOR_SECONDS), MONITOR_READY, 3000)) });
    const underlay = lab.cluster?.underlay.namespace;
    if (underlay && all.includes(inst.netns(underlay)))
      capture = await step(host.start(inNetns(inst.netns(underlay), ['tcpdump', '-i', 'any', '-nn', '-l', '-x', '-c', '200', 'udp']), 'listening on', 5000));
    // The monitors print their line just before subscribing: give them a moment.
    await step(sleep(300));
    probeResult = await step(host.run(probeCmd, { timeoutMs: 15_000 }));
    // Let the last replies and FINs cross before the monitors stop.
    await step(sleep(500));
  } finally {
    await Promise.all(
      monitors.map(async (m) => {
        const r = await m.run.stop();
        outputs.set(m.netns, r.stdout);
      }),
    );
    if (capture) captureOut = (await capture.stop()).stdout;
    await Promise.all(all.map((ns) => host.run(removeTraceTable(ns), { timeoutMs: 10_000 })));
    const now = store.load(inst.name);
    if (now) {
      now.cleanups = (now.cleanups ?? []).filter((c) => !isTraceCleanup(c));
      store.save(now);
    }
    lock.release();
    abort.dispose();
  }
  return analyse(lab, inst, from, flow, probe, probeCmd, probeResult!, outputs, captureOut, host);
}

async function analyse(
  lab: Lab,
  inst: Instance,
  from: string,
  flow: FlowMatch,
  probe: TraceProbe,
  probeCmd: Command,
  probeResult: { exitCode: number; stdout: string; stderr: string },
  outputs: Map<string, string>,
  captureOut: string,
  host: Host,
): Promise<TraceReport> {
  const perNetns: { netns: string; visits: Visit[] }[] = [];
  await Promise.all(
    [...outputs].map(async ([netns, text]) => {
      const events = parseTrace(text);
      if (!events.length) return;
      const others = events.some((e) => e.table !== 'knetlab-trace');
      const [ruleset, save] = others
        ? await Promise.all([host.run(inNetns(netns, ['nft', '-j', '-a', 'list', 'ruleset'])), host.run(inNetns(netns, ['iptables-save']))])
        : [{ stdout: '{}' }, { stdout: '' }];
      perNetns.push({ netns, visits: visitsOf(events, parseRuleset(ruleset.stdout), parseIptablesSave(save.stdout)) });
    }),
  );
  const fromNs = inst.netns(from);
  const requestHops = walkOf(perNetns, flow, 'request', fromNs);
  const delivered = requestHops.findLast((h) => h.fate === 'delivered');
  const replyHops = delivered ? walkOf(perNetns, flow, 'reply', delivered.netns) : [];
  const packets = parseCapture(captureOut);

  const request = await Promise.all(requestHops.map((h) => hopReport(inst, h, host, packets)));
  const reply = await Promise.all(replyHops.map((h) => hopReport(inst, h, host, [])));

  const conntrack: TraceReport['conntrack'] = [];
  for (const h of requestHops) {
    const r = await host.run(conntrackCommand(h.netns, flow, requestHops[0]?.arrived.saddr ?? ''));
    for (const entry of parseConntrack(r.stdout)) {
      if (flow.protocol === 'icmp' && entry.orig.dst !== requestHops[0]?.arrived.daddr) continue;
      const dnat = entry.reply.src !== entry.orig.dst ? `${entry.orig.dst}${port(entry.orig.dport)} → ${entry.reply.src}${port(entry.reply.sport)}` : null;
      const snat = entry.reply.dst !== entry.orig.src ? `${entry.orig.src}${port(entry.orig.sport)} → ${entry.reply.dst}${port(entry.reply.dport)}` : null;
      conntrack.push({ namespace: short(inst, h.netns), entry, dnat, snat });
    }
  }

  // IPVS mode: the connection entries of the probe (its client address and port, as IPVS saw them).
  const ipvs: TraceReport['ipvs'] = [];
  if (flow.protocol === 'tcp' && runsIpvs(inst, host) && host.hasCommand('ipvsadm')) {
    const client = `${requestHops[0]?.arrived.saddr ?? ''}:${flow.port}`;
    for (const h of requestHops) {
      const r = await host.run(inNetns(h.netns, ['ipvsadm', '-Lnc']));
      for (const line of r.stdout.split('\n'))
        if (line.split(/\s+/).includes(client)) ipvs.push({ namespace: short(inst, h.netns), entry: line.trim().replace(/\s+/g, ' ') });
    }
  }

  const ok = probeResult.exitCode === 0;
  const saw = probeSaw(probe, probeResult);
  const backend = await iptablesBackend(host);
  const notes: string[] = [];
  if (backend === 'legacy')
    notes.push(
      'iptables here is the legacy backend: its rules (kube-proxy, flannel) are not nftables chains and do not appear in nftables traces; the walk shows the hooks through the trace table only (iptables-legacy shows its own with "-j TRACE" in the raw table, logged through nfnetlink_log).',
    );
  if (!requestHops.length) notes.push(`no trace event for the probe: it did not leave ${from}`);
  else if (!delivered)
    notes.push(`the request was delivered nowhere the trace could see${requestHops.some((h) => h.fate === 'dropped') ? ': it was dropped' : ''}`);
  const kubeProxy = kubeProxyFacts(inst, requestHops, probe, probeResult);
  return {
    lab: lab.name,
    from,
    probe: { command: renderCommand(probeCmd), ok, saw },
    flow,
    iptablesBackend: backend,
    request,
    reply,
    conntrack,
    ipvs,
    kubeProxy,
    notes,
  };
}

async function hopReport(inst: Instance, h: Hop, host: Host, packets: Packet[]): Promise<HopReport> {
  let route: HopReport['route'] = null;
  let device: DeviceInfo | null = null;
  let encapsulation: HopReport['encapsulation'] = null;
  if (h.out) {
    // The decision (none for a bridged packet: the bridge chose the port, not a route) for the packet as routed: after PREROUTING's DNAT, before POSTROUTING's SNAT.
    const routed = h.visits.find((v) => v.hook === 'forward' || v.hook === 'postrouting' || v.hook === 'output')?.packet ?? h.left;
    const cmd = routeGetCommand(h.netns, { daddr: routed.daddr, saddr: routed.saddr, iif: h.in, mark: routed.mark });
    const decision = h.fate === 'bridged' ? null : parseRouteGet((await host.run(cmd)).stdout);
    route = decision ? { ...decision, command: renderCommand(cmd) } : null;
    device = parseLinkDetails((await host.run({ file: 'ip', args: ['-n', h.netns, '-j', '-d', 'link', 'show', 'dev', h.out] })).stdout);
    if (device && (device.kind === 'vxlan' || device.kind === 'tun')) {
      const kind = device.kind === 'vxlan' ? 'vxlan' : 'udp';
      const p = packets.find((pk) => pk.encap === kind && pk.inner.src === routed.saddr && pk.inner.dst === routed.daddr);
      if (p) encapsulation = { kind, vni: p.vni, outer: `${p.outer.src}:${p.outer.sport} > ${p.outer.dst}:${p.outer.dport}`, text: describePacket(p) };
    }
  }
  const addr = (p: Hop['arrived']) => ({ src: p.saddr, dst: p.daddr, ttl: p.ttl });
  return {
    namespace: short(inst, h.netns),
    in: h.in,
    out: h.out,
    fate: h.fate,
    met: metOf(h.asMet),
    arrived: addr(h.arrived),
    left: addr(h.left),
    chains: h.visits.map((v) => ({
      hook: v.hook,
      table: v.table,
      chain: v.chain,
      family: v.family,
      priority: v.prio,
      verdict: visitVerdict(v),
      rules: v.hits,
    })),
    route,
    device,
    encapsulation,
  };
}

/** KUBE-SERVICES → KUBE-SVC-… → the KUBE-SEP-… chosen → DNAT, and whether the pod that answered is the one chosen. */
function kubeProxyFacts(inst: Instance, hops: Hop[], probe: TraceProbe, r: { exitCode: number; stdout: string }): TraceReport['kubeProxy'] {
  const hits = hops.flatMap((h) => h.visits.flatMap((v) => v.hits));
  const service = hits.find((x) => x.chain === 'KUBE-SERVICES' && x.verdict.startsWith('jump KUBE-SVC-'))?.verdict.slice(5) ?? null;
  const sep = hits.find((x) => x.verdict.startsWith('jump KUBE-SEP-'))?.verdict.slice(5) ?? null;
  if (!service && !sep) return null;
  const dnatRule = hits.find((x) => x.chain === sep && x.rule?.includes('dnat to'));
  const dnatTo = /dnat to (\S+)/.exec(dnatRule?.rule ?? '')?.[1] ?? null;
  const deliveredHop = hops.find((h) => h.fate === 'delivered');
  const deliveredTo = deliveredHop ? short(inst, deliveredHop.netns) : null;
  let answeredBy: string | null = null;
  if (probe.kind === 'http' && r.exitCode === 0) {
    const body = parseCurl(r.stdout)[0]?.body ?? '';
    try {
      const j = JSON.parse(body) as { pod?: string; ip?: string };
      answeredBy = j.pod ? `${j.pod}${j.ip ? ` (${j.ip})` : ''}` : null;
    } catch {
      /* not the echo server */
    }
  }
  const dnatIp = dnatTo?.split(':')[0] ?? null;
  const agree =
    dnatIp === null || !deliveredHop
      ? null
      : deliveredHop.arrived.daddr === dnatIp && (answeredBy === null || (answeredBy.startsWith(deliveredTo ?? '') && answeredBy.includes(`(${dnatIp})`)));
  return { service, endpointChain: sep, dnatTo, deliveredTo, answeredBy, agree };
}

function probeSaw(probe: TraceProbe, r: { exitCode: number; stdout: string; stderr: string }): string {
  const last = (s: string) => s.trim().split('\n').filter(Boolean).at(-1) ?? '';
  if (probe.kind === 'http') {
    const reply = parseCurl(r.stdout)[0];
    return reply ? `HTTP ${reply.status}: ${reply.body.slice(0, 200)}` : last(r.stderr) || `curl exit ${r.exitCode}`;
  }
  if (probe.kind === 'ping') return r.exitCode === 0 ? (r.stdout.split('\n').find((l) => l.includes('bytes from')) ?? 'a reply') : 'no reply';
  return r.exitCode === 0 ? 'the connection was accepted' : last(r.stderr) || `nc exit ${r.exitCode}`;
}

async function iptablesBackend(host: Host): Promise<TraceReport['iptablesBackend']> {
  const r = await host.run({ file: 'iptables', args: ['--version'] });
  return r.stdout.includes('nf_tables') ? 'nf_tables' : r.stdout.includes('legacy') ? 'legacy' : 'unknown';
}

const port = (p: number | null) => (p === null ? '' : `:${p}`);

/** Whether the running lab's kube-proxy is in IPVS mode (its state file says which mode runs). */
const runsIpvs = (inst: Instance, host: Host): boolean => runningState(inst.dir, (f) => host.readFile(f))?.kubeProxy.mode === 'ipvs';
const short = (inst: Instance, netns: string) => (inst.prefix && netns.startsWith(`${inst.prefix}-`) ? netns.slice(inst.prefix.length + 1) : netns);
const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

function abortPromise(signal?: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(new KnetlabError(`trace interrupted (${String(signal?.reason ?? 'aborted')}); its trace tables were removed`, 1));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal?.removeEventListener('abort', onAbort) };
}

/** The walk as text (a terminal) or Markdown. */
export function renderTrace(t: TraceReport, format: 'text' | 'md'): string {
  const md = format === 'md';
  const out: string[] = [];
  const h = (s: string) => (md ? out.push(`## ${s}`, '') : out.push(`${s}:`));
  const code = (s: string) => (md ? `\`${s}\`` : s);
  out.push(md ? `# Trace in ${t.lab} from ${t.from}` : `trace ${t.lab} from ${t.from}`, '');
  out.push(`${md ? '- ' : ''}probe: ${code(t.probe.command)}`, `${md ? '- ' : ''}result: ${t.probe.ok ? 'ok' : 'failed'}: ${t.probe.saw}`);
  out.push(
    `${md ? '- ' : ''}flow: ${t.flow.protocol === 'tcp' ? `TCP, client port ${t.flow.port}` : `ICMP, IP length ${t.flow.length}`}; iptables backend: ${t.iptablesBackend}`,
    '',
  );
  h('Request');
  t.request.forEach((hop, i) => renderHop(out, hop, i, md));
  if (t.kubeProxy) {
    h('kube-proxy');
    const k = t.kubeProxy;
    out.push(`${md ? '- ' : '  '}KUBE-SERVICES → ${k.service ?? '?'} → ${k.endpointChain ?? '?'} → DNAT to ${k.dnatTo ?? '?'}`);
    out.push(
      `${md ? '- ' : '  '}delivered to ${k.deliveredTo ?? '?'}${k.answeredBy ? `; answered by ${k.answeredBy}` : ''}: ${k.agree === null ? 'not comparable' : k.agree ? 'they agree' : 'THEY DISAGREE'}`,
      '',
    );
  }
  h('Connection tracking');
  if (!t.conntrack.length) out.push(`${md ? '- ' : '  '}no conntrack entry on the way`);
  for (const c of t.conntrack)
    out.push(
      `${md ? '- ' : '  '}${c.namespace}: ${code(`${c.entry.orig.src}${port(c.entry.orig.sport)} > ${c.entry.orig.dst}${port(c.entry.orig.dport)}`)} reply ${code(`${c.entry.reply.src}${port(c.entry.reply.sport)} > ${c.entry.reply.dst}${port(c.entry.reply.dport)}`)}${c.dnat ? `; DNAT ${c.dnat}` : ''}${c.snat ? `; SNAT ${c.snat}` : ''}`,
    );
  if (t.ipvs.length) {
    out.push('');
    h('IPVS (kube-proxy in IPVS mode chose the endpoint: ipvsadm -Lnc, protocol expire state source virtual destination)');
    for (const e of t.ipvs) out.push(`${md ? '- ' : '  '}${e.namespace}: ${code(e.entry)}`);
  }
  out.push('');
  h('Reply');
  if (!t.reply.length) out.push(`${md ? '- ' : '  '}no reply seen`);
  for (const hop of t.reply)
    out.push(
      `${md ? '- ' : '  '}${hop.namespace}: ${hop.in ? `in ${hop.in} ` : ''}${hop.arrived.src} > ${hop.arrived.dst} (ttl ${hop.arrived.ttl}), ${hooksOf(hop)}, ${hop.fate}${hop.out ? ` by ${hop.out}` : ''}`,
    );
  if (t.notes.length) out.push('', ...t.notes.map((n) => `${md ? '> ' : 'note: '}${n}`));
  return out.join('\n') + '\n';
}

/** "prerouting (nat) → forward (filter) → postrouting": the hooks met, with the tables that saw the packet in each. */
function hooksOf(hop: HopReport): string {
  const hooks: string[] = [];
  for (const c of hop.chains) if (!hooks.includes(c.hook)) hooks.push(c.hook);
  return hooks
    .map((hk) => {
      const tables = hop.chains.filter((c) => c.hook === hk && c.table !== 'knetlab-trace').map((c) => c.table);
      return tables.length ? `${hk} (${tables.join(', ')})` : hk;
    })
    .join(' → ');
}

function renderHop(out: string[], hop: HopReport, i: number, md: boolean): void {
  const head = `${i + 1}. ${hop.namespace}: ${hop.in ? `in by ${hop.in}` : 'sent here'}, ${hop.arrived.src} > ${hop.arrived.dst} ttl ${hop.arrived.ttl} — ${hop.fate}${hop.out ? ` by ${hop.out}` : ''}`;
  out.push(md ? `### ${head}` : head);
  if (md) out.push('');
  const ind = md ? '' : '   ';
  for (const c of hop.chains) {
    // The trace table's own chains stand for a hook no other table has here.
    if (c.table === 'knetlab-trace') {
      if (!hop.chains.some((o) => o.hook === c.hook && o.table !== 'knetlab-trace')) out.push(`${ind}${md ? '- ' : ''}${c.hook} (no table but the trace's)`);
      continue;
    }
    out.push(`${ind}${md ? '- ' : ''}${c.hook} ${c.family} ${c.table} ${c.chain} (priority ${c.priority ?? '?'}): ${c.verdict}`);
    for (const r of c.rules) {
      const text = r.iptables ?? (r.rule !== null ? `${r.chain}: ${r.rule}` : r.chain);
      out.push(`${ind}${md ? '  - ' : '    '}${md ? `\`${text}\`` : text} → ${r.verdict}`);
    }
  }
  if (hop.left.src !== hop.arrived.src || hop.left.dst !== hop.arrived.dst)
    out.push(`${ind}${md ? '- ' : ''}translated: now ${hop.left.src} > ${hop.left.dst}`);
  if (hop.route) out.push(`${ind}${md ? '- ' : ''}route: ${md ? `\`${hop.route.text}\`` : hop.route.text}`);
  if (hop.device && hop.device.kind !== 'veth')
    out.push(
      `${ind}${md ? '- ' : ''}leaves by ${hop.device.name}, a ${hop.device.kind} device${hop.device.vni !== null ? ` (VNI ${hop.device.vni}, local ${hop.device.local}, UDP ${hop.device.port})` : ''}`,
    );
  if (hop.fate === 'bridged') out.push(`${ind}${md ? '- ' : ''}bridged, not routed (TTL unchanged): br_netfilter passes bridged IPv4 through the ip hooks`);
  if (hop.encapsulation) out.push(`${ind}${md ? '- ' : ''}on the underlay: ${hop.encapsulation.text}`);
  out.push('');
}
