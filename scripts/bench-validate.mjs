#!/usr/bin/env node
// Benchmark: `knetlab validate` on large generated labs, to show that validation grows linearly
// with the size of a lab and of its list of errors, and stays within its memory. Each case is
// about 90% of the largest lab knetlab reads (MAX_YAML_TOKENS, 300 000 YAML tokens: 0.2 to 1.2
// MB here), so at --scale 1 every one is read in full; "oversize" is 9 MB, which is refused at
// the token that goes over. The time and the peak memory (maxRSS) of the whole process are
// printed. Needs no root.
//
//   node scripts/bench-validate.mjs [--scale 1] [--only namespaces,duplicates,unknown,expect]
//                                   [--bin LABEL=PATH ...] [--timeout 300] [--keep]
//
// --scale multiplies every case's size (0.5 halves it: doubling the scale of a linear case about
// doubles its time; above about 1.1 a case is refused as too large). --bin may be given several
// times to compare builds (each PATH a bin/knetlab.js); by default it is this checkout's.
// Targets: each case within a few seconds and under 300 MB. The labs are written to a temporary
// folder and removed (unless --keep).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values: opt } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    only: { type: 'string' },
    bin: { type: 'string', multiple: true },
    timeout: { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
  },
});
const scale = Number(opt.scale);
const n = (count) => Math.max(1, Math.round(count * scale));

const ip = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const head = (name) => `name: ${name}\ntitle: A generated lab of ${name}\n`;

/** Each case: a lab.yaml text. */
const CASES = {
  // 7500 namespaces in pairs joined by a veth, each end with its own address: a valid lab.
  namespaces: () => {
    const count = n(7_500);
    const ns = [];
    const links = [];
    for (let i = 0; i < count; i++) ns.push(`    n${i}:\n      interfaces:\n        e: { addresses: [${ip(i + 1)}/8] }\n`);
    for (let i = 0; i + 1 < count; i += 2) links.push(`    - endpoints: [n${i}:e, n${i + 1}:e]\n`);
    return `${head('namespaces')}topology:\n  namespaces:\n${ns.join('')}  links:\n${links.join('')}`;
  },
  // 44k copies of one address on the interfaces of 4400 namespaces: 44k "already assigned" errors.
  duplicates: () => {
    const count = n(4_400);
    const ns = [];
    for (let i = 0; i < count; i++) ns.push(`    d${i}:\n      interfaces:\n        e:\n          addresses: [${Array(10).fill('10.0.0.1/8').join(', ')}]\n`);
    return `${head('duplicates')}topology:\n  namespaces:\n${ns.join('')}`;
  },
  // 33k unknown keys in one namespace: 33k shape errors from the schema.
  unknown: () => {
    const count = n(33_000);
    const keys = [];
    for (let i = 0; i < count; i++) keys.push(`      unknownkey${i}: 1\n`);
    return `${head('unknown')}topology:\n  namespaces:\n    a:\n${keys.join('')}`;
  },
  // 7000 checks whose expect has a misspelt field: the schema's anyOf (a word or a map) fails in
  // every branch, and its errors must be sorted out per check.
  expect: () => {
    const count = n(7_000);
    const checks = [];
    for (let i = 0; i < count; i++) checks.push(`  - { from: a, ping: 10.0.0.2, expect: { reachabel: true } }\n`);
    return `${head('expect')}topology:\n  namespaces:\n    a: {}\nchecks:\n${checks.join('')}`;
  },
  // 12k routes in one namespace, each through a gateway that must be on a connected subnet.
  routes: () => {
    const count = n(12_000);
    const routes = [];
    for (let i = 0; i < count; i++) routes.push(`        - { to: ${ip(i + 65536)}/32, via: 192.168.${i & 1}.1 }\n`);
    return `${head('routes')}topology:\n  namespaces:\n    a:\n      interfaces:\n        e: { addresses: [192.168.0.2/24] }\n      routes:\n        - { to: 192.168.1.0/24, dev: e }\n${routes.join('')}    b:\n      interfaces:\n        e: { addresses: [192.168.0.1/24] }\n  links:\n    - endpoints: [a:e, b:e]\n`;
  },
  // 11k checks from namespaces that do not exist, in a lab of 2200: "did you mean" for each.
  misnamed: () => {
    const count = n(11_000);
    const ns = [];
    const checks = [];
    for (let i = 0; i < count / 5; i++) ns.push(`    n${i}: {}\n`);
    for (let i = 0; i < count; i++) checks.push(`  - { from: x${i}, ping: 10.0.0.2 }\n`);
    return `${head('misnamed')}topology:\n  namespaces:\n${ns.join('')}checks:\n${checks.join('')}`;
  },
  // 90k empty maps in a flow list, each a route without "to": the most memory a token costs the
  // YAML reader (its syntax tree of a flow collection and the composed map), and an error each.
  flowmaps: () => {
    const count = n(90_000);
    return `${head('flowmaps')}topology:\n  namespaces:\n    a:\n      routes: [${Array(count).fill('{}').join(',')}]\n`;
  },
  // 120k namespaces (9 MB): refused as too large where the budget runs out, without reading on.
  oversize: () => {
    const count = n(120_000);
    const ns = [];
    for (let i = 0; i < count; i++) ns.push(`    n${i}:\n      interfaces:\n        e: { addresses: [${ip(i + 1)}/8] }\n`);
    return `${head('oversize')}topology:\n  namespaces:\n${ns.join('')}`;
  },
};

