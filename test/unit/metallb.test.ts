// MetalLB layer-2 election and ARP frames, without root: the pure half of the speaker,
// src/components/metallb/{election,arp}.ts (the daemon itself runs in test/integration/metallb-speaker.test.ts).
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import type { EndpointSlice, Service, SliceEndpoint, StateFile } from '../../src/api/objects.js';
import { ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, arpReply, buildArp, gratuitousArp, parseArp, shouldReply } from '../../src/components/metallb/arp.js';
import { candidatesFor, endpointCanServe, l2Decisions, leaderFor, sortL2Candidates } from '../../src/components/metallb/election.js';

const meta = (name: string, namespace = 'default') => ({ name, namespace, labels: {}, annotations: {}, creationTimestamp: '2025-01-01T00:00:00Z', uid: name });

function lbService(name: string, over: Partial<Service> = {}): Service {
  return {
    meta: meta(name),
    type: 'LoadBalancer',
    clusterIP: '10.96.0.50',
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
    selector: { app: name },
    sessionAffinity: 'None',
    affinityTimeoutSeconds: 10800,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    externalIPs: [],
    loadBalancerIP: null,
    loadBalancerSourceRanges: [],
    publishNotReadyAddresses: false,
    healthCheckNodePort: null,
    externalName: null,
    loadBalancerIngress: [{ ip: '192.168.56.240', ipMode: 'VIP' }],
    ...over,
  };
}

const READY = { ready: true, serving: true, terminating: false };
const NOT_READY = { ready: false, serving: false, terminating: false };
const TERMINATING_SERVING = { ready: false, serving: true, terminating: true };
const TERMINATING = { ready: false, serving: false, terminating: true };

const ep = (address: string, nodeName: string | null, conditions = READY): SliceEndpoint => ({ address, conditions, nodeName, pod: null });

function slice(service: string, endpoints: SliceEndpoint[], name = `${service}-abcde`, namespace = 'default'): EndpointSlice {
  return { meta: meta(name, namespace), service, ports: [{ name: '', port: 8080, protocol: 'TCP' }], endpoints, managedBy: 'endpointslice-controller.k8s.io' };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** The expected order, recomputed independently: sha256("<node>#<ip>") as hex, ascending. */
const byHash = (ip: string, nodes: string[]) => [...nodes].sort((a, b) => sha(`${a}#${ip}`).localeCompare(sha(`${b}#${ip}`)));

const NODES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];

t.test('election: sha256(node + "#" + ip) ascending, the first announces', async (t) => {
  for (const ip of ['192.168.56.240', '192.168.56.241', '10.0.0.1', '2001:db8::1']) {
    const expected = byHash(ip, NODES);
    t.same(sortL2Candidates(ip, NODES), expected, `order for ${ip}`);
    t.same(sortL2Candidates(ip, [...NODES].reverse()), expected, `independent of the input order for ${ip}`);
    t.equal(leaderFor(ip, NODES), expected[0], `leader for ${ip}`);
  }
  // The order really differs per IP: different VIPs spread over different nodes.
  const leaders = new Set(Array.from({ length: 20 }, (_, i) => leaderFor(`192.168.56.${200 + i}`, NODES)));
  t.ok(leaders.size > 1, `20 VIPs have ${leaders.size} different leaders`);
  t.equal(leaderFor('192.168.56.240', []), null, 'no candidate, no leader');
  t.equal(leaderFor('192.168.56.240', ['solo']), 'solo');
});

t.test('election is stable: adding a node moves the VIP only if it sorts first; removing a non-leader changes nothing', async (t) => {
  const ip = '192.168.56.240';
  const order = byHash(ip, NODES);
  const leader = order[0]!;
  for (const gone of order.slice(1))
    t.equal(
      leaderFor(
        ip,
        NODES.filter((n) => n !== gone),
      ),
      leader,
      `without ${gone}`,
    );
  t.equal(
    leaderFor(
      ip,
      NODES.filter((n) => n !== leader),
    ),
    order[1],
    'without the leader: the second in order',
  );
  const newcomer = Array.from({ length: 50 }, (_, i) => `new-${i}`);
  for (const n of newcomer) {
    const expected = sha(`${n}#${ip}`) < sha(`${leader}#${ip}`) ? n : leader;
    t.equal(leaderFor(ip, [...NODES, n]), expected);
  }
});

t.test('endpoints that can serve: ready, or serving while terminating', async (t) => {
  t.ok(endpointCanServe(READY));
  t.ok(endpointCanServe(TERMINATING_SERVING));
  t.notOk(endpointCanServe(NOT_READY));
  t.notOk(endpointCanServe(TERMINATING));
});

t.test('candidates: externalTrafficPolicy Cluster takes every alive node', async (t) => {
  const svc = lbService('web');
  const slices = [slice('web', [ep('10.244.1.2', 'node-a')])];
  t.same(candidatesFor(svc, slices, ['node-c', 'node-a', 'node-b']), ['node-a', 'node-b', 'node-c'], 'the endpoint node does not matter');
  t.same(candidatesFor(svc, slices, new Set(['node-b'])), ['node-b'], 'even a node without an endpoint');
});

