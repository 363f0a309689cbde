// The loader: every error collected, each with line:column, a message and a hint.
import t from 'tap';
import { loadLabFile } from '../../src/plan/load.js';
import { errorsOf } from './lib/errors.js';
import { LabFileError, formatDiagnostic } from '../../src/labfile/diagnostics.js';

const base = (namespaces: string, rest = '') => `name: demo
title: Demo
topology:
  namespaces:
${namespaces}
${rest}`;

t.test(
  'a valid lab loads, resolved with defaults',
  async (t) => {
    const { lab } = loadLabFile(
      'lab.yaml',
      base(
        '    a:\n      interfaces:\n        e0: { addresses: [10.0.0.1/24] }\n    b:\n      interfaces:\n        e0: { addresses: [10.0.0.2/24] }\n      server: {}',
        '  links:\n    - endpoints: [a:e0, b:e0]\nchecks:\n  - from: a\n    http: http://10.0.0.2/\n',
      ),
    );
    t.equal(lab.namespaces.length, 2);
    t.same(lab.namespaces[1]!.server, { ports: [80], udpPorts: [], pod: 'b', node: 'b', addresses: ['10.0.0.2'], readinessPaths: [] });
    t.same(lab.links, [{ a: { namespace: 'a', interface: 'e0' }, b: { namespace: 'b', interface: 'e0' }, mtu: null }]);
    t.equal(lab.checks[0]!.name, 'a GETs http://10.0.0.2/');
    t.equal(lab.checks[0]!.timeoutMs, 5000);
    t.equal(lab.checks[0]!.line, 15);
  },
  { skip: false },
);

t.test('interfaces must come from links (this lab has none)', async (t) => {
  const errs = errorsOf(base('    a:\n      interfaces:\n        e0: { addresses: [10.0.0.1/24] }'));
  t.match(errs[0], /^lab\.yaml:7:9  error  interface e0 in a is not created by any link\n  hint: add a link with endpoint "a:e0"/);
});

t.test('unknown fields point at the key and suggest the likely one', async (t) => {
  const errs = errorsOf(base('    a:\n      interfacs: {}'));
  t.equal(errs.length, 1);
  t.match(errs[0], /^lab\.yaml:6:7  error  unknown field "interfacs" in topology\.namespaces\.a\n  hint: did you mean "interfaces"\?/);
});

t.test('every error is reported at once, in file order', async (t) => {
  const text = `name: Bad_Name
title: x
topology:
  namespaces:
    a:
      interfaces:
        this-name-is-far-too-long: {}
      routes:
        - { to: 10.1.0.0/33, via: 10.0.0.1 }
  links:
    - endpoints: [a:this-name-is-far-too-long, zz:eth0]
checks:
  - from: a
    ping: 10.0.0.300
`;
  const errs = errorsOf(text);
  t.ok(errs.length >= 4, errs.join('\n'));
  t.match(errs[0], /^lab\.yaml:1:7  error  name "Bad_Name" is not valid\n  hint: use lowercase letters/);
  t.ok(
    errs.some((e) => /^lab\.yaml:7:9  error  invalid interface name "this-name-is-far-too-long" \(25 characters\)/.test(e)),
    'interface name length',
  );
  t.ok(
    errs.some((e) => /^lab\.yaml:9:17  error  route destination "10\.1\.0\.0\/33"/.test(e)),
    'bad CIDR',
  );
  t.ok(
    errs.some((e) => /^lab\.yaml:11:48  error  namespace "zz" is not in topology\.namespaces/.test(e)),
    'unknown namespace in link',
  );
  t.ok(
    errs.some((e) => /^lab\.yaml:14:11  error  "10\.0\.0\.300" is not an IPv4 address/.test(e)),
    'bad ping address',
  );
  const lines = errs.map((e) => Number(/^lab\.yaml:(\d+):/.exec(e)![1]));
  t.same(
    lines,
    [...lines].sort((a, b) => a - b),
    'sorted by position',
  );
});

t.test('YAML syntax errors carry their position', async (t) => {
  const errs = errorsOf('name: x\ntitle: [unclosed\n');
  t.ok(errs.length >= 1);
  t.match(errs[0], /^lab\.yaml:\d+:\d+  error  YAML: /);
});

