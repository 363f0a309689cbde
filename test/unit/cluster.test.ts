// The cluster section: defaults resolved the way flannel, Calico and host-local hand them out,
// and every mistake reported at its place with a hint.
import t from 'tap';
import { loadLabFile } from '../../src/plan/load.js';
import { errorsOf } from './lib/errors.js';
import { formatDiagnostic, type LabFileError } from '../../src/labfile/diagnostics.js';

const lab = (cluster: string, rest = '') => `name: c\ntitle: C\ncluster:\n${cluster}\n${rest}`;
const load = (text: string) => loadLabFile('lab.yaml', text).lab;

t.test('flannel defaults: node IPs .11 up, leases from the second /24, pods from .2', async (t) => {
  const l = load(lab('  cni: { type: flannel }\n  nodes:\n    node1: { pods: [a, b] }\n    node2: { pods: [c] }'));
  const c = l.cluster!;
  t.equal(c.podNetwork, '10.244.0.0/16');
  t.equal(c.cni.backend, 'vxlan');
  t.equal(c.underlay.kind, 'switch');
  t.same(
    c.nodes.map((n) => [n.name, n.address, n.podCIDR, n.gateway]),
    [
      ['node1', '192.168.56.11', '10.244.1.0/24', '192.168.56.1'],
      ['node2', '192.168.56.12', '10.244.2.0/24', '192.168.56.1'],
    ],
  );
  t.same(
    c.nodes.flatMap((n) => n.pods.map((p) => [p.name, p.ip])),
    [
      ['a', '10.244.1.2'],
      ['b', '10.244.1.3'],
      ['c', '10.244.2.2'],
    ],
  );
  t.match(c.nodes[0]!.pods[0]!.hostIf, /^veth[0-9a-f]{8}$/);
  const node1 = l.namespaces.find((n) => n.name === 'node1')!;
  t.same(node1.bridges, [{ name: 'cni0', addresses: ['10.244.1.1/24'], mac: null, mtu: 1450 }], 'cni0 carries the gateway at the VXLAN MTU');
  const a = l.namespaces.find((n) => n.name === 'a')!;
  t.same(
    a.routes.map((r) => [r.to, r.via]),
    [
      ['default', '10.244.1.1'],
      ['10.244.0.0/16', '10.244.1.1'],
    ],
  );
  t.same(a.server, { ports: [80], udpPorts: [], pod: 'a', node: 'node1', addresses: ['10.244.1.2'], readinessPaths: [] });
});

t.test('Calico: /26 blocks in order, /32 pods, cali veths with the Calico MAC', async (t) => {
  const l = load(lab('  cni: { type: calico }\n  nodes:\n    node1: { pods: [web-0] }\n    node2: { pods: [nginx] }'));
  const c = l.cluster!;
  t.same(
    c.nodes.map((n) => n.podCIDR),
    ['10.244.0.0/26', '10.244.0.64/26'],
  );
  t.same(
    c.nodes.map((n) => n.pods[0]!.hostIf),
    ['cali0d7763386da', 'calic440f455693'],
    'the names Calico computes for default/web-0 and default/nginx',
  );
  const pod = l.namespaces.find((n) => n.name === 'web-0')!;
  t.same(pod.interfaces[0]!.addresses, ['10.244.0.1/32']);
  t.same(
    pod.routes.map((r) => [r.to, r.via, r.dev]),
    [
      ['169.254.1.1/32', null, 'eth0'],
      ['default', '169.254.1.1', 'eth0'],
    ],
  );
  const node1 = l.namespaces.find((n) => n.name === 'node1')!;
  t.equal(node1.interfaces.find((i) => i.name === 'cali0d7763386da')!.mac, 'ee:ee:ee:ee:ee:ee');
  t.ok(
    node1.routes.some((r) => r.to === '10.244.0.1' && r.dev === 'cali0d7763386da'),
    'a /32 host route per pod',
  );
});

