// Calico naming, host sysctls and the BIRD configuration text (no root, no BIRD needed; the real
// daemon runs it in test/integration/calico-bird.test.ts).
import t from 'tap';
import {
  AS_NUMBER,
  CALI_MAC,
  NORMAL_ROUTE_PRIORITY,
  POD_GATEWAY,
  VXLAN_PORT,
  VXLAN_VNI,
  birdConfig,
  birdPeerName,
  birdProtocolState,
  caliName,
  hostSideSysctls,
  meshPassive,
} from '../../src/components/calico/bird.js';

/** The text of one top-level block, from its opening line to its closing brace. */
function block(conf: string, opening: string): string {
  const start = conf.indexOf(`\n${opening}`);
  if (start < 0) throw new Error(`no block ${opening}`);
  const end = conf.indexOf('\n}\n', start);
  return conf.slice(start + 1, end + 3);
}

const POOL = '10.244.0.0/16';
const mesh = birdConfig({
  routerId: '192.168.56.11',
  nodeIP: '192.168.56.11',
  blocks: ['10.244.36.64/26'],
  pools: [POOL],
  peers: ['192.168.56.10', '192.168.56.11', '192.168.56.12', '192.168.56.9'].map((ip) => ({ ip, kind: 'mesh' as const })),
  socketHint: '/run/knetlab/n1/bird.ctl',
});
const rr = birdConfig({
  routerId: '192.168.56.1',
  nodeIP: '192.168.56.1',
  blocks: [],
  pools: [POOL],
  routeReflector: true,
  clusterId: '244.0.0.1',
  peers: [
    { ip: '192.168.56.11', kind: 'rr-client' },
    { ip: '192.168.57.12', kind: 'rr-client' },
  ],
});
const client = birdConfig({
  routerId: '192.168.57.12',
  nodeIP: '192.168.57.12',
  blocks: ['10.244.104.0/26'],
  pools: [POOL],
  peers: [{ ip: '192.168.56.1', kind: 'rr' }],
});

t.test('veth names: cali + 11 hex chars of sha1("<namespace>.<pod>")', async (t) => {
  t.equal(caliName('default', 'web-0'), 'cali0d7763386da');
  t.equal(caliName('default', 'nginx'), 'calic440f455693');
  t.equal(caliName('default', 'nginx').length, 15, 'exactly IFNAMSIZ - 1');
  t.equal(caliName('default', 'nginx', 'tap'), 'tapc440f455693', 'FELIX_INTERFACEPREFIX');
  t.not(caliName('default', 'web-0'), caliName('kube-system', 'web-0'));
});

t.test('constants and host-side sysctls', async (t) => {
  t.equal(CALI_MAC, 'ee:ee:ee:ee:ee:ee');
  t.equal(POD_GATEWAY, '169.254.1.1');
  t.equal(AS_NUMBER, 64512);
  t.equal(VXLAN_VNI, 4096);
  t.equal(VXLAN_PORT, 4789);
  t.equal(NORMAL_ROUTE_PRIORITY, 1024);
  t.same(hostSideSysctls('cali0d7763386da'), [
    ['net.ipv4.conf.cali0d7763386da.proxy_arp', '1'],
    ['net.ipv4.neigh.cali0d7763386da.proxy_delay', '0'],
    ['net.ipv4.conf.cali0d7763386da.forwarding', '1'],
    ['net.ipv4.conf.cali0d7763386da.route_localnet', '1'],
  ]);
  t.throws(() => hostSideSysctls('vxlan.calico'), /not a usable interface name/);
  t.throws(() => hostSideSysctls('a-very-long-interface'), /not a usable interface name/);
});

t.test('peer names and the passive rule (string comparison, as confd does)', async (t) => {
  t.equal(birdPeerName({ ip: '192.168.56.12', kind: 'mesh' }), 'Mesh_192_168_56_12');
  t.equal(birdPeerName({ ip: '192.168.56.1', kind: 'rr' }), 'Node_192_168_56_1');
  t.equal(birdPeerName({ ip: '192.168.57.12', kind: 'rr-client' }), 'Node_192_168_57_12');
  t.equal(meshPassive('192.168.56.11', '192.168.56.12'), true);
  t.equal(meshPassive('192.168.56.11', '192.168.56.10'), false);
  t.equal(meshPassive('192.168.56.11', '192.168.56.9'), true, '"9" sorts after "1": passive although numerically lower');
  t.equal(meshPassive('192.168.56.9', '192.168.56.11'), false);
});

