#!/usr/bin/env node
// Benchmark: HTTP through the whole Ingress chain against a direct request to a pod, in one run,
// and the time from `knetlab apply` of a changed Ingress to its new route answering.
//
// It brings up labs/ingress-hosts under its own prefix (taken down at the end, also on failure):
//   chain:  client (outside the cluster) → 192.168.56.240 (MetalLB VIP, ARP owner node) →
//           kube-proxy DNAT → ingress-nginx's nginx in its pod → a service1 pod
//   direct: node1 → a service1 pod's address, port 80 (the pods' own nginx echo server)
// The direct path starts one hop nearer (a node; pod addresses are not routed from the client),
// so the difference is an upper bound on what the Ingress hops cost, not their exact price.
//
// Load: this script's own client (node's http, run inside the namespace), --connections requests
// in flight, each on a new connection (as curl from outside would) or with --keepalive on reused
// ones, for --seconds; requests per second and p50/p99 latency. Paths alternate --rounds times;
// each figure is the median over rounds.
//
//   sudo node scripts/bench-ingress.mjs [--seconds 5] [--connections 8] [--rounds 3] [--keepalive] [--json]
//
// Internal: `node scripts/bench-ingress.mjs --load URL HOST CONNECTIONS SECONDS KEEPALIVE` is the
// load generator, run inside a namespace by the benchmark itself; it prints one JSON line.

import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(dirname(SELF), '..');

if (process.argv[2] === '--load') {
  const [url, host, connections, seconds, keepalive] = process.argv.slice(3);
  console.log(JSON.stringify(await load(url, host, Number(connections), Number(seconds), keepalive === '1')));
  process.exit(0);
}

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    keepalive: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
if (process.getuid?.() !== 0) {
  console.error('bench-ingress: run as root (it brings a lab up)');
  process.exit(2);
}

const P = 'bing';
const LAB = 'ingress-hosts';
const knetlab = (...a) => spawnSync(process.execPath, [join(ROOT, 'bin/knetlab.js'), ...a, '--prefix', P], { encoding: 'utf8' });
const files = mkdtempSync(join(tmpdir(), 'knetlab-bench-ingress-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const up = knetlab('up', LAB);
  if (up.status !== 0) throw new Error(`up failed: ${up.stderr}`);
  const pod = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .find((n) => n.startsWith(`${P}-service1-`));
  const podIP = /inet (\S+)\//.exec(execFileSync('ip', ['-n', pod, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }))[1];
  const paths = {
    chain: { netns: `${P}-client`, url: 'http://192.168.56.240/bar', host: 'foo.bar.com' },
    direct: { netns: `${P}-node1`, url: `http://${podIP}/bar`, host: 'foo.bar.com' },
  };
  const results = { chain: [], direct: [] };
  for (let round = 0; round < Number(opt.rounds); round++)
    for (const [name, p] of Object.entries(paths)) {
      const out = execFileSync(
        'ip',
        ['netns', 'exec', p.netns, process.execPath, SELF, '--load', p.url, p.host, opt.connections, opt.seconds, opt.keepalive ? '1' : '0'],
        { encoding: 'utf8' },
      );
      results[name].push(JSON.parse(out));
    }

  // apply → route: a new path /fresh on foo.bar.com, polled from the client every 20 ms.
  const ingress = readFileSync(join(ROOT, 'labs', LAB, 'ingress.yaml'), 'utf8');
  const changed = join(files, 'fresh.yaml');
  writeFileSync(
    changed,
    ingress.replace(
      'path: "/bar"',
      'path: "/bar"\n        backend: { service: { name: service1, port: { number: 80 } } }\n      - pathType: Prefix\n        path: "/fresh"',
    ),
  );
  const t0 = performance.now();
  const applied = knetlab('apply', LAB, '-f', changed);
  if (applied.status !== 0) throw new Error(`apply failed: ${applied.stderr}`);
  const applyMs = performance.now() - t0;
  let routeMs = null;
  for (let i = 0; i < 500 && routeMs === null; i++) {
    const code = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        `${P}-client`,
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--max-time',
        '1',
        '-H',
        'Host: foo.bar.com',
        'http://192.168.56.240/fresh',
      ],
      { encoding: 'utf8' },
    ).stdout;
    if (code === '200') routeMs = performance.now() - t0;
    else await new Promise((r) => setTimeout(r, 20));
  }

  const summary = Object.fromEntries(
    Object.entries(results).map(([name, rs]) => [
      name,
      {
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        errors: rs.reduce((n, r) => n + r.errors, 0),
        requests: rs.reduce((n, r) => n + r.requests, 0),
      },
    ]),
  );
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const report = {
    lab: LAB,
    connections: Number(opt.connections),
    seconds: Number(opt.seconds),
    rounds: Number(opt.rounds),
    keepalive: opt.keepalive,
    load,
    ...summary,
    applyMs,
    routeMs,
  };
  if (opt.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(
      `load average ${load}; ${opt.connections} in flight, ${opt.keepalive ? 'keep-alive' : 'a new connection per request'}, ${opt.seconds} s × ${opt.rounds} rounds (medians)`,
    );
    console.log('path     req/s    p50 ms   p99 ms   errors');
    for (const [name, r] of Object.entries(summary))
      console.log(
        `${name.padEnd(8)} ${r.rps.toFixed(0).padStart(6)}  ${r.p50.toFixed(2).padStart(7)}  ${r.p99.toFixed(2).padStart(7)}   ${r.errors}/${r.requests}`,
      );
    console.log(
      `ratio (chain/direct): req/s ${(summary.chain.rps / summary.direct.rps).toFixed(2)}, p50 ${(summary.chain.p50 / summary.direct.p50).toFixed(2)}`,
    );
    console.log(
      `apply of a changed Ingress: ${applyMs.toFixed(0)} ms until apply returned, ${routeMs === null ? 'the new route never answered' : `${routeMs.toFixed(0)} ms until the new route answered`}`,
    );
  }
} finally {
  knetlab('down', LAB);
  rmSync(files, { recursive: true, force: true });
}

/** Requests for `seconds` with `connections` in flight; latencies of the successful ones. */
async function load(url, host, connections, seconds, keepalive) {
  const agent = new http.Agent({ keepAlive: keepalive, maxSockets: connections });
  const lat = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const one = () =>
    new Promise((resolve) => {
      const t = performance.now();
      const req = http.get(url, { agent, headers: { Host: host }, timeout: 3000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) lat.push(performance.now() - t);
          else errors++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  const worker = async () => {
    while (performance.now() < end) await one();
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { requests: lat.length + errors, errors, rps: lat.length / elapsed, p50: q(0.5), p99: q(0.99) };
}
