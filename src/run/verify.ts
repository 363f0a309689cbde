// Running checks: real packets from inside the lab's namespaces, retried until the check's
// timeout. A failing check explains itself: the command, from where to where, what it expected,
// what it saw, and evidence from the namespaces involved. A check the kernel cannot run at all
// (an sctp check where there are no SCTP sockets) is skipped and says why: it neither passes nor
// fails, and every summary counts it apart.

import { knetlabEntry } from '../exec/install.js';
import { basename } from 'node:path';
import type { Check, Lab } from '../labfile/types.js';
import { parseCidr, parseIPv4, contains } from '../labfile/net.js';
import { cidrsOf } from '../labfile/routes.js';
import type { Host, RunResult } from '../exec/host.js';
import { renderCommand, type Command } from '../kernel/command.js';
import {
  checkFlow,
  parseCertLines,
  parseConntrack,
  parseCounters,
  parseCurl,
  parseDatagrams,
  parseDig,
  probeCommand,
  socatMessage,
  type ConntrackEntry,
  type HttpReply,
} from '../kernel/probe.js';
import { pathDiff } from '../kernel/trace.js';
import type { RecordStore } from './record.js';
import type { Instance } from '../kernel/instance.js';
import { CNIS } from '../plan/registry.js';
import { describePacket, parseCapture } from '../kernel/capture.js';
import { runningState, speakerBase } from '../k8s/store.js';
import { key, type Service, type SpeakerStatus } from '../api/objects.js';

export interface CheckResult {
  check: Check;
  passed: boolean;
  /** What was seen, one line. */
  saw: string;
  attempts: number;
  ms: number;
  command: Command;
  /** Lines of explanation and evidence, for failures. */
  details: string[];
  /** Why the check could not run on this machine; then `passed` is false and it is no failure either. */
  skipped?: string;
  /** What the command printed on its last attempt (stdout, then stderr): a tutorial shows it. */
  output?: string;
}

interface Verdict {
  ok: boolean;
  saw: string;
}

const RETRY_DELAY_MS = 200;

/** trace checks need the lab's record: their trace tables are recorded there while they exist. */
export interface CheckOptions {
  store?: RecordStore;
}

export async function runChecks(lab: Lab, inst: Instance, host: Host, onResult?: (r: CheckResult) => void, opts: CheckOptions = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of lab.checks) {
    const r = await runCheck(lab, inst, host, check, opts);
    onResult?.(r);
    results.push(r);
  }
  return results;
}

/** The command a check runs: the same for `verify` and for the tutorial that prints it. */
export function checkCommand(lab: Lab, inst: Instance, check: Check): Command {
  const bgp = lab.cluster ? CNIS[lab.cluster.cni.type].bgp : undefined;
  return probeCommand(check, inst.netns(check.from), (speaker) => bgp?.socket(inst, speaker) ?? '', inst.dir, knetlabEntry());
}

export async function runCheck(lab: Lab, inst: Instance, host: Host, check: Check, opts: CheckOptions = {}): Promise<CheckResult> {
  const otherMode = proxyModeSkip(lab, inst, host, check);
  if (otherMode) return { check, passed: false, skipped: otherMode, saw: otherMode, attempts: 0, ms: 0, command: checkCommand(lab, inst, check), details: [] };
  if (check.probe.kind === 'capture') return runCapture(lab, inst, host, check);
  if (check.probe.kind === 'trace') return runTrace(lab, inst, host, check, opts);
  if (check.waitMs) await new Promise((res) => setTimeout(res, check.waitMs));
  const command = checkCommand(lab, inst, check);
  const t0 = Date.now();
  const deadline = t0 + check.timeoutMs;
  let attempts = 0;
  let verdict: Verdict;
  let last: RunResult | undefined;
  for (;;) {
    attempts++;
    const remaining = Math.max(1000, deadline - Date.now());
    const r = await host.run(command, { timeoutMs: remaining + 2000 });
    const cannot = kernelLacks(check, r);
    if (cannot) return { check, passed: false, skipped: cannot, saw: cannot, attempts, ms: Date.now() - t0, command, details: [], output: printed(r) };
    verdict = judge(lab, check, r);
    last = r;
    // A must-fail check makes one attempt that waits the whole timeout. State checks retry:
    // BGP sessions and learned routes take a few seconds to appear.
    if (verdict.ok || !check.expect.reachable || Date.now() + RETRY_DELAY_MS >= deadline) break;
    await new Promise((res) => setTimeout(res, RETRY_DELAY_MS));
  }
  const result: CheckResult = { check, passed: verdict.ok, saw: verdict.saw, attempts, ms: Date.now() - t0, command, details: [], output: printed(last!) };
  if (!verdict.ok) result.details = await explain(lab, inst, host, result);
  return result;
}

/**
 * A check whose expectation holds in other kube-proxy modes than the one the lab runs (the
 * running lab's state file says which; `--proxy-mode` and `apply` can change it).
 */
