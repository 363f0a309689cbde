// kube-proxy's userspace mode, the pure parts: the portals per service port (as the v1.25
// userspace proxier wrote them), iptablesInit and CleanupLeftovers against an iptables-save, and
// the round robin (order, ClientIP affinity, the reset a failed dial asks for).
import t from 'tap';
import { initPayload, portalRules, proxiedPorts, syncPayload, userspaceCleanup } from '../../src/components/kube-proxy/userspace/rules.js';
import { ENDPOINT_DIAL_TIMEOUTS_MS, RoundRobin } from '../../src/components/kube-proxy/userspace/roundrobin.js';
import { userspaceProxier } from '../../src/components/kube-proxy/userspace.js';
import { DEFAULT_KUBE_PROXY_CONFIGURATION } from '../../src/api/objects.js';
import { NODE, endpoint, port, rules, service, slice } from './lib/kube-api.js';

const NOT_READY = { ready: false, serving: false, terminating: false };

t.test('the service ports served: ready endpoints only, headless and ExternalName left out, UDP kept, SCTP not', async (t) => {
  const services = [
    service('ns1', 'web', { ports: [port('p80', 80), port('dns', 53, { protocol: 'UDP' }), port('s', 9, { protocol: 'SCTP' })] }),
    service('ns1', 'headless', { clusterIP: 'None' }),
    service('ns1', 'ext', { clusterIP: null, type: 'ExternalName', externalName: 'example.com' }),
  ];
  const slices = [
    slice('ns1', 'web', [endpoint('10.0.1.1'), endpoint('10.0.2.1'), endpoint('10.0.3.1', 'x', NOT_READY)]),
    slice('ns1', 'web', [endpoint('10.0.1.1')], [{ name: 'dns', port: 5353, protocol: 'UDP' }]),
  ];
  const ports = proxiedPorts(services, slices);
  t.same(
    ports.map((p) => [p.key, p.name, p.endpoints]),
    [
      ['ns1/web:p80/TCP', 'ns1/web:p80', ['10.0.1.1:80', '10.0.2.1:80']],
      ['ns1/web:dns/UDP', 'ns1/web:dns', ['10.0.1.1:5353']],
    ],
  );
});

t.test('ClusterIP and NodePort portals: REDIRECT from containers, DNAT to the node IP from the host, ACCEPT of the proxy port', async (t) => {
  const svc = service('ns1', 'web', { type: 'NodePort', clusterIP: '172.30.0.41', ports: [port('', 80, { nodePort: 30080 })] });
  const ports = proxiedPorts([svc], [slice('ns1', 'web', [endpoint('10.0.1.1')], [{ name: '', port: 80, protocol: 'TCP' }])]);
  const payload = syncPayload(portalRules(ports, new Map([['ns1/web/TCP', 40001]]), NODE.address));
  t.same(rules(payload, 'nat'), [
    '-A KUBE-PORTALS-CONTAINER -m comment --comment ns1/web -p tcp -m tcp --dport 80 -d 172.30.0.41/32 -j REDIRECT --to-ports 40001',
    '-A KUBE-PORTALS-HOST -m comment --comment ns1/web -p tcp -m tcp --dport 80 -d 172.30.0.41/32 -j DNAT --to-destination 192.168.0.2:40001',
    '-A KUBE-NODEPORT-CONTAINER -m comment --comment ns1/web -p tcp -m tcp --dport 30080 -j REDIRECT --to-ports 40001',
    '-A KUBE-NODEPORT-HOST -m comment --comment ns1/web -p tcp -m tcp --dport 30080 -j DNAT --to-destination 192.168.0.2:40001',
  ]);
  t.same(rules(payload, 'filter'), ['-A KUBE-NODEPORT-NON-LOCAL -m comment --comment ns1/web -p tcp -m tcp --dport 40001 -m state --state NEW -j ACCEPT']);
  // Every sync declares (so flushes) all five chains: a Service that went away leaves nothing.
  const empty = syncPayload(portalRules([], new Map(), NODE.address));
  t.same(rules(empty, 'nat'), []);
  t.match(empty, /:KUBE-PORTALS-CONTAINER - \[0:0\]\n:KUBE-PORTALS-HOST - \[0:0\]\n:KUBE-NODEPORT-CONTAINER - \[0:0\]\n:KUBE-NODEPORT-HOST - \[0:0\]/);
  t.match(empty, /\*filter\n:KUBE-NODEPORT-NON-LOCAL - \[0:0\]\nCOMMIT/);
});