t.test('duplicate keys are errors', async (t) => {
  const errs = errorsOf('name: a\nname: b\ntitle: t\ntopology: { namespaces: { a: {} } }\n');
  t.match(errs[0], /^lab\.yaml:2:1  error  YAML: Map keys must be unique/);
});

t.test('sysctls outside the network namespace are refused: they would change the whole machine', async (t) => {
  const errs = errorsOf(base('    a:\n      sysctls: { kernel.pid_max: 4096 }'));
  t.match(errs[0], /^lab\.yaml:6:18  error  sysctl "kernel\.pid_max" is not a per-namespace network setting/);
});

t.test('sysctls a new namespace has: per device for all, default or a device of the namespace', async (t) => {
  const ns = (sysctls: string) => base(`    a:\n      sysctls: { ${sysctls} }\n      interfaces: { e: {} }`, '  links: []\n');
  const only = (errs: string[]) => errs.filter((e) => !/not created by any link/.test(e));
  t.same(only(errorsOf(ns('net.ipv4.conf.all.rp_filter: 0, net.ipv4.conf.e.proxy_arp: 1, net.ipv4.neigh.default.base_reachable_time_ms: 30000'))), []);
  t.match(only(errorsOf(ns('net.ipv4.conf.eth9.rp_filter: 0'))), [
    /sysctl "net\.ipv4\.conf\.eth9\.rp_filter" names device "eth9", which is not in namespace a\n {2}hint: use all, default or a device of a: lo, all, default, e/,
  ]);
  // Present in the machine's own namespace only: a new one has no tcp_mem.
  t.match(only(errorsOf(ns('net.ipv4.tcp_mem: 1'))), [/sysctl "net\.ipv4\.tcp_mem" does not exist in a network namespace/]);
});

t.test('routes and NAT rules as ip and iptables take them', async (t) => {
  const host = (routes: string, nat = '') =>
    base(
      `    a:\n      interfaces: { e: { addresses: [10.0.0.2/24] } }\n      routes:\n${routes}${nat}\n    b:\n      interfaces: { e: { addresses: [10.0.0.1/24] } }`,
      '  links:\n    - endpoints: [a:e, b:e]\n',
    );
  t.same(
    errorsOf(host('        - { to: 10.1.0.0/16, via: 10.0.0.1, proto: bird, metric: 4294967295 }\n        - { to: 10.2.0.0/16, via: 10.0.0.1, proto: "186" }')),
    [],
  );
  t.match(errorsOf(host('        - { to: 10.1.0.0/16, via: 10.0.0.1, proto: "256" }')), [/proto "256" is not a routing protocol/]);
  const dnat = (rule: string) => host('        - { to: default, via: 10.0.0.1 }', `\n      nat:\n        - ${rule}`);
  t.same(errorsOf(dnat('{ chain: OUTPUT, protocol: tcp, jump: DNAT, toDestination: "10.0.0.1:8080", outInterface: e }')), []);
  t.match(errorsOf(dnat('{ chain: PREROUTING, jump: DNAT, toDestination: "10.0.0.1:8080" }')), [/a port in toDestination needs a protocol/]);
  t.match(errorsOf(dnat('{ chain: OUTPUT, jump: SNAT, toSource: 10.0.0.2 }')), [
    /SNAT cannot be used in OUTPUT\n {2}hint: the kernel allows SNAT only in POSTROUTING/,
  ]);
  t.match(errorsOf(dnat('{ chain: PREROUTING, outInterface: e, jump: RETURN }')), [/outInterface cannot be used in PREROUTING/]);
});

t.test('names with shell metacharacters never get through', async (t) => {
  t.match(errorsOf(base('    "a;rm":\n      {}'))[0], /invalid namespace name "a;rm"/);
  t.match(errorsOf(base('    a:\n      server: { pod: "$(reboot)" }'))[0], /server\.pod "\$\(reboot\)" must be a plain name/);
  t.match(errorsOf(base('    a:\n      bridges: { "br 0": {} }'))[0], /invalid interface name "br 0"/);
});