function proxyModeSkip(lab: Lab, inst: Instance, host: Host, check: Check): string | null {
  if (!check.proxyModes) return null;
  // The running lab's mode (--proxy-mode and apply can change it), else the one its files ask for.
  const mode = runningState(inst.dir, (f) => host.readFile(f))?.kubeProxy.mode ?? lab.cluster?.kubernetes?.kubeProxy.mode;
  if (mode === undefined || check.proxyModes.includes(mode)) return null;
  return `skipped: this expectation holds in kube-proxy ${check.proxyModes.join(', ')} mode; here kube-proxy runs in ${mode} mode`;
}

/**
 * A check whose probe could not even open its socket because the kernel has no such protocol:
 * socat reports the failed socket(2) call as "socket(2, 1, 132): Protocol not supported" (AF_INET,
 * SOCK_STREAM, IPPROTO_SCTP: EPROTONOSUPPORT) before any packet is sent. Its one attempt is the
 * probe. Any other failure, of socket(2) too (out of file descriptors…), is judged as a failure.
 */
function kernelLacks(check: Check, r: RunResult): string | null {
  if (check.probe.kind !== 'sctp' || r.exitCode === 0) return null;
  return /socket\(\d+, \d+, 132\): Protocol not supported$/m.test(socatMessage(r.stderr))
    ? 'skipped: this kernel has no SCTP sockets (socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): Protocol not supported; it needs CONFIG_IP_SCTP or the sctp module)'
    : null;
}

function judge(lab: Lab, check: Check, r: RunResult): Verdict {
  const e = check.expect;
  const p = check.probe;
  switch (p.kind) {
    case 'ping':
    case 'tcp':
    case 'sctp': {
      const reached = r.exitCode === 0;
      const saw = reached
        ? p.kind === 'ping'
          ? (firstLine(r.stdout, /bytes from/) ?? 'a reply')
          : p.kind === 'tcp'
            ? 'the connection was accepted'
            : 'the association was established'
        : (lastLine(r.stdout + (p.kind === 'sctp' ? socatMessage(r.stderr) : r.stderr)) ?? `no reply (exit ${r.exitCode})`);
      if (!reached && e.failure !== null && p.kind !== 'ping') return failureVerdict(e.failure, r, saw);
      return { ok: reached === e.reachable, saw: reached ? `reachable: ${saw}` : `unreachable: ${saw}` };
    }
    case 'udp': {
      const answers = parseDatagrams(r.stdout);
      if (!e.reachable)
        return answers.length
          ? { ok: false, saw: `answered: ${answers[0]!}` }
          : { ok: true, saw: `no answer to ${p.requests} datagram(s)${r.stderr.trim() ? `; nc said: ${lastLine(r.stderr)}` : ''}` };
      if (answers.length < p.requests)
        return {
          ok: false,
          saw: `${answers.length}/${p.requests} datagrams answered${r.stderr.trim() ? `; nc said: ${lastLine(r.stderr)}` : ''}${answers.length ? `; first: ${answers[0]!}` : ''}`,
        };
      for (const body of answers) {
        const problem = replyProblem(check, 0, body);
        if (problem) return { ok: false, saw: problem };
      }
      if (e.backends) return judgeBackends(check, answers);
      return { ok: true, saw: `${answers.length > 1 ? `${answers.length} answers; first: ` : ''}${answers[0]!}` };
    }
    case 'conntrack':
      return judgeConntrack(check, r);
    case 'dns':
      return judgeDns(check, r);
    case 'exec':
      return { ok: r.exitCode === 0, saw: r.exitCode === 0 ? 'exit 0' : `exit ${r.exitCode}: ${lastLine(r.stderr + r.stdout) ?? ''}` };
    case 'http': {
      const replies = parseCurl(r.stdout);
      const answered = replies.filter((x) => x.status !== 0);
      if (!e.reachable) {
        if (answered.length) return { ok: false, saw: `HTTP ${answered[0]!.status}: ${answered[0]!.body}` };
        const saw = `no response: ${lastLine(r.stderr) ?? `curl exit ${r.exitCode}`}`;
        return e.failure !== null ? failureVerdict(e.failure, r, saw) : { ok: true, saw };
      }
      if (e.maxAnswered !== null && answered.length > e.maxAnswered)
        return { ok: false, saw: `${answered.length}/${p.requests} requests answered, more than ${e.maxAnswered}` };
      if (e.maxAnswered === null && answered.length < p.requests) {
        return { ok: false, saw: `${answered.length}/${p.requests} requests answered; curl said: ${lastLine(r.stderr) ?? `exit ${r.exitCode}`}` };
      }
      for (const reply of answered) {
        const problem = replyProblem(check, reply.status, reply.body) ?? ingressProblem(check, reply, r.stderr);
        if (problem) return { ok: false, saw: problem };
      }
      if (e.backends)
        return judgeBackends(
          check,
          answered.map((x) => x.body),
        );
      if (e.maxAnswered !== null) return { ok: true, saw: `${answered.length}/${p.requests} requests answered; curl said: ${lastLine(r.stderr) ?? ''}` };
      return { ok: true, saw: `HTTP ${answered[0]!.status}: ${answered[0]!.body}` };
    }
    case 'route':
    case 'neigh':
    case 'fdb':
    case 'bgp':
      return judgeState(lab, check, r);
    case 'capture':
      throw new Error('capture checks are judged by runCapture');
    case 'trace':
      throw new Error('trace checks are judged by runTrace');
    case 'counters':
      return judgeCounters(check, r);
    case 'link': {
      if (r.exitCode !== 0) return { ok: false, saw: lastLine(r.stderr) ?? `ip exit ${r.exitCode}` };
      let link: { operstate?: string; master?: string; mtu?: number } = {};
      try {
        link = (JSON.parse(r.stdout) as (typeof link)[])[0] ?? {};
      } catch {
        return { ok: false, saw: `unreadable ip -j output: ${r.stdout.slice(0, 200)}` };
      }
      const saw = `state ${link.operstate ?? '?'}, master ${link.master ?? 'none'}, mtu ${link.mtu ?? '?'}`;
      const ok = (e.state === null || link.operstate === e.state) && (e.master === null || link.master === e.master) && (e.mtu === null || link.mtu === e.mtu);
      return { ok, saw };
    }
  }
}