t.test('mesh node: Calico structure in BIRD 2 syntax', async (t) => {
  const lines = mesh.split('\n');
  t.match(lines[0], /^# knetlab: BIRD 2 configuration for Calico node 192\.168\.56\.11\.$/);
  t.match(mesh, '# Query it with: birdc -s /run/knetlab/n1/bird.ctl show protocols');
  t.match(mesh, /^router id 192\.168\.56\.11;$/m);
  for (const l of [
    '  learn;             # Learn all alien routes from the kernel',
    "  persist;           # Don't remove routes on bird shutdown",
    '  scan time 2;       # Scan kernel routing table every 2 seconds',
    '  interface -"cali*", -"kube-ipvs*", "*"; # Exclude cali* and kube-ipvs* but',
    '   route 10.244.36.64/26 blackhole;',
    '      if ( net = 10.244.36.64/26 ) then { accept; }',
    '      if ( net ~ 10.244.36.64/26 && krt_metric < 1024 ) then { accept; }',
    '      if ( net ~ 10.244.36.64/26 ) then { reject; }',
    '  local as 64512;',
    '    gateway recursive; # This should be the default, but just in case.',
    '    add paths on;',
    '  graceful restart;  # See comment in kernel section about graceful restart.',
    '  connect delay time 2;',
    '  connect retry time 5;',
    '  error wait time 5,30;',
    '  merge paths on;    # Allow export multipath routes (ECMP)',
    '  metric 0;          # BIRD 2 defaults to 32; 0 lets krt_metric decide, as in BIRD 1.x',
  ]) {
    t.ok(lines.includes(l), `has line: ${l.trim()}`);
  }
  t.equal(
    block(mesh, 'protocol kernel from kernel_template {').split('\n').slice(0, 4).join('\n'),
    'protocol kernel from kernel_template {\n  ipv4 {\n    export filter calico_kernel_programming; # Default is export none\n  };',
  );
  t.equal(block(mesh, 'protocol static from static_template {'), 'protocol static from static_template {\n}\n');
  t.equal(
    block(mesh, 'filter calico_kernel_programming {'),
    [
      'filter calico_kernel_programming {',
      '  # knetlab: BIRD 1.x never exports device routes to the kernel ("device routes" defaults to off); BIRD 2',
      '  # has no such switch and would retry the connected subnets every scan ("Netlink: File exists").',
      '  if (source = RTS_DEVICE) then { reject; }',
      '  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {',
      '      krt_metric = 1024;',
      '      if (defined(bgp_local_pref)) then {',
      '          krt_metric = 2147483647 - bgp_local_pref;',
      '      }',
      '      if (krt_metric < 1024) then {',
      '          preference = 200;',
      '      }',
      '  }',
      '  if (net ~ 10.244.0.0/16) then { accept; }',
      '  accept;',
      '}',
      '',
    ].join('\n'),
  );
  t.match(
    block(mesh, 'function calico_export_to_bgp_peers(bool internal_peer) {'),
    /  calico_aggr\(\);\n  if \(net ~ 10\.244\.0\.0\/16\) then \{ accept; \}\n\}/,
  );

  t.notMatch(mesh, 'Mesh_192_168_56_11', 'no session to itself');
  t.equal(
    block(mesh, 'protocol bgp Mesh_192_168_56_12 from bgp_template {'),
    [
      'protocol bgp Mesh_192_168_56_12 from bgp_template {',
      '  neighbor 192.168.56.12 as 64512;',
      '  source address 192.168.56.11;  # The local address we use for the TCP connection',
      '  ttl security off;',
      '  multihop;',
      '  ipv4 {',
      '    import filter {',
      '      if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then',
      '        preference = 200;',
      '      accept;',
      '    };',
      '    export filter {',
      '      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {',
      '        krt_metric = 2147483647 - bgp_local_pref;',
      '      } else {',
      '        if (!defined(krt_metric)) then { krt_metric = 1024; }',
      '        bgp_local_pref = 2147483647 - krt_metric;',
      '      }',
      '      calico_export_to_bgp_peers(true);',
      '      reject;',
      '    };  # Only want to export routes for workloads.',
      '  };',
      '  passive on;',
      '}',
      '',
    ].join('\n'),
  );
  t.notMatch(block(mesh, 'protocol bgp Mesh_192_168_56_10 '), 'passive', '.10 < .11: this side connects');
  t.match(block(mesh, 'protocol bgp Mesh_192_168_56_9 '), 'passive on;', '"192.168.56.9" > "192.168.56.11" as strings');
  t.notMatch(mesh, /rr client|rr cluster id/);
});