t.test('candidates: externalTrafficPolicy Local takes only alive nodes with a ready local endpoint', async (t) => {
  const svc = lbService('web', { externalTrafficPolicy: 'Local' });
  const slices = [
    slice('web', [ep('10.244.1.2', 'node-a'), ep('10.244.2.2', 'node-b', NOT_READY)], 'web-1'),
    slice('web', [ep('10.244.3.2', 'node-c', TERMINATING_SERVING), ep('10.244.4.2', 'node-d'), ep('192.168.56.99', null)], 'web-2'),
    // Same service name, other namespace: not this service's endpoints.
    slice('web', [ep('10.244.5.2', 'node-e')], 'web-3', 'other'),
  ];
  t.same(candidatesFor(svc, slices, NODES), ['node-a', 'node-c', 'node-d']);
  t.same(candidatesFor(svc, slices, ['node-a', 'node-b', 'node-e']), ['node-a'], 'node-d has an endpoint but no live speaker');
  t.same(candidatesFor(svc, slices, ['node-b', 'node-e']), [], 'no alive node with a local endpoint: nobody');
});

t.test('no endpoint that can serve: nobody announces', async (t) => {
  const alive = NODES;
  for (const [what, slices] of [
    ['no slices', []],
    ['an empty slice', [slice('web', [])]],
    ['only unready endpoints', [slice('web', [ep('10.244.1.2', 'node-a', NOT_READY), ep('10.244.2.2', 'node-b', TERMINATING)])]],
    ['endpoints of another service', [slice('api', [ep('10.244.1.2', 'node-a')])]],
  ] as [string, EndpointSlice[]][]) {
    t.same(candidatesFor(lbService('web'), slices, alive), [], `${what}: Cluster`);
    t.same(candidatesFor(lbService('web', { externalTrafficPolicy: 'Local' }), slices, alive), [], `${what}: Local`);
  }
  // An endpoint outside the cluster (no node) still counts as active under Cluster.
  t.same(candidatesFor(lbService('web'), [slice('web', [ep('192.168.56.99', null)])], ['node-a']), ['node-a']);
});

t.test('decisions: LoadBalancer services with ingress IPs from the pool, elected on the first IP', async (t) => {
  const vip = (ip: string) => ({ ip, ipMode: 'VIP' as const });
  const state: StateFile['state'] = {
    pods: [],
    deployments: [],
    services: [
      lbService('web', { loadBalancerIngress: [vip('192.168.56.240'), vip('2001:db8::240')] }),
      lbService('pending', { loadBalancerIngress: [] }),
      lbService('plain', { type: 'ClusterIP', loadBalancerIngress: [] }),
      lbService('nobody', { loadBalancerIngress: [vip('192.168.56.241')] }),
      // A cloud provider's load balancer (the Service's status as written): not MetalLB's to announce.
      lbService('cloud', { loadBalancerIngress: [vip('203.0.113.10'), { ip: '203.0.113.11', ipMode: 'Proxy' }] }),
    ],
    slices: [slice('web', [ep('10.244.1.2', 'node-a')]), slice('plain', [ep('10.244.1.3', 'node-a')]), slice('cloud', [ep('10.244.1.4', 'node-a')])],
  };
  const alive = ['node-a', 'node-b', 'node-c'];
  t.same(l2Decisions(state, alive, ['192.168.56.240/28']), [
    { service: 'default/web', ips: ['192.168.56.240', '2001:db8::240'], leader: byHash('192.168.56.240', alive)[0] },
    { service: 'default/nobody', ips: ['192.168.56.241'], leader: null },
  ]);
  t.same(l2Decisions(state, alive, []), [], 'no pool: nothing to announce');
  t.same(
    l2Decisions(state, alive, ['203.0.113.10']).map((d) => d.service),
    ['default/cloud'],
    'a pool written as one address',
  );
});

// ARP frames. Offsets: Ethernet dst 0, src 6, type 12; ARP htype 14, ptype 16, hlen 18, plen 19,
// op 20, sha 22, spa 28, tha 32, tpa 38; padding 42..59.

const OUR_MAC = '02:42:c0:a8:4d:0b';
const CLIENT_MAC = '8a:1b:2c:3d:4e:5f';
const VIP = '192.168.77.240';

/** A broadcast who-has from the client, as arping sends it (42 bytes, no padding on a veth). */
const request = Buffer.from(
  'ffffffffffff' + '8a1b2c3d4e5f' + '0806' + '0001' + '0800' + '06' + '04' + '0001' + '8a1b2c3d4e5f' + 'c0a84d64' + '000000000000' + 'c0a84df0',
  'hex',
);

