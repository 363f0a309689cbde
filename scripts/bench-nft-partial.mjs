#!/usr/bin/env zx
// Benchmark: kube-proxy's nftables partial syncs (src/components/kube-proxy/nftables) against the
// real kernel, in one scratch network namespace "bnp-node" (deleted at the end, also on failure):
// N Services (NodePort) × 3 endpoints, as scripts/bench-proxy.mjs builds them, are loaded with a
// full sync; then, --runs times each, in turn for the working tree and for --baseline (a git
// commit, compiled from `git archive`, so that both are measured in one run on the same table):
//   add     one more Service: compute the partial sync, then `nft -f` it;
//   agent   the same computation with the API parsed anew (new but equal objects, as the agent
//           reads the state file), compute only;
//   scale   one Service loses an endpoint (its chains rewritten, one chain flushed): compute + nft -f;
//   delete  one Service goes (its elements deleted: nft 1.0.6 lists every chain): compute + nft -f.
// Medians of wall time, and of CPU time (the process's own for compute; nft's user + system time,
// from /usr/bin/time, for nft -f), which a busy machine inflates less; the load average is printed
// with each size.
//
//   sudo npx zx scripts/bench-nft-partial.mjs [--sizes 1000,5000,10000] [--runs 5] [--baseline fd5c1cb]

import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

if (process.getuid() !== 0) {
  console.error('bench-nft-partial needs root: sudo npx zx scripts/bench-nft-partial.mjs');
  process.exit(1);
}
$.verbose = false;
const sizes = String(argv.sizes ?? '1000,5000,10000')
  .split(',')
  .map(Number);
const runs = Number(argv.runs ?? 5);
const baseline = argv.baseline ? String(argv.baseline) : null;
const NETNS = 'bnp-node';
const NODE = { name: 'node-0', address: '192.168.56.10', netns: NETNS, podCIDR: '10.244.0.0/24' };
const CFG = {
  localDetector: { ifLocal: 'ip saddr 10.244.0.0/16', ifNotLocal: 'ip saddr != 10.244.0.0/16' },
  masqueradeMark: '0x00004000',
  masqueradeAll: false,
  nodePortIPs: [NODE.address],
  serviceCIDRs: ['10.96.0.0/12'],
};

// ---- the code under test, compiled for this run -------------------------------------------

const scratch = mkdtempSync(`${tmpdir()}/knetlab-bench-nft-partial-`);
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
async function compile(srcDir, tag) {
  const outfile = `${scratch}/${tag}.mjs`;
  await build({ entryPoints: [`${srcDir}/components/kube-proxy/nftables.ts`], bundle: true, format: 'esm', platform: 'node', outfile, logLevel: 'warning' });
  return import(outfile);
}
const root = new URL('..', import.meta.url).pathname;
const versions = { current: await compile(`${root}src`, 'current') };
if (baseline) {
  await $`mkdir -p ${scratch}/baseline && git -C ${root} archive ${baseline} src | tar -x -C ${scratch}/baseline`;
  versions[baseline] = await compile(`${scratch}/baseline/src`, 'baseline');
}

// ---- the cluster (as scripts/bench-proxy.mjs) ---------------------------------------------

