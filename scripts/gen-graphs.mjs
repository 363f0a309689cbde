#!/usr/bin/env node
// Every lab README shows its picture: for each lab (all of labs/, or the ones named), bring it up
// under a prefix of its own, draw it with `knetlab graph` into labs/<lab>/graph.svg, take it
// down; and make sure the README links the picture under its title. The picture shows no prefix,
// MAC or ifindex, so drawing an unchanged lab again gives the same file.
//
//   sudo node scripts/gen-graphs.mjs                     every lab
//   sudo node scripts/gen-graphs.mjs flannel-vxlan ...   these labs
//   --prefix P   the instance prefix to run under (default: gengraph)
//
// Needs a built CLI (npm run build) and root, like any lab.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'knetlab.js');
const args = process.argv.slice(2);
let prefix = 'gengraph';
const named = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--prefix') prefix = args[++i];
  else if (args[i].startsWith('--prefix=')) prefix = args[i].slice('--prefix='.length);
  else named.push(args[i].replace(/^labs\//, '').replace(/\/$/, ''));
}
const labs = named.length
  ? named
  : readdirSync(join(root, 'labs'))
      .filter((d) => existsSync(join(root, 'labs', d, 'lab.yaml')))
      .sort();

const PICTURE = '![lab picture](graph.svg)';

function knetlab(...argv) {
  const r = spawnSync(process.execPath, [cli, ...argv], { cwd: root, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** The picture goes right under the README's title (its first line). */
function linkPicture(lab) {
  const readme = join(root, 'labs', lab, 'README.md');
  if (!existsSync(readme)) return 'no README.md';
  const text = readFileSync(readme, 'utf8');
  if (text.includes(PICTURE)) return 'README already shows it';
  const nl = text.indexOf('\n');
  const [title, rest] = nl < 0 ? [text, ''] : [text.slice(0, nl), text.slice(nl + 1).replace(/^\n+/, '')];
  writeFileSync(readme, `${title}\n\n${PICTURE}\n\n${rest}`);
  return 'README now shows it';
}

let failed = 0;
for (const lab of labs) {
  const t0 = Date.now();
  const up = knetlab('up', '--prefix', prefix, lab);
  if (!up.ok) {
    failed++;
    process.stderr.write(`FAIL ${lab}: up failed\n${up.out}\n`);
    knetlab('down', '--prefix', prefix, lab);
    continue;
  }
  const t1 = Date.now();
  const graph = knetlab('graph', '--prefix', prefix, lab, '-o', join(root, 'labs', lab, 'graph.svg'));
  const t2 = Date.now();
  const down = knetlab('down', '--prefix', prefix, lab);
  if (!graph.ok || !down.ok) {
    failed++;
    process.stderr.write(`FAIL ${lab}: ${graph.ok ? 'down' : 'graph'} failed\n${graph.ok ? down.out : graph.out}\n`);
    continue;
  }
  process.stdout.write(
    `ok   ${lab}: labs/${lab}/graph.svg (up ${((t1 - t0) / 1000).toFixed(1)}s, graph ${((t2 - t1) / 1000).toFixed(1)}s); ${linkPicture(lab)}\n`,
  );
}
process.exitCode = failed ? 1 : 0;
