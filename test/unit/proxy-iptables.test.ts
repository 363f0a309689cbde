// kube-proxy's iptables mode (src/components/kube-proxy/iptables.ts) against ../shared/reference/kube-proxy.md
// §1: exact rule text where the reference pins it, and otherwise packets traced through the
// payload the way upstream's TestTracePacket does (no root needed; the real kernel check is
// test/integration/proxy-iptables.test.ts).
import t from 'tap';
import type { EndpointConditions, EndpointSlice, Service } from '../../src/api/objects.js';
import { NODE, chains, endpoint, meta, port, rules, service, slice } from './lib/kube-api.js';
import {
  DEFAULT_PROXIER_CONFIG,
  cidrDetector,
  LARGE_CLUSTER_ENDPOINTS,
  chainsIn,
  computeProbability,
  endpointChain,
  hash16,
  jumpCommands,
  jumpRules,
  jumpRulesPayload,
  masqueradeMark,
  servicePortChains,
  servicePortName,
  syncProxyRules,
  type ProxierConfig,
} from '../../src/components/kube-proxy/iptables.js';

// The upstream test conventions (reference, "Conventions").
const CFG: ProxierConfig = { ...DEFAULT_PROXIER_CONFIG, localDetector: cidrDetector('10.0.0.0/8') };
const TERMINATING: EndpointConditions = { ready: false, serving: true, terminating: true };
const sync = (services: Service[], slices: EndpointSlice[], cfg = CFG) => syncProxyRules(NODE, services, slices, cfg);

const chainRules = (payload: string, chain: string): string[] => rules(payload, 'nat').filter((l) => l.startsWith(`-A ${chain} `));

// ---------------------------------------------------------------------------------------------
// A packet tracer over the payload. It follows nat (PREROUTING, or OUTPUT for the node's own
// packets) into KUBE-SERVICES, exploring both sides of every `-m statistic` rule, and, when no
// DNAT happened, the filter chains the jump rules reach from INPUT, FORWARD or OUTPUT. Connection
// state is NEW, packets are unmarked, and no `-m recent` list holds the source yet.

type From = 'pod' | 'node' | 'external';
interface Packet {
  from: From;
  src: string;
  dst: string;
  dport: number;
  protocol?: 'tcp' | 'udp';
}
interface Outcome {
  verdict: 'CONTINUE' | 'DNAT' | 'REJECT' | 'DROP' | 'ACCEPT';
  masq: boolean;
  endpoint?: string;
}
interface Traced {
  verdict: 'DNAT' | 'REJECT' | 'DROP' | 'ACCEPT' | 'NONE';
  endpoints: string[];
  /** Whether KUBE-MARK-MASQ ran, on every DNAT path; "mixed" when the paths disagree. */
  masq: boolean | 'mixed';
}

const LOCAL_ADDRESSES = [NODE.address, '127.0.0.1'];

