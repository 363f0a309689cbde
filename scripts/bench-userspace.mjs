#!/usr/bin/env node
// What the extra copy through kube-proxy's userspace mode costs, against iptables mode, in one
// run on one lab (service-clusterip, three nginx echo pods behind a ClusterIP): the lab comes up
// in userspace mode, is measured, is switched to iptables mode on the running lab (knetlab apply
// --proxy-mode iptables) and measured again; a pod's own address is the baseline.
//   latency:    N fresh connections, one HTTP request each (sequential), p50 and p99 in ms
//   throughput: one 64 MiB POST (uploaded through the proxy), MB/s
// Usage (root): node scripts/bench-userspace.mjs [--requests 500] [--prefix usb]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '500' }, prefix: { type: 'string', default: 'usb' } } });
const N = Number(values.requests);
const P = values.prefix;
const LAB = 'service-clusterip';
const BIN = join(import.meta.dirname, '..', 'bin', 'knetlab.js');
const CLUSTER_IP = '10.98.254.54:8080';

const knetlab = (...args) => execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

// Runs in the client pod's namespace: sequential fresh connections, then one big upload.
const PROBE = `
const http = require('node:http');
const [host, port] = process.argv[1].split(':');
const n = Number(process.argv[2]);
const once = (body) => new Promise((res, rej) => {
  const t0 = process.hrtime.bigint();
  const req = http.request({ host, port, method: body ? 'POST' : 'GET', path: '/', agent: false, headers: body ? { 'content-length': body.length } : {} }, (r) => {
    r.resume();
    r.on('end', () => (r.statusCode === 200 ? res(Number(process.hrtime.bigint() - t0) / 1e6) : rej(new Error('HTTP ' + r.statusCode))));
  });
  req.on('error', rej);
  req.end(body);
});
(async () => {
  for (let i = 0; i < 20; i++) await once();
  const ms = [];
  for (let i = 0; i < n; i++) ms.push(await once());
  ms.sort((a, b) => a - b);
  const body = Buffer.alloc(64 * 1024 * 1024);
  const up = [];
  for (let i = 0; i < 3; i++) up.push(await once(body));
  up.sort((a, b) => a - b);
  console.log(JSON.stringify({ p50: ms[Math.floor(n * 0.5)], p99: ms[Math.floor(n * 0.99)], mbps: 64 * 1.048576 / (up[1] / 1000) }));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;
const probe = (target) =>
  JSON.parse(execFileSync('ip', ['netns', 'exec', `${P}-client`, process.execPath, '-e', PROBE, target, String(N)], { encoding: 'utf8' }));

const rows = [];
try {
  knetlab('up', LAB, '--prefix', P, '--proxy-mode', 'userspace');
  const state = JSON.parse(readFileSync(`/run/knetlab/labs/${P}-${LAB}/cluster/state.json`, 'utf8'));
  const pod = state.state.slices[0].endpoints.find((e) => e.conditions.ready);
  rows.push({ path: `pod IP directly (${pod.address}:80)`, ...probe(`${pod.address}:80`) });
  rows.push({ path: 'ClusterIP, userspace mode', ...probe(CLUSTER_IP) });
  knetlab('apply', LAB, '--prefix', P, '--proxy-mode', 'iptables');
  rows.push({ path: 'ClusterIP, iptables mode', ...probe(CLUSTER_IP) });
} finally {
  knetlab('down', LAB, '--prefix', P);
}
console.log(`${N} fresh connections each (after 20 warm-up), then 3 × 64 MiB POST (median), from the client pod:`);
console.log('| path | p50 ms | p99 ms | upload MB/s |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.path} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.mbps.toFixed(0)} |`);
