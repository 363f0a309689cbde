#!/usr/bin/env node
// Recapture test/fixtures/trace/clusterip-*: one curl from the client pod of service-clusterip to
// its ClusterIP (client port 45123), traced with knetlab's own trace tables in the client pod,
// node1, node2 and the pod that answered, plus the nodes' rulesets and iptables-save read back
// right after. Run as root with service-clusterip up under --prefix fx (and taken down after):
//
//   node bin/knetlab.js up service-clusterip --prefix fx && node scripts/capture-trace-fixtures.mjs
//   node bin/knetlab.js down service-clusterip --prefix fx
//
// It retries until the pod test/unit/trace.test.ts names (nginx-deploy-…-sc2l6) answers.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'test/fixtures/trace');
const P = 'fx';
const POD = 'nginx-deploy-79d7d959b7-sc2l6';
const FLOW = { protocol: 'tcp', port: 45123 };

const tmp = mkdtempSync(join(tmpdir(), 'knetlab-fixtures-'));
// Success sets 0; the folder above is removed either way (process.exit would skip the finally).
process.exitCode = 1;
try {
  await build({
    entryPoints: [join(ROOT, 'src/kernel/trace.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: join(tmp, 'trace.mjs'),
    logLevel: 'error',
  });
  const { addTraceTable, removeTraceTable, monitorCommand, MONITOR_READY } = await import(join(tmp, 'trace.mjs'));
  const run = (cmd) => execFileSync(cmd.file, cmd.args, { input: cmd.input, encoding: 'utf8' });
  const netns = ['client', 'node1', 'node2', POD].map((n) => `${P}-${n}`);
  for (let attempt = 1; attempt <= 20; attempt++) {
    for (const ns of netns) run(addTraceTable(ns, FLOW, ns === `${P}-client`));
    const monitors = netns.map((ns) => {
      const m = monitorCommand(ns, 10);
      const child = spawn(m.file, m.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const ready = new Promise((res) => child.stderr.on('data', (d) => String(d).includes(MONITOR_READY) && res()));
      return { ns, child, ready, text: () => out };
    });
    await Promise.all(monitors.map((m) => m.ready));
    await new Promise((res) => setTimeout(res, 300));
    const answer = execFileSync(
      'ip',
      ['netns', 'exec', `${P}-client`, 'curl', '-sS', '--max-time', '5', '--local-port', '45123', 'http://10.98.254.54:8080/'],
      { encoding: 'utf8' },
    );
    await new Promise((res) => setTimeout(res, 500));
    for (const m of monitors) m.child.kill('SIGINT');
    await Promise.all(monitors.map((m) => new Promise((res) => m.child.on('exit', res))));
    for (const ns of netns) run(removeTraceTable(ns));
    if (!answer.includes(POD)) {
      // The port stays in TIME_WAIT on the client for a while: wait before reusing it.
      console.error(`attempt ${attempt}: ${JSON.parse(answer).pod} answered; again`);
      await new Promise((res) => setTimeout(res, 2000));
      continue;
    }
    const names = {
      [`${P}-client`]: 'clusterip-client',
      [`${P}-node1`]: 'clusterip-node1',
      [`${P}-node2`]: 'clusterip-node2',
      [`${P}-${POD}`]: 'clusterip-pod-sc2l6',
    };
    for (const m of monitors) writeFileSync(join(OUT, `${names[m.ns]}.trace`), m.text().replaceAll(`${P}-`, ''));
    for (const node of ['node1', 'node2']) {
      writeFileSync(
        join(OUT, `clusterip-${node}.ruleset.json`),
        execFileSync('ip', ['netns', 'exec', `${P}-${node}`, 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' }),
      );
      writeFileSync(
        join(OUT, `clusterip-${node}.iptables-save`),
        execFileSync('ip', ['netns', 'exec', `${P}-${node}`, 'iptables-save'], { encoding: 'utf8' }).replace(/^# .*\n/gm, ''),
      );
    }
    console.log(`captured on attempt ${attempt}`);
    process.exitCode = 0;
    break;
  }
  if (process.exitCode !== 0) console.error(`${POD} never answered`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
