// Text normalisation for generated tutorials. A tutorial records what a lab printed on one run on
// one machine; regenerating it must change the file only where the lab changed. These functions
// replace what differs from run to run (times, MAC addresses the kernel picked, ephemeral ports,
// timers, PIDs, durations) with placeholders, and nothing else: addresses, routes, rules, chain
// names and answers stay as they were printed. All pure.

/** Where knetlab is installed differs between machines; tutorials show `<knetlab>`. */
export function portable(text: string, root: string): string {
  return (
    text
      .replaceAll(root, '<knetlab>')
      // Kubernetes objects are stamped when the lab is loaded, and their uids follow from the stamp.
      .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})\b/g, '<time>')
      .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uid>')
  );
}

/** From: to pairs: a prefixed copy's namespace names and folder written as the plain lab's. */
export function renameAll(text: string, pairs: [string, string][]): string {
  // Longest first, whole names only: "tu-node1" never rewrites part of "tu-node10".
  let out = text;
  for (const [from, to] of [...pairs].filter(([f, t]) => f !== t).sort((a, b) => b[0].length - a[0].length)) {
    const re = new RegExp(`(?<![\\w.-])${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'g');
    out = out.replace(re, to);
  }
  return out;
}

const MAC = /\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi;
/** The all-zeros and broadcast addresses mean something; they never vary. */
const FIXED_MACS = new Set(['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff']);

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';

/** The MAC addresses in a text (lower case): those the lab's own commands set are kept in outputs. */
export function macsIn(text: string): Set<string> {
  return new Set([...text.matchAll(MAC)].map((m) => m[0].toLowerCase()));
}

/**
 * One command's output with its varying parts replaced. `keepMacs`: MAC addresses the lab sets
 * itself (in its commands), which are the same on every run and worth reading.
 */
export function normaliseOutput(text: string, keepMacs: ReadonlySet<string> = new Set()): string {
  return (
    text
      // "Sat Dec  5 03:11:01 2026" (iptables-save, nft, BIRD's log), "Dec 05 03:11:01", ISO stamps.
      .replace(new RegExp(`\\b${DAY},? +${MONTH} +\\d{1,2} +\\d{2}:\\d{2}:\\d{2}(?: +[A-Z]{3,4})? +\\d{4}\\b`, 'g'), '<time>')
      .replace(new RegExp(`\\b${DAY}, \\d{1,2} ${MONTH} \\d{4} \\d{2}:\\d{2}:\\d{2}(?: [A-Z]{3}| [+-]\\d{4})?`, 'g'), '<time>')
      .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>')
      // Times of day: tcpdump's 03:11:01.123456, BIRD's "since" 03:11:01.123.
      .replace(/(?<![\d:])\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?![\d:])/g, '<time>')
      .replace(MAC, (m) => (FIXED_MACS.has(m.toLowerCase()) || keepMacs.has(m.toLowerCase()) ? m : 'xx:xx:xx:xx:xx:xx'))
      // A link-local IPv6 address is made from the interface's MAC; whether duplicate address
      // detection has finished when the command runs is a matter of milliseconds.
      .replace(/\bfe80::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,3}(?=\/|\b)/gi, (m) =>
        keepMacs.size && [...keepMacs].some((x) => eui64(x) === m.toLowerCase()) ? m : 'fe80::xxxx',
      )
      .replace(/ tentative\b/g, '')
      // Durations: ping's time=0.045 ms and rtt summary, dig's query time, "time 1001ms".
      .replace(/\btime[=<]\d+(?:\.\d+)? ?ms\b/g, 'time=N ms')
      .replace(/(rtt min\/avg\/max\/mdev = )[\d./]+ ms/g, '$1N/N/N/N ms')
      .replace(/\btime \d+ms\b/g, 'time N ms')
      .replace(/(;; Query time: )\d+ msec/g, '$1N msec')
      .replace(/(;; WHEN: ).*/g, '$1<time>')
      // conntrack -L: "tcp      6 117 TIME_WAIT src=…", the third field is the seconds left.
      .replace(/^(\s*(?:ipv4\s+2\s+)?(?:tcp|udp|icmp|sctp|udplite|dccp|gre|unknown)\s+\d+\s+)\d+(?=\s)/gm, '$1N')
      .replace(/\bid=\d+/g, 'id=N')
      // Random query and echo identifiers: dig's header, tcpdump's ICMP echo.
      .replace(/(opcode: \w+, status: \w+, id: )\d+/g, '$1N')
      .replace(/(ICMP echo (?:request|reply), id )\d+/g, '$1N')
      // Ephemeral ports (Linux's 32768-60999 and above): a client's source port, a NodePort never.
      .replace(/\b(sport=|dport=|src port |port )(3[2-9]\d{3}|[4-6]\d{4})\b/g, '$1PORT')
      .replace(/(\b\d{1,3}(?:\.\d{1,3}){3}[:.])(3[2-9]\d{3}|[4-6]\d{4})\b/g, '$1PORT')
      // Processes: ss -p's pid=123, ps's PIDs after a name.
      .replace(/\bpid=\d+/g, 'pid=N')
      // iptables-save: counters of built-in chains' policies ([packets:bytes]) and -c rule counters.
      .replace(/^(:\S+ \S+ )\[\d+:\d+\]/gm, '$1[N:N]')
      .replace(/^\[\d+:\d+\] /gm, '[N:N] ')
      // ip -s, nft counters, ipvsadm --stats: packet and byte counts.
      .replace(/\b(packets|bytes) \d+\b/g, '$1 N')
      // Timers: ipvsadm -Lnc's "00:57" expire column is covered by times; neighbour "used 3/3/1", BIRD uptimes.
      .replace(/\bused \d+\/\d+\/\d+/g, 'used N/N/N')
      .replace(/\bprobes \d+/g, 'probes N')
  );
}

/** The link-local address the kernel derives from a MAC (EUI-64, RFC 4291 appendix A). */
function eui64(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const w = [((b[0]! ^ 2) << 8) | b[1]!, (b[2]! << 8) | 0xff, 0xfe00 | b[3]!, (b[4]! << 8) | b[5]!];
  return `fe80::${w.map((x) => x.toString(16)).join(':')}`;
}

/** At most `max` lines, and how many more there were. */
export function truncateLines(text: string, max: number): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  if (lines.length <= max) return lines.join('\n');
  return [...lines.slice(0, max), `… ${lines.length - max} more lines`].join('\n');
}