function words(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

function tableOf(payload: string, table: 'filter' | 'nat'): Map<string, string[][]> {
  const chains = new Map<string, string[][]>();
  for (const rule of rules(payload, table)) {
    const [, chain, ...rest] = words(rule);
    if (!chains.has(chain!)) chains.set(chain!, []);
    chains.get(chain!)!.push(rest);
  }
  return chains;
}

function inCidr(address: string, cidr: string): boolean {
  const toNumber = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const [network, bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(address) / size) === Math.floor(toNumber(network!) / size);
}

function matches(rule: string[], p: Packet): boolean {
  const isLocal = (ip: string) => LOCAL_ADDRESSES.some((l) => inCidr(ip, l.startsWith('127.') ? '127.0.0.0/8' : l));
  let negate = false;
  for (let i = 0; i < rule.length && rule[i] !== '-j'; i++) {
    const word = rule[i]!;
    const arg = rule[i + 1]!;
    let ok = true;
    if (word === '!') {
      negate = true;
      continue;
    } else if (word === '-p') ok = (p.protocol ?? 'tcp') === arg;
    else if (word === '-s') ok = inCidr(p.src, arg);
    else if (word === '-d') ok = inCidr(p.dst, arg);
    else if (word === '--dport') ok = p.dport === Number(arg);
    else if (word === '--src-type') ok = isLocal(p.src);
    else if (word === '--dst-type') ok = isLocal(p.dst);
    else if (word === '--rcheck') ok = false;
    else if (word === '--ctstate') ok = arg.split(',').includes('NEW');
    else if (word === '--mark') ok = false;
    else continue;
    if (ok === negate) return false;
    negate = false;
  }
  return true;
}

function walk(table: Map<string, string[][]>, chain: string, start: number, p: Packet, masq: boolean): Outcome[] {
  const list = table.get(chain) ?? [];
  for (let i = start; i < list.length; i++) {
    const rule = list[i]!;
    if (!matches(rule, p)) continue;
    const j = rule.indexOf('-j');
    const target = j < 0 ? undefined : rule[j + 1];
    if (target === 'RETURN') return [{ verdict: 'CONTINUE', masq }];
    let taken: Outcome[];
    if (target === undefined) taken = [{ verdict: 'CONTINUE', masq }];
    else if (target === 'MARK') taken = [{ verdict: 'CONTINUE', masq: true }];
    else if (target === 'DNAT') taken = [{ verdict: 'DNAT', masq, endpoint: rule[rule.indexOf('--to-destination') + 1]! }];
    else if (target === 'REJECT' || target === 'DROP' || target === 'ACCEPT') taken = [{ verdict: target, masq }];
    else taken = walk(table, target, 0, p, masq);
    const resolved = taken.flatMap((o) => (o.verdict === 'CONTINUE' ? walk(table, chain, i + 1, p, o.masq) : [o]));
    // A random match may also not be taken.
    return rule.includes('statistic') ? [...resolved, ...walk(table, chain, i + 1, p, masq)] : resolved;
  }
  return [{ verdict: 'CONTINUE', masq }];
}

function trace(payload: string, p: Packet): Traced {
  const nat = walk(tableOf(payload, 'nat'), 'KUBE-SERVICES', 0, p, false);
  const dnat = nat.filter((o) => o.verdict === 'DNAT');
  if (dnat.length > 0) {
    const masqs = new Set(dnat.map((o) => o.masq));
    return { verdict: 'DNAT', endpoints: [...new Set(dnat.map((o) => o.endpoint!))].sort(), masq: masqs.size > 1 ? 'mixed' : [...masqs][0]! };
  }
  // Not DNATed: the filter chains kube-proxy hooks in (jump rules, final order), original destination.
  const hook =
    p.from === 'node'
      ? ['KUBE-FIREWALL', 'KUBE-PROXY-FIREWALL', 'KUBE-SERVICES']
      : LOCAL_ADDRESSES.includes(p.dst)
        ? ['KUBE-FIREWALL', 'KUBE-PROXY-FIREWALL', 'KUBE-NODEPORTS', 'KUBE-EXTERNAL-SERVICES']
        : ['KUBE-PROXY-FIREWALL', 'KUBE-FORWARD', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES'];
  const filter = tableOf(payload, 'filter');
  for (const chain of hook) {
    const verdict = walk(filter, chain, 0, p, false).find((o) => o.verdict !== 'CONTINUE');
    if (verdict) return { verdict: verdict.verdict as Traced['verdict'], endpoints: [], masq: false };
  }
  return { verdict: 'NONE', endpoints: [], masq: false };
}

const POD = '10.0.0.2';
const EXTERNAL = '203.0.113.2';
const dnat = (endpoints: string[], masq: boolean): Traced => ({ verdict: 'DNAT', endpoints, masq });
const refused = (verdict: 'REJECT' | 'DROP'): Traced => ({ verdict, endpoints: [], masq: false });

// ---------------------------------------------------------------------------------------------

t.test('chain-name hashing: every row of reference §1.2', async (t) => {
  const rows: [string, string][] = [
    ['ns1/svc1:p80tcp', 'XPGD46QRK7WJZT7O'],
    ['ns1/svc1:p80tcp10.180.0.1:80', 'SXIVWICOYRO3J4NJ'],
    ['ns1/svc1:p80tcp10.180.0.2:80', 'LXVODXWDISEETFEF'],
    ['ns1/svc1:p80tcp10.180.0.3:80', 'ICDUIKC33SFI6ZPR'],
    ['ns1/svc1:p80tcp10.0.1.1:80', 'SNQ3ZNILQDEJNDQO'],
    ['ns2/svc2:p80tcp', 'GNZBNJ2PO5MGZ6GT'],
    ['ns2/svc2:p8080tcp', '2VJB64SDSIJUP5T6'],
    ['ns5/svc5:p80tcp', 'NUKIZ6OKUXPJNT4C'],
    ['ns5/svc5:p80tcp10.180.0.3:80', 'I77PXRDZVX7PMWMN'],
    ['ns1/svc1tcp', 'AQI2S6QIMU7PVVRP'],
    ['ns1/svc1:p80udp', 'OJWW7NSBVZTDHXNW'],
  ];
  for (const [input, hash] of rows) t.equal(hash16(input), hash, input);

  const svc1 = service('ns1', 'svc1');
  t.equal(servicePortName(svc1, port('p80', 80)), 'ns1/svc1:p80');
  t.equal(servicePortName(svc1, port('', 80)), 'ns1/svc1', 'an unnamed port has no ":"');
  t.same(servicePortChains('ns1/svc1:p80', 'TCP'), {
    svc: 'KUBE-SVC-XPGD46QRK7WJZT7O',
    svl: 'KUBE-SVL-XPGD46QRK7WJZT7O',
    ext: 'KUBE-EXT-XPGD46QRK7WJZT7O',
    fw: 'KUBE-FW-XPGD46QRK7WJZT7O',
  });
  t.equal(servicePortChains('ns1/svc1:p80', 'UDP').svc, 'KUBE-SVC-OJWW7NSBVZTDHXNW', 'the protocol is hashed lower-case');
  t.equal(endpointChain('ns1/svc1:p80', 'TCP', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
});

t.test('probabilities: "%0.10f" of 1/n (reference §1.5)', async (t) => {
  const pinned: [number, string][] = [
    [1, '1.0000000000'],
    [2, '0.5000000000'],
    [3, '0.3333333333'],
    [4, '0.2500000000'],
    [10, '0.1000000000'],
    [100, '0.0100000000'],
    [1000, '0.0010000000'],
    [10000, '0.0001000000'],
    [100000, '0.0000100000'],
    [100001, '0.0000099999'],
  ];
  for (const [n, p] of pinned) t.equal(computeProbability(n), p, `1/${n}`);
  // 1/2048 = 0.00048828125 exactly: Go rounds the tie to even, JavaScript's toFixed would round up.
  t.equal(computeProbability(2048), '0.0004882812');

  const svc = service('ns1', 'svc1');
  const eps = ['10.180.0.1', '10.180.0.2', '10.180.0.3', '10.180.0.4'].map((ip) => endpoint(ip));
  const probabilities = chainRules(sync([svc], [slice('ns1', 'svc1', eps)]).payload, 'KUBE-SVC-XPGD46QRK7WJZT7O')
    .filter((r) => r.includes('KUBE-SEP-'))
    .map((r) => /--probability (\S+)/.exec(r)?.[1] ?? null);
  t.same(probabilities, ['0.2500000000', '0.3333333333', '0.5000000000', null], 'rule i of n uses 1/(n-i); the last has no statistic match');
});

// Reference §1.13(a), verbatim except for the mark: see the masquerade-mark test below.
const WORKED_EXAMPLE = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-XPGD46QRK7WJZT7O - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
:KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
:KUBE-SEP-LXVODXWDISEETFEF - [0:0]
:KUBE-SEP-ICDUIKC33SFI6ZPR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-XPGD46QRK7WJZT7O
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-SXIVWICOYRO3J4NJ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-LXVODXWDISEETFEF
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.3:80" -j KUBE-SEP-ICDUIKC33SFI6ZPR
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SEP-LXVODXWDISEETFEF -m comment --comment ns1/svc1:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-LXVODXWDISEETFEF -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-SEP-ICDUIKC33SFI6ZPR -m comment --comment ns1/svc1:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-ICDUIKC33SFI6ZPR -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
COMMIT
`;

const svc1 = service('ns1', 'svc1', { type: 'NodePort', ports: [port('p80', 80, { nodePort: 3001 })] });
const svc1Slice = slice(
  'ns1',
  'svc1',
  ['10.180.0.1', '10.180.0.2', '10.180.0.3'].map((ip) => endpoint(ip)),
);

t.test('the §1.13 worked example, line for line', async (t) => {
  const result = sync([svc1], [svc1Slice]);
  t.equal(result.payload, WORKED_EXAMPLE.replaceAll('0x4000', '0x00004000'));
  t.same(result.stats, { services: 1, endpoints: 3, natRules: 19, filterRules: 4 });
  t.same(result.filterChains, ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL']);
  t.same(result.natChains, [
    'KUBE-SERVICES',
    'KUBE-NODEPORTS',
    'KUBE-POSTROUTING',
    'KUBE-MARK-MASQ',
    'KUBE-EXT-XPGD46QRK7WJZT7O',
    'KUBE-SVC-XPGD46QRK7WJZT7O',
    'KUBE-SEP-SXIVWICOYRO3J4NJ',
    'KUBE-SEP-LXVODXWDISEETFEF',
    'KUBE-SEP-ICDUIKC33SFI6ZPR',
  ]);

  // Its behaviour (reference, after §1.13(c)).
  const all = ['10.180.0.1:80', '10.180.0.2:80', '10.180.0.3:80'];
  t.same(trace(result.payload, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 80 }), dnat(all, false), 'pod → ClusterIP: not masqueraded');
  t.same(trace(result.payload, { from: 'node', src: NODE.address, dst: '172.30.0.41', dport: 80 }), dnat(all, true), 'node → ClusterIP: masqueraded');
  t.same(trace(result.payload, { from: 'external', src: EXTERNAL, dst: NODE.address, dport: 3001 }), dnat(all, true), 'NodePort: masqueraded');
  t.same(trace(result.payload, { from: 'node', src: '127.0.0.1', dst: '127.0.0.1', dport: 3001 }), dnat(all, true), '127.0.0.1:NodePort');
  t.same(trace(result.payload, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 81 }).verdict, 'NONE', 'another port on the ClusterIP is untouched');
  t.same(
    trace(result.payload, { from: 'pod', src: '10.180.0.2', dst: '172.30.0.41', dport: 80 }).masq,
    'mixed',
    'hairpin: masqueraded only when it lands on itself',
  );
});

t.test('masquerade mark: Go prints %#08x with 8 digits; iptables-save shows it short', async (t) => {
  // The reference (§1.13(a)) writes 0x4000, the value upstream's unit tests inject into their
  // fake proxier; a real kube-proxy formats 1<<14 with "%#08x", i.e. 0x00004000, which
  // iptables-save prints back as 0x4000 (checked against the kernel by the integration test).
  t.equal(masqueradeMark(14), '0x00004000');
  t.equal(masqueradeMark(0), '0x00000001');
  t.match(sync([], [], { ...CFG, masqueradeBit: 15 }).payload, /-A KUBE-MARK-MASQ -j MARK --or-mark 0x00008000\n/);
});

t.test('configuration variants: no localhost NodePorts, no --random-fully', async (t) => {
  const { payload, filterChains } = sync([svc1], [svc1Slice], { ...CFG, localhostNodePorts: false, randomFully: false });
  t.notOk(filterChains.includes('KUBE-FIREWALL'), 'KUBE-FIREWALL is only written when route_localnet is in use');
  t.notMatch(payload, /KUBE-FIREWALL/);
  t.ok(rules(payload, 'nat').includes('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE'));
  t.ok(
    rules(payload, 'nat').includes(
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS',
    ),
  );
  t.equal(trace(payload, { from: 'node', src: '127.0.0.1', dst: '127.0.0.1', dport: 3001 }).verdict, 'NONE', '127.0.0.1:NodePort is not intercepted');
});

t.test('no endpoints: REJECT in filter, no nat chains (§1.9)', async (t) => {
  const svc6 = service('ns6', 'svc6', { clusterIP: '172.30.0.46' });
  const np = service('ns7', 'svc7', {
    type: 'NodePort',
    clusterIP: '172.30.0.47',
    ports: [port('p80', 80, { nodePort: 3007 })],
    externalIPs: ['192.168.99.77'],
  });
  // Endpoints that are neither ready nor serving-and-terminating do not count.
  const notReady = slice('ns7', 'svc7', [endpoint('10.180.0.7', 'other-node', { ready: false, serving: false, terminating: false })]);
  const { payload, natChains } = sync([svc6, np], [notReady]);
  t.same(rules(payload, 'filter').slice(1, -3), [
    '-A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT',
    '-A KUBE-SERVICES -m comment --comment "ns7/svc7:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.47 --dport 80 -j REJECT',
    '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns7/svc7:p80 has no endpoints" -m tcp -p tcp -d 192.168.99.77 --dport 80 -j REJECT',
    '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns7/svc7:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3007 -j REJECT',
  ]);
  t.same(natChains, ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'], 'no per-service chains');
  t.notMatch(rules(payload, 'nat').join('\n'), /ns[67]/);
  t.same(trace(payload, { from: 'pod', src: POD, dst: '172.30.0.46', dport: 80 }), refused('REJECT'));
  t.same(trace(payload, { from: 'node', src: NODE.address, dst: '172.30.0.46', dport: 80 }), refused('REJECT'));
  t.same(trace(payload, { from: 'external', src: EXTERNAL, dst: NODE.address, dport: 3007 }), refused('REJECT'));
  t.same(trace(payload, { from: 'external', src: EXTERNAL, dst: '192.168.99.77', dport: 80 }), refused('REJECT'));
});

t.test('internalTrafficPolicy Local: KUBE-SVL with the local endpoints only, DROP without them (§1.7)', async (t) => {
  const svc = service('ns1', 'svc1', { internalTrafficPolicy: 'Local' });
  const { svl, svc: svcChain } = servicePortChains('ns1/svc1:p80', 'TCP');
  const both = slice('ns1', 'svc1', [endpoint('10.180.0.1', 'test-node'), endpoint('10.180.0.2')]);
  const local = sync([svc], [both]).payload;
  t.ok(rules(local, 'nat').includes(`-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j ${svl}`));
  t.same(chainRules(local, svl), [
    `-A ${svl} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`,
    `-A ${svl} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${endpointChain('ns1/svc1:p80', 'TCP', '10.180.0.1:80')}`,
  ]);
  t.notMatch(local, new RegExp(`${svcChain}|10\\.180\\.0\\.2`), 'not externally accessible: no Cluster chain, no remote endpoint chain');
  t.same(trace(local, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 80 }), dnat(['10.180.0.1:80'], false));
  t.same(trace(local, { from: 'node', src: NODE.address, dst: '172.30.0.41', dport: 80 }), dnat(['10.180.0.1:80'], true), 'ITP does not change masquerading');

  const remoteOnly = sync([svc], [slice('ns1', 'svc1', [endpoint('10.180.0.2')])]).payload;
  t.ok(
    rules(remoteOnly, 'filter').includes(
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP',
    ),
  );
  t.same(trace(remoteOnly, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 80 }), refused('DROP'), 'a timeout, not a refusal');
});

// Upstream TestOverallIPTablesRules svc2 (reference §1.14): LoadBalancer, externalTrafficPolicy
// Local, its only endpoint on another node.
const svc2 = (endpoints: SliceEndpoint[]) => ({
  svc: service('ns2', 'svc2', {
    type: 'LoadBalancer',
    clusterIP: '172.30.0.42',
    ports: [port('p80', 80, { nodePort: 3001 })],
    externalIPs: ['192.168.99.22'],
    loadBalancerIngress: [{ ip: '1.2.3.4', ipMode: 'VIP' }],
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 30000,
  }),
  slice: slice('ns2', 'svc2', endpoints),
});

t.test('externalTrafficPolicy Local without local endpoints: upstream svc2 (§1.14)', async (t) => {
  const { svc, slice: eps } = svc2([endpoint('10.180.0.2')]);
  const { payload, natChains } = sync([svc], [eps]);
  const ext = 'KUBE-EXT-GNZBNJ2PO5MGZ6GT';
  t.same(rules(payload, 'filter').slice(1, -3), [
    '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP',
    '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP',
    '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP',
    '-A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT',
  ]);
  t.same(rules(payload, 'nat').slice(4, -1), [
    '-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT',
    `-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j ${ext}`,
    `-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j ${ext}`,
    `-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j ${ext}`,
    '-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
    `-A ${ext} -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT`,
    `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
    `-A ${ext} -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT`,
    '-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ',
    '-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80',
  ]);
  t.notOk(
    natChains.some((c) => c.startsWith('KUBE-SVL-')),
    'no SVL chain',
  );
  // Outside clients are dropped; pods and the node itself are short-circuited to every endpoint.
  for (const dst of ['1.2.3.4', '192.168.99.22']) {
    t.same(trace(payload, { from: 'external', src: EXTERNAL, dst, dport: 80 }), refused('DROP'), `external → ${dst}`);
    t.same(trace(payload, { from: 'pod', src: POD, dst, dport: 80 }), dnat(['10.180.0.2:80'], false), `pod → ${dst}`);
  }
  t.same(trace(payload, { from: 'external', src: EXTERNAL, dst: NODE.address, dport: 3001 }), refused('DROP'));
  t.same(trace(payload, { from: 'node', src: NODE.address, dst: NODE.address, dport: 3001 }), dnat(['10.180.0.2:80'], true), 'node → NodePort: masqueraded');
  t.same(trace(payload, { from: 'external', src: EXTERNAL, dst: NODE.address, dport: 30000 }).verdict, 'ACCEPT', 'the health check node port');
});

