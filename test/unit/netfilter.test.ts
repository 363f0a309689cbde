// A namespace's own iptables rules and ipsets: what the loader refuses (at the rule's line and
// column, with the kernel's reason), the payloads iptables-restore and ipset restore are given,
// and the trace and counters checks judged on what the kernel printed in netfilter-hooks.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { loadLabFile } from '../../src/plan/load.js';
import { errorsOf } from './lib/errors.js';
import { ipsetPayload, tablesPayload } from '../../src/kernel/iptables.js';
import { metOf, parseIptablesSave, parseRuleset, parseTrace, pathDiff, visitsOf, walkOf } from '../../src/kernel/trace.js';
import { checkFlow, parseCounters, probeCommand } from '../../src/kernel/probe.js';

const lab = (iptables: string, rest = '') => `name: demo
title: Demo
topology:
  namespaces:
    a:
      ipsets:
        many: { type: "hash:ip", range: { from: 10.0.0.1, count: 10000 } }
      iptables:
${iptables}
${rest}`;

t.test('rules in every table load, in raw → security order, with the chains of the lab own declared', async (t) => {
  const { lab: l } = loadLabFile(
    'lab.yaml',
    lab(`        filter:
          FORWARD: ['-m set --match-set many src -m comment --comment "one rule"', -j MINE]
          MINE: [-s 10.0.0.2/32]
        raw:
          PREROUTING: [-j NOTRACK]
        nat:
          POSTROUTING: [-o eth0 -j MASQUERADE]
          PREROUTING: [-p tcp --dport 80 -j DNAT --to-destination 10.0.0.9:8080]`),
  );
  const ns = l.namespaces[0]!;
  t.same(
    ns.iptables.map((c) => `${c.table} ${c.chain}`),
    ['raw PREROUTING', 'nat POSTROUTING', 'nat PREROUTING', 'filter FORWARD', 'filter MINE'],
  );
  t.equal(
    tablesPayload(ns.iptables),
    [
      '*raw',
      '-A PREROUTING -j NOTRACK',
      'COMMIT',
      '*nat',
      '-A POSTROUTING -o eth0 -j MASQUERADE',
      '-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.9:8080',
      'COMMIT',
      '*filter',
      ':MINE - [0:0]',
      '-A FORWARD -m set --match-set many src -m comment --comment "one rule"',
      '-A FORWARD -j MINE',
      '-A MINE -s 10.0.0.2/32',
      'COMMIT',
      '',
    ].join('\n'),
  );
  t.same(ns.ipsets, [{ name: 'many', type: 'hash:ip', members: [], range: { from: '10.0.0.1', to: '10.0.39.16', count: 10000 } }]);
  t.equal(ipsetPayload(ns.ipsets), 'create many hash:ip family inet\nadd many 10.0.0.1-10.0.39.16\n', '10,000 addresses in one line');
});

t.test('chains and targets the kernel would refuse are errors at the rule, with the reason', async (t) => {
  const errs = errorsOf(
    lab(`        raw:
          INPUT: [-j ACCEPT]
        filter:
          FORWARD: [-o eth0 -j MASQUERADE, -m set --match-set mny src, -j ACEPT, -A FORWARD -j DROP, '-m comment --comment "x']
        nat:
          PREROUTING: [-j DROP, -j SNAT --to-source 10.0.0.1]`),
  );
  t.match(errs[0], /^lab\.yaml:10:11  error  the raw table has no INPUT chain\n  hint: raw has PREROUTING, OUTPUT/);
  t.match(errs[1], /^lab\.yaml:12:21  error  MASQUERADE cannot be used in filter FORWARD\n  hint: MASQUERADE is valid only in nat POSTROUTING/);
  t.match(errs[2], /^lab\.yaml:12:44  error  --match-set names "mny", which is not an ipset of this namespace\n  hint: did you mean "many"\?/);
  t.match(errs[3], /unknown target "ACEPT" in the filter table\n  hint: did you mean "ACCEPT"\?/);
  t.match(errs[4], /"-A" does not belong in a rule here/);
  t.match(errs[5], /unclosed double quote/);
  t.match(errs[6], /^lab\.yaml:14:24  error  DROP cannot be used in nat PREROUTING/);
  t.match(errs[7], /SNAT cannot be used in nat PREROUTING\n  hint: SNAT is valid only in nat POSTROUTING, nat INPUT/);
  t.equal(errs.length, 8);
});

t.test('ipsets: a range is for hash:ip, members must fit the type', async (t) => {
  const errs = errorsOf(`name: demo
title: Demo
topology:
  namespaces:
    a:
      ipsets:
        nets: { type: "hash:net", range: { from: 10.0.0.1, count: 10 } }
        ips: { type: "hash:ip", members: [10.0.0.1, 10.0.0.0/24] }
`);
  t.match(errs[0], /^lab\.yaml:7:42  error  range applies to hash:ip sets only/);
  t.match(errs[1], /^lab\.yaml:8:53  error  "10\.0\.0\.0\/24" is not an IPv4 address/);
});

