// kube-proxy's nftables mode: the table after a first sync compared line by line with what
// upstream's TestOverallNFTablesRules expects of kube-proxy (test/fixtures/nftables), partial
// syncs writing only what changed, and the chain-name hashing.
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { EndpointSlice, Service } from '../../src/api/objects.js';
import { DEFAULT_KUBE_PROXY_CONFIGURATION } from '../../src/api/objects.js';
import {
  endpointNames,
  hashAndTruncate,
  nftablesConfig,
  nftablesProxier,
  servicePortChainNames,
  syncNFTables,
  tableObjects,
  type NFTablesMemo,
  type NFTablesProxierConfig,
} from '../../src/components/kube-proxy/nftables.js';
import { NODE, endpoint, port, service, slice } from './lib/kube-api.js';

/** NewFakeProxier's configuration (proxier_test.go). */
const FAKE: NFTablesProxierConfig = {
  localDetector: { ifLocal: 'ip saddr 10.0.0.0/8', ifNotLocal: 'ip saddr != 10.0.0.0/8' },
  masqueradeMark: '0x4000',
  masqueradeAll: false,
  nodePortIPs: ['192.168.0.2'],
  serviceCIDRs: ['172.30.0.0/16'],
};

/**
 * Replays a transaction onto a table the way the kernel applies it, and dumps the result as
 * knftables.Fake.Dump does ("add" lines for what exists), so a transaction can be compared with
 * upstream's expected dumps. Rule order within a chain is kept.
 */
class Table {
  objects = new Map<string, string>();
  rules = new Map<string, string[]>();
  elements = new Map<string, Map<string, string>>();
  apply(payload: string): this {
    for (const line of payload.split('\n').filter(Boolean)) {
      const m = /^(add|flush|delete) (table|chain|set|map|rule|element) ip kube-proxy ?(\S*) ?(.*)$/.exec(line);
      if (!m) throw new Error(`cannot replay: ${line}`);
      const [, op, kind, name, rest] = m as unknown as [string, string, string, string, string];
      if (kind === 'table') {
        if (op === 'add' && !this.objects.has('table')) this.objects.set('table', line);
        if (op === 'delete') this.constructor.call(this);
      } else if (kind === 'rule') this.rules.get(name)!.push(rest);
      else if (kind === 'element') {
        const inner = /^\{ (.*) \}$/.exec(rest)![1]!;
        const key = inner.replace(/ comment ".*"/, '').split(' : ')[0]!;
        if (op === 'add') this.elements.get(name)!.set(key, inner);
        else if (!this.elements.get(name)!.delete(key)) throw new Error(`no such element: ${line}`);
      } else if (op === 'add') {
        if (!this.objects.has(`${kind} ${name}`)) this.objects.set(`${kind} ${name}`, line);
        if (kind === 'chain') this.rules.set(name, this.rules.get(name) ?? []);
        else this.elements.set(name, this.elements.get(name) ?? new Map());
      } else if (op === 'flush') {
        if (!this.objects.has(`${kind} ${name}`)) throw new Error(`no such ${kind}: ${line}`);
        if (kind === 'chain') this.rules.set(name, []);
        else this.elements.set(name, new Map());
      } else {
        if (!this.objects.delete(`${kind} ${name}`)) throw new Error(`no such ${kind}: ${line}`);
        this.rules.delete(name);
        this.elements.delete(name);
      }
    }
    return this;
  }
  dump(): string[] {
    return [
      ...this.objects.values(),
      ...[...this.rules].flatMap(([chain, rules]) => rules.map((r) => `add rule ip kube-proxy ${chain} ${r}`)),
      ...[...this.elements].flatMap(([set, els]) => [...els.values()].map((e) => `add element ip kube-proxy ${set} { ${e} }`)),
    ];
  }
}

const fixture = readFileSync('test/fixtures/nftables/TestOverallNFTablesRules.nft', 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));
const chainRules = (lines: string[], chain: string) => lines.filter((l) => l.startsWith(`add rule ip kube-proxy ${chain} `));

// TestOverallNFTablesRules' Services and EndpointSlices.
const overall = (): { services: Service[]; slices: EndpointSlice[] } => ({
  services: [
    service('ns1', 'svc1', { clusterIP: '172.30.0.41' }),
    service('ns2', 'svc2', {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      clusterIP: '172.30.0.42',
      ports: [port('p80', 80, { nodePort: 3001 })],
      loadBalancerIngress: [{ ip: '1.2.3.4', ipMode: 'VIP' }],
      externalIPs: ['192.168.99.22'],
      healthCheckNodePort: 30000,
    }),
    service('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.43', ports: [port('p80', 80, { nodePort: 3003 })] }),
    service('ns4', 'svc4', { type: 'NodePort', clusterIP: '172.30.0.44', externalIPs: ['192.168.99.33'] }),
    service('ns5', 'svc5', {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.45',
      ports: [port('p80', 80, { nodePort: 3002 })],
      loadBalancerIngress: [{ ip: '5.6.7.8', ipMode: 'VIP' }],
      healthCheckNodePort: 30000,
      loadBalancerSourceRanges: [' 203.0.113.0/25'],
      sessionAffinity: 'ClientIP',
      affinityTimeoutSeconds: 10800,
    }),
    service('ns6', 'svc6', { clusterIP: '172.30.0.46' }),
  ],
  slices: [
    slice('ns1', 'svc1', [endpoint('10.180.0.1', null)]),
    slice('ns2', 'svc2', [endpoint('10.180.0.2', null)]),
    slice('ns3', 'svc3', [endpoint('10.180.0.3', null)]),
    slice('ns4', 'svc4', [endpoint('10.180.0.4', null), endpoint('10.180.0.5', NODE.name)]),
    slice('ns5', 'svc5', [endpoint('10.180.0.3', null)]),
  ],
});

