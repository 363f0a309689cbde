// kube-proxy's IPVS mode (src/components/kube-proxy/ipvs.ts) against ../shared/reference/kube-proxy.md
// §2: the worked example §2.4 (ipsets, virtual servers, iptables rules), stale removal and graceful
// termination, schedulers, affinity, externalTrafficPolicy Local, source ranges. The payloads are
// loaded into a real kernel in test/integration/proxy-ipvs.test.ts.
import t from 'tap';
import { DEFAULT_KUBE_PROXY_CONFIGURATION, type EndpointConditions, type KubeProxyConfiguration } from '../../src/api/objects.js';
import { NODE, endpoint, port, rules, service, slice } from './lib/kube-api.js';
import {
  SETS,
  addressesOn,
  createLine,
  ipsetRestorePayload,
  ipvsProxier,
  ipvsState,
  ipvsadmRestorePayload,
  parseIpvsadmList,
} from '../../src/components/kube-proxy/ipvs.js';
import { kubeProxySysctls, syncPeriods } from '../../src/components/kube-proxy/config.js';

const NODE_ADDRESSES = ['127.0.0.1', '192.168.0.2', '192.168.1.2', '192.168.99.11'];
const CONFIG: KubeProxyConfiguration = { ...DEFAULT_KUBE_PROXY_CONFIGURATION, mode: 'ipvs' };
const ctx = (config: Partial<KubeProxyConfiguration> = {}, nodeAddresses = NODE_ADDRESSES) => ({
  config: { ...CONFIG, ...config },
  clusterCIDR: '10.0.0.0/8',
  nodeAddresses,
});
const TERMINATING: EndpointConditions = { ready: false, serving: true, terminating: true };

// §2.4: ns1/svc1, ClusterIP 172.30.0.41:80, NodePort 3001, three endpoints on this node.
const svc1 = service('ns1', 'svc1', { type: 'NodePort', ports: [port('p80', 80, { nodePort: 3001 })] });
const eps1 = slice(
  'ns1',
  'svc1',
  ['10.180.0.1', '10.180.0.2', '10.180.0.3'].map((ip) => endpoint(ip, NODE.name)),
);
const example = () => ipvsProxier.sync(NODE, { services: [svc1], slices: [eps1] }, null, ctx());
const input = (file: string, args?: string[]) => {
  const cmd = example().commands.find((c) => c.file === file && (!args || c.args.join(' ') === args.join(' ')));
  return cmd?.input ?? '';
};

t.test('the worked example: ipsets as §2.4 lists them, every other set created empty', async (t) => {
  const payload = input('ipset');
  t.equal(
    payload,
    [
      'create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536',
      'add KUBE-LOOP-BACK 10.180.0.1,tcp:80,10.180.0.1',
      'add KUBE-LOOP-BACK 10.180.0.2,tcp:80,10.180.0.2',
      'add KUBE-LOOP-BACK 10.180.0.3,tcp:80,10.180.0.3',
      'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536',
      'add KUBE-CLUSTER-IP 172.30.0.41,tcp:80',
      'create KUBE-EXTERNAL-IP hash:ip,port family inet hashsize 1024 maxelem 65536',
      'create KUBE-EXTERNAL-IP-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536',
      'create KUBE-LOAD-BALANCER hash:ip,port family inet hashsize 1024 maxelem 65536',
      'create KUBE-LOAD-BALANCER-FW hash:ip,port family inet hashsize 1024 maxelem 65536',
      'create KUBE-LOAD-BALANCER-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536',
      'create KUBE-LOAD-BALANCER-SOURCE-IP hash:ip,port,ip family inet hashsize 1024 maxelem 65536',
      'create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536',
      'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535',
      'add KUBE-NODE-PORT-TCP 3001',
      'create KUBE-NODE-PORT-LOCAL-TCP bitmap:port range 0-65535',
      'create KUBE-NODE-PORT-UDP bitmap:port range 0-65535',
      'create KUBE-NODE-PORT-LOCAL-UDP bitmap:port range 0-65535',
      'create KUBE-NODE-PORT-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536',
      'create KUBE-NODE-PORT-LOCAL-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536',
      'create KUBE-HEALTH-CHECK-NODE-PORT bitmap:port range 0-65535',
      'create KUBE-IPVS-IPS hash:ip family inet hashsize 1024 maxelem 65536',
      'add KUBE-IPVS-IPS 172.30.0.41',
      '',
    ].join('\n'),
  );
  t.equal(SETS.length, 17);
  t.equal(
    SETS.find((s) => s.name === 'KUBE-LOAD-BALANCER-SOURCE-CIDR')?.comment,
    'Kubernetes service load balancer ip + port + source cidr for packet filter purpose',
  );
});