t.test('externalTrafficPolicy Local with a local endpoint: external traffic via KUBE-SVL, unmasqueraded', async (t) => {
  const { svc, slice: eps } = svc2([endpoint('10.180.0.2'), endpoint('10.0.1.5', 'test-node')]);
  const { payload } = sync([svc], [eps]);
  const ext = 'KUBE-EXT-GNZBNJ2PO5MGZ6GT';
  const svl = 'KUBE-SVL-GNZBNJ2PO5MGZ6GT';
  t.equal(chainRules(payload, ext).at(-1), `-A ${ext} -j ${svl}`);
  t.same(chainRules(payload, svl), [`-A ${svl} -m comment --comment "ns2/svc2:p80 -> 10.0.1.5:80" -j ${endpointChain('ns2/svc2:p80', 'TCP', '10.0.1.5:80')}`]);
  t.same(rules(payload, 'filter').slice(1, -3), [
    '-A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT',
  ]);
  t.same(trace(payload, { from: 'external', src: EXTERNAL, dst: '1.2.3.4', dport: 80 }), dnat(['10.0.1.5:80'], false), 'client IP preserved');
  t.same(trace(payload, { from: 'external', src: EXTERNAL, dst: NODE.address, dport: 3001 }), dnat(['10.0.1.5:80'], false));
  t.same(trace(payload, { from: 'pod', src: POD, dst: '1.2.3.4', dport: 80 }), dnat(['10.0.1.5:80', '10.180.0.2:80'], false), 'pods get Cluster semantics');
  t.same(
    trace(payload, { from: 'pod', src: POD, dst: '172.30.0.42', dport: 80 }),
    dnat(['10.0.1.5:80', '10.180.0.2:80'], false),
    'ETP never affects the ClusterIP',
  );
});