t.test('chain names: base32(sha256) of the name, as upstream fixtures have them', async (t) => {
  t.equal(servicePortChainNames('ns1', 'svc1', 'TCP', 'p80').cluster, 'service-ULMVA6XW-ns1/svc1/tcp/p80');
  t.equal(servicePortChainNames('ns2', 'svc2', 'tcp', 'p80').external, 'external-42NFTM6N-ns2/svc2/tcp/p80');
  t.same(endpointNames('ns1', 'svc1', 'tcp', 'p80', '10.180.0.1', 80), {
    chain: 'endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80',
    affinitySet: 'affinity-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80',
  });
  // Reference §3's computed names for the other two endpoints of its worked example.
  t.equal(endpointNames('ns1', 'svc1', 'tcp', 'p80', '10.180.0.2', 80).chain, 'endpoint-2ZNDXFAB-ns1/svc1/tcp/p80__10.180.0.2/80');
  t.equal(endpointNames('ns1', 'svc1', 'tcp', 'p80', '10.180.0.3', 80).chain, 'endpoint-WUHIZN2H-ns1/svc1/tcp/p80__10.180.0.3/80');
  const long = hashAndTruncate('x'.repeat(300));
  t.equal(long.length, 240, 'names past 240 characters are cut');
  t.ok(long.endsWith('...'));
});

t.test('full sync: the table TestOverallNFTablesRules expects', async (t) => {
  const { services, slices } = overall();
  const r = syncNFTables(NODE, services, slices, FAKE, null);
  t.ok(r.full);
  const dump = new Table().apply(r.payload).dump();
  t.same([...dump].sort(), [...fixture].sort(), 'same objects, rules and elements');
  for (const chain of new Set(fixture.filter((l) => l.startsWith('add rule')).map((l) => l.split(' ')[4]!)))
    t.same(chainRules(dump, chain), chainRules(fixture, chain), `rule order in ${chain}`);
  // The first sync of a process recreates the base chains (a changed priority would fail otherwise).
  t.match(
    r.payload,
    /^add table ip kube-proxy \{ comment "rules for kube-proxy" ; \}\nadd chain ip kube-proxy filter-prerouting-pre-dnat\ndelete chain ip kube-proxy filter-prerouting-pre-dnat\n/,
  );
  t.match(r.payload, /add chain ip kube-proxy filter-prerouting-pre-dnat \{ type filter hook prerouting priority -110 ; \}/);
});

