#!/usr/bin/env zx
// Benchmark: kube-proxy's iptables sync (src/components/kube-proxy/iptables.ts) against the real kernel, in one
// scratch network namespace "bench-sync" (deleted at the end, also on failure):
//   1. N Services (NodePort: a ClusterIP in 10.96.0.0/12 and a NodePort) × 3 endpoints in
//      10.244.0.0/16: time to compute the payload and to load it with one
//      `iptables-restore --noflush --counters` into empty tables (median of --runs, a fresh
//      namespace each time), payload size, and `iptables-save | wc -l`;
//   2. with 5k and 10k loaded, adding one Service: a full sync (what kube-proxy does after a
//      restart or when iptables was flushed) and a partial sync (kube-proxy ≥ 1.27 otherwise:
//      top-level chains + the new Service's chains only);
//   3. the 1k load done one `iptables` command per rule (`-N` per chain, `-A` per rule) by a shell
//      loop inside the namespace (one fork+exec per rule, as a script would do), against the restore.
// Both iptables backends are measured where they fit in the time budget: iptables-legacy for
// everything, iptables-nft (this machine's default `iptables`) for the restore of the smaller sizes.
//
// With --baseline <git commit>, the rule generation of that commit (compiled from `git archive`) is
// timed too, in turn with the working tree's on the same cluster, and its payload must be the same
// (but for the order of the chain declarations).
//
//   sudo npx zx scripts/bench-sync.mjs [--sizes 1000,5000,10000] [--runs 3] [--nft-sizes 1000,5000] [--baseline fd5c1cb]

import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