// Upstream TestLoadBalancerIngressRouteTypeProxy (reference §1.4 item 3, §1.12), with the
// LoadBalancerIPMode gate on (GA since 1.32): ns1/svc1:p80, cluster IP 10.20.30.41, node port 3001,
// load balancer IP 1.2.3.4, one endpoint 10.180.0.1:80. A rule for the load balancer IP exists in
// KUBE-SERVICES for ipMode VIP (and for an unset ipMode, which the API server defaults to VIP), and
// none for ipMode Proxy.
t.test('ipMode Proxy: no rule for the load balancer IP; VIP: the usual one (TestLoadBalancerIngressRouteTypeProxy)', async (t) => {
  const svc = (ipMode: 'VIP' | 'Proxy') =>
    service('ns1', 'svc1', {
      type: 'LoadBalancer',
      clusterIP: '10.20.30.41',
      ports: [port('p80', 80, { nodePort: 3001 })],
      loadBalancerIngress: [{ ip: '1.2.3.4', ipMode }],
    });
  const eps = slice('ns1', 'svc1', [endpoint('10.180.0.1')]);
  const ext = 'KUBE-EXT-XPGD46QRK7WJZT7O';
  const toLB = (payload: string) => rules(payload, 'nat').filter((r) => r.startsWith('-A KUBE-SERVICES ') && / -d 1\.2\.3\.4 /.test(r));

  const vip = sync([svc('VIP')], [eps]).payload;
  t.same(toLB(vip), [`-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j ${ext}`]);
  t.same(trace(vip, { from: 'pod', src: POD, dst: '1.2.3.4', dport: 80 }), dnat(['10.180.0.1:80'], true), 'VIP: a pod is short-circuited');

  const proxy = sync([svc('Proxy')], [eps]).payload;
  t.same(toLB(proxy), [], 'Proxy: no rule in KUBE-SERVICES');
  t.notMatch(proxy, /1\.2\.3\.4/, 'Proxy: the address appears nowhere, in either table');
  for (const from of ['pod', 'node', 'external'] as const)
    t.equal(
      trace(proxy, { from, src: from === 'pod' ? POD : EXTERNAL, dst: '1.2.3.4', dport: 80 }).verdict,
      'NONE',
      `Proxy: ${from} → 1.2.3.4 is routed, untouched`,
    );
  // Everything else about the Service is the same: its cluster IP and node port still work.
  t.same(
    rules(proxy, 'nat').filter((r) => !/ -d 1\.2\.3\.4 /.test(r)),
    rules(vip, 'nat').filter((r) => !/ -d 1\.2\.3\.4 /.test(r)),
    'Proxy and VIP differ only in the load balancer IP rule',
  );
  t.same(trace(proxy, { from: 'external', src: EXTERNAL, dst: NODE.address, dport: 3001 }), dnat(['10.180.0.1:80'], true), 'the proxy reaches the NodePort');

  // No endpoints: a VIP gets a REJECT in KUBE-EXTERNAL-SERVICES, a Proxy IP nothing.
  const none = (mode: 'VIP' | 'Proxy') => rules(sync([svc(mode)], []).payload, 'filter').filter((r) => r.includes('1.2.3.4'));
  t.same(none('VIP'), ['-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j REJECT']);
  t.same(none('Proxy'), []);

  // One Service with both kinds (a cloud load balancer with two addresses): only the VIP is captured.
  const both = service('ns1', 'svc1', {
    type: 'LoadBalancer',
    clusterIP: '10.20.30.41',
    ports: [port('p80', 80, { nodePort: 3001 })],
    loadBalancerIngress: [
      { ip: '203.0.113.10', ipMode: 'VIP' },
      { ip: '203.0.113.11', ipMode: 'Proxy' },
    ],
  });
  const mixed = sync([both], [eps]).payload;
  t.same(
    rules(mixed, 'nat').filter((r) => r.includes('loadbalancer IP')),
    [`-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 203.0.113.10 --dport 80 -j ${ext}`],
  );
  t.notMatch(mixed, /203\.0\.113\.11/);
});