t.test('an external IP gets three portals (physdev, dst LOCAL, host), a load balancer IP two; a port without a listener none', async (t) => {
  const svc = service('ns1', 'lb', {
    type: 'LoadBalancer',
    externalIPs: ['192.168.99.11'],
    loadBalancerIngress: [{ ip: '1.2.3.4', hostname: null, ipMode: 'VIP', ports: [] } as never],
  });
  const ports = proxiedPorts([svc], []);
  t.same(ports[0]!.ingressIPs, ['1.2.3.4']);
  const nat = portalRules(ports, new Map([['ns1/lb:p80/TCP', 40002]]), '192.168.0.2').nat;
  t.same(
    nat.filter((r) => r.includes('192.168.99.11')).map((r) => r.replace(/.*--dport 80 /, '')),
    [
      '-d 192.168.99.11/32 -m physdev ! --physdev-is-in -j REDIRECT --to-ports 40002',
      '-d 192.168.99.11/32 -m addrtype --dst-type LOCAL -j REDIRECT --to-ports 40002',
      '-d 192.168.99.11/32 -m addrtype --dst-type LOCAL -j DNAT --to-destination 192.168.0.2:40002',
    ],
  );
  t.equal(nat.filter((r) => r.includes('1.2.3.4')).length, 2);
  t.same(portalRules(ports, new Map(), '192.168.0.2'), { nat: [], filter: [] });
});

