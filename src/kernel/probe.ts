// Checks lowered to the commands that send the real packets: ping, nc, curl, socat from inside
// a namespace; `ip -j link` for link state, `conntrack -L` for connection tracking entries. The
// same commands appear in tutorials.

import type { Check, TraceTarget } from '../labfile/types.js';
import { argvToShell, type Command } from './command.js';
import { inNetns } from './lower.js';
import type { FlowMatch } from './trace.js';

/** curl's write-out after each transfer, so N responses can be told apart. */
const WRITE_OUT = '\\nstatus=%{http_code}\\n';

/** What a udp check sends: the echo servers answer any datagram. */
export const UDP_PAYLOAD = 'knetlab\n';

/** Bounds on a capture: it stops after this many packets even if the flow goes on. */
export const CAPTURE_MAX_PACKETS = 200;

/**
 * The command for a check. `birdSocket` names a speaker's BIRD control socket (bgp checks).
 * A capture check's command is its tcpdump; the flow it watches is the nested check's command.
 */
export function probeCommand(check: Check, netns: string, birdSocket: (speaker: string) => string = () => '', labdir = '', knetlab = 'knetlab'): Command {
  const p = check.probe;
  // A must-fail probe waits its whole timeout once; a must-pass probe retries short attempts.
  const wait = check.expect.reachable ? 1 : Math.max(1, Math.round(check.timeoutMs / 1000));
  switch (p.kind) {
    case 'ping':
      return inNetns(netns, ['ping', '-n', '-c', '1', '-W', String(wait), p.address]);
    case 'tcp':
      return inNetns(netns, ['nc', '-z', '-v', '-w', String(wait), p.address, String(p.port)]);
    case 'http': {
      const urls = Array.from({ length: p.requests }, () => p.url);
      // "Connection: close" makes every request a new connection, so each one is load-balanced.
      const close = p.requests > 1 ? ['-H', 'Connection: close'] : [];
      const curl = ['curl', '-sS', '--max-time', String(Math.max(2, wait)), ...close, ...httpExtras(check, labdir), '-w', writeOut(check), ...urls];
      if (p.bodyBytes === undefined) return inNetns(netns, curl);
      // The body is streamed from /dev/zero, so a tutorial shows its size rather than its bytes.
      return inNetns(netns, ['sh', '-c', `head -c ${p.bodyBytes} /dev/zero | ${argvToShell(curl)}`]);
    }
    case 'udp': {
      // -W 1: done once one datagram came back; -w: how long to wait for it.
      const nc = ['nc', '-u', '-W', '1', '-w', String(wait), ...(p.sourcePort !== null ? ['-p', String(p.sourcePort)] : []), p.address, String(p.port)];
      if (p.requests === 1) return { ...inNetns(netns, nc), input: UDP_PAYLOAD };
      // One nc per datagram, so that each comes from a new source port (a new conntrack flow, load-balanced
      // afresh) unless the port is fixed; "echo" ends each answer's line even if it had no newline.
      return inNetns(netns, ['sh', '-c', `for i in $(seq ${p.requests}); do echo knetlab | ${argvToShell(nc)}; echo; done`]);
    }
    case 'sctp':
      // Associate and close at once, as nc -z does for TCP.
      return inNetns(netns, ['socat', '-u', '/dev/null', `SCTP-CONNECT:${p.address}:${p.port},connect-timeout=${wait}`]);
    case 'dns':
      // +search: the resolv.conf search path and ndots, as a pod's resolver walks them;
      // +showsearch prints every name tried, the last one is the answer.
      return inNetns(netns, [
        'dig',
        ...(p.server ? [`@${p.server}`] : []),
        ...(p.search ? ['+search', '+showsearch'] : ['+nosearch']),
        '+nocookie',
        `+time=${Math.max(1, wait)}`,
        '+tries=1',
        '+noall',
        '+comments',
        '+answer',
        '+authority',
        ...(p.qtype === 'PTR' && /^\d+\.\d+\.\d+\.\d+$/.test(p.name) ? ['-x', p.name] : ['-t', p.qtype, p.name]),
      ]);
    case 'conntrack':
      return inNetns(netns, ['conntrack', '-L', '-p', p.protocol, '--orig-dst', p.address, ...(p.port !== null ? ['--orig-port-dst', String(p.port)] : [])]);
    case 'link':
      return { file: 'ip', args: ['-n', netns, '-j', 'link', 'show', 'dev', p.interface] };
    // "ip route show PREFIX" selects exactly that prefix (of any type: blackhole routes too).
    case 'route':
      return { file: 'ip', args: ['-n', netns, '-j', 'route', 'show', p.to === 'default' || p.to.includes('/') ? p.to : `${p.to}/32`] };
    case 'neigh':
      return { file: 'ip', args: ['-n', netns, '-j', 'neigh', 'show', p.address] };
    case 'fdb':
      return { file: 'bridge', args: ['-n', netns, '-j', 'fdb', 'show', 'dev', p.dev] };
    case 'bgp':
      return inNetns(netns, ['birdc', '-s', birdSocket(check.from), 'show', 'protocols']);
    case 'capture':
      // -x: every packet's bytes in hex, decoded by knetlab (outer headers, VXLAN, inner packet).
      return inNetns(netns, ['tcpdump', '-i', p.interface, '-nn', '-l', '-x', '-c', String(CAPTURE_MAX_PACKETS), ...(p.filter ? [p.filter] : [])]);
    case 'exec':
      return inNetns(
        netns,
        p.argv.map((a) => a.replaceAll('{labdir}', labdir).replaceAll('{knetlab}', knetlab)),
      );
    case 'trace':
      return traceProbeCommand(netns, p.probe, checkFlow(check));
    case 'counters':
      // -S -v: each rule as iptables-save writes it, its packet and byte counters after "-c".
      return inNetns(netns, ['iptables', '-t', p.table, '-S', p.chain, '-v']);
  }
}

