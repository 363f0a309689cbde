// knetlab graph's pure half on what the kernel printed: `ip -j -d link`, `ip -j addr` and
// `ip -j netns list-id` captured in every namespace of three running labs (flannel-vxlan and
// flannel-udp with --prefix gr and gr3, service-clusterip with --prefix gr2), the record's
// processes, service-clusterip's API state, and one traced ping across nodes.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { buildGraph, servicesOf, toDot, walkPath, type LabGraph, type NamespaceReading } from '../../src/kernel/graph.js';
import type { StateFile } from '../../src/api/objects.js';

const dir = (lab: string) => `test/fixtures/graph/${lab}`;
const read = (lab: string, f: string) => readFileSync(`${dir(lab)}/${f}`, 'utf8');

interface FixtureRecord {
  prefix: string;
  namespaces: string[];
  processes: { name: string; netns: string }[];
}

/** The fixture's readings, optionally as if the lab had run under another prefix. */
function load(lab: string, prefix?: string): { readings: NamespaceReading[]; rec: FixtureRecord } {
  const rec = JSON.parse(read(lab, 'record.json')) as FixtureRecord;
  const swap = (s: string) => (prefix === undefined ? s : s.split(`"${rec.prefix}-`).join(`"${prefix}-`));
  const rename = (ns: string) => (prefix === undefined ? ns : `${prefix}-${ns.slice(rec.prefix.length + 1)}`);
  const readings = rec.namespaces.map((netns) => {
    const short = netns.slice(rec.prefix.length + 1);
    return {
      netns: rename(netns),
      links: read(lab, `${short}.link.json`),
      addrs: read(lab, `${short}.addr.json`),
      nsids: swap(read(lab, `${short}.nsid.json`)),
    };
  });
  return {
    readings,
    rec: { prefix: prefix ?? rec.prefix, namespaces: rec.namespaces.map(rename), processes: rec.processes.map((p) => ({ ...p, netns: rename(p.netns) })) },
  };
}

const ROLES = new Map([
  ['switch', 'switch'],
  ['node1', 'node'],
  ['node2', 'node'],
  ['node3', 'node'],
  ['pod1', 'pod'],
  ['pod2', 'pod'],
  ['pod3', 'pod'],
]);

function graphOf(lab: string, prefix?: string): LabGraph {
  const { readings, rec } = load(lab, prefix);
  const namespaces = buildGraph(rec.prefix, readings, ROLES, rec.processes);
  let services: LabGraph['services'] = [];
  if (readdirSync(dir(lab)).includes('state.json')) {
    const api = JSON.parse(read(lab, 'state.json')) as StateFile;
    services = servicesOf(api.state.services, api.state.slices);
  }
  return { lab, namespaces, services };
}

t.test('flannel-vxlan: namespaces without the prefix, bridges and their ports, the VTEP and its underlay', async (t) => {
  const g = graphOf('flannel-vxlan');
  t.same(
    g.namespaces.map((n) => [n.name, n.role]),
    [
      ['switch', 'switch'],
      ['node1', 'node'],
      ['pod1', 'pod'],
      ['pod2', 'pod'],
      ['node2', 'node'],
      ['pod3', 'pod'],
    ],
  );
  const node1 = g.namespaces.find((n) => n.name === 'node1')!;
  t.same(
    node1.interfaces.map((i) => i.name),
    ['cni0', 'flannel.1', 'veth8f489896', 'vetha7eeae7d', 'eth0'],
    'by name, veths to other namespaces by their peer (pod1, pod2, switch); lo with only 127.0.0.1 left out',
  );
  const cni0 = node1.interfaces.find((i) => i.name === 'cni0')!;
  t.equal(cni0.kind, 'bridge');
  t.same(cni0.addresses, ['10.244.1.1/24'], 'IPv4 and no link-local IPv6');
  t.same(
    node1.interfaces.filter((i) => i.master === 'cni0').map((i) => i.name),
    ['veth8f489896', 'vetha7eeae7d'],
  );
  const vtep = node1.interfaces.find((i) => i.name === 'flannel.1')!;
  t.same(vtep.vxlan, { vni: 1, local: '192.168.56.11', dstport: 8472, via: 'eth0', remote: null, learning: false });
  t.same(vtep.addresses, ['10.244.1.0/32']);
  t.same(node1.interfaces.find((i) => i.name === 'eth0')!.peer, { namespace: 'switch', name: 'node1' }, 'peer found through link_netnsid');
  t.same(node1.interfaces.find((i) => i.name === 'veth8f489896')!.peer, { namespace: 'pod1', name: 'eth0' });
  t.same(g.namespaces.find((n) => n.name === 'pod3')!.interfaces[0]!.peer, { namespace: 'node2', name: 'veth86c1beb0' });
  t.same(g.namespaces.find((n) => n.name === 'pod1')!.daemons, ['nginx']);
});