t.test('several underlay subnets: a router with one bridge and gateway per subnet', async (t) => {
  const l = load(
    lab('  underlay: { subnets: [192.168.56.0/24, 192.168.57.0/24] }\n  cni: { type: flannel, backend: host-gw }\n  nodes:\n    node1: {}\n    node2: {}'),
  );
  const c = l.cluster!;
  t.equal(c.underlay.kind, 'router');
  t.same(
    c.nodes.map((n) => [n.address, n.gateway]),
    [
      ['192.168.56.11', '192.168.56.1'],
      ['192.168.57.12', '192.168.57.1'],
    ],
  );
  const router = l.namespaces.find((n) => n.name === 'router')!;
  t.same(router.sysctls, [['net.ipv4.ip_forward', '1']]);
  t.same(
    router.interfaces.map((i) => [i.name, i.master]),
    [
      ['node1', 'br0'],
      ['node2', 'br1'],
    ],
  );
});

t.test('underlay routes: static routes in the router towards nodes, ECMP over several, each mistake at its place', async (t) => {
  const routed = (routes: string) =>
    lab(
      [
        '  underlay:',
        '    subnets: [192.168.56.0/24, 198.51.100.0/24]',
        `    routes: ${routes}`,
        '  cni: { type: flannel }',
        '  nodes:',
        '    node1: { address: 192.168.56.11 }',
        '    node2: { address: 192.168.56.12 }',
      ].join('\n'),
    );
  const l = load(routed('[{ to: 203.0.113.10, via: [192.168.56.11, 192.168.56.12] }, { to: 203.0.113.16/28, via: [192.168.56.12] }]'));
  const router = l.namespaces.find((n) => n.name === 'router')!;
  t.same(
    router.routes.map((r) => [r.to, r.via, r.nexthops]),
    [
      ['203.0.113.10/32', null, ['192.168.56.11', '192.168.56.12']],
      ['203.0.113.16/28', '192.168.56.12', []],
    ],
  );
  t.same(router.sysctls, [
    ['net.ipv4.ip_forward', '1'],
    ['net.ipv4.fib_multipath_hash_policy', '1'],
  ]);
  const one = load(routed('[{ to: 203.0.113.10/32, via: [192.168.56.11] }]'));
  t.same(one.namespaces.find((n) => n.name === 'router')!.sysctls, [['net.ipv4.ip_forward', '1']], 'one next hop: no ECMP hashing to set');

  // Line 6 holds the routes.
  t.same(
    errorsOf(
      routed(
        '[{ to: 203.0.113.300, via: [192.168.56.11] }, { to: 203.0.113.1/28, via: [192.168.56.13, node1, 192.168.56.12, 192.168.56.12] }, { to: 198.51.100.0/25, via: [192.168.56.11] }, { to: 10.244.9.0/24, via: [192.168.56.11] }]',
      ),
    ).map((e) => e.split('\n')[0]),
    [
      'lab.yaml:6:20  error  "203.0.113.300" is not an IPv4 address or CIDR',
      'lab.yaml:6:65  error  203.0.113.1/28 has host bits set',
      "lab.yaml:6:87  error  next hop 192.168.56.13 is not a node's address",
      'lab.yaml:6:102  error  next hop "node1" is not an IPv4 address',
      'lab.yaml:6:124  error  next hop 192.168.56.12 is listed twice',
      'lab.yaml:6:148  error  198.51.100.0/25 overlaps the underlay subnet 198.51.100.0/24, which the router reaches directly',
      'lab.yaml:6:195  error  10.244.9.0/24 overlaps the pod network 10.244.0.0/16',
    ],
  );
  t.match(
    errorsOf(routed('[{ to: 203.0.113.10, via: [192.168.56.11] }, { to: 203.0.113.10/32, via: [192.168.56.12] }]')).join('\n'),
    /underlay\.routes\[0\] already goes to 203\.0\.113\.10\/32/,
  );
  t.match(
    errorsOf(
      lab(
        '  underlay:\n    subnets: [192.168.56.0/24]\n    routes: [{ to: 203.0.113.10, via: [192.168.56.11] }]\n  cni: { type: flannel }\n  nodes:\n    node1: {}',
      ),
    )[0],
    /lab\.yaml:6:5 {2}error {2}underlay routes need a router\n {2}hint: list two or more underlay subnets/,
  );
});

