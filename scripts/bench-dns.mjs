#!/usr/bin/env node
// Benchmark: knetlab's cluster DNS server (src/components/coredns, run as the coredns agent from
// dist/agent.js, exactly as labs run it) against dnsmasq serving the same names, on the same
// machine, in one run. Both run in one scratch network namespace (created here, deleted at the
// end, also on failure), on its loopback, each pinned to the same single core with taskset; the
// load comes from the other cores.
//
// The names: --services ClusterIP Services (svc-N.default.svc.cluster.local) in the state file the
// agent follows, and the same names as dnsmasq --host-record entries (dnsmasq answers them
// authoritatively and everything else NXDOMAIN, --local=/#/). The queries: A for every name, in
// a shuffled order, plus --nx percent of names that exist in neither (NXDOMAIN from both).
//
// Two measurements per server:
//   1. saturation: dnsperf (Debian's dnsperf 2.10) for --seconds with --outstanding queries in
//      flight: queries per second completed, lost queries, and the datagrams the kernel dropped
//      for a full socket receive buffer in the namespace meanwhile (RcvbufErrors: the server's
//      queue or dnsperf's). With one core for each, dnsperf costs about as much per query as a
//      fast server: when the server's core is not busy all the time (cpu %), the generator set
//      the pace, and queries per core-second of the server (qps/core) compare the servers;
//   2. latency at a fixed --rate (1,000 queries/s by default): this script's own load generator
//      (dnsperf 2.10 prints no percentiles), one UDP socket, a query every 1/rate s on a timer,
//      each timed from send to reply with process.hrtime: p50, p90, p99, max.
//
//   sudo node scripts/bench-dns.mjs [--services 1000] [--nx 10] [--seconds 10] [--outstanding 200]
//                                   [--rate 1000] [--rounds 3] [--core 1] [--echo] [--json]
//
// --echo adds a third server, the least any node:dgram server does: a 'message' handler that
// sends each query back with the QR bit set (no lookup, no encoding, not a valid answer for
// dnsperf's purposes beyond its id), on the same core. It bounds what a DNS server built on
// node:dgram's per-datagram path can reach, whatever its own code costs.
//
// Both servers run side by side and are measured in alternation, --rounds times; each figure is
// the median over the rounds. On a shared machine the absolute figures move with its other load
// (printed with them); the two servers' figures from one run are comparable.
//
// Internal: `node scripts/bench-dns.mjs --load HOST PORT RATE SECONDS QUERYFILE` is the latency
// generator, run inside the namespace by the benchmark itself; it prints one JSON line.
// `--echo-server HOST PORT` is the --echo server.

import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);

if (args[0] === '--load') {
  await generator(args[1], Number(args[2]), Number(args[3]), Number(args[4]), args[5]);
  process.exit(0);
}
if (args[0] === '--echo-server') {
  // As a dgram DNS server answers: an identity lookup (replies go to an IP at once), one send per query.
  const sock = dgram.createSocket({ type: 'udp4', lookup: (address, _opts, cb) => cb(null, address, 4) });
  sock.on('message', (msg, rinfo) => {
    if (msg.length >= 3) msg[2] |= 0x80;
    sock.send(msg, rinfo.port, rinfo.address);
  });
  sock.bind(Number(args[2]), args[1]);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
  await new Promise(() => {});
}

const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const SERVICES = Number(opt('services', 1000));
const NX_PERCENT = Number(opt('nx', 10));
const SECONDS = Number(opt('seconds', 10));
const OUTSTANDING = Number(opt('outstanding', 200));
const RATE = Number(opt('rate', 1000));
const CORES = availableParallelism();
const CORE = Number(opt('core', CORES - 1));
const LOAD_CORES = Array.from({ length: CORES }, (_, i) => i).filter((c) => c !== CORE);
const JSON_OUT = args.includes('--json');
const ECHO = args.includes('--echo');
const ROUNDS = Number(opt('rounds', 3));

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const agent = join(root, 'dist', 'agent.js');
if (process.getuid?.() !== 0) {
  console.error('bench-dns needs root (it creates a network namespace): sudo node scripts/bench-dns.mjs');
  process.exit(1);
}
if (!existsSync(agent)) {
  console.error('bench-dns runs the built agent: npm run build first');
  process.exit(1);
}
for (const tool of ['dnsperf', 'dnsmasq', 'taskset']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    console.error(`bench-dns needs ${tool} (Debian: apt-get install ${tool === 'taskset' ? 'util-linux' : tool})`);
    process.exit(1);
  }
}