t.test('flannel-vxlan as DOT: clusters, labels, veth edges pod↔node, the VXLAN device, nothing that varies', async (t) => {
  const dot = toDot(graphOf('flannel-vxlan'));
  t.match(dot, /subgraph cluster_1 \{\n\s+graph \[label="node1 \(node\)"/);
  t.match(dot, /"pod1\/eth0" \[label="eth0\\n10\.244\.1\.2\/24"/);
  t.match(dot, /"node1\/cni0" \[label="cni0\\n10\.244\.1\.1\/24\\nbridge", shape=box, style="filled,bold", peripheries=2/);
  t.match(dot, /"node1\/flannel\.1" \[label="flannel\.1\\n10\.244\.1\.0\/32\\nvxlan 1 · dstport 8472 · via eth0\\nlocal 192\.168\.56\.11", shape=cds/);
  t.match(dot, /"node1\/veth8f489896" -> "pod1\/eth0" \[dir=none/, 'node above pod, undirected');
  t.match(dot, /"switch\/node2" -> "node2\/eth0" \[dir=none/, 'switch above node');
  t.match(dot, /"switch\/br0" -> "switch\/node1" \[dir=none, color="#c77c02"/, 'bridge port');
  t.match(dot, /"node1\/eth0" -> "node1\/flannel\.1" \[dir=none, style=dashed.*underlay/, 'VTEP to its underlay');
  t.match(dot, /"node1\/flannel\.1" -> "node2\/flannel\.1" \[.*VXLAN VNI 1/, 'the two VTEPs of VNI 1');
  t.equal(dot.match(/tooltip="veth pair"/g)?.length, 5, 'each pair drawn once');
  t.notMatch(dot, /gr-/, 'no instance prefix');
  t.notMatch(dot, /([0-9a-f]{2}:){5}[0-9a-f]{2}/, 'no MAC address');
  t.notMatch(dot, /ifindex|nsid|fe80:/, 'no ifindex, nsid or link-local address');
});

t.test('the picture does not depend on the prefix or on being drawn twice', async (t) => {
  const a = toDot(graphOf('flannel-vxlan'));
  t.equal(toDot(graphOf('flannel-vxlan')), a);
  t.equal(toDot(graphOf('flannel-vxlan', 'other')), a, 'same DOT under --prefix other');
});

t.test('a random host-side veth name (the bridge plugin picks one) changes its label, not the order', async (t) => {
  const { readings, rec } = load('flannel-vxlan');
  const renamed = readings.map((r) => ({
    ...r,
    links: r.links.split('veth8f489896').join('vethffffffff'),
    addrs: r.addrs.split('veth8f489896').join('vethffffffff'),
  }));
  const a = toDot({ lab: 'x', namespaces: buildGraph(rec.prefix, readings, ROLES, rec.processes), services: [] });
  const b = toDot({ lab: 'x', namespaces: buildGraph(rec.prefix, renamed, ROLES, rec.processes), services: [] });
  t.equal(b, a.split('veth8f489896').join('vethffffffff'));
});

t.test('flannel-udp: the TUN device and the process that reads it', async (t) => {
  const g = graphOf('flannel-udp');
  const node1 = g.namespaces.find((n) => n.name === 'node1')!;
  t.same(node1.daemons, ['flanneld']);
  t.equal(node1.interfaces.find((i) => i.name === 'flannel0')?.kind, 'tun');
  const dot = toDot(g);
  t.match(dot, /"node1\/flannel0" \[label="flannel0\\n10\.244\.1\.0\/32\\ntun \(user-space tunnel\)", shape=cds/);
  t.match(dot, /"node1\/flannel0" -> "node1\/ processes" \[dir=both.*read\/write/);
  t.match(dot, /"node1\/ processes" \[label="flanneld", shape=component/);
});

t.test('service-clusterip: the ClusterIP with dashed edges to the pod interfaces holding its endpoints', async (t) => {
  const g = graphOf('service-clusterip');
  t.same(
    g.services.map((s) => [s.name, s.type, s.clusterIP, s.ports, s.endpoints.map((e) => e.address)]),
    [['nginx-deploy', 'ClusterIP', '10.98.254.54', ['8080/TCP → 80'], ['10.244.1.2', '10.244.2.2', '10.244.3.2']]],
  );
  const dot = toDot(g);
  t.match(dot, /subgraph cluster_services \{\n\s+graph \[label="Services \(kube-proxy\)"/);
  t.match(dot, /"svc\/default\/nginx-deploy" \[label="nginx-deploy \(ClusterIP\)\\n10\.98\.254\.54 · 8080\/TCP → 80"/);
  for (const pod of ['nginx-deploy-79d7d959b7-l2ppr', 'nginx-deploy-79d7d959b7-sc2l6', 'nginx-deploy-79d7d959b7-g5g2s'])
    t.match(dot, new RegExp(`"svc/default/nginx-deploy" -> "${pod}/eth0" \\[style=dashed`), pod);
  t.same(g.namespaces.find((n) => n.name === 'node1')!.daemons, ['controlplane', 'kube-proxy']);
});

t.test('a traced ping across nodes: the walk through veths, bridges and the underlay, numbered in red', async (t) => {
  const g = graphOf('service-clusterip');
  const walk = JSON.parse(read('service-clusterip', 'trace-ping.json')) as { request: { namespace: string; in: string | null; out: string | null }[] };
  const path = walkPath(g.namespaces, { hops: walk.request });
  t.same(path, [
    'client/eth0',
    'node1/vethd2a04d71',
    'node1/cni0',
    'node1/flannel.1',
    'node1/eth0',
    'switch/node1',
    'switch/br0',
    'switch/node3',
    'node3/eth0',
    'node3/flannel.1',
    'node3/cni0',
    'node3/veth79da9049',
    'nginx-deploy-79d7d959b7-g5g2s/eth0',
  ]);
  const dot = toDot(g, { hops: walk.request });
  t.equal(dot.match(/color="#d62728", fontcolor="#d62728"/g)?.length, path.length - 1, 'one red edge per step');
  t.match(dot, /"node1\/vethd2a04d71" -> "client\/eth0" \[color="#d62728".*dir=back, xlabel="1"\]/, 'up a link: laid out the link’s way, arrow turned');
  t.match(dot, /"node1\/cni0" -> "node1\/flannel\.1" \[color="#d62728".*xlabel="3"\]/, 'routed within node1');
  t.match(dot, /"node3\/veth79da9049" -> "nginx-deploy-79d7d959b7-g5g2s\/eth0" \[color="#d62728".*xlabel="12"\]/);
  t.match(dot, /label="node3 \(node\)", labeljust=l, labelloc=t, style="rounded,filled", fillcolor="#e8f1fb", color="#d62728"/, 'walked namespace outlined');
  t.match(dot, /label="node2 \(node\)", [^\n]*color="#8a8a8a"/, 'node2 was not crossed');
});

t.test('the reply of the traced ping: the same links back, blue and dashed, numbered on its own', async (t) => {
  const g = graphOf('service-clusterip');
  const walk = JSON.parse(read('service-clusterip', 'trace-ping.json')) as {
    request: { namespace: string; in: string | null; out: string | null }[];
    reply: { namespace: string; in: string | null; out: string | null }[];
  };
  const request = walkPath(g.namespaces, { hops: walk.request });
  const reply = walkPath(g.namespaces, { hops: walk.reply });
  t.same(reply, [...request].reverse(), 'the reply crosses the same interfaces, the other way');
  const dot = toDot(g, { hops: walk.request, reply: walk.reply });
  t.equal(dot.match(/color="#d62728", fontcolor="#d62728"/g)?.length, request.length - 1, 'the request as before');
  t.equal(dot.match(/color="#1f77b4", fontcolor="#1f77b4", style=dashed/g)?.length, reply.length - 1, 'one blue dashed edge per step back');
  t.match(
    dot,
    /"node3\/veth79da9049" -> "nginx-deploy-79d7d959b7-g5g2s\/eth0" \[color="#1f77b4".*dir=back, xlabel="1"\]/,
    'the pod up to its node, numbered from 1',
  );
  t.match(dot, /"node1\/vethd2a04d71" -> "client\/eth0" \[color="#1f77b4".*xlabel="12"\]/, 'down to the client last');
  t.match(dot, /label="service-clusterip · the walk of a trace: request in red, reply in blue"/);
  t.notMatch(toDot(g, { hops: walk.request }), /fontcolor="#1f77b4"/, 'no reply: no reply edges');
});

t.test('names are quoted for DOT', async (t) => {
  const dot = toDot({
    lab: 'odd "lab"',
    namespaces: [{ name: 'a\\b', role: null, daemons: [], interfaces: [] }],
    services: [],
  });
  t.match(dot, /digraph "odd \\"lab\\"" \{/);
  t.match(dot, /label="a\\\\b"/);
});

t.test('bad ip output is reported with the namespace', async (t) => {
  t.throws(() => buildGraph('', [{ netns: 'x', links: 'not json', addrs: '[]', nsids: '[]' }], new Map(), []), /could not read the links of namespace x/);
});
