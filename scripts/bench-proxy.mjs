#!/usr/bin/env zx
// Benchmark: kube-proxy's modes compared (issue 12, seed 004 §5.4.4), against the real kernel,
// in scratch network namespaces only (bp-client, bp-node, bp-ep; deleted at the end, also on
// failure; the machine's own namespace is never touched):
//
//   bp-client (192.168.56.100) ── veth ── bp-node (192.168.56.10 | 10.244.255.1) ── veth ── bp-ep (the endpoints)
//
// For each mode and each N (Services × 3 endpoints, NodePort, as scripts/bench-sync.mjs builds them):
//   1. full sync: compute the payload (src/components/kube-proxy, compiled for the run) and load it
//      into a fresh bp-node (iptables: iptables-restore after the jump rules; nftables: one nft -f);
//   2. add one Service at N: iptables writes the top-level chains and the new Service's chains
//      (a partial restore, kube-proxy ≥ 1.27); nftables writes a partial transaction from the
//      memo of the full sync;
//   3. first-packet latency: --conns fresh TCP connections, one after another, from bp-client to
//      the ClusterIP of the Service whose rule comes last in KUBE-SERVICES (iptables' worst case;
//      in nftables mode any Service costs the same map lookup), answered by a listener in bp-ep
//      (connect() to the SYN-ACK: the SYN crosses bp-node's rules, later packets hit conntrack);
//      p50 and p99;
//   4. kernel CPU per 10k new connections: the system time of the client and listener processes
//      over the connection loop (the SYN's trip through bp-node's rules runs in softirq context
//      charged to the sending task, as veth delivers in the sender's context), scaled to 10k.
//      A baseline connects to the endpoint directly, with no rules.
// The chart (p50 latency vs N per mode) is written as SVG, and as PNG when @resvg/resvg-wasm is
// in node_modules.
//
// IPVS mode (3rd mode): kube-ipvs0, the ipsets, the virtual servers and the remaining iptables
// rules, as the agent writes them (src/components/kube-proxy/ipvs.ts). kube-proxy's IPVS proxier
// has no partial sync: every sync lists the kernel's state (iptables-save, ipset, ipvsadm, the
// addresses on kube-ipvs0) and writes the difference, so "add one Service" there is a whole sync
// against a loaded node, and its load time includes those listings.
//
//   sudo npx zx scripts/bench-proxy.mjs [--sizes 100,1000,5000,10000] [--modes iptables,nftables]
//        [--conns 500] [--runs 1] [--iptables-backend legacy|nft] [--out bench-proxy]
//   sudo npx zx scripts/bench-proxy.mjs --vm [--modes iptables,nftables,ipvs] [--memory 4096] …
//
// This machine's kernel has no ip_vs: --vm runs the same measurements inside the VM runner
// (`knetlab vm`, a stock Debian kernel under qemu), every mode in one boot, so every ratio there
// comes from one environment; the results come back on the guest's stdout and are written here.
// Absolute times in the VM are the emulator's (qemu TCG without KVM is several times slower than
// this machine); compare modes within one run, not across the two.
// --chart FILE.json draws the chart again from an earlier run's results.

import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import os, { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';

if (process.getuid() !== 0 && !argv.chart) {
  console.error('bench-proxy needs root: sudo npx zx scripts/bench-proxy.mjs');
  process.exit(1);
}

// The rule generation under test, compiled from the sources for this run.
const compiled = `${tmpdir()}/knetlab-bench-proxy-${process.pid}.mjs`;
const entry = `${tmpdir()}/knetlab-bench-proxy-${process.pid}-entry.ts`;
const src = new URL('../src/components/kube-proxy/', import.meta.url).pathname;
writeFileSync(
  entry,
  `export * from '${src}iptables.ts';\nexport { syncNFTables, NFT_COMMAND } from '${src}nftables.ts';\n` +
    `export { ipvsProxier } from '${src}ipvs.ts';\nexport { kubeProxySysctls } from '${src}config.ts';\n` +
    `export { DEFAULT_KUBE_PROXY_CONFIGURATION } from '${src}../../api/objects.ts';\n`,
);
await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: compiled, logLevel: 'warning' });
process.on('exit', () => {
  rmSync(compiled, { force: true });
  rmSync(entry, { force: true });
});
const k = await import(compiled);