const SAVED = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-NODEPORT-CONTAINER - [0:0]
:KUBE-NODEPORT-HOST - [0:0]
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-PORTALS-HOST - [0:0]
-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER
-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER
-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST
-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST
COMMIT
*filter
:INPUT ACCEPT [0:0]
:KUBE-NODEPORT-NON-LOCAL - [0:0]
-A INPUT -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL
COMMIT
`;

t.test('iptablesInit: portals prepended, NodePorts appended; nothing again on a node that has them', async (t) => {
  t.equal(
    initPayload(''),
    `*nat
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-PORTALS-HOST - [0:0]
:KUBE-NODEPORT-CONTAINER - [0:0]
:KUBE-NODEPORT-HOST - [0:0]
-I PREROUTING 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER
-I OUTPUT 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST
-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER
-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST
COMMIT
*filter
:KUBE-NODEPORT-NON-LOCAL - [0:0]
-I INPUT 1 -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL
COMMIT
`,
  );
  t.equal(initPayload(SAVED), '*nat\nCOMMIT\n*filter\nCOMMIT\n');
});

t.test("CleanupLeftovers: the jumps that are there, then the mode's chains; nothing on a clean node", async (t) => {
  const cmds = userspaceCleanup(SAVED);
  t.same(
    cmds.filter((c) => c.file === 'iptables').map((c) => c.args.slice(2, 5).concat(c.args.at(-1)!)),
    [
      ['nat', '-D', 'PREROUTING', 'KUBE-PORTALS-CONTAINER'],
      ['nat', '-D', 'OUTPUT', 'KUBE-PORTALS-HOST'],
      ['nat', '-D', 'PREROUTING', 'KUBE-NODEPORT-CONTAINER'],
      ['nat', '-D', 'OUTPUT', 'KUBE-NODEPORT-HOST'],
      ['filter', '-D', 'INPUT', 'KUBE-NODEPORT-NON-LOCAL'],
    ],
  );
  const restores = cmds.filter((c) => c.file === 'iptables-restore').map((c) => c.input);
  t.match(restores[0], /\*nat\n(:KUBE-[A-Z-]+ - \[0:0\]\n){4}(-X KUBE-[A-Z-]+\n){4}COMMIT/);
  t.match(restores[1], /\*filter\n:KUBE-NODEPORT-NON-LOCAL - \[0:0\]\n-X KUBE-NODEPORT-NON-LOCAL\nCOMMIT/);
  t.same(userspaceCleanup('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n'), []);
  // iptables mode's chains are not userspace mode's to remove.
  t.same(userspaceCleanup('*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n'), []);
});

t.test("the seam's sync: one restore from the listeners' ports; the planner's first sync (no listeners yet) only declares the chains", async (t) => {
  const api = { services: [service('ns1', 'web')], slices: [slice('ns1', 'web', [endpoint('10.0.1.1'), endpoint('10.0.2.1')])] };
  const cfg = {
    config: { ...DEFAULT_KUBE_PROXY_CONFIGURATION, mode: 'userspace' as const },
    clusterCIDR: '10.0.0.0/8',
    nodeAddresses: ['127.0.0.1', NODE.address],
  };
  const first = userspaceProxier.sync(NODE, api, null, cfg);
  t.same(first.stats, { services: 1, endpoints: 2, written: '0 nat and 0 filter rules' });
  const later = userspaceProxier.sync(NODE, api, null, { ...cfg, proxyPorts: new Map([['ns1/web:p80/TCP', 40003]]) });
  t.equal(later.stats.written, '2 nat and 0 filter rules');
  t.same(later.commands[0]!.args, ['-w', '--noflush', '--counters']);
});

t.test('round robin: endpoints handed out in turn, shuffled when they change, the index starting over', async (t) => {
  const rr = new RoundRobin(() => 0.999); // a shuffle that keeps the order
  rr.update('s', ['a:80', 'b:80', 'c:80'], { clientIP: false, timeoutSeconds: 10800 });
  t.same(
    Array.from({ length: 6 }, () => rr.next('s', '10.0.0.1', false, 0)),
    ['a:80', 'b:80', 'c:80', 'a:80', 'b:80', 'c:80'],
  );
  rr.next('s', '10.0.0.1', false, 0);
  rr.update('s', ['c:80', 'b:80', 'a:80'], { clientIP: false, timeoutSeconds: 10800 });
  t.equal(rr.next('s', '10.0.0.1', false, 0), 'b:80', 'the same set (in another order) keeps the index');
  rr.update('s', ['a:80', 'b:80'], { clientIP: false, timeoutSeconds: 10800 });
  t.equal(rr.next('s', '10.0.0.1', false, 0), 'a:80', 'a new set starts over');
  const shuffled = new RoundRobin(() => 0);
  shuffled.update('s', ['a:80', 'b:80', 'c:80'], { clientIP: false, timeoutSeconds: 1 });
  t.same(shuffled.endpoints('s'), ['b:80', 'c:80', 'a:80'], 'Fisher-Yates with the given random numbers');
  t.equal(rr.next('none', '10.0.0.1', false, 0), null);
  rr.update('empty', [], { clientIP: false, timeoutSeconds: 1 });
  t.equal(rr.next('empty', '10.0.0.1', false, 0), null);
});

t.test('ClientIP affinity: a client keeps its endpoint within the timeout; a failed dial (reset) moves it on', async (t) => {
  const rr = new RoundRobin(() => 0.999);
  rr.update('s', ['a:80', 'b:80', 'c:80'], { clientIP: true, timeoutSeconds: 10 });
  t.equal(rr.next('s', '10.0.0.1', false, 0), 'a:80');
  t.equal(rr.next('s', '10.0.0.2', false, 0), 'b:80');
  t.equal(rr.next('s', '10.0.0.1', false, 5_000), 'a:80', 'sticky');
  t.equal(rr.next('s', '10.0.0.1', false, 14_999), 'a:80', 'each use renews the timeout');
  t.equal(rr.next('s', '10.0.0.1', false, 25_000), 'c:80', 'expired: the next one round');
  // tryConnect: a:… refused, so the retry asks with the affinity reset and the client sticks to the new one.
  t.equal(rr.next('s', '10.0.0.2', true, 25_000), 'a:80');
  t.equal(rr.next('s', '10.0.0.2', false, 25_001), 'a:80');
  rr.update('s', ['b:80', 'c:80'], { clientIP: true, timeoutSeconds: 10 });
  t.not(rr.next('s', '10.0.0.2', false, 25_002), 'a:80', 'an endpoint that went away is forgotten');
});

t.test('retry order: each failed dial takes the next endpoint, four attempts with growing timeouts', async (t) => {
  t.same(ENDPOINT_DIAL_TIMEOUTS_MS, [250, 500, 1000, 2000]);
  const rr = new RoundRobin(() => 0.999);
  rr.update('s', ['dead:80', 'b:80', 'c:80'], { clientIP: true, timeoutSeconds: 10800 });
  const tried = [rr.next('s', '10.0.0.1', false, 0)];
  tried.push(rr.next('s', '10.0.0.1', true, 0));
  t.same(tried, ['dead:80', 'b:80']);
  t.equal(rr.next('s', '10.0.0.1', false, 1), 'b:80', 'the client now sticks to the endpoint that answered');
});

t.test('the proxy on loopback: TCP connections skip a refusing endpoint, UDP datagrams come back from the listener', async (t) => {
  const { createServer, connect } = await import('node:net');
  const { createSocket } = await import('node:dgram');
  const { UserspaceProxy } = await import('../../src/components/kube-proxy/userspace/proxysocket.js');
  const alive = createServer((s) => s.end('alive'));
  await new Promise<void>((res) => alive.listen(0, '127.0.0.1', res));
  const dead = createServer();
  await new Promise<void>((res) => dead.listen(0, '127.0.0.1', res));
  const deadPort = (dead.address() as { port: number }).port;
  await new Promise<void>((res) => dead.close(() => res())); // a port where nothing listens: refused
  const echo = createSocket('udp4');
  echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
  await new Promise<void>((res) => echo.bind(0, '127.0.0.1', res));
  const logs: string[] = [];
  const proxy = new UserspaceProxy(
    (_l, m) => logs.push(m),
    () => {},
  );
  const base = {
    name: 'ns/web',
    clusterIP: '172.30.0.1',
    port: 80,
    nodePort: null,
    externalIPs: [],
    ingressIPs: [],
    affinity: { clientIP: false, timeoutSeconds: 1 },
  };
  const ports = proxy.update([
    { ...base, key: 'ns/web/TCP', protocol: 'TCP', endpoints: [`127.0.0.1:${deadPort}`, `127.0.0.1:${(alive.address() as { port: number }).port}`] },
    { ...base, key: 'ns/web/UDP', protocol: 'UDP', endpoints: [`127.0.0.1:${(echo.address() as { port: number }).port}`] },
  ]);
  await new Promise((res) => setTimeout(res, 50));
  const answers: string[] = [];
  for (let i = 0; i < 4; i++)
    answers.push(
      await new Promise<string>((res) => {
        let data = '';
        const c = connect(ports.get('ns/web/TCP')!, '127.0.0.1');
        c.on('data', (d) => (data += d));
        c.on('close', () => res(data));
        c.on('error', () => res('error'));
      }),
    );
  t.same(answers, ['alive', 'alive', 'alive', 'alive'], 'every connection answered');
  t.ok(
    logs.some((l) => l.includes('ECONNREFUSED') && l.includes('trying the next endpoint')),
    'the refusal was retried',
  );
  const client = createSocket('udp4');
  const reply = await new Promise<string>((res) => {
    client.on('message', (m) => res(m.toString()));
    client.send('ping', ports.get('ns/web/UDP')!, '127.0.0.1');
  });
  t.equal(reply, 'echo:ping');
  client.close();
  t.same([...proxy.update([]).keys()], [], 'a service port that went away closes its listener');
  proxy.stop();
  alive.close();
  echo.close();
});