const NETNS = `knetlab-bench-dns-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'knetlab-bench-dns-'));
const KNETLAB = { name: 'knetlab', address: '127.0.0.1', port: 1053 };
const DNSMASQ = { name: 'dnsmasq', address: '127.0.0.1', port: 2053 };
const NODE_ECHO = { name: 'node-echo', address: '127.0.0.1', port: 3053 };
const children = [];

const sh = (argv, opts = {}) => execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', ...opts });
const inNetns = (argv) => ['ip', 'netns', 'exec', NETNS, ...argv];
const pinned = (cores, argv) => ['taskset', '-c', cores.join(','), ...argv];

function cleanup() {
  if (process.env.BENCH_DNS_KEEP) console.error(readFileSync(join(dir, 'coredns.log'), 'utf8'));
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
  try {
    sh(['ip', 'netns', 'del', NETNS], { stdio: 'ignore' });
  } catch {
    /* not created */
  }
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---- the names -------------------------------------------------------------------------------

const serviceIP = (i) => `10.96.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
const names = Array.from({ length: SERVICES }, (_, i) => [`svc-${i}.default.svc.cluster.local`, serviceIP(i)]);

function stateFile() {
  const meta = (name, namespace = 'default') => ({
    name,
    namespace,
    labels: {},
    annotations: {},
    creationTimestamp: '2026-01-01T00:00:00Z',
    uid: `${namespace}-${name}`,
  });
  const service = (name, ip, namespace = 'default') => ({
    meta: meta(name, namespace),
    type: 'ClusterIP',
    clusterIP: ip,
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: null }],
    selector: { app: name },
    sessionAffinity: 'None',
    affinityTimeoutSeconds: 10800,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    externalIPs: [],
    loadBalancerIP: null,
    loadBalancerSourceRanges: [],
    publishNotReadyAddresses: false,
    healthCheckNodePort: null,
    externalName: null,
    loadBalancerIngress: [],
  });
  return {
    generation: 1,
    clusterCIDR: '10.244.0.0/16',
    serviceCIDR: '10.96.0.0/12',
    nodes: [],
    lbPool: [],
    kubeProxy: { mode: 'iptables' },
    state: {
      pods: [],
      deployments: [],
      services: [service('kube-dns', '10.96.0.10', 'kube-system'), ...names.map(([n, ip]) => service(n.split('.')[0], ip))],
      slices: [],
    },
  };
}