// Upstream TestOverallIPTablesRules svc5 (reference §1.6, §1.14): LoadBalancer with ClientIP
// affinity and a (space-padded) source range.
const svc5 = (ranges: string[]) =>
  service('ns5', 'svc5', {
    type: 'LoadBalancer',
    clusterIP: '172.30.0.45',
    ports: [port('p80', 80, { nodePort: 3002 })],
    loadBalancerIngress: [{ ip: '5.6.7.8', ipMode: 'VIP' }],
    loadBalancerSourceRanges: ranges,
    sessionAffinity: 'ClientIP',
  });
const svc5Slice = slice('ns5', 'svc5', [endpoint('10.180.0.3')]);

t.test('session affinity: -m recent per endpoint (§1.6)', async (t) => {
  const { payload } = sync([svc5([' 203.0.113.0/25'])], [svc5Slice]);
  t.same(chainRules(payload, 'KUBE-SVC-NUKIZ6OKUXPJNT4C').slice(1), [
    '-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --rcheck --seconds 10800 --reap -j KUBE-SEP-I77PXRDZVX7PMWMN',
    '-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -j KUBE-SEP-I77PXRDZVX7PMWMN',
  ]);
  t.same(chainRules(payload, 'KUBE-SEP-I77PXRDZVX7PMWMN'), [
    '-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80',
  ]);
  const short = service('ns1', 'svc1', { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 60 });
  const eps = slice('ns1', 'svc1', [endpoint('10.180.0.1'), endpoint('10.180.0.2')]);
  const recent = chainRules(sync([short], [eps]).payload, 'KUBE-SVC-XPGD46QRK7WJZT7O').filter((r) => r.includes('--rcheck'));
  t.same(
    recent.map((r) => /--seconds (\d+)/.exec(r)?.[1]),
    ['60', '60'],
    'one check per endpoint, with the configured timeout, before the random rules',
  );
});