/** Capture on an interface while the nested check sends its traffic; judge the decoded packets. */
async function runCapture(lab: Lab, inst: Instance, host: Host, check: Check): Promise<CheckResult> {
  const p = check.probe as Extract<Check['probe'], { kind: 'capture' }>;
  const command = checkCommand(lab, inst, check);
  const t0 = Date.now();
  const capture = await host.start(command, 'listening on', 5000);
  const flow = await runCheck(lab, inst, host, p.during);
  // Let the last replies cross before stopping the capture.
  await new Promise((res) => setTimeout(res, 300));
  const r = await capture.stop();
  const packets = parseCapture(r.stdout);
  const e = check.expect;
  const matches = packets.filter(
    (pk) =>
      pk.encap === e.encap &&
      (e.vni === null || pk.vni === e.vni) &&
      (e.port === null || pk.outer.dport === e.port) &&
      (e.outer === null || ((e.outer.src === null || pk.outer.src === e.outer.src) && (e.outer.dst === null || pk.outer.dst === e.outer.dst))) &&
      (e.inner === null || ((e.inner.src === null || pk.inner.src === e.inner.src) && (e.inner.dst === null || pk.inner.dst === e.inner.dst))),
  );
  // present: false — the flow must pass and nothing may match the filter (e.g. no VXLAN for same-node traffic).
  const ok = flow.passed && (e.present ? matches.length > 0 : packets.length === 0);
  const saw = !flow.passed
    ? `the traffic itself failed: ${flow.saw}`
    : !e.present
      ? packets.length === 0
        ? `no packet matched "${p.filter}" on ${check.from} ${p.interface}`
        : `${packets.length} packets matched; first: ${describePacket(packets[0]!)}`
      : packets.length === 0
        ? `no packets matched "${p.filter}" on ${check.from} ${p.interface}${r.stderr.trim() ? ` (tcpdump: ${lastLine(r.stderr)})` : ''}`
        : `${matches.length}/${packets.length} packets as expected; first: ${describePacket(matches[0] ?? packets[0]!)}`;
  const result: CheckResult = { check, passed: ok, saw, attempts: 1, ms: Date.now() - t0, command, details: [], output: printed(r) };
  if (!ok) {
    result.details = [
      `    captured: ${renderCommand(command)}`,
      `    during:   ${renderCommand(flow.command)} (from ${p.during.from}: ${flow.passed ? 'passed' : 'failed'})`,
      `    expected: ${expected(check)}`,
      `    saw:      ${saw}`,
      `    decoded packets (${packets.length}):`,
      ...(packets.length ? packets.slice(0, 12).map((pk) => `      ${describePacket(pk)}`) : ['      (none)']),
      ...(packets.length ? ['    tcpdump said:', ...packets.slice(0, 6).map((pk) => `      ${pk.text}`)] : []),
      ...(flow.passed ? [] : flow.details),
    ];
  }
  return result;
}

/**
 * Send the check's probe as knetlab trace does (its trace tables, monitors and cleanup), and judge
 * the walk the kernel reported: the namespaces in order, and in each the hooks and tables met.
 * An empty walk (a monitor that had not subscribed yet) is tried again until the timeout.
 */