const meta = (namespace, name) => ({ name, namespace, labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z', uid: `${namespace}-${name}` });
function addr(base, i) {
  const v = base.split('.').reduce((n, o) => n * 256 + Number(o), 0) + i;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}
function serviceNumber(i, endpoints = 3) {
  const name = `svc-${i}`;
  const svc = {
    meta: meta('bench', name),
    type: 'NodePort',
    clusterIP: addr('10.96.0.10', i),
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30000 + i }],
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
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [0, 1, 2].slice(0, endpoints).map((e) => ({
      address: addr('10.244.0.2', 3 * i + e),
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${(3 * i + e) % 10}`,
      pod: `${name}-${e}`,
    })),
    managedBy: 'endpointslice-controller.k8s.io',
  };
  return { svc, slice };
}

// ---- measuring ------------------------------------------------------------------------------

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
function timedSync(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1000, value };
}
/**
 * Runs a command in the namespace as the agent runs its commands (spawnSync: zx's $ costs tens of
 * milliseconds more here); wall time, with ip netns exec and process start.
 */
function run(argv, input) {
  const t0 = performance.now();
  const r = spawnSync('ip', ['netns', 'exec', NETNS, ...argv], { input, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return { ms, stderr: r.stderr };
}
/** Runs the transaction: wall time, and nft's own CPU time (user + system, from getrusage by /usr/bin/time, in 10 ms ticks). */
function nft(payload) {
  if (!payload) return { ms: 0, cpu: 0 };
  const r = run(['/usr/bin/time', '-f', '%U %S', 'nft', '-f', '-'], payload);
  const [user, sys] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { ms: r.ms, cpu: (user + sys) * 1000 };
}
const netnsExists = async () => (await $`ip netns list`).stdout.split('\n').some((l) => l.split(' ')[0] === NETNS);
async function dropNetns() {
  if (await netnsExists()) await $`ip netns del ${NETNS}`;
}

const rows = [];
try {
  for (const n of sizes) {
    const load0 = loadavg();
    await dropNetns();
    await $`ip netns add ${NETNS}`;
    // Every version's state: its API (Services may differ once a run has changed them) and memo.
    const base = Array.from({ length: n }, (_, i) => serviceNumber(i));
    const full = timedSync(() =>
      versions.current.syncNFTables(
        NODE,
        base.map((p) => p.svc),
        base.map((p) => p.slice),
        CFG,
        null,
      ),
    );
    const fullLoad = nft(full.value.payload).ms;
    console.error(`N=${n}: full sync loaded (compute ${fmt(full.ms)}, nft -f ${fmt(fullLoad)}); load average ${load0}`);
    const state = {};
    for (const [tag, k] of Object.entries(versions)) {
      const services = base.map((p) => p.svc);
      const slices = base.map((p) => p.slice);
      // Each version's first memo, from its own full sync of the same API (not loaded again).
      // The agent's view: the same API parsed anew for every sync, with its own memo.
      const agentMemo = k.syncNFTables(NODE, services, slices, CFG, null).memo;
      state[tag] = { k, services, slices, memo: k.syncNFTables(NODE, services, slices, CFG, null).memo, agentMemo, samples: {} };
    }
    let next = n;
    const sample = (s, what, v) => {
      (s.samples[what] ??= []).push(v.ms);
      (s.samples[`${what} cpu`] ??= []).push(v.cpu);
    };
    for (let r = 0; r < runs; r++) {
      for (const s of Object.values(state)) {
        const sync = (services, slices) => timedSync(() => s.k.syncNFTables(NODE, services, slices, CFG, s.memo));
        /** The same change as the agent computes it (not loaded: the kernel's table follows the other memo). */
        const asAgent = () => {
          const parsed = JSON.parse(JSON.stringify({ services: s.services, slices: s.slices }));
          const r = timedSync(() => s.k.syncNFTables(NODE, parsed.services, parsed.slices, CFG, s.agentMemo));
          s.agentMemo = r.value.memo;
          return r;
        };
        // add: one more Service.
        const extra = serviceNumber(next++);
        s.services = [...s.services, extra.svc];
        s.slices = [...s.slices, extra.slice];
        const add = sync(s.services, s.slices);
        sample(s, 'add compute', add);
        sample(s, 'agent compute', asAgent());
        // What starting a process costs this one (a large heap makes fork slower), with no nft work.
        sample(s, 'spawn', { ms: run(['true']).ms, cpu: 0 });
        sample(s, 'add nft -f', nft(add.value.payload));
        s.memo = add.value.memo;
        // scale: the new Service loses an endpoint.
        const smaller = serviceNumber(next - 1, 2).slice;
        s.slices = [...s.slices.slice(0, -1), smaller];
        const scale = sync(s.services, s.slices);
        sample(s, 'scale compute', scale);
        asAgent();
        sample(s, 'scale nft -f', nft(scale.value.payload));
        s.memo = scale.value.memo;
        // delete: it goes.
        s.services = s.services.slice(0, -1);
        s.slices = s.slices.slice(0, -1);
        const del = sync(s.services, s.slices);
        sample(s, 'delete compute', del);
        asAgent();
        sample(s, 'delete nft -f', nft(del.value.payload));
        s.memo = del.value.memo;
      }
    }
    const load1 = loadavg();
    for (const [tag, s] of Object.entries(state)) {
      const m = Object.fromEntries(Object.entries(s.samples).map(([k, xs]) => [k, median(xs)]));
      rows.push({ n, version: tag, fullCompute: full.ms, fullLoad, ...m, load: `${load0} → ${load1}` });
      const cell = (what) => `${fmt(m[what])} (cpu ${fmt(m[`${what} cpu`])})`;
      console.log(
        `${tag.padEnd(8)} N=${String(n).padStart(6)}  add: compute ${cell('add compute')} + nft -f ${cell('add nft -f')}; agent compute ${cell('agent compute')}; ` +
          `scale: ${cell('scale compute')} + ${cell('scale nft -f')}; delete: ${cell('delete compute')} + ${cell('delete nft -f')}; ` +
          `ip netns exec true ${fmt(m.spawn)}  [load ${load0} → ${load1}]`,
      );
    }
  }
} finally {
  await dropNetns();
}
if (argv.json) console.log(JSON.stringify({ runs, rows }, null, 2));