t.test('loadBalancerSourceRanges: KUBE-FW, then KUBE-PROXY-FIREWALL drops what fell through (§1.8)', async (t) => {
  const { payload } = sync([svc5([' 203.0.113.0/25'])], [svc5Slice]);
  t.ok(
    rules(payload, 'nat').includes(
      '-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C',
    ),
  );
  t.same(chainRules(payload, 'KUBE-FW-NUKIZ6OKUXPJNT4C'), [
    '-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C',
    '-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"',
  ]);
  t.ok(
    rules(payload, 'filter').includes(
      '-A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP',
    ),
  );
  t.same(trace(payload, { from: 'external', src: '203.0.113.2', dst: '5.6.7.8', dport: 80 }), dnat(['10.180.0.3:80'], true), 'inside the range');
  t.same(trace(payload, { from: 'external', src: '203.0.113.130', dst: '5.6.7.8', dport: 80 }), refused('DROP'), 'outside the range');
  t.same(trace(payload, { from: 'pod', src: POD, dst: '5.6.7.8', dport: 80 }), refused('DROP'), 'pods are subject to it');
  t.same(trace(payload, { from: 'external', src: '203.0.113.130', dst: NODE.address, dport: 3002 }), dnat(['10.180.0.3:80'], true), 'NodePort bypasses it');

  // A range holding the node's own IP also admits packets whose source is the LB IP (VIP on the node).
  const fromNode = chainRules(sync([svc5(['192.168.0.0/24', '203.0.113.0/25'])], [svc5Slice]).payload, 'KUBE-FW-NUKIZ6OKUXPJNT4C');
  t.same(
    fromNode.map((r) => /-s (\S+)/.exec(r)?.[1]),
    ['192.168.0.0/24', '203.0.113.0/25', '5.6.7.8', undefined],
  );

  // 0.0.0.0/0 admits everyone: no firewall at all.
  const open = sync([svc5(['203.0.113.0/25', '0.0.0.0/0'])], [svc5Slice]).payload;
  t.notMatch(open, /KUBE-FW-|KUBE-PROXY-FIREWALL -m/);
  t.ok(
    rules(open, 'nat').includes(
      '-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-EXT-NUKIZ6OKUXPJNT4C',
    ),
  );
  t.same(trace(open, { from: 'external', src: '203.0.113.130', dst: '5.6.7.8', dport: 80 }), dnat(['10.180.0.3:80'], true));

  // With no endpoints the firewall chain is not used: everyone is refused.
  const empty = sync([svc5(['203.0.113.0/25'])], []).payload;
  t.notMatch(empty, /KUBE-FW-/);
  t.same(trace(empty, { from: 'external', src: '203.0.113.2', dst: '5.6.7.8', dport: 80 }), refused('REJECT'));
});

t.test('externalIPs: captured in KUBE-SERVICES, sent to KUBE-EXT (masqueraded with Cluster policy)', async (t) => {
  const svc = service('ns1', 'svc1', { externalIPs: ['192.168.99.11', 'fd00::1'] });
  const { payload, natChains } = sync([svc], [slice('ns1', 'svc1', [endpoint('10.180.0.1')])]);
  t.ok(
    rules(payload, 'nat').includes(
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 external IP" -m tcp -p tcp -d 192.168.99.11 --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O',
    ),
  );
  t.notMatch(payload, /fd00/, 'the IPv4 proxier ignores IPv6 external IPs');
  t.ok(natChains.includes('KUBE-EXT-XPGD46QRK7WJZT7O'), 'a ClusterIP service with an external IP is externally accessible');
  t.same(trace(payload, { from: 'external', src: EXTERNAL, dst: '192.168.99.11', dport: 80 }), dnat(['10.180.0.1:80'], true));
  t.same(trace(payload, { from: 'pod', src: POD, dst: '192.168.99.11', dport: 80 }), dnat(['10.180.0.1:80'], true));
});

