// Running checks: real packets from inside the lab's namespaces, retried until the check's
// timeout. A failing check explains itself: the command, from where to where, what it expected,
// what it saw, and evidence from the namespaces involved.

import type { Check, Lab } from '../spec/types.js';
import { parseCidr, parseIPv4, contains } from '../spec/net.js';
import { cidrsOf } from '../spec/lab.js';
import type { Host, RunResult } from '../exec/host.js';
import { renderCommand, type Command } from '../kernel/command.js';
import { parseCurl, probeCommand } from '../kernel/probe.js';
import type { Instance } from '../plan/instance.js';

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
}

interface Verdict {
  ok: boolean;
  saw: string;
}

const RETRY_DELAY_MS = 200;

export async function runChecks(lab: Lab, inst: Instance, host: Host, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of lab.checks) {
    const r = await runCheck(lab, inst, host, check);
    onResult?.(r);
    results.push(r);
  }
  return results;
}

export async function runCheck(lab: Lab, inst: Instance, host: Host, check: Check): Promise<CheckResult> {
  const command = probeCommand(check, inst.netns(check.from));
  const t0 = Date.now();
  const deadline = t0 + check.timeoutMs;
  let attempts = 0;
  let verdict: Verdict;
  for (;;) {
    attempts++;
    const remaining = Math.max(1000, deadline - Date.now());
    const r = await host.run(command, { timeoutMs: remaining + 2000 });
    verdict = judge(check, r);
    // A must-fail check makes one attempt that waits the whole timeout.
    if (verdict.ok || !check.expect.reachable || Date.now() + RETRY_DELAY_MS >= deadline) break;
    await new Promise((res) => setTimeout(res, RETRY_DELAY_MS));
  }
  const result: CheckResult = { check, passed: verdict.ok, saw: verdict.saw, attempts, ms: Date.now() - t0, command, details: [] };
  if (!verdict.ok) result.details = await explain(lab, inst, host, result);
  return result;
}