const fixture = (f: string) => readFileSync(`test/fixtures/trace/${f}`, 'utf8');
// One ping from the client to the router's own address, traced in the router of netfilter-hooks.
const visits = visitsOf(
  parseTrace(fixture('hooks-router-input.trace')),
  parseRuleset(fixture('hooks-router.ruleset.json')),
  parseIptablesSave(fixture('hooks-router.iptables-save')),
);

t.test('a trace check reads the hooks and tables in the order the kernel reported them', async (t) => {
  // The walk starts where the packet was sent: the client, whose trace is not in this fixture.
  t.same(walkOf([{ netns: 'router', visits }], { protocol: 'icmp', length: 300 }, 'request', 'client'), []);
  const inbound = visits.filter((v) => v.packet.flags === 'echo-request');
  // nat INPUT is priority 100 (it rewrites sources), and iptables' nf_tables backend puts security at 150.
  t.same(metOf(inbound), ['PREROUTING raw', 'PREROUTING mangle', 'PREROUTING nat', 'INPUT mangle', 'INPUT filter', 'INPUT nat', 'INPUT security']);
  const reply = visits.filter((v) => v.packet.flags === 'echo-reply');
  t.same(
    metOf(reply),
    ['OUTPUT raw', 'OUTPUT mangle', 'OUTPUT filter', 'OUTPUT security', 'POSTROUTING mangle'],
    'no nat for a reply: nat sees only the first packet',
  );
});

t.test('pathDiff: nothing when the walk agrees; a line per step where it does not', async (t) => {
  const seen = [
    { namespace: 'client', met: ['OUTPUT', 'POSTROUTING'] },
    { namespace: 'router', met: ['PREROUTING raw', 'INPUT mangle', 'INPUT nat', 'INPUT security'] },
  ];
  t.equal(pathDiff([{ namespace: 'router', met: ['PREROUTING raw', 'INPUT mangle', 'INPUT nat', 'INPUT security'] }], seen), null);
  const diff = pathDiff([{ namespace: 'router', met: ['PREROUTING raw', 'INPUT mangle', 'INPUT security', 'INPUT nat'] }], seen)!;
  t.same(diff, [
    'router: the walk differs from step 3',
    '     expected         met',
    '   1 PREROUTING raw   PREROUTING raw',
    '   2 INPUT mangle     INPUT mangle',
    '   3 INPUT security ≠ INPUT nat',
    '   4 INPUT nat      ≠ INPUT security',
  ]);
  t.match(pathDiff([{ namespace: 'server', met: [] }], seen)![0], /^server: not crossed; the walk was client → router$/);
  t.match(
    pathDiff(
      [
        { namespace: 'router', met: seen[1]!.met },
        { namespace: 'client', met: seen[0]!.met },
      ],
      seen,
    )![0],
    /^client: crossed, but not in the expected order/,
  );
});

t.test('trace and counters checks lower to the probe and to iptables -S -v', async (t) => {
  const { lab: l } = loadLabFile(
    'lab.yaml',
    lab(
      `        filter:
          FORWARD: [-m set --match-set many src]`,
      `checks:
  - from: a
    trace: http://10.0.0.9/
    expect: { path: [a: [OUTPUT, POSTROUTING]] }
  - from: a
    counters: filter FORWARD
    expect: { rule: --match-set many src, minPackets: 1 }
`,
    ),
  );
  const [trace, counters] = l.checks;
  const flow = checkFlow(trace!);
  t.equal(flow.protocol, 'tcp');
  t.same(probeCommand(trace!, 'a').args.slice(0, 9), [
    'netns',
    'exec',
    'a',
    'curl',
    '-sS',
    '--max-time',
    '5',
    '--local-port',
    String((flow as { port: number }).port),
  ]);
  t.same(probeCommand(counters!, 'a').args, ['netns', 'exec', 'a', 'iptables', '-t', 'filter', '-S', 'FORWARD', '-v']);
  t.same(parseCounters('-P FORWARD ACCEPT -c 0 0\n-A FORWARD -m set --match-set many src -c 3 252\n-A FORWARD -j ONE -c 3 252\n'), [
    { rule: '-A FORWARD -m set --match-set many src', packets: 3, bytes: 252 },
    { rule: '-A FORWARD -j ONE', packets: 3, bytes: 252 },
  ]);
});

t.test('nat chains with nothing that turns connection tracking on get a warning: they would see no packet', async (t) => {
  const counting = `        nat:
          PREROUTING: ['-m comment --comment "counted"']`;
  const { warnings } = loadLabFile('lab.yaml', lab(counting));
  t.equal(warnings.length, 1);
  t.match(warnings[0]!.message, /the nat chains will see no packet/);
  t.equal(warnings[0]!.pos.line, 10, 'at the nat key');
  const tracked = `        nat:
          PREROUTING: ['-m conntrack --ctstate NEW -m comment --comment "counted"']`;
  t.equal(loadLabFile('lab.yaml', lab(tracked)).warnings.length, 0, 'a conntrack match turns it on');
});
