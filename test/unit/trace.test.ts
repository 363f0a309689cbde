// `nft monitor trace` output as the kernel gave it: one curl from a pod to the ClusterIP of
// service-clusterip (flannel VXLAN, kube-proxy iptables on the nf_tables backend), traced in the
// client pod, node1, node2 and the pod that answered; node rulesets and iptables-save read back
// right after. The parser, the grouping into base chain visits and the walk are checked on it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  directionOf,
  isTraceCleanup,
  parseIptablesSave,
  parseRuleset,
  parseTrace,
  removeTraceTable,
  traceRuleset,
  visitsOf,
  visitVerdict,
  walkOf,
  type FlowMatch,
} from '../../src/kernel/trace.js';

const fixture = (f: string) => readFileSync(`test/fixtures/trace/${f}`, 'utf8');
const flow: FlowMatch = { protocol: 'tcp', port: 45123 };
const noRules = parseRuleset('{}');

const perNetns = [
  {
    netns: 'node2',
    visits: visitsOf(
      parseTrace(fixture('clusterip-node2.trace')),
      parseRuleset(fixture('clusterip-node2.ruleset.json')),
      parseIptablesSave(fixture('clusterip-node2.iptables-save')),
    ),
  },
  { netns: 'pod', visits: visitsOf(parseTrace(fixture('clusterip-pod-sc2l6.trace')), noRules) },
  { netns: 'client', visits: visitsOf(parseTrace(fixture('clusterip-client.trace')), noRules) },
  {
    netns: 'node1',
    visits: visitsOf(
      parseTrace(fixture('clusterip-node1.trace')),
      parseRuleset(fixture('clusterip-node1.ruleset.json')),
      parseIptablesSave(fixture('clusterip-node1.iptables-save')),
    ),
  },
];