function judge(check: Check, r: RunResult): Verdict {
  const e = check.expect;
  const p = check.probe;
  switch (p.kind) {
    case 'ping':
    case 'tcp': {
      const reached = r.exitCode === 0;
      const saw = reached
        ? p.kind === 'ping'
          ? (firstLine(r.stdout, /bytes from/) ?? 'a reply')
          : 'the connection was accepted'
        : (lastLine(r.stdout + r.stderr) ?? `no reply (exit ${r.exitCode})`);
      return { ok: reached === e.reachable, saw: reached ? `reachable: ${saw}` : `unreachable: ${saw}` };
    }
    case 'http': {
      const replies = parseCurl(r.stdout);
      const answered = replies.filter((x) => x.status !== 0);
      if (!e.reachable) {
        return answered.length === 0
          ? { ok: true, saw: `no response: ${lastLine(r.stderr) ?? `curl exit ${r.exitCode}`}` }
          : { ok: false, saw: `HTTP ${answered[0]!.status}: ${answered[0]!.body}` };
      }
      if (answered.length < p.requests) {
        return { ok: false, saw: `${answered.length}/${p.requests} requests answered; curl said: ${lastLine(r.stderr) ?? `exit ${r.exitCode}`}` };
      }
      for (const reply of answered) {
        const problem = replyProblem(check, reply.status, reply.body);
        if (problem) return { ok: false, saw: problem };
      }
      if (e.backends)
        return judgeBackends(
          check,
          answered.map((x) => x.body),
        );
      return { ok: true, saw: `HTTP ${answered[0]!.status}: ${answered[0]!.body}` };
    }
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

function replyProblem(check: Check, status: number, body: string): string | null {
  const e = check.expect;
  if (e.status !== null && status !== e.status) return `HTTP ${status} (expected ${e.status}): ${body}`;
  if (e.bodyContains !== null && !body.includes(e.bodyContains)) return `body without "${e.bodyContains}": ${body}`;
  if (e.json !== null) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return `body is not JSON: ${body.slice(0, 200)}`;
    }
    const wrong = Object.entries(e.json).filter(([k, v]) => doc[k] !== v);
    if (wrong.length) return `${wrong.map(([k, v]) => `${k}=${JSON.stringify(doc[k])} (expected ${JSON.stringify(v)})`).join(', ')} in ${body}`;
  }
  return null;
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
  const missing = e.backends!.filter((b) => !counts.has(b));
  const unexpected = [...counts.keys()].filter((b) => !e.backends!.includes(b));
  const thin = e.backends!.filter((b) => (counts.get(b) ?? 0) / n < e.minShare);
  const ok = missing.length === 0 && unexpected.length === 0 && thin.length === 0;
  const why = [
    missing.length ? `never answered: ${missing.join(', ')}` : '',
    unexpected.length ? `unexpected: ${unexpected.join(', ')}` : '',
    thin.length ? `under ${Math.round(e.minShare * 100)}%: ${thin.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { ok, saw: `answers: ${spread}${why ? ` (${why})` : ''}` };
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
  if (!e.reachable) return 'no reply';
  const parts: string[] = [];
  if (check.probe.kind === 'link') {
    if (e.state) parts.push(`state ${e.state}`);
    if (e.master) parts.push(`master ${e.master}`);
    if (e.mtu) parts.push(`mtu ${e.mtu}`);
    return parts.join(', ') || 'the link exists';
  }
  if (e.status !== null) parts.push(`HTTP ${e.status}`);
  if (e.json)
    parts.push(
      `JSON with ${Object.entries(e.json)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(', ')}`,
    );
  if (e.bodyContains) parts.push(`a body containing "${e.bodyContains}"`);
  if (e.backends) parts.push(`answers from ${e.backends.join(', ')}${e.minShare ? `, each at least ${Math.round(e.minShare * 100)}%` : ''}`);
  return parts.join('; ') || 'a reply';
}

/** The namespace that holds an address in this lab, if any. */
function ownerOf(lab: Lab, address: string): string | null {
  const ip = parseIPv4(address);
  if (ip === undefined) return null;
  const owner = lab.namespaces.find((ns) => cidrsOf(ns).some((a) => parseCidr(a)!.address === ip));
  // Not assigned anywhere: show the namespace with a connected subnet for it, if any.
  return (owner ?? lab.namespaces.find((ns) => cidrsOf(ns).some((a) => contains(parseCidr(a)!, ip))))?.name ?? null;
}

async function explain(lab: Lab, inst: Instance, host: Host, r: CheckResult): Promise<string[]> {
  const c = r.check;
  const p = c.probe;
  const target = p.kind === 'ping' || p.kind === 'tcp' ? p.address : p.kind === 'http' ? p.host : null;
  const to = target ? ownerOf(lab, target) : null;
  const out = [
    `    from:     ${c.from} (namespace ${inst.netns(c.from)})`,
    ...(target ? [`    to:       ${target}${to ? ` (in ${to})` : ' (no namespace in this lab has it)'}`] : []),
    `    ran:      ${renderCommand(r.command)}`,
    `    expected: ${expected(c)}`,
    `    saw:      ${r.saw}`,
    `    tried:    ${r.attempts} time(s) over ${(r.ms / 1000).toFixed(1)}s (lab.yaml line ${c.line})`,
  ];
  for (const name of [...new Set([c.from, ...(to ? [to] : [])])]) {
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
      if (title.startsWith('iptables')) {
        // Only tables that hold rules, with each rule's packet:byte counters.
        const kept = text.split('\n').filter((l) => l.startsWith('[') || l.startsWith('*'));
        text = kept.filter((l, i) => !l.startsWith('*') || kept[i + 1]?.startsWith('[')).join('\n');
      }
      out.push(`      ${title}:`, ...(text ? text.split('\n').map((l) => `        ${l}`) : ['        (none)']));
    }
  }
  return out;
}