async function runTrace(lab: Lab, inst: Instance, host: Host, check: Check, opts: CheckOptions): Promise<CheckResult> {
  const p = check.probe as Extract<Check['probe'], { kind: 'trace' }>;
  const command = checkCommand(lab, inst, check);
  if (!opts.store) throw new Error('a trace check needs the lab record store');
  const { trace, renderTrace } = await import('./trace.js');
  if (check.waitMs) await new Promise((res) => setTimeout(res, check.waitMs));
  const t0 = Date.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const report = await trace(lab, inst, check.from, p.probe, { host, store: opts.store, flow: checkFlow(check) });
    const seen = report.request.map((h) => ({ namespace: h.namespace, met: h.met }));
    const walk = seen.map((h) => `${h.namespace} [${h.met.join(', ')}]`).join(' → ');
    if (!seen.length && Date.now() + RETRY_DELAY_MS < t0 + check.timeoutMs) continue;
    const diff = pathDiff(check.expect.path ?? [], seen);
    const saw = `${walk || 'no trace event for the probe'} (probe ${report.probe.ok ? 'answered' : 'failed'}: ${report.probe.saw})`;
    const result: CheckResult = { check, passed: diff === null, saw, attempts, ms: Date.now() - t0, command, details: [], output: renderTrace(report, 'text') };
    if (diff)
      result.details = [
        `    ran:      ${renderCommand(command)} (traced in every namespace of the lab)`,
        `    expected: ${expected(check)}`,
        `    walk:     ${walk || '(none)'}`,
        ...diff.map((l) => `    ${l}`),
        ...report.notes.map((n) => `    note: ${n}`),
      ];
    return result;
  }
}

/** The packet counter of the one rule of the chain whose iptables -S line holds expect.rule. */
function judgeCounters(check: Check, r: RunResult): Verdict {
  const e = check.expect;
  if (r.exitCode !== 0) return { ok: false, saw: lastLine(r.stderr) ?? `iptables exit ${r.exitCode}` };
  const rules = parseCounters(r.stdout);
  const matching = rules.filter((x) => x.rule.includes(e.rule ?? ''));
  if (matching.length !== 1)
    return {
      ok: false,
      saw: `${matching.length} rules hold "${e.rule}"${matching.length ? `: ${matching.map((x) => x.rule).join('; ')}` : `; the chain has: ${rules.map((x) => x.rule).join('; ') || 'no rules'}`}`,
    };
  const x = matching[0]!;
  const ok = (e.minPackets === null || x.packets >= e.minPackets) && (e.maxPackets === null || x.packets <= e.maxPackets);
  return { ok, saw: `${x.packets} packet(s), ${x.bytes} bytes: ${x.rule}` };
}

interface RouteEntry {
  dst?: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  flags?: string[];
}