/** dnsperf's data file: "name type" per line, shuffled, NX_PERCENT of them names nobody has. */
function queryFile() {
  const lines = names.map(([n]) => `${n} A`);
  const nx = Math.round((lines.length * NX_PERCENT) / (100 - NX_PERCENT));
  for (let i = 0; i < nx; i++) lines.push(`nosuch-${i}.default.svc.cluster.local A`);
  // A fixed shuffle (LCG), so every run asks the same sequence.
  let seed = 42;
  for (let i = lines.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  return lines.join('\n') + '\n';
}

// ---- the servers -----------------------------------------------------------------------------

async function until(what, ok, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const answers = (server, name) => {
  try {
    return sh(inNetns(['dig', '+short', '+time=1', '+tries=1', `@${server.address}`, '-p', String(server.port), name])).trim();
  } catch {
    return '';
  }
};

function startServer(argv, log) {
  const c = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', log ? 'pipe' : 'ignore'] });
  if (log) c.stderr.on('data', (d) => writeFileSync(log, d, { flag: 'a' }));
  children.push(c);
  return c;
}

async function startKnetlab() {
  const state = join(dir, 'state.json');
  writeFileSync(state, JSON.stringify(stateFile()));
  const config = join(dir, 'coredns.json');
  writeFileSync(
    config,
    JSON.stringify({
      stateFile: state,
      domain: 'cluster.local',
      ttl: 30,
      port: KNETLAB.port,
      upstream: '127.0.0.1',
      pidfile: join(dir, 'coredns.pid'),
      log: join(dir, 'coredns.log'),
    }),
  );
  // upstream 127.0.0.1:53: nothing listens; no query here is forwarded.
  const c = startServer(inNetns(pinned([CORE], ['node', agent, 'coredns', '--config', config, '--foreground'])), join(dir, 'coredns.log'));
  await until('the knetlab DNS server to answer', () => answers(KNETLAB, names[0][0]) === names[0][1]);
  return c;
}

async function startDnsmasq() {
  const hosts = join(dir, 'hosts');
  // One address per name, as --host-record would give (an addn-hosts file is the same table).
  writeFileSync(hosts, names.map(([n, ip]) => `${ip} ${n}`).join('\n') + '\n');
  const c = startServer(
    inNetns(
      pinned(
        [CORE],
        [
          'dnsmasq',
          '--keep-in-foreground',
          '--conf-file=/dev/null',
          '--no-resolv',
          '--no-hosts',
          '--no-poll',
          `--addn-hosts=${hosts}`,
          `--listen-address=${DNSMASQ.address}`,
          `--port=${DNSMASQ.port}`,
          '--bind-interfaces',
          '--local=/#/',
          '--local-ttl=30',
          // Nothing here is forwarded, so nothing is cached; but dnsmasq keeps hosts-file names in
          // its cache's hash table, which it sizes from --cache-size (size/10 buckets, at least
          // 64; reading hosts grows it only past 1,000 names more than the cache size): with 0,
          // 1,000 names share 64 buckets and a lookup walks a chain of ~16. The largest cache it
          // allows gives it 1,024 buckets, a table sized for the names (ours is a Map).
          '--cache-size=10000',
          '--pid-file=',
          '--user=root',
        ],
      ),
    ),
    join(dir, 'dnsmasq.log'),
  );
  await until('dnsmasq to answer', () => answers(DNSMASQ, names[0][0]) === names[0][1]);
  return c;
}

async function startEcho() {
  const c = startServer(
    inNetns(pinned([CORE], ['node', fileURLToPath(import.meta.url), '--echo-server', NODE_ECHO.address, String(NODE_ECHO.port)])),
    join(dir, 'echo.log'),
  );
  const echoes = () => {
    try {
      return sh(inNetns(['dig', '+time=1', '+tries=1', `@${NODE_ECHO.address}`, '-p', String(NODE_ECHO.port), names[0][0]])).includes('status: NOERROR');
    } catch {
      return false;
    }
  };
  await until('the echo server to answer', echoes);
  return c;
}

// ---- the measurements ------------------------------------------------------------------------

/** The server's CPU time so far, in seconds (utime + stime of /proc/PID/stat). */
const TICKS = Number(sh(['getconf', 'CLK_TCK']).trim()) || 100;
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** UDP datagrams the kernel dropped in the namespace for a full receive buffer (/proc/net/snmp). */
function rcvbufErrors() {
  const rows = sh(inNetns(['cat', '/proc/net/snmp']))
    .split('\n')
    .filter((l) => l.startsWith('Udp:'))
    .map((l) => l.trim().split(/\s+/));
  return Number(rows[1][rows[0].indexOf('RcvbufErrors')]);
}

function dnsperf(server, data) {
  const drops0 = rcvbufErrors();
  const cpu0 = cpuSeconds(server.pid);
  const out = sh(
    inNetns(
      pinned(LOAD_CORES, [
        'dnsperf',
        '-s',
        server.address,
        '-p',
        String(server.port),
        '-d',
        data,
        '-l',
        String(SECONDS),
        '-q',
        String(OUTSTANDING),
        '-c',
        '4',
        '-T',
        String(Math.max(1, LOAD_CORES.length)),
        '-t',
        '2',
      ]),
    ),
  );
  const cpu = cpuSeconds(server.pid) - cpu0;
  const drops = rcvbufErrors() - drops0;
  const num = (re) => Number((re.exec(out) ?? [])[1] ?? NaN);
  const completed = num(/Queries completed:\s+(\d+)/);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    // How busy the server's core was, and what it would answer with the whole core: the load
    // generator shares the machine, so at "saturation" the server may still have idle time.
    cpuPercent: (100 * cpu) / SECONDS,
    qpsPerCore: completed / cpu,
    sent: num(/Queries sent:\s+(\d+)/),
    completed,
    lost: num(/Queries lost:\s+(\d+)/),
    drops,
    noerror: num(/NOERROR (\d+)/),
    nxdomain: num(/NXDOMAIN (\d+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
  };
}

function latency(server, data) {
  const out = sh(
    inNetns(pinned(LOAD_CORES, ['node', fileURLToPath(import.meta.url), '--load', server.address, String(server.port), String(RATE), String(SECONDS), data])),
  );
  return JSON.parse(out.trim().split('\n').pop());
}

/** The latency generator: RATE queries/s for SECONDS, each timed; percentiles of the answered. */
async function generator(host, port, rate, seconds, file) {
  const queries = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0]);
  const encode = (id, name) => {
    const labels = name.split('.').filter(Boolean);
    const b = Buffer.alloc(12 + labels.reduce((n, l) => n + l.length + 1, 0) + 1 + 4);
    b.writeUInt16BE(id, 0);
    b.writeUInt16BE(0x0100, 2); // rd
    b.writeUInt16BE(1, 4);
    let o = 12;
    for (const l of labels) {
      b[o++] = l.length;
      o += b.write(l, o, 'ascii');
    }
    b[o++] = 0;
    b.writeUInt16BE(1, o); // A
    b.writeUInt16BE(1, o + 2); // IN
    return b;
  };
  const sock = dgram.createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  const sentAt = new Map();
  const lat = [];
  const rcodes = {};
  sock.on('message', (msg) => {
    const t = process.hrtime.bigint();
    const id = msg.readUInt16BE(0);
    const t0 = sentAt.get(id);
    if (t0 === undefined) return;
    sentAt.delete(id);
    lat.push(Number(t - t0) / 1e6);
    const rc = msg[3] & 0x0f;
    rcodes[rc] = (rcodes[rc] ?? 0) + 1;
  });
  const total = Math.round(rate * seconds);
  const start = process.hrtime.bigint();
  const interval = 1e9 / rate;
  let sent = 0;
  // Send on schedule: each tick sends every query whose time has come (timers are coarse).
  await new Promise((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - start) / interval) + 1);
      while (sent < due) {
        const id = sent & 0xffff;
        sentAt.set(id, process.hrtime.bigint());
        sock.send(encode(id, queries[sent % queries.length]), port, host);
        sent++;
      }
      if (sent < total) setTimeout(tick, 0);
      else setTimeout(done, 1000); // the last replies
    };
    tick();
  });
  sock.close();
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] ?? NaN;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9 - 1;
  process.stdout.write(
    JSON.stringify({
      rate: Math.round(sent / elapsed),
      sent,
      answered: lat.length,
      rcodes,
      p50: pct(50),
      p90: pct(90),
      p99: pct(99),
      max: lat[lat.length - 1] ?? NaN,
    }) + '\n',
  );
}