t.test('the worked example: one VS per ClusterIP:port and per node address (not loopback):NodePort, three masqueraded real servers of weight 1', async (t) => {
  const rs = (vs: string) => ['10.180.0.1:80', '10.180.0.2:80', '10.180.0.3:80'].map((r) => `-a -t ${vs} -r ${r} -m -w 1`);
  t.equal(
    input('ipvsadm'),
    [
      '-A -t 172.30.0.41:80 -s rr',
      ...rs('172.30.0.41:80'),
      '-A -t 192.168.0.2:3001 -s rr',
      ...rs('192.168.0.2:3001'),
      '-A -t 192.168.1.2:3001 -s rr',
      ...rs('192.168.1.2:3001'),
      '-A -t 192.168.99.11:3001 -s rr',
      ...rs('192.168.99.11:3001'),
      '',
    ].join('\n'),
  );
  t.equal(input('ip'), 'address add 172.30.0.41/32 dev kube-ipvs0\n', 'the ClusterIP goes on kube-ipvs0, node IPs do not');
});

t.test('the worked example: the iptables rules of §2.3, in the order kube-proxy writes them', async (t) => {
  const payload = input('iptables-restore');
  t.same(rules(payload, 'filter'), [
    '-A KUBE-SOURCE-RANGES-FIREWALL -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT',
    '-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN',
    '-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN',
    '-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN',
    '-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN',
    '-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN',
    '-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT',
  ]);
  t.same(rules(payload, 'nat'), [
    '-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN',
    '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
    '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
    '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
    '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
    '-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ',
    '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000',
  ]);
  t.match(payload, /^\*filter\n:KUBE-FORWARD - \[0:0\]\n:KUBE-NODE-PORT - \[0:0\]\n:KUBE-PROXY-FIREWALL - \[0:0\]\n:KUBE-SOURCE-RANGES-FIREWALL/);
  t.notMatch(payload, /-I /, 'the first sync adds no jumps: setup did');
});