function judgeState(lab: Lab, check: Check, r: RunResult): Verdict {
  const e = check.expect;
  const p = check.probe;
  if (r.exitCode !== 0) return { ok: false, saw: lastLine(r.stderr) ?? `exit ${r.exitCode}` };
  if (p.kind === 'bgp') {
    const protocols = (lab.cluster && CNIS[lab.cluster.cni.type].bgp?.protocols(r.stdout)) || [];
    const proto = protocols.find((x) => x.name === p.protocol);
    if (!proto) return { ok: false, saw: `BIRD has no protocol ${p.protocol}` };
    const want = e.state ?? 'Established';
    return { ok: proto.info.startsWith(want), saw: `${proto.name} ${proto.proto} ${proto.state} ${proto.info}`.trim() };
  }
  let entries: Record<string, unknown>[];
  try {
    entries = JSON.parse(r.stdout || '[]') as Record<string, unknown>[];
  } catch {
    return { ok: false, saw: `unreadable JSON: ${r.stdout.slice(0, 200)}` };
  }
  const describe = (x: Record<string, unknown>) =>
    Object.entries(x)
      .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v)))
      .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(',') : String(v)}`)
      .join(', ');
  const matches = entries.filter((x) => {
    if (p.kind === 'route') {
      const rt = x as RouteEntry;
      return (
        (e.via === null || rt.gateway === e.via) &&
        (e.dev === null || rt.dev === e.dev) &&
        (e.onlink === null || (rt.flags ?? []).includes('onlink') === e.onlink) &&
        (e.proto === null || rt.protocol === e.proto) &&
        (e.type === null || (rt.type ?? 'unicast') === e.type)
      );
    }
    if (p.kind === 'neigh') {
      const states = (x.state as string[] | undefined) ?? [];
      return (e.dev === null || x.dev === e.dev) && (e.lladdr === null || x.lladdr === e.lladdr) && (e.state === null || states.includes(e.state));
    }
    // fdb: entries of one device; match the remote VTEP and MAC when given.
    return (e.dst === null || x.dst === e.dst) && (e.lladdr === null || x.mac === e.lladdr) && (e.state === null || x.state === e.state);
  });
  const seen = entries.length ? entries.map(describe).join('; ') : 'no entry';
  if (!e.present) return { ok: entries.length === 0, saw: seen };
  return { ok: matches.length > 0, saw: matches.length ? describe(matches[0]!) : seen };
}

/** conntrack -L entries for the flow's destination, matched by source port and DNAT target. */
/**
 * A lookup as dig saw it: the last reply is the answer (with +showsearch, the earlier ones are
 * the names tried before it). Records of the asked type are compared as sets: CoreDNS's
 * loadbalance shuffles them.
 */
function judgeDns(check: Check, r: RunResult): Verdict {
  const e = check.expect;
  const p = check.probe;
  const replies = parseDig(r.stdout);
  const last = replies[replies.length - 1];
  if (!last) return { ok: false, saw: `no answer: ${lastLine(r.stdout + r.stderr) ?? `dig exit ${r.exitCode}`}` };
  const qtype = p.kind === 'dns' ? p.qtype : 'A';
  const records = last.answer.filter((a) => a.type === qtype).map((a) => a.data);
  const chain = last.answer.filter((a) => a.type === 'CNAME' && qtype !== 'CNAME').map((a) => a.data);
  const tried = replies.length > 1 ? ` after ${replies.length - 1} name(s) of the search path` : '';
  const qname = last.answer[0]?.name ?? null;
  const saw = `${last.rcode}${tried}, flags ${last.flags.join(' ')}${chain.length ? `, CNAME ${chain.join(' → ')}` : ''}${records.length ? `: ${records.join(', ')}` : ''}${last.authority.length ? `; authority ${last.authority.map((a) => `${a.type} ${a.name}`).join(', ')}` : ''}`;
  const bad = (why: string): Verdict => ({ ok: false, saw: `${why}; ${saw}` });
  if (last.rcode !== e.rcode) return bad(`rcode ${last.rcode}, not ${e.rcode}`);
  const set = (xs: string[]) => [...new Set(xs.map((x) => x.toLowerCase()))].sort();
  if (e.answers && JSON.stringify(set(records)) !== JSON.stringify(set(e.answers)))
    return bad(`the ${qtype} records are not exactly ${e.answers.join(', ') || 'none'}`);
  if (e.includes) {
    const missing = e.includes.filter((x) => !set(records).includes(x.toLowerCase()));
    if (missing.length) return bad(`no ${qtype} record ${missing.join(', ')}`);
  }
  if (e.cname && JSON.stringify(chain.map((x) => x.toLowerCase())) !== JSON.stringify(e.cname.map((x) => x.toLowerCase())))
    return bad(`the CNAME chain is not ${e.cname.join(' → ')}`);
  if (e.qname && (qname ?? '').toLowerCase() !== e.qname.toLowerCase()) return bad(`answered for ${qname ?? 'no name'}, not ${e.qname}`);
  if (e.authoritative !== null && last.flags.includes('aa') !== e.authoritative) return bad(e.authoritative ? 'not authoritative' : 'authoritative');
  return { ok: true, saw };
}

function judgeConntrack(check: Check, r: RunResult): Verdict {
  const e = check.expect;
  // conntrack -L exits 0 with "0 flow entries have been shown." when nothing matches.
  if (r.exitCode !== 0) return { ok: false, saw: lastLine(r.stderr) ?? `conntrack exit ${r.exitCode}` };
  const entries = parseConntrack(r.stdout);
  const matches = entries.filter((x) => (e.sport === null || x.orig.sport === e.sport) && (e.dstNat === null || x.reply.src === e.dstNat));
  const describe = (x: ConntrackEntry) =>
    `${x.protocol} ${x.orig.src}:${x.orig.sport ?? '?'} → ${x.orig.dst}:${x.orig.dport ?? '?'}` +
    `${x.reply.src !== x.orig.dst ? `, DNATed to ${x.reply.src}:${x.reply.sport ?? '?'}` : ''}${x.flags.length ? ` [${x.flags.join(', ')}]` : ''}`;
  // A busy table has many flows to one Service: name a few, count the rest.
  const others = (list: ConntrackEntry[]) =>
    list.length ? `${list.slice(0, 3).map(describe).join('; ')}${list.length > 3 ? ` and ${list.length - 3} more` : ''}` : 'none';
  if (matches.length) return { ok: e.present, saw: `${matches.length > 1 ? `${matches.length} entries; first: ` : ''}${describe(matches[0]!)}` };
  return { ok: !e.present, saw: `no such entry; entries for ${check.probe.kind === 'conntrack' ? check.probe.address : 'it'}: ${others(entries)}` };
}

/** What an Ingress check expects beyond status and body: the Location, other headers, the certificate curl -v saw. */
function ingressProblem(check: Check, reply: HttpReply, stderr: string): string | null {
  const e = check.expect;
  const got = reply.headers ?? {};
  if (e.location !== undefined && got.location !== e.location)
    return `HTTP ${reply.status}, Location ${got.location ? JSON.stringify(got.location) : 'absent'} (expected ${JSON.stringify(e.location)})`;
  for (const [name, value] of Object.entries(e.headers ?? {}))
    if (got[name] !== value) return `HTTP ${reply.status}, ${name} ${got[name] ? JSON.stringify(got[name]) : 'absent'} (expected ${JSON.stringify(value)})`;
  const certs = parseCertLines(stderr);
  for (const [field, want, seen] of [
    ['subject', e.certSubject, certs.subject],
    ['issuer', e.certIssuer, certs.issuer],
  ] as const) {
    if (want === undefined) continue;
    if (!seen.length) return `no certificate ${field} in curl's output`;
    const wrong = seen.find((x) => !x.includes(want));
    if (wrong !== undefined) return `certificate ${field} "${wrong}" (expected it to contain "${want}")`;
  }
  return null;
}