/** curl options an http check adds for Ingress: a Host header, a pinned name, a body, https without trust, -v for the certificate. */
function httpExtras(check: Check, labdir: string): string[] {
  const p = check.probe as Extract<Check['probe'], { kind: 'http' }>;
  const e = check.expect;
  const url = new URL(p.url);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return [
    ...(p.hostHeader !== undefined ? ['-H', `Host: ${p.hostHeader}`] : []),
    ...(p.resolve !== undefined ? ['--resolve', `${url.hostname}:${port}:${p.resolve}`] : []),
    // Which certificate the server chose is what an https check judges (by subject and issuer);
    // whether it is trusted only when the check names the CA to trust.
    ...(url.protocol === 'https:' ? (p.cacert !== undefined ? ['--cacert', p.cacert.replaceAll('{labdir}', labdir)] : ['-k']) : []),
    ...(e.certSubject !== undefined || e.certIssuer !== undefined ? ['-v'] : []),
    ...(p.bodyBytes !== undefined ? ['--data-binary', '@-', '-H', 'Content-Type: application/octet-stream'] : []),
  ];
}

/** The write-out, with the response headers the check expects (curl's %header{}) after the status. */
function writeOut(check: Check): string {
  const names = [...(check.expect.location !== undefined ? ['location'] : []), ...Object.keys(check.expect.headers ?? {})];
  return WRITE_OUT + names.map((n) => `header.${n}=%header{${n}}\\n`).join('');
}

/**
 * The flow a trace check's packets are told apart by: a client port (TCP) or an IP length (ICMP)
 * that follows from the check's line, so that the command a tutorial prints is the one verify runs.
 */
export function checkFlow(check: Check): FlowMatch {
  const p = check.probe;
  if (p.kind !== 'trace') throw new Error('checkFlow: not a trace check');
  return p.probe.kind === 'ping'
    ? { protocol: 'icmp', length: 200 + ((check.line * 37) % 1000) }
    : { protocol: 'tcp', port: 42000 + ((check.line * 37) % 7000) };
}

/** The one probe of a trace: from a known client port (TCP), or of a known length (ICMP). */
export function traceProbeCommand(netns: string, probe: TraceTarget, flow: FlowMatch): Command {
  switch (probe.kind) {
    case 'http':
      return inNetns(netns, ['curl', '-sS', '--max-time', '5', '--local-port', String((flow as { port: number }).port), '-w', WRITE_OUT, probe.url]);
    case 'tcp':
      return inNetns(netns, ['nc', '-z', '-v', '-w', '3', '-p', String((flow as { port: number }).port), probe.address, String(probe.port)]);
    case 'ping':
      // The ICMP payload size makes the probe's packets the only ones of their length.
      return inNetns(netns, ['ping', '-n', '-c', '1', '-W', '3', '-s', String((flow as { length: number }).length - 28), probe.address]);
  }
}

/** One rule of `iptables -S CHAIN -v`: its line without the counters, and the counters. */
export interface CountedRule {
  rule: string;
  packets: number;
  bytes: number;
}

export function parseCounters(stdout: string): CountedRule[] {
  return stdout.split('\n').flatMap((line) => {
    const m = /^(-A \S+.*?) -c (\d+) (\d+)$/.exec(line.trim());
    return m ? [{ rule: m[1]!, packets: Number(m[2]), bytes: Number(m[3]) }] : [];
  });
}

export interface HttpReply {
  status: number;
  body: string;
  /** The headers the write-out asked for, by lowercased name ("" when absent). */
  headers?: Record<string, string>;
}