// ---- the run ---------------------------------------------------------------------------------

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const load0 = loadavg();
sh(['ip', 'netns', 'add', NETNS]);
sh(['ip', '-n', NETNS, 'link', 'set', 'lo', 'up']);
const data = join(dir, 'queries.txt');
writeFileSync(data, queryFile());

// Both servers run side by side (the idle one costs nothing) and are measured in alternation,
// --rounds times, so that a machine whose other load comes and goes treats them alike; each
// figure is the median over the rounds.
const servers = ECHO ? [KNETLAB, DNSMASQ, NODE_ECHO] : [KNETLAB, DNSMASQ];
// ip netns exec and taskset exec the server: the child's PID is the server's.
KNETLAB.pid = (await startKnetlab()).pid;
DNSMASQ.pid = (await startDnsmasq()).pid;
if (ECHO) NODE_ECHO.pid = (await startEcho()).pid;
// A warm-up at the fixed rate, so the JIT and caches are in their steady state.
for (const server of servers) latency(server, data);
const rounds = Object.fromEntries(servers.map((s) => [s.name, { saturation: [], at: [] }]));
for (let i = 0; i < ROUNDS; i++) {
  if (!JSON_OUT) process.stderr.write(`round ${i + 1} of ${ROUNDS}\n`);
  for (const server of servers) rounds[server.name].saturation.push(dnsperf(server, data));
  for (const server of servers) rounds[server.name].at.push(latency(server, data));
}
const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : NaN;
};
const merge = (list) =>
  Object.fromEntries(
    Object.keys(list[0])
      .filter((k) => typeof list[0][k] === 'number')
      .map((k) => [k, median(list.map((x) => x[k]))]),
  );