t.test('partial sync: only the changed Service is written', async (t) => {
  const { services, slices } = overall();
  const first = syncNFTables(NODE, services, slices, FAKE, null);
  const table = new Table().apply(first.payload);

  const same = syncNFTables(NODE, services, slices, FAKE, first.memo);
  t.notOk(same.full);
  t.equal(same.payload, '', 'nothing changed: nothing written');

  // A new Service with two endpoints.
  const svc7 = service('ns7', 'svc7', { clusterIP: '172.30.0.47' });
  const eps7 = slice('ns7', 'svc7', [endpoint('10.180.0.7'), endpoint('10.180.0.8')]);
  const added = syncNFTables(NODE, [...services, svc7], [...slices, eps7], FAKE, first.memo);
  const lines = added.payload.trim().split('\n');
  t.notOk(added.full);
  t.ok(
    lines.every((l) => l.includes('ns7/svc7') || l.includes('172.30.0.47')),
    'every command is about svc7',
  );
  const svcChain = servicePortChainNames('ns7', 'svc7', 'tcp', 'p80').cluster;
  t.same(lines.slice(0, 2), [
    `add chain ip kube-proxy ${endpointNames('ns7', 'svc7', 'tcp', 'p80', '10.180.0.7', 80).chain}`,
    `flush chain ip kube-proxy ${endpointNames('ns7', 'svc7', 'tcp', 'p80', '10.180.0.7', 80).chain}`,
  ]);
  t.ok(lines.includes(`add element ip kube-proxy service-ips { 172.30.0.47 . tcp . 80 : goto ${svcChain} }`));
  t.equal(lines.length, 6 + 2 + 2 + 2 * 2, '3 chains (add+flush), 2 elements, 2 service rules, 2 rules per endpoint');
  table.apply(added.payload);

  // svc1 loses its endpoint: its chains are flushed, its element moves to no-endpoint-services.
  const svc1Chain = servicePortChainNames('ns1', 'svc1', 'tcp', 'p80').cluster;
  const ep1Chain = endpointNames('ns1', 'svc1', 'tcp', 'p80', '10.180.0.1', 80).chain;
  const gone = syncNFTables(NODE, [...services, svc7], [...slices.slice(1), eps7], FAKE, added.memo);
  t.same(gone.payload.trim().split('\n'), [
    'add element ip kube-proxy no-endpoint-services { 172.30.0.41 . tcp . 80 comment "ns1/svc1:p80" : goto reject-chain }',
    `flush chain ip kube-proxy ${ep1Chain}`,
    `flush chain ip kube-proxy ${svc1Chain}`,
    'delete element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 }',
  ]);
  t.same(gone.memo.stale, [ep1Chain, svc1Chain]);
  table.apply(gone.payload);
  // The next sync deletes the stale chains (kube-proxy waits a second: the kernel may not yet see them unreferenced).
  const next = syncNFTables(NODE, [...services, svc7], [...slices.slice(1), eps7], FAKE, gone.memo);
  t.same(next.payload.trim().split('\n'), [`delete chain ip kube-proxy ${ep1Chain}`, `delete chain ip kube-proxy ${svc1Chain}`]);
  table.apply(next.payload);
  t.notOk(table.objects.has(`chain ${svc1Chain}`));

  // The partial syncs leave the same table a full sync of the same state writes.
  const fresh = new Table().apply(syncNFTables(NODE, [...services, svc7], [...slices.slice(1), eps7], FAKE, null).payload);
  t.same([...table.dump()].sort(), [...fresh.dump()].sort());

  // Another configuration: a full sync.
  t.ok(syncNFTables(NODE, services, slices, { ...FAKE, masqueradeAll: true }, next.memo).full);
});

t.test('a full sync with a table already there: stale chains and affinity sets found by listing', async (t) => {
  const { services, slices } = overall();
  const listing = `table ip kube-proxy {\n\tchain services {\n\t}\n\tchain service-AAAAAAAA-old/gone/tcp/p80 {\n\t}\n}\n`;
  const sets = `table ip kube-proxy {\n\tset affinity-AAAAAAAA-old/gone/tcp/p80__10.1.1.1/80 {\n\t\ttype ipv4_addr\n\t}\n}\n`;
  t.same(tableObjects(listing, 'chain'), ['services', 'service-AAAAAAAA-old/gone/tcp/p80']);
  const r = syncNFTables(NODE, services, slices, FAKE, null, { chains: tableObjects(listing, 'chain'), sets: tableObjects(sets, 'set') });
  t.match(r.payload, /\nflush chain ip kube-proxy service-AAAAAAAA-old\/gone\/tcp\/p80\n/);
  t.match(r.payload, /\ndelete set ip kube-proxy affinity-AAAAAAAA-old\/gone\/tcp\/p80__10.1.1.1\/80\n/);
  t.same(r.memo.stale, ['service-AAAAAAAA-old/gone/tcp/p80']);
});

t.test('the proxier: nodePortAddresses defaults to the primary IP; memo carried by the caller', async (t) => {
  const config = { ...DEFAULT_KUBE_PROXY_CONFIGURATION, mode: 'nftables' as const };
  const ctx = { config, clusterCIDR: '10.0.0.0/8', nodeAddresses: ['127.0.0.1', '192.168.0.2', '192.168.1.2'], serviceCIDRs: ['172.30.0.0/16'] };
  const cfg = nftablesConfig(NODE, ctx);
  t.same(cfg.nodePortIPs, ['192.168.0.2'], 'primary only, not every local address');
  t.equal(cfg.masqueradeMark, '0x00004000');
  t.same(nftablesConfig(NODE, { ...ctx, config: { ...config, nodePortAddresses: ['0.0.0.0/0'] } }).nodePortIPs, null);
  const { services, slices } = overall();
  const a = nftablesProxier.sync(NODE, { services, slices }, null, ctx, null);
  t.same(
    a.commands.map((c) => [c.file, ...c.args]),
    [['nft', '-f', '-']],
  );
  t.match(a.stats.written, /full sync/);
  const b = nftablesProxier.sync(NODE, { services, slices }, null, ctx, a.memo);
  t.same(b.commands, [], 'no change, no transaction');
  t.match(b.stats.written, /^0 nft commands \(partial sync\)/);
  t.same((b.memo as NFTablesMemo).elements['cluster-ips'].size, 6);
  t.same(nftablesProxier.cleanup(['table ip kube-proxy {\n\tchain services {\n\t}\n}\n', '']), [
    { file: 'nft', args: ['delete', 'table', 'ip', 'kube-proxy'] },
  ]);
  t.same(nftablesProxier.cleanup(['', '']), [], 'no table, nothing to delete');
});