t.test('a check needs exactly one probe and sensible expectations', async (t) => {
  const ns = '    a:\n      interfaces:\n        e0: { addresses: [10.0.0.1/24] }\n    b:\n      interfaces:\n        e0: { addresses: [10.0.0.2/24] }';
  const links = '  links:\n    - endpoints: [a:e0, b:e0]\n';
  const errs = errorsOf(
    base(
      ns,
      links +
        'checks:\n  - from: a\n    ping: 10.0.0.2\n    tcp: 10.0.0.2:80\n  - from: a\n    ping: 10.0.0.2\n    expect: { status: 200 }\n  - from: b\n    http: http://10.0.0.1/\n    requests: 2\n    expect: { backends: [x, y, z] }\n',
    ),
  );
  t.match(
    errs.join('\n'),
    /a check takes one of ping, tcp, http, udp, sctp, dns, trace, link, route, neigh, fdb, conntrack, counters, bgp, capture, exec, not ping and tcp/,
  );
  t.match(errs.join('\n'), /expect\.status applies to http checks only/);
  t.match(errs.join('\n'), /2 request\(s\) cannot reach 3 backends/);
});

t.test('udp, sctp and conntrack checks: what each takes', async (t) => {
  const ns = '    a:\n      interfaces:\n        e0: { addresses: [10.0.0.1/24] }\n    b:\n      interfaces:\n        e0: { addresses: [10.0.0.2/24] }';
  const links = '  links:\n    - endpoints: [a:e0, b:e0]\n';
  const checks = (text: string) => errorsOf(base(ns, links + 'checks:\n' + text)).join('\n');
  t.equal(checks('  - { from: a, udp: 10.0.0.2:53, requests: 40, expect: { backends: [b], json: { pod: b } } }\n'), '', 'json and backends, as for http');
  t.equal(checks('  - { from: a, udp: 10.0.0.2:53, sourcePort: 40000, expect: { json: { pod: b } } }\n'), '');
  t.equal(
    checks('  - { from: a, conntrack: udp 10.0.0.2:53, expect: { sport: 40000, dstNat: 10.0.0.3, present: false } }\n'),
    '',
    'an absent flow is named by port and DNAT target',
  );
  t.equal(checks('  - { from: a, sctp: 10.0.0.2:9999, expect: { reachable: false, failure: refused } }\n'), '');
  t.match(checks('  - { from: a, udp: 10.0.0.2 }\n'), /"10\.0\.0\.2" is not address:port/);
  t.match(
    checks('  - { from: a, udp: 10.0.0.2:53, sourcePort: 40000, requests: 20, expect: { backends: 2 } }\n'),
    /datagrams from one source port cannot reach 2 backends/,
  );
  t.match(checks('  - { from: a, http: "http://10.0.0.2/", sourcePort: 40000 }\n'), /sourcePort applies to udp checks only/);
  t.match(
    checks('  - { from: a, udp: 10.0.0.2:53, expect: { reachable: false, failure: refused } }\n'),
    /expect\.failure applies to tcp, http, sctp checks only/,
  );
  t.match(checks('  - { from: a, sctp: 10.0.0.2:9999, requests: 3 }\n'), /requests applies to http and udp checks only/);
  t.match(checks('  - { from: a, conntrack: 10.0.0.2:53 }\n'), /"10\.0\.0\.2:53" is not "PROTOCOL ADDRESS\[:PORT\]"/);
  t.match(checks('  - { from: a, conntrack: udp 10.0.0.x }\n'), /"10\.0\.0\.x" is not an IPv4 address/);
  t.match(checks('  - { from: a, conntrack: udp 10.0.0.2, expect: { dstNat: pod } }\n'), /dstNat "pod" is not an IPv4 address/);
  t.match(checks('  - { from: a, conntrack: udp 10.0.0.2, expect: unreachable }\n'), /a conntrack check cannot expect reachable or unreachable/);
  t.match(checks('  - { from: a, ping: 10.0.0.2, expect: { sport: 1 } }\n'), /expect\.sport applies to conntrack checks only/);
});

t.test('enumerations list what is allowed', async (t) => {
  const errs = errorsOf(base('    a:\n      nat:\n        - { chain: FORWARD, jump: MASQUERADE }'));
  t.match(errs[0], /chain is "FORWARD"; it must be one of "PREROUTING", "POSTROUTING", "OUTPUT"/);
});