t.test('setup: kube-ipvs0 (dummy), the jumps prepended in iptablesJumpChain order; again only what is missing', async (t) => {
  const setup = ipvsProxier.setup(null);
  t.same(setup[1], { file: 'ip', args: ['link', 'add', 'kube-ipvs0', 'type', 'dummy'] });
  const payload = setup[2]!.input!;
  t.match(payload, '-I INPUT 1 -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER');
  t.match(payload, '-I OUTPUT 1 -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER');
  t.match(payload, '-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  const save = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    'COMMIT',
    '*filter',
    'COMMIT',
  ].join('\n');
  const again = ipvsProxier.setup([save, '', '', '2: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN'])!;
  t.equal(again.length, 1, 'listed already, kube-ipvs0 exists: only the missing jumps');
  t.notMatch(again[0]!.input!, /-I PREROUTING/);
  t.notMatch(again[0]!.input!, /:KUBE-SERVICES/, 'an existing chain is not declared (that would flush it)');
  t.match(again[0]!.input!, '-I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
});

const LISTING = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  172.30.0.41:80 rr
  -> 10.180.0.1:80                Masq    1      0          0
  -> 10.180.0.2:80                Masq    1      2          1
  -> 10.180.0.9:80                Masq    1      0          0
TCP  172.30.0.99:80 rr persistent 10800
  -> 10.180.0.5:80                Masq    1      0          0
UDP  172.30.0.10:53 rr
  -> 10.180.0.7:53                Masq    1      0          3
`;

t.test('ipvsadm -Ln is read back: schedulers, persistence, weights, connections', async (t) => {
  const listed = parseIpvsadmList(LISTING);
  t.equal(listed.length, 3);
  t.same(listed[1], {
    protocol: 'tcp',
    address: '172.30.0.99',
    port: 80,
    scheduler: 'rr',
    persistence: 10800,
    realServers: [{ address: '10.180.0.5:80', weight: 1, connections: 0 }],
  });
  t.same(listed[0]!.realServers[1], { address: '10.180.0.2:80', weight: 1, connections: 3 });
});

t.test('stale removal and graceful termination against the listed table', async (t) => {
  const wanted = [
    { protocol: 'tcp' as const, address: '172.30.0.41', port: 80, scheduler: 'rr', persistence: null, realServers: ['10.180.0.1:80', '10.180.0.3:80'] },
  ];
  t.equal(
    ipvsadmRestorePayload(wanted, LISTING),
    [
      '-a -t 172.30.0.41:80 -r 10.180.0.3:80 -m -w 1',
      '-e -t 172.30.0.41:80 -r 10.180.0.2:80 -m -w 0',
      '-d -t 172.30.0.41:80 -r 10.180.0.9:80',
      '-D -t 172.30.0.99:80',
      '-D -u 172.30.0.10:53',
      '',
    ].join('\n'),
    'a real server with connections drains at weight 0; one without goes; VSs nobody wants go',
  );
  const draining = LISTING.replace('10.180.0.2:80                Masq    1', '10.180.0.2:80                Masq    0');
  t.notMatch(ipvsadmRestorePayload(wanted, draining), /10\.180\.0\.2/, 'still draining: left alone');
  const back = { ...wanted[0]!, realServers: ['10.180.0.1:80', '10.180.0.2:80'] };
  t.match(ipvsadmRestorePayload([back], draining), '-e -t 172.30.0.41:80 -r 10.180.0.2:80 -m -w 1', 'wanted again: weight 1');
  t.notMatch(ipvsadmRestorePayload(wanted, LISTING, ['172.30.0.96/30']), /-D -t 172\.30\.0\.99/, 'excludeCIDRs: left to whoever made it');
  const udp = [{ protocol: 'udp' as const, address: '172.30.0.10', port: 53, scheduler: 'rr', persistence: null, realServers: [] }];
  t.match(ipvsadmRestorePayload(udp, LISTING), '-d -u 172.30.0.10:53 -r 10.180.0.7:53', 'UDP: no graceful termination');
  t.equal(
    ipvsadmRestorePayload(
      parseIpvsadmList(LISTING).map((vs) => ({ ...vs, realServers: vs.realServers.map((r) => r.address) })),
      LISTING,
    ),
    '',
    'nothing changes: empty',
  );
});

t.test('ipsets: the exact difference against ipset save', async (t) => {
  const save = `${SETS.map(createLine).join('\n')}\nadd KUBE-CLUSTER-IP 172.30.0.41,tcp:80\nadd KUBE-CLUSTER-IP 172.30.0.50,tcp:80\nadd KUBE-IPVS-IPS 172.30.0.50\n`;
  const state = ipvsState(NODE, [svc1], [eps1], { scheduler: '', nodeAddresses: NODE_ADDRESSES, nodePortIPs: null });
  const payload = ipsetRestorePayload(state.sets, save);
  t.notMatch(payload, /^create/m, 'every set exists');
  t.match(payload, 'del KUBE-CLUSTER-IP 172.30.0.50,tcp:80');
  t.match(payload, 'del KUBE-IPVS-IPS 172.30.0.50');
  t.match(payload, 'add KUBE-IPVS-IPS 172.30.0.41');
  t.notMatch(payload, 'add KUBE-CLUSTER-IP 172.30.0.41,tcp:80');
});

t.test('a /32 source range is compared as ipset save lists it (no prefix), so a resync leaves it alone', async (t) => {
  const wanted = new Map([['KUBE-LOAD-BALANCER-SOURCE-CIDR', new Set(['5.6.7.8,tcp:80,203.0.113.2/32', '5.6.7.8,tcp:80,203.0.113.0/25'])]]);
  const save = `${SETS.map(createLine).join('\n')}\nadd KUBE-LOAD-BALANCER-SOURCE-CIDR 5.6.7.8,tcp:80,203.0.113.2\nadd KUBE-LOAD-BALANCER-SOURCE-CIDR 5.6.7.8,tcp:80,203.0.113.0/25\n`;
  t.equal(ipsetRestorePayload(wanted, save), '');
});

t.test('stale VIPs are unbound after the sync; bound ones are not node addresses', async (t) => {
  const now = [
    '',
    '',
    '',
    '9: kube-ipvs0: <BROADCAST,NOARP> mtu 1500\n9: kube-ipvs0    inet 172.30.0.41/32 scope global kube-ipvs0\n9: kube-ipvs0    inet 172.30.0.50/32 scope global kube-ipvs0\n',
  ];
  t.same(addressesOn(now[3]!, 'kube-ipvs0'), ['172.30.0.41', '172.30.0.50']);
  const { commands } = ipvsProxier.sync(NODE, { services: [svc1], slices: [eps1] }, now, ctx({}, [...NODE_ADDRESSES, '172.30.0.41', '172.30.0.50']));
  t.same(commands.at(-1), { file: 'ip', args: ['-batch', '-'], input: 'address del 172.30.0.50/32 dev kube-ipvs0\n' });
  t.notOk(
    commands.some((c) => c.input?.includes('address add')),
    '172.30.0.41 is bound already',
  );
  t.notMatch(commands.find((c) => c.file === 'ipvsadm')?.input ?? '', /172\.30\.0\.(41|50):3001/, 'VIPs on kube-ipvs0 get no NodePort VS');
});

t.test('the scheduler comes from ipvs.scheduler; ClientIP affinity makes the VS persistent', async (t) => {
  for (const scheduler of ['wrr', 'lc', 'sh', 'dh']) {
    const { commands } = ipvsProxier.sync(NODE, { services: [svc1], slices: [eps1] }, null, ctx({ ipvs: { ...CONFIG.ipvs, scheduler } }));
    t.match(commands.find((c) => c.file === 'ipvsadm')!.input!, `-A -t 172.30.0.41:80 -s ${scheduler}\n`);
  }
  const sticky = service('ns1', 'svc1', { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 10800 });
  const { commands } = ipvsProxier.sync(NODE, { services: [sticky], slices: [eps1] }, null, ctx());
  t.match(commands.find((c) => c.file === 'ipvsadm')!.input!, '-A -t 172.30.0.41:80 -s rr -p 10800\n');
  t.match(
    ipvsadmRestorePayload([{ protocol: 'tcp', address: '172.30.0.41', port: 80, scheduler: 'sh', persistence: null, realServers: ['10.180.0.1:80'] }], LISTING),
    '-E -t 172.30.0.41:80 -s sh\n',
  );
});

t.test('externalTrafficPolicy Local: local real servers on external VSs, the -LOCAL sets; none local: every endpoint (PR 97081)', async (t) => {
  const lb = service('ns1', 'svc1', {
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 30000,
    ports: [port('p80', 80, { nodePort: 3001 })],
    loadBalancerIngress: [{ ip: '1.2.3.4', ipMode: 'VIP' }],
    externalIPs: ['192.168.99.11'],
  } as never);
  const eps = slice('ns1', 'svc1', [endpoint('10.180.0.1', NODE.name), endpoint('10.180.0.2')]);
  const state = ipvsState(NODE, [lb], [eps], { scheduler: 'rr', nodeAddresses: NODE_ADDRESSES, nodePortIPs: null });
  const vs = (addr: string) => state.virtualServers.find((v) => `${v.address}:${v.port}` === addr)!.realServers;
  t.same(vs('172.30.0.41:80'), ['10.180.0.1:80', '10.180.0.2:80'], 'ClusterIP: every endpoint');
  t.same(vs('1.2.3.4:80'), ['10.180.0.1:80'], 'LB IP: the local one');
  t.same(vs('192.168.0.2:3001'), ['10.180.0.1:80'], 'NodePort: the local one');
  t.same([...state.sets.get('KUBE-LOAD-BALANCER-LOCAL')!], ['1.2.3.4,tcp:80']);
  t.same([...state.sets.get('KUBE-NODE-PORT-LOCAL-TCP')!], ['3001']);
  t.same([...state.sets.get('KUBE-EXTERNAL-IP-LOCAL')!], ['192.168.99.11,tcp:80']);
  t.same([...state.sets.get('KUBE-EXTERNAL-IP')!], []);
  t.same([...state.sets.get('KUBE-HEALTH-CHECK-NODE-PORT')!], ['30000']);
  t.same(state.bindAddresses, ['172.30.0.41', '1.2.3.4'], '192.168.99.11 is a node address: not bound');
  const remote = ipvsState(NODE, [lb], [slice('ns1', 'svc1', [endpoint('10.180.0.2')])], { scheduler: 'rr', nodeAddresses: NODE_ADDRESSES, nodePortIPs: null });
  t.same(remote.virtualServers.find((v) => v.address === '1.2.3.4')!.realServers, ['10.180.0.2:80']);
  const payload = ipvsProxier.sync(NODE, { services: [lb], slices: [eps] }, null, ctx()).commands.find((c) => c.file === 'iptables-restore')!.input!;
  t.match(
    payload,
    '-A KUBE-LOAD-BALANCER -m comment --comment "Kubernetes service load balancer ip + port with externalTrafficPolicy=local" -m set --match-set KUBE-LOAD-BALANCER-LOCAL dst,dst -j RETURN',
  );
  t.match(
    payload,
    '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port with externalTrafficPolicy=local" -m set --match-set KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN',
  );
  t.match(payload, '-A KUBE-SERVICES -m comment --comment "Kubernetes service lb portal" -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER');
  t.match(payload, '-A KUBE-SERVICES -m set --match-set KUBE-LOAD-BALANCER dst,dst -j ACCEPT');
  t.notMatch(payload, /KUBE-EXTERNAL-IP dst,dst -j KUBE-MARK-MASQ/, 'Local external IPs are not masqueraded');
  t.match(
    payload,
    '-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port with externalTrafficPolicy=local" -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT',
  );
});

t.test('loadBalancerSourceRanges: the FW and SOURCE-CIDR sets; the node outside the ranges is kept out by KUBE-IPVS-OUT-FILTER', async (t) => {
  const lb = (ranges: string[]) =>
    service('ns1', 'svc1', {
      type: 'LoadBalancer',
      ports: [port('p80', 80, { nodePort: 3001 })],
      loadBalancerIngress: [{ ip: '5.6.7.8', ipMode: 'VIP' }],
      loadBalancerSourceRanges: ranges,
    } as never);
  const state = ipvsState(NODE, [lb(['203.0.113.0/25'])], [eps1], { scheduler: 'rr', nodeAddresses: NODE_ADDRESSES, nodePortIPs: null });
  t.same([...state.sets.get('KUBE-LOAD-BALANCER-FW')!], ['5.6.7.8,tcp:80']);
  t.same([...state.sets.get('KUBE-LOAD-BALANCER-SOURCE-CIDR')!], ['5.6.7.8,tcp:80,203.0.113.0/25']);
  t.same([...state.sets.get('KUBE-LOAD-BALANCER-SOURCE-IP')!], []);
  t.same(state.outFilterRules, ['-A KUBE-IPVS-OUT-FILTER -s 5.6.7.8 -m ipvs --vaddr 5.6.7.8 --vproto tcp --vport 80 -j DROP']);
  const withNode = ipvsState(NODE, [lb(['203.0.113.0/25', '192.168.0.0/24'])], [eps1], { scheduler: 'rr', nodeAddresses: NODE_ADDRESSES, nodePortIPs: null });
  t.same([...withNode.sets.get('KUBE-LOAD-BALANCER-SOURCE-IP')!], ['5.6.7.8,tcp:80,5.6.7.8']);
  t.same(withNode.outFilterRules, []);
  const payload = ipvsProxier
    .sync(NODE, { services: [lb(['203.0.113.0/25'])], slices: [eps1] }, null, ctx())
    .commands.find((c) => c.file === 'iptables-restore')!.input!;
  t.match(
    payload,
    '-A KUBE-PROXY-FIREWALL -m comment --comment "Kubernetes service load balancer ip + port for load balancer with sourceRange" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL',
  );
  t.match(
    payload,
    '-A KUBE-SOURCE-RANGES-FIREWALL -m comment --comment "Kubernetes service load balancer ip + port + source cidr for packet filter purpose" -m set --match-set KUBE-LOAD-BALANCER-SOURCE-CIDR dst,dst,src -j RETURN',
  );
});

t.test('endpoints: not ready ones are no real servers; terminating-but-serving ones only when nothing is ready', async (t) => {
  const mixed = slice('ns1', 'svc1', [
    endpoint('10.180.0.1', NODE.name),
    endpoint('10.180.0.2', NODE.name, TERMINATING),
    endpoint('10.180.0.3', NODE.name, { ready: false, serving: false, terminating: false }),
  ]);
  const state = ipvsState(NODE, [svc1], [mixed], { scheduler: 'rr', nodeAddresses: NODE_ADDRESSES, nodePortIPs: null });
  t.same(state.virtualServers[0]!.realServers, ['10.180.0.1:80']);
  const terminating = slice('ns1', 'svc1', [endpoint('10.180.0.2', NODE.name, TERMINATING)]);
  t.same(ipvsState(NODE, [svc1], [terminating], { scheduler: 'rr', nodeAddresses: NODE_ADDRESSES, nodePortIPs: null }).virtualServers[0]!.realServers, [
    '10.180.0.2:80',
  ]);
  t.same(
    ipvsState(NODE, [svc1], [], { scheduler: 'rr', nodeAddresses: NODE_ADDRESSES, nodePortIPs: null }).virtualServers[0]!.realServers,
    [],
    'no endpoints: the VS stays, empty (no REJECT rule)',
  );
});

t.test('UDP: -u virtual servers, the UDP NodePort set', async (t) => {
  const dns = service('ns1', 'dns', { type: 'NodePort', clusterIP: '172.30.0.10', ports: [port('dns', 53, { protocol: 'UDP', nodePort: 3053 })] });
  const eps = slice('ns1', 'dns', [endpoint('10.180.0.7')], [{ name: 'dns', port: 53, protocol: 'UDP' }]);
  const { commands } = ipvsProxier.sync(NODE, { services: [dns], slices: [eps] }, null, ctx());
  t.match(commands.find((c) => c.file === 'ipvsadm')!.input!, '-A -u 172.30.0.10:53 -s rr\n-a -u 172.30.0.10:53 -r 10.180.0.7:53 -m -w 1');
  t.match(commands.find((c) => c.file === 'ipset')!.input!, 'add KUBE-NODE-PORT-UDP 3053');
  t.match(
    commands.find((c) => c.file === 'iptables-restore')!.input!,
    '-A KUBE-NODE-PORT -p udp -m comment --comment "Kubernetes nodeport UDP port for masquerade purpose"',
  );
});

t.test('sysctls and sync periods of IPVS mode', async (t) => {
  t.same(kubeProxySysctls(CONFIG, NODE).slice(0, 4), [
    ['net.ipv4.vs.conntrack', '1'],
    ['net.ipv4.vs.expire_nodest_conn', '1'],
    ['net.ipv4.vs.expire_quiescent_template', '1'],
    ['net.ipv4.ip_forward', '1'],
  ]);
  t.notOk(
    kubeProxySysctls(CONFIG, NODE).some(([k]) => k === 'net.ipv4.conf.all.route_localnet'),
    'no localhost NodePorts in IPVS mode',
  );
  const strict = kubeProxySysctls({ ...CONFIG, ipvs: { ...CONFIG.ipvs, strictARP: true } }, NODE);
  t.ok(strict.some(([k, v]) => k === 'net.ipv4.conf.all.arp_ignore' && v === '1'));
  t.ok(strict.some(([k, v]) => k === 'net.ipv4.conf.all.arp_announce' && v === '2'));
  t.same(syncPeriods({ ...CONFIG, ipvs: { ...CONFIG.ipvs, syncPeriodMs: 5000, minSyncPeriodMs: 0 } }), { syncPeriodMs: 5000, minSyncPeriodMs: 0 });
});

t.test('cleanup: virtual servers, kube-ipvs0, the chains and jumps, then the sets', async (t) => {
  const save =
    '*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n';
  const cmds = ipvsProxier.cleanup([save, `${createLine(SETS[1]!)}\n`, LISTING, '7: kube-ipvs0: <BROADCAST,NOARP> mtu 1500']);
  t.same(
    cmds.map((c) => c.file + ' ' + c.args.join(' ')),
    [
      'ipvsadm -C',
      'ip link del kube-ipvs0',
      'iptables -w -t nat -D PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES',
      'iptables-restore -w --noflush --counters',
      'ipset restore',
    ],
  );
  t.equal(cmds[3]!.input, '*nat\n:KUBE-SERVICES - [0:0]\n-X KUBE-SERVICES\nCOMMIT\n', 'KUBE-MARK-MASQ stays (kubelet uses it too)');
  t.equal(cmds[4]!.input, 'flush KUBE-CLUSTER-IP\ndestroy KUBE-CLUSTER-IP\n');
  t.same(ipvsProxier.cleanup(['', '', '', '']), [], 'a clean node: nothing to do');
});