t.test("a cloud load balancer in a Service's status: what it needs from the lab, each problem at its place", async (t) => {
  const svc = (name: string, ingress: string, ports = '[{ port: 80 }]') =>
    `---\napiVersion: v1\nkind: Service\nmetadata: { name: ${name} }\nspec:\n  type: LoadBalancer\n  ports: ${ports}\nstatus:\n  loadBalancer:\n    ingress: ${ingress}\n`;
  const routed = [
    '  underlay:',
    '    subnets: [192.168.56.0/24, 198.51.100.0/24]',
    '    routes: [{ to: 203.0.113.10, via: [192.168.56.11] }]',
    '  cni: { type: flannel }',
    '  nodes:',
    '    node1: { address: 192.168.56.11 }',
  ].join('\n');
  // The lab is 9 lines; a Service's ingress line is its 10th.
  const diags = (cluster: string, ...services: string[]) => {
    try {
      return loadLabFile('lab.yaml', lab(cluster) + services.join('')).warnings.map(formatDiagnostic);
    } catch (e) {
      return (e as LabFileError).diagnostics.map(formatDiagnostic);
    }
  };
  t.same(diags(routed, svc('web', '[{ ip: 203.0.113.10 }, { ip: 203.0.113.11, ipMode: Proxy }]')), [], 'a routed VIP and a Proxy address: nothing to say');
  t.same(
    diags(routed, svc('web', '[{ ip: 203.0.113.20 }]')).map((d) => d.split('\n')[0]),
    ['lab.yaml:19:17  warning  no underlay route sends 203.0.113.20 to the nodes: only the nodes and their pods reach it'],
  );
  t.same(
    diags('  cni: { type: flannel }\n  nodes:\n    node1: {}', svc('web', '[{ ip: 203.0.113.11, ipMode: Proxy }]')).map((d) => d.split('\n')[0]),
    ["lab.yaml:16:43  error  ipMode Proxy needs a router in front of the nodes: the load balancer's proxy runs there"],
  );
  t.same(
    diags(
      routed,
      svc('a', '[{ ip: 192.168.56.200 }, { ip: 10.244.3.7 }, { ip: 10.96.0.99, ipMode: Proxy }]'),
      svc('b', '[{ ip: 203.0.113.10 }]'),
      svc('c', '[{ ip: 203.0.113.10 }]'),
    ).map((d) => d.split('\n')[0]),
    [
      'lab.yaml:19:21  error  192.168.56.200 is inside the underlay subnet 192.168.56.0/24',
      'lab.yaml:19:45  error  10.244.3.7 is inside the pod network 10.244.0.0/16',
      'lab.yaml:19:65  error  10.96.0.99 is inside the service CIDR 10.96.0.0/12',
      'lab.yaml:39:21  error  203.0.113.10 is already the load balancer address of Service default/b',
    ],
  );
  t.match(
    diags(routed, svc('web', '[{ ip: 203.0.113.11, ipMode: Proxy }]', '[{ name: a, port: 80 }, { name: s, port: 9, protocol: SCTP }]')).join('\n'),
    /lab\.yaml:16:\d+ {2}warning {2}203\.0\.113\.11:9\/SCTP is not proxied: the load balancer's proxy \(nginx\) carries TCP and UDP only/,
  );
});