const bins = (opt.bin ?? [`this=${join(ROOT, 'bin', 'knetlab.js')}`]).map((b) => {
  const [label, path] = b.includes('=') ? b.split(/=(.*)/s) : [b, b];
  return { label, path: resolve(path) };
});
const only = opt.only ? opt.only.split(',') : Object.keys(CASES);
const dir = mkdtempSync(join(tmpdir(), 'knetlab-bench-validate-'));
// The child reports its own peak memory as it exits.
const REPORT = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\nmaxrss '+process.resourceUsage().maxRSS+'\\n'))`;

try {
  console.log(`case        size    errors   ${bins.map((b) => `${b.label}: seconds  peak MB`).join('   ')}`);
  for (const name of only) {
    if (!CASES[name]) throw new Error(`no case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
    const lab = join(dir, name);
    mkdirSync(lab);
    writeFileSync(join(lab, 'lab.yaml'), CASES[name]());
    const mb = statSync(join(lab, 'lab.yaml')).size / 1e6;
    const cols = [];
    let errors = '?';
    for (const b of bins) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, ['--import', REPORT, b.path, 'validate', lab], {
        encoding: 'utf8',
        timeout: Number(opt.timeout) * 1000,
        maxBuffer: 1 << 30,
      });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const rss = /maxrss (\d+)/.exec(r.stderr ?? '');
      const out = `${r.stdout}${r.stderr}`;
      // The first errors are printed, the rest counted: "…and N more (E errors, W warnings)".
      if (r.status === 0 || r.status === 2)
        errors = String((out.match(/ {2}error {2}/g) ?? []).length + Number(/\((\d+) errors?, \d+ warnings?\)/.exec(out)?.[1] ?? 0));
      const how = r.error?.code === 'ETIMEDOUT' ? `>${opt.timeout}` : r.status === 0 || r.status === 2 ? s.toFixed(1) : `exit ${r.status ?? r.signal}`;
      cols.push(`${how.padStart(b.label.length + 10)}  ${rss ? (Number(rss[1]) / 1024).toFixed(0).padStart(7) : '      ?'}`);
    }
    console.log(`${name.padEnd(11)} ${mb.toFixed(1).padStart(4)} MB ${errors.padStart(8)}   ${cols.join('   ')}`);
  }
} finally {
  if (opt.keep) console.log(`labs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
