#!/usr/bin/env -S npx zx
// Benchmark: a flannel-vxlan cluster of N nodes × M pods (every pod a namespace with a real nginx,
// every node with flannel.1 and one neighbour, FDB entry and route per other node), timed from
// `knetlab up` to ready, then two cross-node checks, then `down`. Median of several runs.
//
//   sudo npx zx scripts/bench-cluster.mjs [--nodes 50] [--pods 10] [--runs 3] [--backend vxlan]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

$.verbose = false;
const nodes = Number(argv.nodes ?? 50);
const pods = Number(argv.pods ?? 10);
const runs = Number(argv.runs ?? 3);
const backend = String(argv.backend ?? 'vxlan');
const bin = join(__dirname, '..', 'bin', 'knetlab.js');
const state = mkdtempSync('/run/knetlab-bench-');
const dir = mkdtempSync('/tmp/knetlab-bench-labs-');
const env = { ...process.env, KNETLAB_STATE_DIR: state };
process.on('exit', () => {
  rmSync(state, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

const file = join(dir, 'lab.yaml');
const list = (n) => Array.from({ length: n }, (_, i) => i + 1);
writeFileSync(
  file,
  `name: cluster-${nodes}x${pods}
title: ${nodes} nodes × ${pods} pods on flannel ${backend}
cluster:
  cni: { type: flannel, backend: ${backend} }
  nodes:
${list(nodes)
  .map(
    (n) =>
      `    node${n}: { pods: [${list(pods)
        .map((p) => `p${n}-${p}`)
        .join(', ')}] }`,
  )
  .join('\n')}
checks:
  - { from: p1-1, ping: 10.244.${nodes}.${pods + 1} }
  - { from: p${nodes}-${pods}, http: "http://10.244.1.2/", expect: { json: { pod: p1-1, client: 10.244.${nodes}.${pods + 1} } } }
`,
);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ups = [];
const downs = [];
for (let i = 0; i < runs; i++) {
  let t = performance.now();
  await $({ env, quiet: true })`node ${bin} up ${file}`;
  ups.push((performance.now() - t) / 1000);
  const v = await $({ env, nothrow: true })`node ${bin} verify ${`cluster-${nodes}x${pods}`}`;
  if (v.exitCode !== 0) throw new Error(`checks failed:\n${v.stdout}${v.stderr}`);
  t = performance.now();
  await $({ env, quiet: true })`node ${bin} down ${`cluster-${nodes}x${pods}`}`;
  downs.push((performance.now() - t) / 1000);
  console.error(`run ${i + 1}: up ${ups.at(-1).toFixed(2)}s, down ${downs.at(-1).toFixed(2)}s`);
}
console.log(
  `${nodes} nodes × ${pods} pods, flannel ${backend}: ${nodes * (pods + 1) + 1} namespaces, ${nodes * pods} nginx; ` +
    `up median ${median(ups).toFixed(2)}s (runs ${ups.map((x) => x.toFixed(2)).join(' ')}), down median ${median(downs).toFixed(2)}s`,
);
