// knetlab graph on a running flannel-vxlan: the DOT read back from the kernel names the nodes'
// namespaces, cni0, flannel.1 with VNI 1 and the veth pairs between pods and nodes; the SVG is
// one resvg can parse and the PNG is a PNG; a traced ping drawn over the picture crosses both
// VTEPs; and afterwards nothing of the lab is left.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, isRoot, netnsEtcWithPrefix, netnsWithPrefix, processesUnder, rootSnapshot, stateDir } from './helpers.js';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('graph');
  const prefix = 'itgraph';
  const out = mkdtempSync(join(tmpdir(), 'knetlab-graph-'));
  const before = rootSnapshot();

  t.test('flannel-vxlan: dot, svg and png of the running lab; a trace drawn over it', async (t) => {
    const up = cli(state, ['up', 'flannel-vxlan', '--prefix', prefix]);
    t.equal(up.code, 0, up.stderr);
    t.teardown(() => void cli(state, ['down', 'flannel-vxlan', '--prefix', prefix]));

    const t0 = Date.now();
    const dot = cli(state, ['graph', 'flannel-vxlan', '--prefix', prefix, '--format', 'dot']);
    t.equal(dot.code, 0, dot.stderr);
    t.comment(`graph --format dot took ${Date.now() - t0} ms`);
    const text = dot.stdout;
    for (const ns of ['switch', 'node1', 'node2', 'pod1', 'pod2', 'pod3']) t.match(text, new RegExp(`graph \\[label="${ns}( \\(\\w+\\))?"`), `cluster ${ns}`);
    t.match(text, /label="node1 \(node\)"/);
    t.match(text, /"node1\/cni0" \[label="cni0\\n10\.244\.1\.1\/24\\nbridge"/);
    t.match(text, /"node2\/cni0" \[label="cni0\\n10\.244\.2\.1\/24\\nbridge"/);
    t.match(text, /"node1\/flannel\.1" \[label="flannel\.1\\n10\.244\.1\.0\/32\\nvxlan 1 · dstport 8472 · via eth0/);
    t.match(text, /"node2\/flannel\.1" \[label="flannel\.1\\n10\.244\.2\.0\/32\\nvxlan 1 · dstport 8472 · via eth0/);
    for (const pod of ['pod1', 'pod2']) t.match(text, new RegExp(`"node1/veth[0-9a-f]+" -> "${pod}/eth0" \\[dir=none`), `veth pair node1 ↔ ${pod}`);
    t.match(text, /"node2\/veth[0-9a-f]+" -> "pod3\/eth0" \[dir=none/, 'veth pair node2 ↔ pod3');
    t.match(text, /"switch\/node1" -> "node1\/eth0" \[dir=none/, 'veth pair switch ↔ node1');
    t.notMatch(text, new RegExp(`${prefix}-`), 'no prefix in the picture');
    t.notMatch(text, /([0-9a-f]{2}:){5}[0-9a-f]{2}/, 'no MAC address');
    t.equal(cli(state, ['graph', 'flannel-vxlan', '--prefix', prefix, '--format', 'dot']).stdout, text, 'the same picture twice');

    const svgFile = join(out, 'lab.svg');
    const t1 = Date.now();
    const svg = cli(state, ['graph', 'flannel-vxlan', '--prefix', prefix, '-o', svgFile]);
    t.equal(svg.code, 0, svg.stderr);
    t.comment(`graph -o lab.svg took ${Date.now() - t1} ms`);
    const svgText = readFileSync(svgFile, 'utf8');
    t.match(svgText, /^<\?xml[^>]*>\s*<!DOCTYPE svg[\s\S]*<svg [\s\S]*<\/svg>\s*$/);
    t.match(svgText, /font-family="DejaVu Sans"/);
    t.match(svgText, />vxlan 1 · dstport 8472 · via eth0</);
    // resvg parses the SVG (it throws on one that is not): the picture is a picture.
    const resvg = await import('@resvg/resvg-wasm');
    await resvg.initWasm(readFileSync(createRequire(import.meta.url).resolve('@resvg/resvg-wasm/index_bg.wasm')));
    const r = new resvg.Resvg(svgText, { font: { fontBuffers: [readFileSync(FONT)], defaultFontFamily: 'DejaVu Sans' } });
    t.ok(r.width > 300 && r.height > 300, `SVG of ${r.width}×${r.height}`);
    r.free();

    const pngFile = join(out, 'lab.png');
    const t2 = Date.now();
    const png = cli(state, ['graph', 'flannel-vxlan', '--prefix', prefix, '-o', pngFile]);
    t.equal(png.code, 0, png.stderr);
    t.comment(`graph -o lab.png took ${Date.now() - t2} ms`);
    const bytes = readFileSync(pngFile);
    t.same([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG magic bytes');
    t.ok(bytes.length > 10_000, `${bytes.length} bytes`);

    // A ping from pod1 to pod3, drawn over the picture: in red through both VTEPs and the switch.
    const walkFile = join(out, 'walk.dot');
    const trace = cli(state, ['trace', 'flannel-vxlan', '--prefix', prefix, '--from', 'pod1', '--ping', '10.244.2.2', '--graph', walkFile]);
    t.equal(trace.code, 0, trace.stderr);
    const walk = readFileSync(walkFile, 'utf8');
    const red = [...walk.matchAll(/^ {2}"([^"]+)" -> "([^"]+)" \[color="#d62728"[^\n]*xlabel="(\d+)"/gm)].map((m) => ({ a: m[1], b: m[2], k: Number(m[3]) }));
    t.ok(red.length >= 8, `${red.length} numbered steps`);
    t.same(
      red.map((e) => e.k),
      red.map((_, i) => i + 1),
      'numbered in order',
    );
    const touched = new Set(red.flatMap((e) => [e.a, e.b]));
    for (const id of ['pod1/eth0', 'node1/cni0', 'node1/flannel.1', 'node1/eth0', 'switch/br0', 'node2/eth0', 'node2/flannel.1', 'node2/cni0', 'pod3/eth0'])
      t.ok(touched.has(id), `the walk crosses ${id}`);
  });

  t.test('nothing is left behind', async (t) => {
    t.same(netnsWithPrefix(prefix), [], 'no namespaces');
    t.same(netnsEtcWithPrefix(prefix), [], 'no /etc/netns folders');
    t.same(processesUnder(state), [], 'no processes');
    t.same(rootSnapshot(), before, "the machine's own namespace is unchanged");
    rmSync(out, { recursive: true, force: true });
  });
}
