#!/usr/bin/env -S npx zx
// Benchmark: build a lab of N pods (each a namespace with a veth into one bridge, an address, a
// default route and a real nginx) and time `knetlab up` and `knetlab down`, median of several
// runs. Where Mininet is installed, time `mn --switch lxbr --controller none --topo single,N
// --test none` (which builds and tears down N hosts on one Linux bridge) the same way, inside a
// scratch namespace so the machine's own namespace is untouched, and print the ratio.
//
//   sudo npx zx scripts/bench-build.mjs [--sizes 10,100,250] [--runs 3]

import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

$.verbose = false;
const sizes = String(argv.sizes ?? '10,100,250')
  .split(',')
  .map(Number);
const runs = Number(argv.runs ?? 3);
const bin = join(__dirname, '..', 'bin', 'knetlab.js');
const state = mkdtempSync('/run/knetlab-bench-');
const env = { ...process.env, KNETLAB_STATE_DIR: state };
// Every bench lab is taken down; leave no empty state folder behind either, even on failure.
process.on('exit', () => rmSync(state, { recursive: true, force: true }));

function podLab(n, servers) {
  const pods = Array.from({ length: n }, (_, i) => i + 1);
  const ip = (i) => `10.244.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`;
  return `name: bench-${n}
title: ${n} pods on one bridge
topology:
  namespaces:
    node:
      bridges:
        cni0: { addresses: [10.244.0.1/16] }
      interfaces:
${pods.map((i) => `        veth${i}: { master: cni0 }`).join('\n')}
${pods
  .map(
    (i) => `    pod${i}:
      interfaces:
        eth0: { addresses: [${ip(i)}/16] }
      routes:
        - { to: default, via: 10.244.0.1 }
${servers ? '      server: { node: node }' : ''}`,
  )
  .join('\n')}
  links:
${pods.map((i) => `    - endpoints: [node:veth${i}, pod${i}:eth0]`).join('\n')}
checks:
${
  servers
    ? `  - from: pod1
    http: http://${ip(n)}/
    expect: { json: { pod: pod${n} } }`
    : `  - from: pod1
    ping: ${ip(n)}`
}
`;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function memAvailableKiB() {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]);
}

/** Resident memory (KiB) of every process whose command line mentions the bench state folder. */
function labRssKiB() {
  let total = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(state)) continue;
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1] ?? 0);
    } catch {}
  }
  return total;
}

const haveMininet = (await $`command -v mn`.nothrow()).exitCode === 0;
const rows = [];
for (const n of sizes)
  for (const servers of [true, false]) {
    const dir = mkdtempSync(join(tmpdir(), `knetlab-bench-${n}-`));
    writeFileSync(join(dir, 'lab.yaml'), podLab(n, servers));
    const ups = [];
    const downs = [];
    let rss = 0;
    let memDelta = 0;
    for (let r = 0; r < runs; r++) {
      const before = memAvailableKiB();
      ups.push(await timed(() => $({ env })`node ${bin} up ${dir}`));
      if (r === 0) {
        rss = labRssKiB();
        memDelta = before - memAvailableKiB();
        const v = await $({ env })`node ${bin} verify ${dir}`.nothrow();
        if (v.exitCode !== 0) throw new Error(`bench lab ${n} does not work:\n${v.stdout}${v.stderr}`);
      }
      downs.push(await timed(() => $({ env })`node ${bin} down ${dir}`));
    }
    rmSync(dir, { recursive: true, force: true });
    const ours = median(ups) + median(downs);
    let mn = null;
    if (haveMininet && !servers) {
      const ns = `knetlab-bench-mn`;
      await $`ip netns add ${ns}`;
      try {
        const times = [];
        for (let r = 0; r < runs; r++)
          times.push(await timed(() => $`ip netns exec ${ns} mn --switch lxbr --controller none --topo single,${n} --test none`.quiet()));
        mn = median(times);
      } finally {
        await $`ip netns del ${ns}`.nothrow();
      }
    }
    rows.push({ pods: n, servers, up: median(ups), down: median(downs), total: ours, mn, rssMiB: rss / 1024, memMiB: memDelta / 1024 });
    console.error(`N=${n} ${servers ? 'with' : 'without'} servers done`);
  }
rmSync(state, { recursive: true, force: true });
// Mininet was timed once per size; compare both variants with it.
for (const r of rows) r.mn = rows.find((x) => x.pods === r.pods && x.mn !== null)?.mn ?? null;

const f = (x, d = 2) => (x === null ? '-' : x.toFixed(d));
console.log(`knetlab bench build: median of ${runs} runs, ${(await $`nproc`).stdout.trim()} cores`);
console.log('Mininet hosts run no server, so Mininet is compared with the same pods without nginx.');
console.log('pods   servers   up (s)   down (s)   up+down (s)   mininet (s)   speed-up   lab RSS (MiB)   MemAvailable drop (MiB)');
for (const r of rows) {
  console.log(
    `${String(r.pods).padEnd(6)} ${(r.servers ? 'nginx' : 'none').padEnd(9)} ${f(r.up).padStart(6)}   ${f(r.down).padStart(8)}   ${f(r.total).padStart(11)}   ${f(r.mn).padStart(11)}   ${(r.mn ? `${(r.mn / r.total).toFixed(1)}x` : '-').padStart(8)}   ${f(r.rssMiB, 0).padStart(13)}   ${f(r.memMiB, 0).padStart(23)}`,
  );
}
