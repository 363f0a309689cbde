#!/usr/bin/env -S npx zx
// Benchmark: pod → pod across two nodes on every data path knetlab builds. For each path a
// two-node lab (one pod per node) comes up, then iperf3 measures TCP throughput and curl measures
// request latency (a new connection per request), median of several runs, printed as a table
// with ratios to host-gw (plain routing between nodes on one L2 segment).
//
//   veth-direct   two pods joined by one veth pair: no node, no bridge, no routing (the floor)
//   host-gw       flannel host-gw: cni0, a route via the other node, no encapsulation
//   vxlan         flannel vxlan: flannel.1, VNI 1, UDP 8472, in the kernel
//   flannel-udp   flannel udp: flannel0 TUN and knetlab's userspace proxy on UDP 8285
//   calico-bgp    Calico: /32 pods, proxy ARP, routes learned from BIRD
//   calico-vxlan  Calico VXLAN: vxlan.calico, VNI 4096, UDP 4789
//
//   sudo npx zx scripts/bench-datapath.mjs [--runs 3] [--seconds 3] [--requests 200] [--paths host-gw,vxlan]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

$.verbose = false;
const runs = Number(argv.runs ?? 3);
const seconds = Number(argv.seconds ?? 3);
const requests = Number(argv.requests ?? 200);
const bin = join(__dirname, '..', 'bin', 'knetlab.js');
const state = mkdtempSync('/run/knetlab-bench-');
const labs = mkdtempSync('/tmp/knetlab-bench-labs-');
const env = { ...process.env, KNETLAB_STATE_DIR: state };
process.on('exit', () => {
  rmSync(state, { recursive: true, force: true });
  rmSync(labs, { recursive: true, force: true });
});

const cluster = (name, cni) => `name: ${name}
title: ${name}
cluster:
  cni: ${cni}
  nodes:
    node1: { pods: [client] }
    node2: { pods: [server] }
`;

const PATHS = {
  'veth-direct': {
    lab: `name: veth-direct
title: two pods on one veth pair
topology:
  namespaces:
    client:
      interfaces:
        eth0: { addresses: [10.244.1.2/24] }
    server:
      interfaces:
        eth0: { addresses: [10.244.1.3/24] }
      server: {}
  links:
    - endpoints: [client:eth0, server:eth0]
`,
    server: '10.244.1.3',
  },
  'host-gw': { lab: cluster('host-gw', '{ type: flannel, backend: host-gw }'), server: '10.244.2.2' },
  vxlan: { lab: cluster('vxlan', '{ type: flannel, backend: vxlan }'), server: '10.244.2.2' },
  'flannel-udp': { lab: cluster('flannel-udp', '{ type: flannel, backend: udp }'), server: '10.244.2.2' },
  'calico-bgp': { lab: cluster('calico-bgp', '{ type: calico, mode: bgp }'), server: '10.244.0.65' },
  'calico-vxlan': { lab: cluster('calico-vxlan', '{ type: calico, mode: vxlan }'), server: '10.244.0.65' },
};
const chosen = argv.paths ? String(argv.paths).split(',') : Object.keys(PATHS);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function until(fn, what, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const results = [];
for (const name of chosen) {
  const path = PATHS[name];
  if (!path) throw new Error(`unknown path ${name}; paths: ${Object.keys(PATHS).join(', ')}`);
  const file = join(labs, `${name}.yaml`);
  writeFileSync(file, path.lab);
  process.stderr.write(`${name}: up… `);
  await $({ env, quiet: true })`node ${bin} up ${file}`;
  try {
    // BGP routes take a second or two to be learned.
    await until(async () => (await $({ env, nothrow: true })`ip netns exec client ping -n -c1 -W1 ${path.server}`).exitCode === 0, `${path.server} to answer`);
    await $`ip netns exec server iperf3 -s -D -1 --logfile /dev/null`.nothrow();
    const gbps = [];
    for (let i = 0; i < runs; i++) {
      await until(async () => (await $({ nothrow: true })`ip netns exec server ss -ltn sport = :5201`).stdout.includes('5201'), 'iperf3 to listen', 5000);
      const r = await $`ip netns exec client iperf3 -c ${path.server} -t ${seconds} -J`;
      gbps.push(JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9);
      if (i < runs - 1) await $`ip netns exec server iperf3 -s -D -1 --logfile /dev/null`.nothrow();
    }
    // Latency: one curl, a new TCP connection per request, time_total per request in seconds.
    const urls = Array.from({ length: requests }, () => `http://${path.server}/`);
    const lat = await $`ip netns exec client curl -s -H ${'Connection: close'} -w ${'\\ntime=%{time_total}\\n'} ${urls}`;
    const ms = [...lat.stdout.matchAll(/^time=([0-9.]+)$/gm)].map((m) => Number(m[1]) * 1000);
    if (ms.length !== requests) throw new Error(`${name}: ${ms.length}/${requests} requests answered`);
    results.push({ name, gbps: median(gbps), runs: gbps, p50: median(ms), p90: percentile(ms, 0.9) });
    process.stderr.write(`${median(gbps).toFixed(2)} Gbit/s, ${median(ms).toFixed(3)} ms\n`);
  } finally {
    await $({ env, nothrow: true, quiet: true })`node ${bin} down ${name}`;
  }
}

const base = results.find((r) => r.name === 'host-gw');
const vxlan = results.find((r) => r.name === 'vxlan');
console.log(`\npod → pod across two nodes, ${runs} × ${seconds}s iperf3 (median), ${requests} HTTP requests on new connections\n`);
console.log('| path | Gbit/s | runs | ×host-gw | ×vxlan | HTTP p50 ms | p90 ms | p50 ×host-gw |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const x = (a, b) => (b ? (a / b).toFixed(2) + '×' : '–');
  console.log(
    `| ${r.name} | ${r.gbps.toFixed(2)} | ${r.runs.map((g) => g.toFixed(2)).join(' ')} | ${x(r.gbps, base?.gbps)} | ${x(r.gbps, vxlan?.gbps)} | ${r.p50.toFixed(3)} | ${r.p90.toFixed(3)} | ${x(r.p50, base?.p50)} |`,
  );
}