function replyProblem(check: Check, status: number, body: string): string | null {
  const e = check.expect;
  if (e.status !== null && status !== e.status) return `HTTP ${status} (expected ${e.status}): ${body}`;
  if (e.bodyContains !== null && !body.includes(e.bodyContains)) return `body without "${e.bodyContains}": ${body}`;
  if (e.json !== null) {
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return `body is not JSON: ${body.slice(0, 200)}`;
    }
    // A body of null, a number or an array parses, but has no fields to compare.
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return `body is not a JSON object: ${body.slice(0, 200)}`;
    const fields = doc as Record<string, unknown>;
    const wrong = Object.entries(e.json).filter(([k, v]) => fields[k] !== v);
    if (wrong.length) return `${wrong.map(([k, v]) => `${k}=${JSON.stringify(fields[k])} (expected ${JSON.stringify(v)})`).join(', ')} in ${body}`;
  }
  return null;
}

/**
 * How a connection failed: REJECT answers the SYN with ICMP port unreachable, which the client
 * sees at once as "Connection refused"; DROP answers nothing, so the client times out. nc -v
 * prints the reason; curl says "Couldn't connect to server" (exit 7) for a refusal and exits 28
 * on its --max-time.
 */
function failureVerdict(want: 'refused' | 'timeout' | 'untrusted', r: RunResult, saw: string): Verdict {
  const text = `${r.stdout}\n${r.stderr}`;
  // curl's CURLE_PEER_FAILED_VERIFICATION: the handshake completed and the chain or name did not verify.
  if (want === 'untrusted') return { ok: r.exitCode === 60, saw: `${saw}${r.exitCode === 60 ? ' (not trusted)' : ''}` };
  const got =
    /refused|Couldn't connect to server/i.test(text) && !/timed out/i.test(text)
      ? 'refused'
      : /timed out|timeout/i.test(text) || r.exitCode === 28
        ? 'timeout'
        : 'other';
  return { ok: got === want, saw: `${saw} (${got === 'other' ? 'neither refused nor timed out' : got === 'refused' ? 'refused' : 'timed out'})` };
}