$.verbose = false;
const sizes = String(argv.sizes ?? '100,1000,5000,10000')
  .split(',')
  .map(Number);
const modes = String(argv.modes ?? 'iptables,nftables').split(',');
const conns = Number(argv.conns ?? 500);
const runs = Number(argv.runs ?? 1);
const out = String(argv.out ?? 'bench-proxy');
const iptBackend = String(argv['iptables-backend'] ?? 'legacy');
const IPT = iptBackend === 'nft' ? { restore: 'iptables-nft-restore' } : { restore: 'iptables-legacy-restore' };
const NS = { client: 'bp-client', node: 'bp-node', ep: 'bp-ep' };
const NODE = { name: 'node-0', address: '192.168.56.10', netns: NS.node, podCIDR: '10.244.0.0/24' };
const PORT = 8080;
const RESULT_MARK = 'bench-proxy result: ';

// ---- the cluster (as scripts/bench-sync.mjs) ---------------------------------------------

const meta = (namespace, name) => ({ name, namespace, labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z', uid: `${namespace}-${name}` });
function addr(base, i) {
  const v = base.split('.').reduce((n, o) => n * 256 + Number(o), 0) + i;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}
function serviceNumber(i) {
  const name = `svc-${i}`;
  const svc = {
    meta: meta('bench', name),
    type: 'NodePort',
    clusterIP: addr('10.96.0.10', i),
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: PORT, nodePort: 30000 + i }],
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
  };
  const slice = {
    meta: meta('bench', `${name}-x7k2p`),
    service: name,
    ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
    endpoints: [0, 1, 2].map((e) => ({
      address: addr('10.244.0.2', 3 * i + e),
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${(3 * i + e) % 10}`,
      pod: `${name}-${e}`,
    })),
    managedBy: 'endpointslice-controller.k8s.io',
  };
  return { svc, slice };
}
function cluster(n) {
  const parts = Array.from({ length: n }, (_, i) => serviceNumber(i));
  return { services: parts.map((p) => p.svc), slices: parts.map((p) => p.slice) };
}
/** The Service whose rule comes last (kube-proxy's rules are in name order here). */
const lastService = (n) => serviceNumber([...Array(n).keys()].sort((a, b) => (`svc-${a}` < `svc-${b}` ? -1 : 1)).at(-1));

// ---- the modes ---------------------------------------------------------------------------

const iptCfg = { ...k.DEFAULT_PROXIER_CONFIG, localDetector: k.cidrDetector('10.244.0.0/16') };
const nftCfg = {
  localDetector: { ifLocal: 'ip saddr 10.244.0.0/16', ifNotLocal: 'ip saddr != 10.244.0.0/16' },
  masqueradeMark: k.masqueradeMark(14),
  masqueradeAll: false,
  nodePortIPs: [NODE.address],
  serviceCIDRs: ['10.96.0.0/12'],
};
// IPVS mode with kube-proxy's defaults: NodePorts on every node address but loopback.
const ipvsCtx = {
  config: { ...k.DEFAULT_KUBE_PROXY_CONFIGURATION, mode: 'ipvs' },
  clusterCIDR: '10.244.0.0/16',
  nodeAddresses: ['127.0.0.1', NODE.address, '10.244.255.1'],
};
/**
 * A command in bp-node, as kube-proxy runs one: fork and exec, input on stdin. spawnSync, not zx's
 * $, whose own cost per call (about 130 ms here) would be counted as the kernel's.
 */
function inNode(argv, input = '') {
  const r = spawnSync('ip', ['netns', 'exec', NS.node, ...argv], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status ?? r.signal}: ${(r.stderr || r.error?.message || '').trim().slice(0, 500)}`);
  return r;
}
/** A mode's commands ({file, args, input}), one after another in bp-node. */
async function runCommands(commands) {
  for (const c of commands) await inNode([c.file, ...c.args], c.input ?? '');
}

/** Each mode: prepare a fresh node (untimed), a full sync, and adding one Service after it; each returns { genMs, loadMs }. */
const MODES = {
  iptables: {
    prepare: () => inNode([IPT.restore, '--noflush'], k.jumpRulesPayload('')),
    async full(c) {
      const g = timedSync(() => k.syncProxyRules(NODE, c.services, c.slices, iptCfg));
      const l = await timed(() => inNode([IPT.restore, ...k.RESTORE_COMMAND.slice(1)], g.value.payload));
      return { genMs: g.ms, loadMs: l.ms, state: null };
    },
    async addOne(c, extra) {
      const g = timedSync(() =>
        k.syncProxyRules(NODE, [...c.services, extra.svc], [...c.slices, extra.slice], iptCfg, undefined, new Set([`bench/${extra.svc.meta.name}`])),
      );
      const l = await timed(() => inNode([IPT.restore, ...k.RESTORE_COMMAND.slice(1)], g.value.payload));
      return { genMs: g.ms, loadMs: l.ms };
    },
  },
  nftables: {
    prepare: async () => {},
    async full(c) {
      const g = timedSync(() => k.syncNFTables(NODE, c.services, c.slices, nftCfg, null));
      const l = await timed(() => inNode(k.NFT_COMMAND, g.value.payload));
      return { genMs: g.ms, loadMs: l.ms, state: g.value.memo };
    },
    async addOne(c, extra, memo) {
      const g = timedSync(() => k.syncNFTables(NODE, [...c.services, extra.svc], [...c.slices, extra.slice], nftCfg, memo));
      const l = await timed(() => inNode(k.NFT_COMMAND, g.value.payload));
      return { genMs: g.ms, loadMs: l.ms, commands: g.value.stats.commands };
    },
  },
  ipvs: {
    async prepare() {
      // setup(null) lists IPVS first (which loads ip_vs), then the dummy device and the jumps.
      await runCommands(k.ipvsProxier.setup(null));
      const sysctls = k.kubeProxySysctls(ipvsCtx.config, NODE).filter(([key]) => key.startsWith('net.ipv4.vs.'));
      await inNode(['sysctl', '-qw', ...sysctls.map(([key, v]) => `${key}=${v}`)]);
    },
    async full(c) {
      const g = timedSync(() => k.ipvsProxier.sync(NODE, c, null, ipvsCtx));
      const l = await timed(() => runCommands(g.value.commands));
      return { genMs: g.ms, loadMs: l.ms, state: null };
    },
    async addOne(c, extra) {
      const api = { services: [...c.services, extra.svc], slices: [...c.slices, extra.slice] };
      // What kube-proxy reads back at every sync: part of the cost of a change in this mode.
      const read = await timed(async () => {
        const now = [];
        for (const o of k.ipvsProxier.observe) now.push((await inNode([o.file, ...o.args], o.input ?? '')).stdout);
        return now;
      });
      const g = timedSync(() => k.ipvsProxier.sync(NODE, api, read.value, ipvsCtx));
      const l = await timed(() => runCommands(g.value.commands));
      return { genMs: g.ms, loadMs: read.ms + l.ms };
    },
  },
};
for (const m of modes) if (!MODES[m]) throw new Error(`unknown mode ${m} (known: ${Object.keys(MODES).join(', ')})`);
if (modes.includes('ipvs') && !argv.vm && !argv.chart && spawnSync('modprobe', ['-n', 'ip_vs']).status !== 0) {
  console.error('bench-proxy: this kernel has no ip_vs; measure IPVS mode in the VM runner: sudo npx zx scripts/bench-proxy.mjs --vm');
  process.exit(2);
}

// ---- plumbing ----------------------------------------------------------------------------

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const fmt = (x) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}
function timedSync(fn) {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}
const existing = async () => (await $`ip netns list`).stdout.split('\n').map((l) => l.split(' ')[0]);
async function dropAll() {
  const have = await existing();
  for (const ns of Object.values(NS)) if (have.includes(ns)) await $`ip netns del ${ns}`;
}
/** The three namespaces, wired; the node forwards (its own sysctl). */
async function topology(endpoints) {
  await dropAll();
  for (const ns of Object.values(NS)) await $`ip netns add ${ns}`;
  const x = (ns, ...a) => $`ip netns exec ${ns} ${a}`;
  await $`ip link add c0 netns ${NS.client} type veth peer name n0 netns ${NS.node}`;
  await $`ip link add e0 netns ${NS.ep} type veth peer name n1 netns ${NS.node}`;
  for (const ns of Object.values(NS)) await x(ns, 'ip', 'link', 'set', 'lo', 'up');
  await x(NS.client, 'ip', 'addr', 'add', '192.168.56.100/24', 'dev', 'c0');
  await x(NS.client, 'ip', 'link', 'set', 'c0', 'up');
  await x(NS.client, 'ip', 'route', 'add', 'default', 'via', '192.168.56.10');
  await x(NS.node, 'ip', 'addr', 'add', '192.168.56.10/24', 'dev', 'n0');
  await x(NS.node, 'ip', 'addr', 'add', '10.244.255.1/16', 'dev', 'n1');
  await x(NS.node, 'ip', 'link', 'set', 'n0', 'up');
  await x(NS.node, 'ip', 'link', 'set', 'n1', 'up');
  await x(NS.node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  await x(NS.ep, 'ip', 'addr', 'add', '10.244.255.2/16', 'dev', 'e0');
  for (const ip of endpoints) await x(NS.ep, 'ip', 'addr', 'add', `${ip}/32`, 'dev', 'e0');
  await x(NS.ep, 'ip', 'link', 'set', 'e0', 'up');
  await x(NS.ep, 'ip', 'route', 'add', 'default', 'via', '10.244.255.1');
}

// The listener in bp-ep and the client in bp-client: small Node programs (same userspace cost in every mode).
const SERVER = `const s=require('net').createServer(c=>{c.on('error',()=>{});c.end()});s.listen(${PORT},'0.0.0.0',()=>console.log('up'));`;
const CLIENT = `
const net=require('net');const [host,port,n]=process.argv.slice(1);const lat=[];
const c0=process.cpuUsage();
(function one(i){ if(i>=+n){const c=process.cpuUsage(c0);console.log(JSON.stringify({lat,sysUs:c.system}));return;}
  const t0=process.hrtime.bigint();const s=net.connect({host,port:+port});
  s.on('connect',()=>{lat.push(Number(process.hrtime.bigint()-t0)/1e6);s.destroy();setImmediate(()=>one(i+1));});
  s.on('error',e=>{console.error(e.message);process.exit(1);});
})(0);`;
const stime = (pid) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[12]) * (1000 / 100); // ms (USER_HZ 100)

async function connections(target) {
  const server = $`ip netns exec ${NS.ep} node -e ${SERVER}`;
  for await (const line of server.stdout) if (String(line).includes('up')) break;
  const serverPid = server.child.pid;
  // Warm up (ARP, route caches), then measure.
  await $`ip netns exec ${NS.client} node -e ${CLIENT} ${target.ip} ${target.port} 20`;
  const before = stime(serverPid);
  const r = await $`ip netns exec ${NS.client} node -e ${CLIENT} ${target.ip} ${target.port} ${conns}`;
  const serverMs = stime(serverPid) - before;
  server.kill();
  await server.nothrow();
  const { lat, sysUs } = JSON.parse(r.stdout);
  return { p50: pct(lat, 50), p99: pct(lat, 99), cpuPer10k: ((sysUs / 1000 + serverMs) * 10_000) / conns };
}

// ---- the benchmark -----------------------------------------------------------------------

let rows = [];
let baseline = null;
let environment = { kernel: os.release(), vm: Boolean(argv['inside-vm']), node: process.version, cpus: os.availableParallelism() };
// --chart FILE.json: only draw the chart again from an earlier run's results (no root, no namespaces).
if (argv.chart) ({ rows, baseline, environment = environment } = JSON.parse(readFileSync(String(argv.chart), 'utf8')));
else if (argv.vm) ({ rows, baseline, environment } = await inVm());
else {
  // Another run's namespaces (or a killed run's): refuse rather than pull them from under it.
  const left = (await existing()).filter((ns) => Object.values(NS).includes(ns));
  if (left.length) {
    console.error(`bench-proxy: namespaces ${left.join(', ')} exist: another run is in progress, or a killed one left them (ip netns del ${left.join(' ')})`);
    process.exit(1);
  }
}
if (!argv.chart && !argv.vm)
  try {
    for (const mode of modes) {
      // Untimed: the first use of a mode loads its kernel modules (nf_tables and its expressions,
      // ip_vs and its scheduler), which takes seconds under emulation.
      await topology([]);
      await MODES[mode].prepare();
      await MODES[mode].full(cluster(10));
      for (const n of sizes) {
        const c = cluster(n);
        const probe = lastService(n);
        const extra = serviceNumber(n);
        const fulls = [];
        const adds = [];
        let lat = null;
        for (let r = 0; r < runs; r++) {
          await topology(probe.slice.endpoints.map((e) => e.address));
          await MODES[mode].prepare();
          const f = await MODES[mode].full(c);
          fulls.push(f);
          // Latency with N Services loaded (before the extra one, which does not change the picture).
          if (r === 0) lat = await connections({ ip: probe.svc.clusterIP, port: 80 });
          adds.push(await MODES[mode].addOne(c, extra, f.state));
        }
        const row = {
          mode,
          n,
          fullGen: median(fulls.map((f) => f.genMs)),
          fullLoad: median(fulls.map((f) => f.loadMs)),
          addGen: median(adds.map((a) => a.genMs)),
          addLoad: median(adds.map((a) => a.loadMs)),
          ...lat,
        };
        rows.push(row);
        console.log(
          `${mode.padEnd(9)} N=${String(n).padStart(6)}  full sync ${fmt(row.fullGen + row.fullLoad)} (compute ${fmt(row.fullGen)}, load ${fmt(row.fullLoad)})  ` +
            `add one ${fmt(row.addGen + row.addLoad)} (compute ${fmt(row.addGen)}, load ${fmt(row.addLoad)})  ` +
            `first packet p50 ${row.p50.toFixed(3)} ms p99 ${row.p99.toFixed(3)} ms  kernel CPU ${fmt(row.cpuPer10k)}/10k conns`,
        );
      }
    }
    // Baseline: straight to the endpoint, no rules at all.
    const probe = lastService(sizes[0]);
    await topology(probe.slice.endpoints.map((e) => e.address));
    baseline = await connections({ ip: probe.slice.endpoints[0].address, port: PORT });
    console.log(
      `baseline (no Service, to the endpoint)  first packet p50 ${baseline.p50.toFixed(3)} ms p99 ${baseline.p99.toFixed(3)} ms  kernel CPU ${fmt(baseline.cpuPer10k)}/10k conns`,
    );
  } finally {
    await dropAll();
  }

// ---- results -----------------------------------------------------------------------------

const result = { sizes, modes, conns, runs, iptablesBackend: iptBackend, environment, rows, baseline };
// Inside the VM, files written here vanish at power-off: the results go back on stdout.
if (argv['inside-vm']) {
  console.log(`${RESULT_MARK}${JSON.stringify(result)}`);
  process.exit(0);
}
if (!argv.chart) writeFileSync(`${out}.json`, JSON.stringify(result, null, 2) + '\n');
const svg = chart(rows, baseline);
writeFileSync(`${out}.svg`, svg);
const resvg = new URL('../node_modules/@resvg/resvg-wasm/', import.meta.url).pathname;
if (existsSync(resvg)) {
  const { initWasm, Resvg } = await import(`${resvg}index.mjs`);
  await initWasm(readFileSync(`${resvg}index_bg.wasm`));
  // The wasm build reads no files: fonts are handed over as bytes.
  const fontBuffers = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'].filter(existsSync).map((f) => readFileSync(f));
  writeFileSync(
    `${out}.png`,
    new Resvg(svg, { font: { fontBuffers, defaultFontFamily: 'DejaVu Sans' }, fitTo: { mode: 'width', value: 1280 } }).render().asPng(),
  );
  console.log(`wrote ${argv.chart ? '' : `${out}.json, `}${out}.svg and ${out}.png`);
} else console.log(`wrote ${out}.json and ${out}.svg (no PNG: @resvg/resvg-wasm is not in node_modules)`);

/**
 * --vm: the same benchmark inside the VM runner, every mode in one boot. The guest's output is
 * passed through as it comes; its last line carries the results.
 */
async function inVm() {
  const root = new URL('..', import.meta.url).pathname;
  const pass = ['sizes', 'conns', 'runs', 'iptables-backend'].flatMap((o) => (argv[o] === undefined ? [] : [`--${o}`, String(argv[o])]));
  const guest = [process.execPath, `${root}node_modules/zx/build/cli.js`, `${root}scripts/bench-proxy.mjs`, '--inside-vm'];
  guest.push('--modes', String(argv.modes ?? 'iptables,nftables,ipvs'), ...pass);
  const vm = [process.execPath, `${root}bin/knetlab.js`, 'vm', '--memory', String(argv.memory ?? 4096), '--timeout', String(argv.timeout ?? 5400)];
  const child = spawn(vm[0], [...vm.slice(1), '--', ...guest], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let found = null;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith(RESULT_MARK)) found = JSON.parse(line.slice(RESULT_MARK.length));
    else console.log(line);
  }
  const code = await new Promise((res) => (child.exitCode !== null ? res(child.exitCode) : child.on('exit', res)));
  if (code !== 0 || !found) {
    console.error(`bench-proxy: the run in the VM failed (exit ${code})`);
    process.exit(1);
  }
  return found;
}

/** First-packet p50 latency against N, one colour per mode, log x axis; the no-rules baseline dotted. */
function chart(rows, baseline) {
  const W = 640;
  const H = 400;
  const L = 70;
  const R = 130;
  const T = 52;
  const B = 50;
  const where = environment.vm ? `in the VM runner (kernel ${environment.kernel}, qemu TCG)` : `kernel ${environment.kernel}`;
  const colours = { iptables: '#d62728', nftables: '#1f77b4', ipvs: '#2ca02c', userspace: '#9467bd' };
  const xs = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const ymax = Math.max(...rows.map((r) => r.p50), baseline?.p50 ?? 0) * 1.15 || 1;
  const lx = (n) => L + ((Math.log10(n) - Math.log10(xs[0])) / (Math.log10(xs.at(-1)) - Math.log10(xs[0]) || 1)) * (W - L - R);
  const ly = (v) => H - B - (v / ymax) * (H - T - B);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">First-packet latency (new TCP connection to a ClusterIP) vs number of Services</text>`,
    `<text x="${W / 2}" y="38" text-anchor="middle" font-size="11" fill="#555">${where}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">Services (× 3 endpoints), log scale</text>`,
    `<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">ms (connect() to SYN-ACK)</text>`,
  ];
  for (const n of xs) parts.push(`<text x="${lx(n)}" y="${H - B + 16}" text-anchor="middle">${n >= 1000 ? `${n / 1000}k` : n}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4;
    parts.push(
      `<line x1="${L}" y1="${ly(v)}" x2="${W - R}" y2="${ly(v)}" stroke="#ddd"/><text x="${L - 6}" y="${ly(v) + 4}" text-anchor="end">${v.toFixed(3)}</text>`,
    );
  }
  let legend = T + 10;
  for (const mode of [...new Set(rows.map((r) => r.mode))]) {
    const rs = rows.filter((r) => r.mode === mode).sort((a, b) => a.n - b.n);
    const colour = colours[mode] ?? 'black';
    // p50 only: p99 on a shared machine is scheduling noise (tens of ms); it is in the JSON and the table.
    for (const [key, dash] of [['p50', '']]) {
      parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${rs.map((r) => `${lx(r.n)},${ly(r[key])}`).join(' ')}"/>`);
      for (const r of rs) parts.push(`<circle cx="${lx(r.n)}" cy="${ly(r[key])}" r="3" fill="${colour}"/>`);
      parts.push(
        `<line x1="${W - R + 10}" y1="${legend}" x2="${W - R + 35}" y2="${legend}" stroke="${colour}" stroke-width="2"${dash}/><text x="${W - R + 40}" y="${legend + 4}">${mode} ${key}</text>`,
      );
      legend += 18;
    }
  }
  if (baseline) {
    parts.push(`<line x1="${L}" y1="${ly(baseline.p50)}" x2="${W - R}" y2="${ly(baseline.p50)}" stroke="gray" stroke-dasharray="2 3"/>`);
    parts.push(
      `<line x1="${W - R + 10}" y1="${legend}" x2="${W - R + 35}" y2="${legend}" stroke="gray" stroke-dasharray="2 3"/><text x="${W - R + 40}" y="${legend + 4}">no rules p50</text>`,
    );
  }
  parts.push('</svg>\n');
  return parts.join('\n');
}