t.test('mistakes in a cluster are reported where they are', async (t) => {
  const errs = errorsOf(
    lab(
      [
        '  podNetwork: 10.244.0.0/16',
        '  cni: { type: calico, backend: vxlan }',
        '  nodes:',
        '    node1: { address: 10.0.0.5, pods: [a] }',
        '    node2: { podCIDR: 10.245.0.0/26, pods: [a] }',
        '    node3: { podCIDR: 10.244.0.0/24 }',
      ].join('\n'),
    ),
  );
  const text = errs.join('\n');
  t.match(text, /lab\.yaml:5:24 {2}error {2}cni\.backend applies to flannel only, not calico/);
  t.match(text, /lab\.yaml:7:23 {2}error {2}10\.0\.0\.5 is on none of the underlay subnets/);
  t.match(text, /lab\.yaml:8:23 {2}error {2}podCIDR 10\.245\.0\.0\/26 is not inside the pod network 10\.244\.0\.0\/16/);
  t.match(text, /lab\.yaml:8:45 {2}error {2}pod "a" is already on node1/);
  t.match(text, /a Calico block is a \/26, not a \/24/);
});

t.test('unknown route reflector, and a reflector named "router" on a single subnet', async (t) => {
  t.match(
    errorsOf(lab('  cni: { type: calico, routeReflector: node9 }\n  nodes:\n    node1: {}')).join('\n'),
    /routeReflector "node9" is neither "router" nor a node/,
  );
  t.match(
    errorsOf(lab('  cni: { type: calico, routeReflector: router }\n  nodes:\n    node1: {}')).join('\n'),
    /routeReflector: router needs a routed underlay/,
  );
});

t.test('a cluster namespace cannot be declared again in the topology', async (t) => {
  t.match(
    errorsOf(lab('  cni: { type: flannel }\n  nodes:\n    node1: {}', 'topology:\n  namespaces:\n    node1: {}\n')).join('\n'),
    /namespace "node1" is already a node, a pod or the underlay of the cluster/,
  );
});

t.test('state and capture checks are validated', async (t) => {
  const c = '  cni: { type: flannel }\n  nodes:\n    node1: { pods: [a] }\n    node2: { pods: [b] }';
  const text = errorsOf(
    lab(
      c,
      [
        'checks:',
        '  - { from: node1, bgp: Mesh_192_168_56_12 }',
        '  - { from: node1, capture: eth0, filter: "udp port 8472" }',
        '  - { from: node1, route: 10.244.2.0/24, expect: { present: false, via: 10.244.2.0 } }',
        '  - { from: node1, neigh: 10.244.2.0, expect: { state: UP } }',
        '  - { from: node1, route: 10.244.2.0/24, expect: unreachable }',
        '  - { from: node1, capture: eth9, during: { from: a, ping: 10.244.2.2 }, expect: { encap: vxlan } }',
        '  - { from: node1, capture: eth0, during: { from: a, ping: 10.244.2.2 }, expect: { vni: 1, encap: udp } }',
      ].join('\n') + '\n',
    ),
  ).join('\n');
  t.match(text, /node1 runs no BIRD/);
  t.match(text, /a capture check needs "during"/);
  t.match(text, /an entry that must be absent has no other fields to match/);
  t.match(text, /state "UP" is not a neigh state/);
  t.match(text, /a route check cannot expect reachable or unreachable/);
  t.match(text, /interface "eth9" is not in namespace node1/);
  t.match(text, /vni needs encap: vxlan/);
});

t.test('the shipped cluster labs load', async (t) => {
  for (const name of ['flannel-vxlan', 'flannel-host-gw', 'flannel-host-gw-routed', 'calico-bgp', 'calico-bgp-rr', 'calico-vxlan', 'cni-plugins']) {
    const { lab: l, warnings } = loadLabFile(`labs/${name}/lab.yaml`);
    t.ok(l.cluster, `${name} has a cluster`);
    t.same(warnings, [], `${name} loads without warnings`);
  }
});