function judgeBackends(check: Check, bodies: string[]): Verdict {
  const e = check.expect;
  const counts = new Map<string, number>();
  for (const body of bodies) {
    let pod = '?';
    try {
      pod = String((JSON.parse(body) as { pod?: unknown }).pod ?? '?');
    } catch {
      /* counted as "?" */
    }
    counts.set(pod, (counts.get(pod) ?? 0) + 1);
  }
  const n = bodies.length;
  const spread = [...counts]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([pod, c]) => `${pod} ${c}/${n}`)
    .join(', ');
  // A number: that many different pods, whatever their (generated) names.
  const wanted = typeof e.backends === 'number' ? [...counts.keys()] : e.backends!;
  const missing = typeof e.backends === 'number' ? [] : wanted.filter((b) => !counts.has(b));
  const unexpected = typeof e.backends === 'number' ? [] : [...counts.keys()].filter((b) => !wanted.includes(b));
  const thin = wanted.filter((b) => (counts.get(b) ?? 0) / n < e.minShare);
  const wrongCount = typeof e.backends === 'number' && counts.size !== e.backends;
  const ok = missing.length === 0 && unexpected.length === 0 && thin.length === 0 && !wrongCount;
  const why = [
    wrongCount ? `${counts.size} different pods answered, expected ${String(e.backends)}` : '',
    missing.length ? `never answered: ${missing.join(', ')}` : '',
    unexpected.length ? `unexpected: ${unexpected.join(', ')}` : '',
    thin.length ? `under ${Math.round(e.minShare * 100)}%: ${thin.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { ok, saw: `answers: ${spread}${why ? ` (${why})` : ''}` };
}

/** A command's output as a terminal would show it: what it wrote to stdout, then to stderr. */
function printed(r: RunResult): string {
  return [r.stdout, r.stderr].filter((x) => x.trim()).join(r.stdout.endsWith('\n') ? '' : '\n');
}

function firstLine(text: string, re: RegExp): string | undefined {
  return text
    .split('\n')
    .find((l) => re.test(l))
    ?.trim();
}

function lastLine(text: string): string | undefined {
  return text.trim().split('\n').filter(Boolean).pop()?.trim();
}

function expected(check: Check): string {
  const e = check.expect;
  const kind = check.probe.kind;
  if (kind === 'exec') return 'exit status 0';
  if (!e.reachable)
    return e.failure === 'refused' ? 'no reply: connection refused (a REJECT)' : e.failure === 'timeout' ? 'no reply: a timeout (a DROP)' : 'no reply';
  const parts: string[] = [];
  if (kind === 'route' || kind === 'neigh' || kind === 'fdb') {
    if (!e.present) return `no ${kind} entry`;
    const fields = { via: e.via, dev: e.dev, onlink: e.onlink, proto: e.proto, type: e.type, lladdr: e.lladdr, dst: e.dst, state: e.state };
    const want = Object.entries(fields).filter(([, v]) => v !== null);
    return `a ${kind} entry${want.length ? ' with ' + want.map(([k, v]) => `${k} ${String(v)}`).join(', ') : ''}`;
  }
  if (kind === 'bgp') return `session state ${e.state ?? 'Established'}`;
  if (kind === 'trace') return (e.path ?? []).map((s) => `${s.namespace} [${s.met.join(', ')}]`).join(' → ');
  if (kind === 'counters')
    return `one rule with "${e.rule}" that counted${e.minPackets !== null ? ` at least ${e.minPackets}` : ''}${e.minPackets !== null && e.maxPackets !== null ? ' and' : ''}${e.maxPackets !== null ? ` at most ${e.maxPackets}` : ''} packet(s)`;
  if (kind === 'dns')
    return [
      e.rcode,
      e.answers ? `exactly ${e.answers.join(', ') || 'no records'}` : '',
      e.includes ? `at least ${e.includes.join(', ')}` : '',
      e.cname ? `CNAME ${e.cname.join(' → ')}` : '',
      e.qname ? `for ${e.qname}` : '',
      e.authoritative !== null ? (e.authoritative ? 'authoritative' : 'not authoritative') : '',
    ]
      .filter(Boolean)
      .join(', ');
  if (kind === 'conntrack') {
    const which = [e.sport !== null ? `from port ${e.sport}` : '', e.dstNat !== null ? `DNATed to ${e.dstNat}` : ''].filter(Boolean).join(', ');
    return `${e.present ? 'an' : 'no'} entry${which ? ` ${which}` : ''}`;
  }
  if (kind === 'capture') {
    if (!e.present) return `no packet matching the filter while the traffic flows`;
    const pair = (x: { src: string | null; dst: string | null } | null) => (x ? `${x.src ?? '*'} > ${x.dst ?? '*'}` : '* > *');
    return `${e.encap === 'none' ? 'unencapsulated' : e.encap} packets${e.port !== null ? ` to port ${e.port}` : ''}${e.vni !== null ? `, vni ${e.vni}` : ''}, outer ${pair(e.outer)}, inner ${pair(e.inner)}`;
  }
  if (check.probe.kind === 'link') {
    if (e.state) parts.push(`state ${e.state}`);
    if (e.master) parts.push(`master ${e.master}`);
    if (e.mtu) parts.push(`mtu ${e.mtu}`);
    return parts.join(', ') || 'the link exists';
  }
  if (kind === 'udp')
    parts.push(`${check.probe.kind === 'udp' && check.probe.requests > 1 ? `all ${check.probe.requests} datagrams` : 'the datagram'} answered`);
  if (e.maxAnswered !== null && check.probe.kind === 'http')
    parts.push(`at most ${e.maxAnswered} of ${check.probe.requests} requests answered, the rest failing`);
  if (e.status !== null) parts.push(`HTTP ${e.status}`);
  if (e.json)
    parts.push(
      `JSON with ${Object.entries(e.json)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(', ')}`,
    );
  if (e.bodyContains) parts.push(`a body containing "${e.bodyContains}"`);
  if (e.backends)
    parts.push(
      `answers from ${typeof e.backends === 'number' ? `${e.backends} different pods` : e.backends.join(', ')}${e.minShare ? `, each at least ${Math.round(e.minShare * 100)}%` : ''}`,
    );
  return parts.join('; ') || 'a reply';
}

/** The namespace that holds an address in this lab (on an interface), or the one with a connected subnet for it. */
function ownerOf(lab: Lab, address: string, connected: boolean): string | null {
  const ip = parseIPv4(address);
  if (ip === undefined) return null;
  const has = (a: string) => (connected ? contains(parseCidr(a)!, ip) : parseCidr(a)!.address === ip);
  return lab.namespaces.find((ns) => cidrsOf(ns).some(has))?.name ?? null;
}

/**
 * A Service's virtual address, which no interface holds: what it is to which Services, and for a
 * MetalLB layer 2 address the nodes whose speakers announce it. Services come from the running
 * lab's state file (it follows `knetlab apply`), else from the lab's own manifests.
 */
function virtualAddress(lab: Lab, inst: Instance, host: Host, address: string): { text: string; nodes: string[] } | null {
  // The running lab's Services (they follow apply), else the lab's own manifests.
  const services: Service[] = runningState(inst.dir, (f) => host.readFile(f))?.state.services ?? lab.cluster?.kubernetes?.state.services ?? [];
  const roles: [string, (s: Service) => boolean][] = [
    ['LoadBalancer IP', (s) => s.loadBalancerIngress.some((ing) => ing.ip === address)],
    ['external IP', (s) => s.externalIPs.includes(address)],
    ['ClusterIP', (s) => s.clusterIP === address],
  ];
  for (const [role, holds] of roles) {
    const names = services.filter(holds).map((s) => key(s.meta));
    if (!names.length) continue;
    const of = `${role} of service${names.length > 1 ? 's' : ''} ${names.join(', ')}`;
    if (role !== 'LoadBalancer IP') return { text: `${of}; no interface holds it: kube-proxy DNATs it on every node`, nodes: [] };
    // The node that owns a layer 2 address is the one whose speaker answers ARP for it.
    const nodes = (lab.cluster?.nodes ?? []).map((n) => n.name).filter((n) => speakerAnnounces(host, inst, n, address));
    return { text: `${of}, ${nodes.length ? `announced by ${nodes.join(', ')}` : "announced by no node (no speaker's status lists it)"}`, nodes };
  }
  return null;
}

function speakerAnnounces(host: Host, inst: Instance, node: string, address: string): boolean {
  const text = host.readFile(`${speakerBase(inst.dir, node)}.status.json`);
  if (text === null) return false;
  try {
    const status = JSON.parse(text) as Partial<SpeakerStatus> | null;
    return Array.isArray(status?.announcing) && status.announcing.includes(address);
  } catch {
    return false; // being replaced: speakers write it whole, by rename, so this is rare
  }
}

async function explain(lab: Lab, inst: Instance, host: Host, r: CheckResult): Promise<string[]> {
  const c = r.check;
  const p = c.probe;
  const target = p.kind === 'ping' || p.kind === 'tcp' || p.kind === 'udp' || p.kind === 'sctp' ? p.address : p.kind === 'http' ? p.host : null;
  // An address on an interface belongs to its namespace; a Service's address to no namespace
  // (for a MetalLB address, the announcing node is where it leads); anything else to the
  // namespace with a connected subnet for it, if any.
  const held = target ? ownerOf(lab, target, false) : null;
  const virtual = target && !held ? virtualAddress(lab, inst, host, target) : null;
  const to = held ?? (virtual || !target ? null : ownerOf(lab, target, true));
  const where = to ? `in ${to}` : (virtual?.text ?? 'no namespace in this lab has it');
  const out = [
    `    from:     ${c.from} (namespace ${inst.netns(c.from)})`,
    ...(target ? [`    to:       ${target} (${where})`] : []),
    `    ran:      ${renderCommand(r.command)}`,
    `    expected: ${expected(c)}`,
    `    saw:      ${r.saw}`,
    `    tried:    ${r.attempts} time(s) over ${(r.ms / 1000).toFixed(1)}s (${basename(lab.file)} line ${c.line})`,
  ];
  for (const name of [...new Set([c.from, ...(to ? [to] : []), ...(virtual?.nodes ?? [])])]) {
    const netns = inst.netns(name);
    out.push(`    evidence from ${name}:`);
    const sections: [string, Command][] = [
      ['addresses', { file: 'ip', args: ['-n', netns, '-br', 'addr'] }],
      ['routes', { file: 'ip', args: ['-n', netns, 'route'] }],
      ['neighbours', { file: 'ip', args: ['-n', netns, 'neigh'] }],
      ['iptables (with counters)', { file: 'ip', args: ['netns', 'exec', netns, 'iptables-save', '-c'] }],
    ];
    for (const [title, cmd] of sections) {
      const res = await host.run(cmd, { timeoutMs: 5000 });
      let text = (res.exitCode === 0 ? res.stdout : res.stderr).trim();
      if (title.startsWith('iptables') && res.exitCode === 0) {
        // Only tables that hold rules, with each rule's packet:byte counters.
        const kept = text.split('\n').filter((l) => l.startsWith('[') || l.startsWith('*'));
        text = kept.filter((l, i) => !l.startsWith('*') || kept[i + 1]?.startsWith('[')).join('\n');
      }
      out.push(`      ${title}:`, ...(text ? text.split('\n').map((l) => `        ${l}`) : ['        (none)']));
    }
  }
  return out;
}