t.test('route reflector and its clients', async (t) => {
  t.match(rr, '(route reflector, cluster id 244.0.0.1)');
  t.match(rr, 'installs the routes it reflects into its own kernel table');
  t.match(rr, '# No IP blocks or static routes for this host.');
  t.notMatch(rr, 'protocol static');
  t.match(rr, 'function calico_aggr ()\n{\n}\n', 'no blocks to aggregate');
  const c1 = block(rr, 'protocol bgp Node_192_168_56_11 from bgp_template {');
  t.match(c1, '  neighbor 192.168.56.11 as 64512;\n  source address 192.168.56.1;');
  t.match(c1, '  };\n  rr client;\n  rr cluster id 244.0.0.1;\n}');
  t.notMatch(c1, 'passive');
  t.match(block(rr, 'protocol bgp Node_192_168_57_12 from bgp_template {'), 'rr cluster id 244.0.0.1;');

  const up = block(client, 'protocol bgp Node_192_168_56_1 from bgp_template {');
  t.match(up, '  neighbor 192.168.56.1 as 64512;\n  source address 192.168.57.12;');
  t.notMatch(up, /passive|rr client/, 'a BGPPeer to the RR is neither passive nor a client');

  const server = birdConfig({
    routerId: '192.168.56.1',
    nodeIP: '192.168.56.1',
    blocks: [],
    pools: [POOL],
    clusterId: '244.0.0.1',
    exportToKernel: false,
    peers: [],
  });
  t.match(server, '    export none;     # knetlab: reflect only, never install');
  t.notMatch(server, 'export filter calico_kernel_programming');
  t.match(server, '# No BGP peers configured for this node');
  t.notMatch(rr, 'WARNING');
  t.match(
    birdConfig({
      routerId: '192.168.56.1',
      nodeIP: '192.168.56.1',
      blocks: [],
      pools: [],
      clusterId: '244.0.0.1',
      peers: [{ ip: '192.168.56.11', kind: 'rr-client' }],
    }),
    '# WARNING: no pools. calico_export_to_bgp_peers accepts only pool routes, so this route reflector reflects nothing.',
    'an RR without pools would reflect nothing (verified with BIRD 2.0.12)',
  );
});

t.test('VXLAN pools: advertised, but their routes are left to Felix', async (t) => {
  const vx = birdConfig({ routerId: '192.168.56.11', nodeIP: '192.168.56.11', blocks: ['10.244.36.64/26'], pools: [POOL], vxlanPools: true, peers: [] });
  t.match(block(vx, 'filter calico_kernel_programming {'), '  if (net ~ 10.244.0.0/16) then { reject; } # VXLAN routes are handled by Felix.\n  accept;\n}');
  t.match(block(vx, 'function calico_export_to_bgp_peers(bool internal_peer) {'), '  if (net ~ 10.244.0.0/16) then { accept; }');
});