const results = Object.fromEntries(
  servers.map((s) => [s.name, { saturation: merge(rounds[s.name].saturation), at: merge(rounds[s.name].at), rounds: rounds[s.name] }]),
);
// Each round measures the servers back to back, so a round's ratio sees the same machine load:
// the median of those is the comparison that counts.
const ratios = Object.fromEntries(
  servers
    .filter((x) => x !== DNSMASQ)
    .map((x) => [
      x.name,
      Object.fromEntries(['qps', 'qpsPerCore'].map((k) => [k, median(rounds[x.name].saturation.map((r, i) => r[k] / rounds.dnsmasq.saturation[i][k]))])),
    ]),
);
const load = loadavg();

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
if (JSON_OUT) {
  console.log(
    JSON.stringify(
      {
        services: SERVICES,
        nxPercent: NX_PERCENT,
        seconds: SECONDS,
        outstanding: OUTSTANDING,
        rate: RATE,
        rounds: ROUNDS,
        core: CORE,
        loadavg: load,
        loadavgStart: load0,
        results,
        ratioToDnsmasq: ratios,
      },
      null,
      2,
    ),
  );
} else {
  const cpu = (/model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8')) ?? [])[1] ?? 'unknown CPU';
  console.log(
    `bench-dns: ${SERVICES} Service names (+${NX_PERCENT}% NXDOMAIN), servers pinned to core ${CORE} of ${CORES} (${cpu}), load on ${LOAD_CORES.join(',') || 'the same core'}`,
  );
  console.log(`saturation: dnsperf -l ${SECONDS} -q ${OUTSTANDING}; latency: ${RATE} queries/s for ${SECONDS} s, own generator`);
  console.log(`medians of ${ROUNDS} alternating rounds; load average at the start: ${load0}, at the end: ${load}\n`);
  console.log('server     qps (saturation)   cpu %   qps/core   lost  drops   avg ms   | at rate: qps   answered   p50 ms   p90 ms   p99 ms   max ms');
  for (const [name, r] of Object.entries(results)) {
    const s = r.saturation;
    const a = r.at;
    console.log(
      `${name.padEnd(10)} ${fmt(s.qps).padStart(16)} ${fmt(s.cpuPercent).padStart(7)} ${fmt(s.qpsPerCore).padStart(10)} ${fmt(s.lost).padStart(6)} ${fmt(s.drops).padStart(6)} ${fmt(s.avgLatencyMs, 3).padStart(8)}   | ${fmt(a.rate).padStart(12)} ${`${a.answered}/${a.sent}`.padStart(10)} ${fmt(a.p50, 3).padStart(8)} ${fmt(a.p90, 3).padStart(8)} ${fmt(a.p99, 3).padStart(8)} ${fmt(a.max, 3).padStart(8)}`,
    );
  }
  console.log('');
  const pct = (a, k) => fmt(100 * ratios[a][k]);
  for (const a of Object.keys(ratios))
    console.log(`${a} / dnsmasq (median of the rounds' ratios): queries per second ${pct(a, 'qps')}%, per core-second of the server ${pct(a, 'qpsPerCore')}%`);
  const busy = Math.max(...servers.map((x) => results[x.name].saturation.cpuPercent));
  if (busy < 90)
    console.log(`no server kept its core busy (at most ${fmt(busy)}%): dnsperf (or the machine's other load) set the pace; compare queries per core-second`);
}
// The servers' log pipes would keep this process waiting: stop them (cleanup runs on exit).
process.exit(0);