t.test('every line of the trace is an event; packet lines are read field by field', async (t) => {
  const text = fixture('clusterip-node1.trace');
  const events = parseTrace(text);
  t.equal(events.length, text.split('\n').filter((l) => l.startsWith('trace id ')).length);
  const syn = events.find((e) => e.kind === 'packet' && e.table === 'nat' && e.chain === 'PREROUTING')!;
  t.match(syn.packet, {
    iif: 'cni0',
    oif: null,
    saddr: '10.244.1.3',
    daddr: '10.98.254.54',
    ttl: 64,
    protocol: 'tcp',
    sport: 45123,
    dport: 8080,
    flags: 'syn',
  });
  const dnat = events.find((e) => e.rule?.includes('dnat to'))!;
  t.match(dnat, { kind: 'rule', family: 'ip', table: 'nat', verdict: 'accept' });
  t.match(dnat.chain, /^KUBE-SEP-/);
  t.type(dnat.handle, 'number');
  t.notMatch(dnat.rule, /# handle/);
  t.ok(events.some((e) => e.kind === 'policy' && e.verdict === 'accept'));
});

t.test('visits: hooks from the ruleset, rules mapped to the iptables rules kube-proxy wrote', async (t) => {
  const node1 = perNetns.find((n) => n.netns === 'node1')!.visits;
  const nat = node1.find((v) => v.table === 'nat' && v.chain === 'PREROUTING' && directionOf(v.packet, flow) === 'request')!;
  t.equal(nat.hook, 'prerouting');
  t.equal(nat.prio, -100);
  t.same(
    nat.hits.map((h) => h.chain.replace(/-[A-Z0-9]{16}$/, '-…')),
    ['PREROUTING', 'KUBE-SERVICES', 'KUBE-SVC-…', 'KUBE-SEP-…'],
  );
  t.match(nat.hits[3]!.iptables, /^-A KUBE-SEP-\S+ -p tcp -m comment --comment "default\/nginx-deploy" -m tcp -j DNAT --to-destination 10\.244\.2\.2:80$/);
  t.match(nat.hits[2]!.iptables, /-m statistic --mode random --probability/);
  t.equal(visitVerdict(nat), 'accept');
  const ours = node1.find((v) => v.ours)!;
  t.equal(ours.hits.length, 0, "the trace table's own rules are not shown");
});

t.test('the request walk: ordered by TTL from the client to the pod, DNAT seen on node1', async (t) => {
  const walk = walkOf(perNetns, flow, 'request', 'client');
  t.same(
    walk.map((h) => [h.netns, h.fate, h.in, h.out]),
    [
      ['client', 'sent', null, 'eth0'],
      ['node1', 'forwarded', 'cni0', 'flannel.1'],
      ['node2', 'forwarded', 'flannel.1', 'cni0'],
      ['pod', 'delivered', 'eth0', null],
    ],
  );
  const node1 = walk[1]!;
  t.same([node1.arrived.daddr, node1.left.daddr], ['10.98.254.54', '10.244.2.2']);
  t.same(
    node1.visits.map((v) => `${v.hook} ${v.table}`),
    [
      'prerouting knetlab-trace',
      'prerouting nat',
      'forward knetlab-trace',
      'forward filter',
      'postrouting knetlab-trace',
      // Not the trace table's own chain after source NAT: it only remembers the flow.
      'postrouting nat',
    ],
  );
  t.same(
    walk[3]!.visits.map((v) => v.hook),
    ['prerouting', 'input'],
  );
});

t.test('the reply walk goes back the same way', async (t) => {
  const walk = walkOf(perNetns, flow, 'reply', 'pod');
  t.same(
    walk.map((h) => [h.netns, h.fate]),
    [
      ['pod', 'sent'],
      ['node2', 'forwarded'],
      ['node1', 'forwarded'],
      ['client', 'delivered'],
    ],
  );
  t.equal(walk[3]!.arrived.saddr, '10.98.254.54', 'conntrack has undone the DNAT by the time the reply reaches the client');
});

t.test('direction is the DSCP mark, whatever NAT did to the ports', async (t) => {
  const pkt = (dscp: string, sport: number, dport: number) =>
    ({ iif: null, oif: null, saddr: '', daddr: '', ttl: 64, id: 1, length: 60, protocol: 'tcp', sport, dport, flags: null, mark: null, dscp }) as const;
  t.equal(directionOf(pkt('af41', 61234, 80), flow), 'request', 'a request whose client port a MASQUERADE rewrote');
  t.equal(directionOf(pkt('af42', 80, 61234), flow), 'reply');
  t.equal(directionOf(pkt('cs0', 45123, 80), flow), null, 'an unmarked packet on the same port is not the probe');
});

t.test('trace table: flags only the flow, in every hook; its removal is idempotent and recognised', async (t) => {
  const origin = traceRuleset(flow, true);
  // The client marks its request by DSCP as it leaves; every namespace flags both marks.
  t.match(origin, /chain output \{\n\s+type filter hook output priority -350; policy accept;\n\s+tcp sport 45123 ip dscp set af41\n/);
  t.match(origin, /meta l4proto tcp ip dscp \{ af41, af42 \} meta nftrace set 1/);
  const other = traceRuleset(flow);
  t.notMatch(other, /tcp sport 45123/, 'only the client namespace marks requests by port');
  // Replies are marked where they start: to an address and port a marked request came from.
  t.match(other, /meta l4proto tcp ip daddr \. tcp dport @flows ip dscp set af42/);
  t.match(
    other,
    /chain after-snat \{\n\s+type filter hook postrouting priority 300; policy accept;\n\s+meta l4proto tcp ip dscp af41 update @flows \{ ip saddr \. tcp sport \}/,
  );
  for (const hook of ['input', 'forward', 'postrouting']) t.match(other, new RegExp(`type filter hook ${hook} priority -350`));
  t.match(traceRuleset({ protocol: 'icmp', length: 300 }), /meta l4proto icmp ip length 300 meta nftrace set 1/);
  t.notMatch(traceRuleset({ protocol: 'icmp', length: 300 }), /dscp|@flows/, 'ICMP probes are told by their length, which NAT keeps');
  const rm = removeTraceTable('t1-node1');
  t.equal(rm.input, 'table ip knetlab-trace\ndelete table ip knetlab-trace\n');
  t.ok(isTraceCleanup(rm));
  t.notOk(isTraceCleanup({ file: 'ip', args: ['netns', 'exec', 't1-node1', '/opt/cni/bin/bridge'], input: '{}' }));
});

t.test('IPVS: a packet taken at LOCAL_IN and sent on through LOCAL_OUT is forwarded there, not delivered', async (t) => {
  const pkt = (daddr: string, ttl: number, hook: 'in' | 'out') =>
    ({
      iif: hook === 'in' ? 'cni0' : null,
      oif: hook === 'out' ? 'flannel.1' : null,
      saddr: '10.244.1.3',
      daddr,
      ttl,
      id: 7,
      length: 60,
      protocol: 'tcp',
      sport: 45123,
      dport: daddr === '10.107.138.117' ? 8080 : 80,
      flags: 'syn',
      mark: null,
      dscp: 'af41',
    }) as const;
  const visit = (hook: string, packet: ReturnType<typeof pkt>) => ({
    hook,
    family: 'ip',
    table: 'knetlab-trace',
    chain: hook,
    prio: -350,
    packet,
    hits: [],
    ours: true,
  });
  const node1 = [
    visit('prerouting', pkt('10.107.138.117', 64, 'in')),
    visit('input', pkt('10.107.138.117', 64, 'in')),
    visit('output', pkt('10.244.3.2', 64, 'out')),
    visit('postrouting', pkt('10.244.3.2', 64, 'out')),
  ];
  const hops = walkOf([{ netns: 'node1', visits: node1 }], flow, 'request', 'node1');
  t.equal(hops[0]?.fate, 'forwarded', 'IPVS sent it on to 10.244.3.2');
});