t.test('unnamed, UDP and SCTP ports hash to their own chains', async (t) => {
  const svc = service('ns1', 'svc1', { ports: [port('', 80)] });
  const unnamed = sync([svc], [slice('ns1', 'svc1', [endpoint('10.180.0.1')], [{ name: '', port: 8080, protocol: 'TCP' }])]).payload;
  t.ok(
    rules(unnamed, 'nat').includes(
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-AQI2S6QIMU7PVVRP',
    ),
  );
  t.ok(
    chainRules(unnamed, 'KUBE-SVC-AQI2S6QIMU7PVVRP').includes(
      '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.180.0.1:8080" -j ' + endpointChain('ns1/svc1', 'TCP', '10.180.0.1:8080'),
    ),
  );

  const udp = service('ns1', 'svc1', { ports: [port('p80', 80, { protocol: 'UDP' })] });
  const udpSlice = slice('ns1', 'svc1', [endpoint('10.180.0.1')], [{ name: 'p80', port: 80, protocol: 'UDP' }]);
  const { payload } = sync([udp], [udpSlice]);
  t.ok(
    rules(payload, 'nat').includes(
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m udp -p udp -d 172.30.0.41 --dport 80 -j KUBE-SVC-OJWW7NSBVZTDHXNW',
    ),
  );
  t.same(trace(payload, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 80, protocol: 'udp' }).endpoints, ['10.180.0.1:80']);
  t.equal(trace(payload, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 80 }).verdict, 'NONE', 'TCP to a UDP-only port is untouched');

  // SCTP the same way: "-m sctp -p sctp", its own hash; without endpoints a REJECT in filter.
  const sctp = service('ns1', 'svc1', { ports: [port('p80', 80, { protocol: 'SCTP' })] });
  const sctpChains = servicePortChains('ns1/svc1:p80', 'SCTP');
  t.not(sctpChains.svc, 'KUBE-SVC-OJWW7NSBVZTDHXNW');
  const withEndpoint = sync([sctp], [slice('ns1', 'svc1', [endpoint('10.180.0.1')], [{ name: 'p80', port: 80, protocol: 'SCTP' }])]).payload;
  t.ok(
    rules(withEndpoint, 'nat').includes(
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m sctp -p sctp -d 172.30.0.41 --dport 80 -j ${sctpChains.svc}`,
    ),
  );
  t.ok(
    rules(withEndpoint, 'nat').includes(
      `-A ${endpointChain('ns1/svc1:p80', 'SCTP', '10.180.0.1:80')} -m comment --comment ns1/svc1:p80 -m sctp -p sctp -j DNAT --to-destination 10.180.0.1:80`,
    ),
  );
  t.ok(
    rules(sync([sctp], []).payload, 'filter').includes(
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m sctp -p sctp -d 172.30.0.41 --dport 80 -j REJECT',
    ),
  );
});

t.test('endpoints: "IP:port" string order, slice port, name and protocol matching', async (t) => {
  const eps = slice(
    'ns1',
    'svc1',
    ['10.180.0.9', '10.180.0.10', '10.180.0.2'].map((ip) => endpoint(ip)),
  );
  const order = chainRules(sync([service('ns1', 'svc1')], [eps]).payload, 'KUBE-SVC-XPGD46QRK7WJZT7O')
    .map((r) => /-> (\S+)"/.exec(r)?.[1])
    .filter(Boolean);
  t.same(order, ['10.180.0.10:80', '10.180.0.2:80', '10.180.0.9:80'], 'lexicographic, not numeric');

  // TestClusterIPGeneral: service port 443, slice port 8443 → DNAT to :8443. Slices of another
  // namespace, of another port name or protocol, do not contribute; a duplicate across slices
  // appears once.
  const https = service('ns1', 'svc1', { ports: [port('https', 443, { targetPort: 'https' })] });
  const slices = [
    slice('ns1', 'svc1', [endpoint('10.180.0.1')], [{ name: 'https', port: 8443, protocol: 'TCP' }]),
    {
      ...slice('ns1', 'svc1', [endpoint('10.180.0.1'), endpoint('10.180.0.4')], [{ name: 'https', port: 8443, protocol: 'TCP' }]),
      meta: meta('ns1', 'svc1-2'),
    },
    slice('ns2', 'svc1', [endpoint('10.180.0.2')], [{ name: 'https', port: 8443, protocol: 'TCP' }]),
    slice('ns1', 'svc1', [endpoint('10.180.0.3')], [{ name: 'https', port: 8443, protocol: 'UDP' }]),
    slice('ns1', 'svc1', [endpoint('10.180.0.5')], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
  ];
  const { payload, stats } = sync([https], slices);
  t.same(trace(payload, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 443 }), dnat(['10.180.0.1:8443', '10.180.0.4:8443'], false));
  t.equal(stats.endpoints, 2);
});

t.test('headless, ExternalName and IPv6 services get no rules', async (t) => {
  const skipped = [
    service('ns1', 'headless', { clusterIP: 'None' }),
    service('ns1', 'name', { type: 'ExternalName', clusterIP: null, externalName: 'example.com' }),
    service('ns1', 'v6', { clusterIP: 'fd00:10:96::1' }),
  ];
  const slices = skipped.map((s) => slice('ns1', s.meta.name, [endpoint('10.180.0.1')]));
  const { payload, stats } = sync(skipped, slices);
  t.equal(stats.services, 0);
  t.equal(payload, sync([], []).payload);
});

t.test('terminating endpoints: used only when nothing is ready (§1.7, §5.10)', async (t) => {
  const svc = service('ns1', 'svc1');
  const term = (ip: string, node?: string) => endpoint(ip, node ?? 'other-node', TERMINATING);
  const gone = (ip: string) => endpoint(ip, 'other-node', { ready: false, serving: false, terminating: true });
  const onlyTerminating = sync([svc], [slice('ns1', 'svc1', [term('10.180.0.1'), gone('10.180.0.2')])]).payload;
  t.same(trace(onlyTerminating, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 80 }), dnat(['10.180.0.1:80'], false), 'serving terminating: no REJECT');

  const mixed = sync([svc], [slice('ns1', 'svc1', [term('10.180.0.1'), endpoint('10.180.0.3')])]).payload;
  t.same(trace(mixed, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 80 }).endpoints, ['10.180.0.3:80'], 'ready endpoints win');
  t.notMatch(mixed, new RegExp(endpointChain('ns1/svc1:p80', 'TCP', '10.180.0.1:80')));

  const none = sync([svc], [slice('ns1', 'svc1', [gone('10.180.0.2')])]).payload;
  t.same(trace(none, { from: 'pod', src: POD, dst: '172.30.0.41', dport: 80 }), refused('REJECT'), 'not serving: never used');

  // The local set falls back on its own: ETP Local, a remote ready endpoint and a local
  // terminating one. External traffic goes to the local terminating endpoint; pods reach the
  // ready one; both have endpoint chains.
  const { svc: lb, slice: eps } = svc2([endpoint('10.180.0.2'), term('10.0.1.5', 'test-node')]);
  const { payload, natChains } = sync([lb], [eps]);
  t.same(trace(payload, { from: 'external', src: EXTERNAL, dst: '1.2.3.4', dport: 80 }), dnat(['10.0.1.5:80'], false));
  t.same(trace(payload, { from: 'pod', src: POD, dst: '1.2.3.4', dport: 80 }), dnat(['10.180.0.2:80'], false));
  t.same(natChains.filter((c) => c.startsWith('KUBE-SEP-')).sort(), [endpointChain('ns2/svc2:p80', 'TCP', '10.0.1.5:80'), 'KUBE-SEP-RS4RBKLTHTF2IUXJ'].sort());
});

t.test('stale chains: per-service chains no longer wanted are flushed and deleted', async (t) => {
  const save = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]',
    ':KUBE-SVC-GNZBNJ2PO5MGZ6GT - [0:0]',
    ':KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]',
    ':KUBE-EXT-GNZBNJ2PO5MGZ6GT - [0:0]',
    ':KUBE-MARK-DROP - [0:0]',
    ':CNI-HOSTPORT-DNAT - [0:0]',
    '-A KUBE-SERVICES -j RETURN',
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':KUBE-FORWARD - [0:0]',
    'COMMIT',
    '',
  ].join('\n');
  const existing = chainsIn(save);
  t.same(existing.filter, ['INPUT', 'KUBE-FORWARD']);
  const { payload, natChains } = syncProxyRules(NODE, [svc1], [svc1Slice], CFG, existing);
  const stale = ['KUBE-EXT-GNZBNJ2PO5MGZ6GT', 'KUBE-SEP-RS4RBKLTHTF2IUXJ', 'KUBE-SVC-GNZBNJ2PO5MGZ6GT'];
  const nat = payload.slice(payload.indexOf('*nat')).split('\n');
  for (const chain of stale) t.ok(nat.includes(`:${chain} - [0:0]`), `${chain} declared (flushed)`);
  t.same(
    nat.filter((l) => l.startsWith('-X')),
    stale.map((c) => `-X ${c}`),
  );
  t.ok(nat.indexOf(`-X ${stale[2]}`) < nat.findIndex((l) => l.includes('NOTE: this must be the last rule')), 'before the last KUBE-SERVICES rule');
  t.notMatch(payload, /KUBE-MARK-DROP|CNI-HOSTPORT-DNAT/, 'chains that are not per-service ones are left alone');
  t.notOk(
    stale.some((c) => natChains.includes(c)),
    'natChains lists what remains',
  );
  t.ok(natChains.includes('KUBE-SVC-XPGD46QRK7WJZT7O'), 'a wanted chain is not deleted');
});

t.test('large-cluster mode: above 1000 endpoints the per-endpoint comments go', async (t) => {
  const many = (n: number) => {
    const ips = Array.from({ length: n }, (_, i) => `10.${180 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`);
    return sync(
      [service('ns1', 'svc1')],
      [
        slice(
          'ns1',
          'svc1',
          ips.map((ip) => endpoint(ip)),
        ),
      ],
    );
  };
  t.equal(LARGE_CLUSTER_ENDPOINTS, 1000);
  const small = many(LARGE_CLUSTER_ENDPOINTS);
  t.equal(small.stats.endpoints, 1000);
  t.match(small.payload, /-A KUBE-SEP-\S+ -m comment --comment ns1\/svc1:p80 -s /);
  t.match(small.payload, /-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1\/svc1:p80 -> 10.180.0.0:80" -m statistic/);

  const large = many(LARGE_CLUSTER_ENDPOINTS + 1);
  const sep = endpointChain('ns1/svc1:p80', 'TCP', '10.180.0.0:80');
  t.same(chainRules(large.payload, sep), [`-A ${sep} -s 10.180.0.0 -j KUBE-MARK-MASQ`, `-A ${sep} -m tcp -p tcp -j DNAT --to-destination 10.180.0.0:80`]);
  t.equal(
    chainRules(large.payload, 'KUBE-SVC-XPGD46QRK7WJZT7O')[1],
    `-A KUBE-SVC-XPGD46QRK7WJZT7O -m statistic --mode random --probability 0.0009990010 -j ${sep}`,
  );
  t.ok(
    rules(large.payload, 'nat').includes(
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
    ),
    'service-level comments stay',
  );
  // The nat chains are declared in reverse name order (cheaper for iptables-restore), the same chains.
  const declared = (payload: string) => chains(payload, 'nat');
  t.same(declared(large.payload), [...declared(large.payload)].sort().reverse());
  t.same([...declared(large.payload)].sort(), [...large.natChains].sort());
  t.not(declared(small.payload).join(), [...declared(small.payload)].sort().reverse().join(), "below, kube-proxy's order");
  t.same(declared(small.payload).slice(0, 4), ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
});

t.test('partial sync: only the changed Service chains are written', async (t) => {
  const svc2Parts = svc2([endpoint('10.180.0.2')]);
  const full = sync([svc1, svc2Parts.svc], [svc1Slice, svc2Parts.slice]);
  const partial = syncProxyRules(NODE, [svc1, svc2Parts.svc], [svc1Slice, svc2Parts.slice], CFG, undefined, new Set(['ns2/svc2']));
  t.same(partial.stats, full.stats, 'the node ends up with the same rules');
  t.same([...partial.natChains].sort(), [...full.natChains].sort());
  t.notMatch(partial.payload, /KUBE-SVC-XPGD46QRK7WJZT7O -|KUBE-SEP-SXIVWICOYRO3J4NJ/, 'svc1 chains are neither declared nor rewritten');
  t.match(partial.payload, /-j KUBE-SVC-XPGD46QRK7WJZT7O\n/, 'but KUBE-SERVICES still jumps to them');
  t.same(rules(partial.payload, 'filter'), rules(full.payload, 'filter'));
  t.same(chainRules(partial.payload, 'KUBE-SERVICES'), chainRules(full.payload, 'KUBE-SERVICES'));
  t.same(chainRules(partial.payload, 'KUBE-EXT-GNZBNJ2PO5MGZ6GT'), chainRules(full.payload, 'KUBE-EXT-GNZBNJ2PO5MGZ6GT'));
});

t.test('jump rules: kube-proxy EnsureRule order, and the commands that install them', async (t) => {
  const jumps = jumpRules();
  t.equal(jumps.length, 14);
  t.same(jumps[0], {
    table: 'filter',
    chain: 'INPUT',
    args: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kubernetes externally-visible service portals'],
    target: 'KUBE-EXTERNAL-SERVICES',
  });
  t.same(jumps.at(-1), { table: 'filter', chain: 'OUTPUT', args: [], target: 'KUBE-FIREWALL' });

  const commands = jumpCommands();
  t.same(commands.slice(0, 5), [
    ['iptables', '-t', 'mangle', '-N', 'KUBE-PROXY-CANARY'],
    ['iptables', '-t', 'nat', '-N', 'KUBE-PROXY-CANARY'],
    ['iptables', '-t', 'filter', '-N', 'KUBE-PROXY-CANARY'],
    ['iptables', '-t', 'filter', '-N', 'KUBE-EXTERNAL-SERVICES'],
    ['iptables', '-t', 'filter', '-I', 'INPUT', '1', ...jumps[0]!.args, '-j', 'KUBE-EXTERNAL-SERVICES'],
  ]);
  t.equal(commands.filter((c) => c[3] === '-N').length, 3 + 6 + 2, 'the canaries, then 6 filter and 2 nat chains, each created once');
  // Every insert goes to position 1, so INPUT ends up in reverse order (reference §1.1).
  const input = commands.filter((c) => c[3] === '-I' && c[4] === 'INPUT').map((c) => c.at(-1));
  t.same(input.reverse(), ['KUBE-FIREWALL', 'KUBE-PROXY-FIREWALL', 'KUBE-NODEPORTS', 'KUBE-EXTERNAL-SERVICES']);

  // As one restore: only what is missing, so running it again changes nothing.
  const fresh = jumpRulesPayload('');
  t.match(fresh, /\*filter\n:KUBE-PROXY-CANARY - \[0:0\]\n:KUBE-EXTERNAL-SERVICES - \[0:0\]\n/);
  t.match(fresh, /-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES\n/);
  const saved = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':KUBE-PROXY-CANARY - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    'COMMIT',
  ].join('\n');
  const again = jumpRulesPayload(saved);
  t.match(again, /\*nat\nCOMMIT\n/, 'nothing to do in nat');
  t.match(again, /\*mangle\n:KUBE-PROXY-CANARY - \[0:0\]\nCOMMIT\n/);
});