/** The certificates' subject and issuer lines curl -v printed, in order. */
export function parseCertLines(stderr: string): { subject: string[]; issuer: string[] } {
  const pick = (what: string) => [...stderr.matchAll(new RegExp(`^\\*\\s+${what}: (.*)$`, 'gm'))].map((m) => m[1]!.trim());
  return { subject: pick('subject'), issuer: pick('issuer') };
}

/** socat's messages without the date, program and level it starts each with ("2024/01/02 03:04:05 socat[42] E "). */
export function socatMessage(text: string): string {
  return text.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d socat\[\d+\] [A-Z] /gm, '');
}

/** The answers a udp check got: one line each (nc prints each datagram as it came). */
export function parseDatagrams(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** One reply as dig prints it (+comments +answer +authority). */
export interface DigReply {
  rcode: string;
  flags: string[];
  answer: { name: string; ttl: number; type: string; data: string }[];
  authority: { name: string; ttl: number; type: string; data: string }[];
}

/** dig's output, one reply per header (with +showsearch, one per name tried), in order. */
export function parseDig(stdout: string): DigReply[] {
  const out: DigReply[] = [];
  let cur: DigReply | null = null;
  let section: 'answer' | 'authority' | null = null;
  for (const line of stdout.split('\n')) {
    const h = /^;; ->>HEADER<<- opcode: \w+, status: (\w+)/.exec(line);
    if (h) {
      cur = { rcode: h[1]!, flags: [], answer: [], authority: [] };
      out.push(cur);
      section = null;
      continue;
    }
    if (!cur) continue;
    const f = /^;; flags: ([a-z ]*);/.exec(line);
    if (f) cur.flags = f[1]!.trim().split(/\s+/);
    else if (/^;; ANSWER SECTION:/.test(line)) section = 'answer';
    else if (/^;; AUTHORITY SECTION:/.test(line)) section = 'authority';
    else if (/^;; [A-Z ]+SECTION:/.test(line)) section = null;
    else if (section && line.trim() && !line.startsWith(';')) {
      const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line.trim());
      if (m) cur[section].push({ name: m[1]!, ttl: Number(m[2]), type: m[3]!, data: m[4]!.trim() });
    }
  }
  return out;
}

/** One `conntrack -L` entry: the original direction and the reply direction. */
export interface ConntrackEntry {
  protocol: string;
  orig: { src: string; dst: string; sport: number | null; dport: number | null };
  reply: { src: string; dst: string; sport: number | null; dport: number | null };
  /** [UNREPLIED], [ASSURED]… without brackets. */
  flags: string[];
  text: string;
}

/**
 * conntrack's default output, one entry a line: "udp 17 29 src=A dst=B sport=P dport=Q [UNREPLIED]
 * src=B' dst=A sport=Q' dport=P mark=0 use=1". The first src/dst/sport/dport are the original
 * direction, the second the reply direction, whose source is where the flow was DNATed to.
 */
export function parseConntrack(stdout: string): ConntrackEntry[] {
  const entries: ConntrackEntry[] = [];
  for (const line of stdout.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words.length < 3 || !/^[a-z]+$/.test(words[0]!)) continue;
    const tuples: Record<string, string>[] = [];
    const flags: string[] = [];
    for (const w of words) {
      const flag = /^\[([A-Z_]+)\]$/.exec(w);
      if (flag) flags.push(flag[1]!);
      const kv = /^(src|dst|sport|dport)=(.*)$/.exec(w);
      if (!kv) continue;
      if (kv[1] === 'src') tuples.push({});
      if (tuples.length) tuples[tuples.length - 1]![kv[1]!] = kv[2]!;
    }
    if (tuples.length < 2) continue;
    const tuple = (t: Record<string, string>) => ({
      src: t.src ?? '',
      dst: t.dst ?? '',
      sport: t.sport === undefined ? null : Number(t.sport),
      dport: t.dport === undefined ? null : Number(t.dport),
    });
    entries.push({ protocol: words[0]!, orig: tuple(tuples[0]!), reply: tuple(tuples[1]!), flags, text: line.trim() });
  }
  return entries;
}

/** Split curl output written with the status write-out into one reply per request. */
export function parseCurl(stdout: string): HttpReply[] {
  const replies: HttpReply[] = [];
  const re = /\nstatus=(\d{3})\n((?:header\.[a-z0-9-]+=[^\n]*\n)*)/g;
  let from = 0;
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) {
    const headers = m[2] ? Object.fromEntries([...m[2].matchAll(/^header\.([a-z0-9-]+)=(.*)$/gm)].map((h) => [h[1]!, h[2]!])) : undefined;
    replies.push({ status: Number(m[1]), body: stdout.slice(from, m.index).trim(), ...(headers ? { headers } : {}) });
    from = re.lastIndex;
  }
  return replies;
}
