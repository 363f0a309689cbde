#!/usr/bin/env node
// Benchmark: how long a whole `knetlab` process takes for commands that do little work, against
// a bare `node -e 0`, so start-up cost (module loading, schema compiling) is what is measured.
// Runs are interleaved (one of each per round, the order rotated every round) so a machine that
// slows down or speeds up part way through affects every command alike. Needs no root.
//
//   node scripts/bench-cli.mjs [--runs 15] [--warmup 1] [--lab labs/service-clusterip] [--json]
//                              [--only version,validate,steps,list] [--bin LABEL=PATH ...]
//
// --bin may be given several times to compare builds in one run (each PATH is a bin/knetlab.js);
// by default it is this checkout's bin/knetlab.js. Targets: --version within 2× of node -e 0,
// validate and steps of a cluster lab within 3×. Exit status is 0 unless a command fails
// (or, with --check, a target is missed).

import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', short: 'n', default: '15' },
    warmup: { type: 'string', default: '1' },
    lab: { type: 'string', default: 'labs/service-clusterip' },
    only: { type: 'string' },
    bin: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(
    'usage: node scripts/bench-cli.mjs [--runs N] [--warmup N] [--lab PATH] [--only version,validate,steps,list] [--bin LABEL=PATH ...] [--json] [--check]\n',
  );
  process.exit(0);
}
const runs = Number(opt.runs);
const warmup = Number(opt.warmup);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
  process.stderr.write('bench-cli: --runs must be a positive integer and --warmup a non-negative one\n');
  process.exit(2);
}

const COMMANDS = [
  { name: 'version', args: ['--version'], target: 2 },
  { name: 'validate', args: ['validate', opt.lab], target: 3 },
  { name: 'steps', args: ['steps', opt.lab], target: 3 },
  { name: 'list', args: ['list'], target: null },
];
const only = opt.only ? new Set(opt.only.split(',')) : null;
const commands = COMMANDS.filter((c) => !only || only.has(c.name));
if (only && commands.length !== only.size) {
  process.stderr.write(`bench-cli: --only takes ${COMMANDS.map((c) => c.name).join(', ')}\n`);
  process.exit(2);
}

const bins = (opt.bin?.length ? opt.bin : [`current=${join(ROOT, 'bin', 'knetlab.js')}`]).map((b) => {
  const i = b.indexOf('=');
  const path = resolve(i > 0 ? b.slice(i + 1) : b);
  return { label: i > 0 ? b.slice(0, i) : path, path };
});
const multi = bins.length > 1;

// Every process to time: the baseline, then each build × command.
const jobs = [
  { label: '', command: 'node -e 0', argv: ['-e', '0'], target: null, samples: [] },
  ...bins.flatMap((b) =>
    commands.map((c) => ({
      label: b.label,
      command: c.name === 'version' ? '--version' : c.args.join(' '),
      argv: [b.path, ...c.args],
      target: c.target,
      samples: [],
    })),
  ),
];

function once(job) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, job.argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.error || r.status !== 0) {
    process.stderr.write(`bench-cli: node ${job.argv.join(' ')} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}):\n${r.stderr}\n`);
    process.exit(1);
  }
  return ms;
}

for (let w = 0; w < warmup; w++) for (const job of jobs) once(job);
for (let round = 0; round < runs; round++) {
  for (let k = 0; k < jobs.length; k++) {
    const job = jobs[(k + round) % jobs.length];
    job.samples.push(once(job));
  }
  if (!opt.json && process.stderr.isTTY) process.stderr.write(`\r${round + 1}/${runs} rounds`);
}
if (!opt.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round1 = (x) => Math.round(x * 10) / 10;
const base = median(jobs[0].samples);
const results = jobs.map((j) => {
  const med = median(j.samples);
  const ratio = med / base;
  return {
    build: j.label || null,
    command: j.command,
    min: round1(Math.min(...j.samples)),
    median: round1(med),
    max: round1(Math.max(...j.samples)),
    ratio: Math.round(ratio * 100) / 100,
    target: j.target,
    met: j.target === null ? null : ratio <= j.target,
    samples: j.samples.map(round1),
  };
});
const missed = results.some((r) => r.met === false);

if (opt.json) {
  const info = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? '', runs, warmup, lab: opt.lab };
  process.stdout.write(JSON.stringify({ ...info, results }, null, 2) + '\n');
} else {
  const head = [...(multi ? ['BUILD'] : []), 'COMMAND', 'MIN ms', 'MEDIAN ms', 'MAX ms', '× node -e 0', 'TARGET'];
  const rows = results.map((r) => [
    ...(multi ? [r.build ?? ''] : []),
    r.command,
    r.min.toFixed(1),
    r.median.toFixed(1),
    r.max.toFixed(1),
    r.ratio.toFixed(2),
    r.target === null ? '' : `≤ ${r.target}× ${r.met ? 'ok' : 'MISSED'}`,
  ]);
  const numeric = new Set(['MIN ms', 'MEDIAN ms', 'MAX ms', '× node -e 0']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => (numeric.has(head[i]) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  process.stdout.write(`knetlab start-up: ${runs} interleaved runs each (+${warmup} warm-up), ${process.version}, ${cpus().length} CPUs, lab ${opt.lab}\n`);
  process.stdout.write([line(head), ...rows.map(line)].join('\n') + '\n');
}
if (opt.check && missed) process.exitCode = 1;