t.test('a gateway off every connected subnet is a warning that names the kernel error', async (t) => {
  const text = base(
    '    a:\n      interfaces:\n        e0: { addresses: [10.0.0.1/24] }\n      routes:\n        - { to: default, via: 10.9.9.9 }\n    b:\n      interfaces:\n        e0: {}',
    '  links:\n    - endpoints: [a:e0, b:e0]\n',
  );
  const { warnings } = loadLabFile('lab.yaml', text);
  t.equal(warnings.length, 1);
  t.match(
    formatDiagnostic(warnings[0]!),
    /^lab\.yaml:9:31  warning  gateway 10\.9\.9\.9 is not on any subnet of a; the kernel will refuse the route \("Nexthop has invalid gateway"\)/,
  );
});

t.test('the shipped labs are valid', async (t) => {
  for (const name of ['netns-veth', 'docker-bridge']) {
    const { lab, warnings } = loadLabFile(`labs/${name}/lab.yaml`);
    t.equal(lab.name, name);
    t.same(warnings, []);
  }
});

t.test('a manifest of an unsupported kind is the one error: checks from the pods beside it are not reported again', async (t) => {
  const cluster = `name: k
title: K
cluster:
  cni: { type: flannel }
  nodes:
    node1: {}
`;
  const pod = '---\napiVersion: v1\nkind: Pod\nmetadata: { name: web-1 }\nspec:\n  nodeName: node1\n  containers: [{ name: c, image: nginx }]\n';
  // A file named under manifests: (seed 004's flannel ConfigMap), the lab file beside it.
  let errs: string[] = [];
  try {
    loadLabFile('test/fixtures/lab.yaml', `${cluster}manifests: [manifests/seed004-flannel-configmap.yaml]\nchecks:\n  - { from: web-1, ping: 10.244.1.1 }\n`);
  } catch (e) {
    if (!(e instanceof LabFileError)) throw e;
    errs = e.diagnostics.map(formatDiagnostic);
  }
  t.equal(errs.length, 1, errs.join('\n'));
  t.match(errs[0], /^test\/fixtures\/manifests\/seed004-flannel-configmap\.yaml:2:7 {2}error {2}kind "ConfigMap" is not supported\n/);
  // An error before the manifests (a node address off the underlay) leaves their pods unknown too.
  const before = errorsOf(`${cluster.replace('node1: {}', 'node1: { address: 10.9.9.9 }')}checks:\n  - { from: web-1, ping: 10.244.1.1 }\n${pod}`);
  t.equal(before.length, 1, before.join('\n'));
  t.match(before[0], /10\.9\.9\.9 is on none of the underlay subnets/);
  // Schema errors in the lab file (a value, a key, a structure) with manifest pods: each is the one error.
  const fromPod = `checks:\n  - { from: web-1, ping: 10.244.1.1 }\n  - { from: web-1, http: http://10.244.1.2/, requests: 2, expect: { backends: [web-1] } }\n`;
  for (const [what, text, error] of [
    ['a bad lab name', `${cluster.replace('name: k', 'name: K_1')}${fromPod}${pod}`, /name "K_1" is not valid/],
    ['a request count below 1', `${cluster}${fromPod.replace('requests: 2', 'requests: 0')}${pod}`, /checks\.1\.requests must be >= 1/],
    [
      'an unknown key in a check from a pod',
      `${cluster}${fromPod.replace('ping: 10.244.1.1', 'ping: 10.244.1.1, pong: 1')}${pod}`,
      /unknown field "pong" in checks\.0/,
    ],
    ['a bad node key', `${cluster.replace('node1: {}', 'node1: {}\n    Node3: {}')}${fromPod}${pod}`, /cluster\.nodes: "Node3" is not a valid name/],
    ['a bad pod address in a check', `${cluster}${fromPod.replace('ping: 10.244.1.1', 'ping: banana')}${pod}`, /"banana" is not an IPv4 address/],
  ] as const) {
    const errs = errorsOf(text);
    t.equal(errs.length, 1, `${what}: ${errs.join('\n')}`);
    t.match(errs[0], error, what);
  }
  // Sound manifests: a misspelt pod is still reported, with the pods they made as candidates.
  const typo = errorsOf(`${cluster}checks:\n  - { from: web-l, ping: 10.244.1.1 }\n${pod}`);
  t.equal(typo.length, 1);
  t.match(typo[0], /namespace "web-l" is not in topology\.namespaces\n {2}hint: did you mean "web-1"\?/);
});