t.test('options are checked', async (t) => {
  const base = { routerId: '192.168.56.11', nodeIP: '192.168.56.11', blocks: [], pools: [POOL], peers: [] };
  t.throws(() => birdConfig({ ...base, nodeIP: '192.168.56.256' }), /nodeIP: not an IPv4 address/);
  t.throws(() => birdConfig({ ...base, blocks: ['10.244.36.65/26'] }), /host bits set/);
  t.throws(() => birdConfig({ ...base, pools: ['10.244.0.0'] }), /not an IPv4 CIDR/);
  t.throws(() => birdConfig({ ...base, routeReflector: true }), /needs a clusterId/);
  t.throws(() => birdConfig({ ...base, clusterId: '244.0.0.1', peers: [{ ip: '192.168.56.12', kind: 'mesh' }] }), /cannot have mesh peer/);
  t.throws(() => birdConfig({ ...base, peers: [{ ip: '192.168.56.12', kind: 'rr-client' }] }), /needs routeReflector/);
  t.throws(
    () =>
      birdConfig({
        ...base,
        peers: [
          { ip: '192.168.56.1', kind: 'rr' },
          { ip: '192.168.56.1', kind: 'rr' },
        ],
      }),
    /duplicate peer Node_192_168_56_1/,
  );
  t.throws(() => birdConfig({ ...base, logFile: '/tmp/a"b' }), /unusable path/);
  t.match(birdConfig({ ...base, logFile: '/run/knetlab/n1/bird.log' }), /^log "\/run\/knetlab\/n1\/bird\.log" all;$/m);
  t.match(birdConfig({ ...base, asNumber: 65001 }), '  local as 65001;');
});

// Captured from BIRD 2.0.12 (`birdc -s SOCK show protocols`), trailing spaces included.
const ESTABLISHED = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
static1    Static     master4    up     01:44:29.053  
kernel1    Kernel     master4    up     01:44:29.053  
device1    Device     ---        up     01:44:29.053  
direct1    Direct     ---        up     01:44:29.053  
Mesh_192_168_56_12 BGP        ---        up     01:44:30.990  Established   
Mesh_192_168_56_13 BGP        ---        up     01:44:30.747  Established   
`;
const CONNECTING = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
static1    Static     master4    up     01:45:53.200  
kernel1    Kernel     master4    up     01:45:53.200  
device1    Device     ---        up     01:45:53.200  
direct1    Direct     ---        up     01:45:53.200  
Mesh_192_168_56_10 BGP        ---        start  01:45:53.200  Connect       Socket: No route to host
Mesh_192_168_56_12 BGP        ---        start  01:45:53.200  Passive       
Node_127_0_0_1 BGP        ---        start  01:45:53.200  Active        Socket: Connection closed
`;

t.test('birdProtocolState parses BIRD 2 show protocols', async (t) => {
  t.same(birdProtocolState(ESTABLISHED), [
    { name: 'static1', proto: 'Static', state: 'up', info: '' },
    { name: 'kernel1', proto: 'Kernel', state: 'up', info: '' },
    { name: 'device1', proto: 'Device', state: 'up', info: '' },
    { name: 'direct1', proto: 'Direct', state: 'up', info: '' },
    { name: 'Mesh_192_168_56_12', proto: 'BGP', state: 'up', info: 'Established' },
    { name: 'Mesh_192_168_56_13', proto: 'BGP', state: 'up', info: 'Established' },
  ]);
  t.same(
    birdProtocolState(CONNECTING)
      .filter((p) => p.proto === 'BGP')
      .map((p) => [p.name, p.state, p.info]),
    [
      ['Mesh_192_168_56_10', 'start', 'Connect       Socket: No route to host'],
      ['Mesh_192_168_56_12', 'start', 'Passive'],
      ['Node_127_0_0_1', 'start', 'Active        Socket: Connection closed'],
    ],
  );
  t.same(
    birdProtocolState('Mesh_10_0_0_2 BGP        ---        up     2024-05-01 12:00:01  Established\n').map((p) => p.info),
    ['Established'],
    'a Since with a date',
  );
  t.same(
    birdProtocolState('1002-Mesh_10_0_0_2 BGP        ---        up     12:00:01.000  Established\n').map((p) => p.name),
    ['Mesh_10_0_0_2'],
    'birdc -v reply codes',
  );
  t.same(birdProtocolState(''), []);
});