function checkFrame(t: Test, b: Buffer, f: { ethDst: string; ethSrc: string; op: number; sha: string; spa: string; tha: string; tpa: string }) {
  const hex = (from: number, to: number) => b.subarray(from, to).toString('hex');
  t.equal(b.length, 60, 'padded to the 60-byte Ethernet minimum');
  t.equal(hex(0, 6), f.ethDst, 'Ethernet destination');
  t.equal(hex(6, 12), f.ethSrc, 'Ethernet source');
  t.equal(hex(12, 14), '0806', 'EtherType ARP');
  t.equal(hex(14, 16), '0001', 'hardware type Ethernet');
  t.equal(hex(16, 18), '0800', 'protocol type IPv4');
  t.equal(b[18], 6, 'hardware address length');
  t.equal(b[19], 4, 'protocol address length');
  t.equal(b.readUInt16BE(20), f.op, 'operation');
  t.equal(hex(22, 28), f.sha, 'sender MAC');
  t.equal(hex(28, 32), f.spa, 'sender IP');
  t.equal(hex(32, 38), f.tha, 'target MAC');
  t.equal(hex(38, 42), f.tpa, 'target IP');
  t.ok(
    b.subarray(42).every((x) => x === 0),
    'zero padding',
  );
}

t.test('parse a broadcast ARP request', async (t) => {
  t.same(parseArp(request), {
    ethDst: BROADCAST_MAC,
    ethSrc: CLIENT_MAC,
    op: ARP_REQUEST,
    senderMac: CLIENT_MAC,
    senderIP: '192.168.77.100',
    targetMac: '00:00:00:00:00:00',
    targetIP: VIP,
  });
  const padded = Buffer.concat([request, Buffer.alloc(18)]);
  t.same(parseArp(padded), parseArp(request), 'Ethernet padding is ignored');
  t.same(parseArp(padded, 42), parseArp(request), 'only the first len bytes count');
  t.equal(parseArp(request.subarray(0, 41)), null, 'truncated');
  t.equal(parseArp(padded, 41), null, 'truncated by len');
  const ipv4 = Buffer.from(request);
  ipv4.writeUInt16BE(0x0800, 12);
  t.equal(parseArp(ipv4), null, 'not ARP');
  const other = Buffer.from(request);
  other[19] = 16;
  t.equal(parseArp(other), null, 'not IPv4 over Ethernet');
});

t.test('which requests get an answer', async (t) => {
  const req = parseArp(request)!;
  const ours = new Set([VIP]);
  t.ok(shouldReply(req, OUR_MAC, ours), 'broadcast request for an announced IP');
  t.ok(shouldReply({ ...req, ethDst: OUR_MAC }, OUR_MAC, ours), 'unicast to our MAC (a cache refresh)');
  t.notOk(shouldReply({ ...req, ethDst: '02:00:00:00:00:99' }, OUR_MAC, ours), 'unicast to another MAC');
  t.notOk(shouldReply({ ...req, op: ARP_REPLY }, OUR_MAC, ours), 'a reply');
  t.notOk(shouldReply(req, OUR_MAC, new Set(['192.168.77.241'])), 'an IP we do not announce');
  t.notOk(shouldReply(req, OUR_MAC, new Set()), 'nothing announced');
});

t.test('ARP reply bytes', async (t) => {
  const reply = buildArp(arpReply(parseArp(request)!, OUR_MAC));
  checkFrame(t, reply, {
    ethDst: '8a1b2c3d4e5f',
    ethSrc: '0242c0a84d0b',
    op: 2,
    sha: '0242c0a84d0b',
    spa: 'c0a84df0',
    tha: '8a1b2c3d4e5f',
    tpa: 'c0a84d64',
  });
  t.same(parseArp(reply), {
    ethDst: CLIENT_MAC,
    ethSrc: OUR_MAC,
    op: ARP_REPLY,
    senderMac: OUR_MAC,
    senderIP: VIP,
    targetMac: CLIENT_MAC,
    targetIP: '192.168.77.100',
  });
});

t.test('gratuitous ARP bytes: request and reply, broadcast, sender IP = target IP = VIP', async (t) => {
  for (const op of [ARP_REQUEST, ARP_REPLY] as const) {
    const g = buildArp(gratuitousArp(op, OUR_MAC, VIP));
    t.test(op === ARP_REQUEST ? 'request' : 'reply', async (t) => {
      checkFrame(t, g, { ethDst: 'ffffffffffff', ethSrc: '0242c0a84d0b', op, sha: '0242c0a84d0b', spa: 'c0a84df0', tha: 'ffffffffffff', tpa: 'c0a84df0' });
    });
  }
  t.throws(() => buildArp(gratuitousArp(ARP_REQUEST, OUR_MAC, '2001:db8::1')), /bad IPv4 address/);
  t.throws(() => buildArp(gratuitousArp(ARP_REQUEST, '02:42:C0', VIP)), /bad MAC address/);
});