// The rule generation under test, compiled from the sources for this run (the built CLI is one bundle).
const compiled = `${tmpdir()}/knetlab-bench-sync-${process.pid}.mjs`;
await build({
  entryPoints: [new URL('../src/components/kube-proxy/iptables.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  platform: 'node',
  outfile: compiled,
  logLevel: 'warning',
});
process.on('exit', () => rmSync(compiled, { force: true }));
const { DEFAULT_PROXIER_CONFIG, cidrDetector, jumpRulesPayload, RESTORE_COMMAND, syncProxyRules } = await import(compiled);
const baselineRef = argv.baseline ? String(argv.baseline) : null;
let baselineSync = null;
if (baselineRef) {
  const dir = mkdtempSync(`${tmpdir()}/knetlab-bench-sync-baseline-`);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  await $`git -C ${new URL('..', import.meta.url).pathname} archive ${baselineRef} src | tar -x -C ${dir}`;
  await build({
    entryPoints: [`${dir}/src/components/kube-proxy/iptables.ts`],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: `${dir}/iptables.mjs`,
    logLevel: 'warning',
  });
  baselineSync = (await import(`${dir}/iptables.mjs`)).syncProxyRules;
}
/** The payload with each table's chain declarations in name order (their order has no meaning to iptables-restore). */
function declarationsSorted(payload) {
  return payload.replace(/((?:^:.*\n)+)/gm, (block) => `${block.trimEnd().split('\n').sort().join('\n')}\n`);
}
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

$.verbose = false;
const sizes = String(argv.sizes ?? '1000,5000,10000')
  .split(',')
  .map(Number);
const nftSizes = String(argv['nft-sizes'] ?? '1000,5000')
  .split(',')
  .filter(Boolean)
  .map(Number);
const runs = Number(argv.runs ?? 3);
const NETNS = 'bench-sync';
const NODE = { name: 'node-0', address: '192.168.56.10', netns: NETNS, podCIDR: '10.244.0.0/24' };
const CFG = { ...DEFAULT_PROXIER_CONFIG, localDetector: cidrDetector('10.244.0.0/16') };
const BACKENDS = {
  legacy: { restore: 'iptables-legacy-restore', save: 'iptables-legacy-save', cli: 'iptables-legacy' },
  nft: { restore: 'iptables-nft-restore', save: 'iptables-nft-save', cli: 'iptables-nft' },
};
// nft restores grow much faster than linearly (5k ≈ 80 s here): one run above this size.
const NFT_SINGLE_RUN_ABOVE = 1000;

if (process.getuid() !== 0) {
  console.error('bench-sync needs root: sudo npx zx scripts/bench-sync.mjs');
  process.exit(1);
}

// ---- the cluster --------------------------------------------------------------------------

const meta = (namespace, name) => ({ name, namespace, labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z', uid: `${namespace}-${name}` });
/** The i-th address after `base`. */
function addr(base, i) {
  const v = base.split('.').reduce((n, o) => n * 256 + Number(o), 0) + i;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}
// NodePorts 30000 + i: more than the default 2768-port range holds, so this cluster would run
// with a wider --service-node-port-range; kube-proxy writes the same rules either way.
function serviceNumber(i) {
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
    endpoints: [0, 1, 2].map((k) => ({
      address: addr('10.244.0.2', 3 * i + k),
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${(3 * i + k) % 10}`,
      pod: `${name}-${k}`,
    })),
    managedBy: 'endpointslice-controller.k8s.io',
  };
  return { svc, slice };
}
function cluster(n) {
  const parts = Array.from({ length: n }, (_, i) => serviceNumber(i));
  return { services: parts.map((p) => p.svc), slices: parts.map((p) => p.slice) };
}

// ---- measuring ----------------------------------------------------------------------------

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const netnsExists = async () => (await $`ip netns list`).stdout.split('\n').some((l) => l.split(' ')[0] === NETNS);
async function dropNetns() {
  if (await netnsExists()) await $`ip netns del ${NETNS}`;
}
/** A fresh namespace, with kube-proxy's jump rules in place unless `bare` (not timed). */
async function freshNetns(backend, bare = false) {
  await dropNetns();
  await $`ip netns add ${NETNS}`;
  if (!bare) await $({ input: jumpRulesPayload('') })`ip netns exec ${NETNS} ${BACKENDS[backend].restore} --noflush`;
}
const restoreArgs = RESTORE_COMMAND.slice(1);
const restore = (backend, payload) => timed(() => $({ input: payload })`ip netns exec ${NETNS} ${BACKENDS[backend].restore} ${restoreArgs}`);
const saveRaw = async (backend) => (await $`ip netns exec ${NETNS} ${BACKENDS[backend].save}`).stdout;
/** iptables-save without its "#" lines and counters: what two restores must leave alike. */
const comparable = (save) =>
  save
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n')
    .replace(/\[\d+:\d+\]/g, '[0:0]');
const sync = (c, changed) => timed(() => syncProxyRules(NODE, c.services, c.slices, CFG, undefined, changed));

/** The payload as per-rule iptables commands, in payload order: -N per chain, -A per rule. */
function perRuleCommands(payload, cli) {
  const commands = [];
  let table = '';
  for (const line of payload.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':')) commands.push({ table, line, sh: `${cli} -t ${table} -N ${line.slice(1, line.indexOf(' '))}` });
    else if (line.startsWith('-A ')) commands.push({ table, line, sh: `${cli} -t ${table} ${line}` });
  }
  return commands;
}
/** A restore payload holding the first k per-rule commands (each table's chain lines precede its rules). */
function prefixPayload(commands) {
  const out = [];
  let table = '';
  for (const c of commands) {
    if (c.table !== table) {
      if (table) out.push('COMMIT');
      out.push(`*${c.table}`);
      table = c.table;
    }
    out.push(c.line);
  }
  if (table) out.push('COMMIT');
  return `${out.join('\n')}\n`;
}
/** Runs commands with one shell inside the namespace: one fork+exec of iptables per command. */
async function runPerRule(commands) {
  const script = `set -e\n${commands.map((c) => c.sh).join('\n')}\n`;
  return (await timed(() => $({ input: script })`ip netns exec ${NETNS} sh -s`)).ms;
}

// ---- the benchmark ------------------------------------------------------------------------

const loads = [];
const adds = [];
let perRule = null;
const notes = [];

try {
  // 1. Full loads.
  for (const n of sizes) {
    const c = cluster(n);
    const gens = [];
    const baseGens = [];
    let result;
    let basePayload = null;
    const load0 = loadavg();
    for (let r = 0; r < runs; r++) {
      const g = await sync(c);
      gens.push(g.ms);
      result = g.value;
      if (baselineSync) {
        const b = await timed(() => baselineSync(NODE, c.services, c.slices, CFG));
        baseGens.push(b.ms);
        basePayload = b.value.payload;
        if (declarationsSorted(b.value.payload) !== declarationsSorted(result.payload)) throw new Error(`${baselineRef} writes other rules at ${n} Services`);
      }
    }
    const lines = result.payload.split('\n').length - 1;
    const bytes = Buffer.byteLength(result.payload);
    for (const backend of ['legacy', 'nft']) {
      if (backend === 'nft' && !nftSizes.includes(n)) continue;
      const times = [];
      const baseTimes = [];
      const count = backend === 'nft' && n > NFT_SINGLE_RUN_ABOVE ? 1 : runs;
      let saved;
      for (let r = 0; r < count; r++) {
        await freshNetns(backend);
        times.push((await restore(backend, result.payload)).ms);
        saved ??= await saveRaw(backend);
        // The baseline's payload, in turn (it may declare the chains in another order).
        if (basePayload && basePayload !== result.payload) {
          await freshNetns(backend);
          baseTimes.push((await restore(backend, basePayload)).ms);
          if (comparable(await saveRaw(backend)) !== comparable(saved)) throw new Error(`${baselineRef}'s payload leaves another table at ${n} Services`);
        }
      }
      loads.push({
        n,
        backend,
        load: `${load0} → ${loadavg()}`,
        baseGen: baseGens.length ? median(baseGens) : null,
        gen: median(gens),
        restore: median(times),
        baseRestore: baseTimes.length ? median(baseTimes) : null,
        count,
        lines,
        bytes,
        rules: result.stats.natRules + result.stats.filterRules,
        saved: saved.trimEnd().split('\n').length,
      });
      const base = baseGens.length ? ` (${baselineRef}: ${ms(median(baseGens))})` : '';
      const baseRestore = baseTimes.length ? ` (${baselineRef}'s payload: ${ms(median(baseTimes))})` : '';
      console.error(
        `load ${n} (${backend}): generate ${ms(median(gens))}${base}, restore ${ms(median(times))}${baseRestore} (${count} run${count > 1 ? 's' : ''}); load average ${load0}`,
      );
    }
  }

  // 2. One more Service on top of 5k and 10k (legacy).
  for (const n of sizes.filter((s) => s >= 5000)) {
    const base = cluster(n);
    const extra = serviceNumber(n);
    const grown = { services: [...base.services, extra.svc], slices: [...base.slices, extra.slice] };
    const loaded = syncProxyRules(NODE, base.services, base.slices, CFG).payload;
    const full = [];
    const partial = [];
    const sizesOf = {};
    for (let r = 0; r < runs; r++) {
      for (const [kind, changed, into] of [
        ['full', undefined, full],
        ['partial', new Set([`bench/${extra.svc.meta.name}`]), partial],
      ]) {
        await freshNetns('legacy');
        await restore('legacy', loaded);
        const g = await sync(grown, changed);
        const w = await restore('legacy', g.value.payload);
        into.push({ gen: g.ms, restore: w.ms });
        sizesOf[kind] = g.value.payload.split('\n').length - 1;
      }
    }
    const med = (xs, k) => median(xs.map((x) => x[k]));
    adds.push({
      n,
      full: { gen: med(full, 'gen'), restore: med(full, 'restore'), lines: sizesOf.full },
      partial: { gen: med(partial, 'gen'), restore: med(partial, 'restore'), lines: sizesOf.partial },
    });
    console.error(`add one to ${n}: full ${ms(med(full, 'gen') + med(full, 'restore'))}, partial ${ms(med(partial, 'gen') + med(partial, 'restore'))}`);
  }

  // 3. The 1k load, one iptables command per rule (legacy). Each command reads, re-parses and
  // rewrites the whole table, so its cost grows (faster than linearly) with the table: run whole it
  // takes minutes. Time a window of commands at ten points of the load (the table before each
  // window is put in place with a restore, not timed) and integrate the per-command cost over the
  // whole run (trapezoids).
  if (sizes.includes(1000)) {
    const c = cluster(1000);
    const payload = syncProxyRules(NODE, c.services, c.slices, CFG).payload;
    const commands = perRuleCommands(payload, BACKENDS.legacy.cli);
    const total = commands.length;
    const window = Math.min(300, total);
    const points = Array.from({ length: 10 }, (_, i) => Math.floor(((total - window) * i) / 9));
    const samples = [];
    for (const start of points) {
      // Bare: the per-rule load creates every chain itself, the ones the jump rules would have made too.
      await freshNetns('legacy', true);
      if (start > 0) await restore('legacy', prefixPayload(commands.slice(0, start)));
      const t = await runPerRule(commands.slice(start, start + window));
      samples.push({ at: start + window / 2, perCommand: t / window });
    }
    let estimate = samples[0].perCommand * samples[0].at;
    for (let i = 1; i < samples.length; i++) estimate += ((samples[i - 1].perCommand + samples[i].perCommand) / 2) * (samples[i].at - samples[i - 1].at);
    estimate += samples.at(-1).perCommand * (total - samples.at(-1).at);
    const restored = loads.find((l) => l.n === 1000 && l.backend === 'legacy').restore;
    perRule = { total, window, samples, estimate, restored };
    notes.push(
      `per-rule load: ${total} commands, run by one \`sh\` inside the namespace, sampled (${samples.length} windows of ${window} commands from ${points.join(', ')}: ${samples.map((s) => s.perCommand.toFixed(1)).join(', ')} ms per command) and integrated, not run whole`,
    );
  }
} finally {
  await dropNetns();
}

// ---- report -------------------------------------------------------------------------------

const { stdout: version } = await $`iptables-legacy --version`;
console.log(`\n## kube-proxy iptables sync (${version.trim().replace(/ \(legacy\)/, '')}; Node ${process.version}; median of ${runs})\n`);
const baseCol = baselineRef ? ` generate (${baselineRef}) |` : '';
const baseRestoreCol = baselineRef ? ` iptables-restore (${baselineRef}'s payload) |` : '';
console.log(
  `| Services × 3 endpoints | backend | generate |${baseCol} iptables-restore |${baseRestoreCol} payload lines | payload bytes | rules (-A) | \`iptables-save \\| wc -l\` | load average |`,
);
console.log(`|---:|---|---:|${baselineRef ? '---:|' : ''}---:|${baselineRef ? '---:|' : ''}---:|---:|---:|---:|---|`);
for (const l of loads) {
  const single = l.count === 1 ? ' (1 run)' : '';
  const base = baselineRef ? ` ${ms(l.baseGen)} |` : '';
  const baseRestore = baselineRef ? ` ${l.baseRestore === null ? 'same payload' : ms(l.baseRestore)} |` : '';
  console.log(
    `| ${l.n} | ${l.backend} | ${ms(l.gen)} |${base} ${ms(l.restore)}${single} |${baseRestore} ${l.lines} | ${l.bytes} | ${l.rules} | ${l.saved} | ${l.load} |`,
  );
}
if (adds.length) {
  console.log('\n| add 1 Service to | full sync: generate + restore (lines) | partial sync: generate + restore (lines) |');
  console.log('|---:|---:|---:|');
  for (const a of adds) {
    const cell = (s) => `${ms(s.gen)} + ${ms(s.restore)} = ${ms(s.gen + s.restore)} (${s.lines})`;
    console.log(`| ${a.n} (legacy) | ${cell(a.full)} | ${cell(a.partial)} |`);
  }
}
if (perRule) {
  console.log('\n| 1000 Services, legacy | time | ratio |');
  console.log('|---|---:|---:|');
  console.log(`| one iptables-restore | ${ms(perRule.restored)} | 1 |`);
  console.log(
    `| ${perRule.total} iptables commands, one per rule (estimated) | ${ms(perRule.estimate)} | ${Math.round(perRule.estimate / perRule.restored)}× |`,
  );
}
console.log('\nNotes:');
for (const note of [
  ...notes,
  'every size is above 1000 endpoints: large-cluster mode (no per-endpoint comments), and a full sync skips the stale-chain iptables-save, as kube-proxy does',
  'iptables-restore times include `ip netns exec` and process start; generate is syncProxyRules alone',
  `nft: measured for --nft-sizes ${nftSizes.join(',') || '(none)'} only, since its restore time grows much faster than the payload${nftSizes.some((s) => s > NFT_SINGLE_RUN_ABOVE) ? `; sizes above ${NFT_SINGLE_RUN_ABOVE} ran once` : ''}`,
])
  console.log(`- ${note}`);
