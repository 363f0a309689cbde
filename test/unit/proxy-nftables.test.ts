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
      // A partial sync's forms (Transaction.render): a chain's rules in its "add chain", elements
      // in their set's declaration, which must be the one the set was created with.
      const rules = op === 'add' && kind === 'chain' && /^\{ (?!type |comment )(.*) ; \}$/.exec(rest);
      const withElements = op === 'add' && (kind === 'set' || kind === 'map') && /^(\{ .* ;) elements = \{ (.*) \} ; \}$/.exec(rest);
      if (rules) {
        if (!this.rules.has(name)) throw new Error(`rules for a chain not yet added: ${line}`);
        this.rules.get(name)!.push(...rules[1]!.split(' ; '));
      } else if (withElements) {
        const declared = this.objects.get(`${kind} ${name}`);
        if (declared !== `add ${kind} ip kube-proxy ${name} ${withElements[1]} }`) throw new Error(`not the declaration of ${name} (${declared}): ${line}`);
        for (const inner of withElements[2]!.split(' , ')) this.addElement(name, inner, line);
      } else if (kind === 'table') {
        if (op === 'add' && !this.objects.has('table')) this.objects.set('table', line);
        if (op === 'delete') this.constructor.call(this);
      } else if (kind === 'rule') this.rules.get(name)!.push(rest);
      else if (kind === 'element') {
        const inner = /^\{ (.*) \}$/.exec(rest)![1]!;
        if (op === 'add') this.addElement(name, inner, line);
        else if (!this.elements.get(name)!.delete(inner)) throw new Error(`no such element: ${line}`);
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
  /** As the kernel: a key already there with another value is an error; the same again is not. */
  private addElement(set: string, inner: string, line: string): void {
    const key = inner.replace(/ comment ".*"/, '').split(' : ')[0]!;
    const known = this.elements.get(set)!.get(key);
    if (known !== undefined && known.split(' : ')[1] !== inner.split(' : ')[1]) throw new Error(`element exists with another value: ${line}`);
    this.elements.get(set)!.set(key, inner);
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
  t.throws(() => syncNFTables(NODE, services, slices, FAKE, first.memo), /handed to a sync already/, 'a memo serves one sync');
  // The agent parses the API anew for every sync: equal objects are no change either.
  const cloned = syncNFTables(NODE, structuredClone(services), structuredClone(slices), FAKE, same.memo);
  t.equal(cloned.payload, '', 'equal objects: nothing written');

  // A new Service with two endpoints.
  const svc7 = service('ns7', 'svc7', { clusterIP: '172.30.0.47' });
  const eps7 = slice('ns7', 'svc7', [endpoint('10.180.0.7'), endpoint('10.180.0.8')]);
  const added = syncNFTables(NODE, [...services, svc7], [...slices, eps7], FAKE, cloned.memo);
  const lines = added.payload.trim().split('\n');
  t.notOk(added.full);
  t.ok(
    lines.every((l) => l.includes('ns7/svc7') || l.includes('172.30.0.47')),
    'every command is about svc7',
  );
  const svcChain = servicePortChainNames('ns7', 'svc7', 'tcp', 'p80').cluster;
  const ep7 = endpointNames('ns7', 'svc7', 'tcp', 'p80', '10.180.0.7', 80).chain;
  const ep8 = endpointNames('ns7', 'svc7', 'tcp', 'p80', '10.180.0.8', 80).chain;
  // Chains first, then the elements (through their map's declaration) and each chain's rules in
  // one statement: the forms nft 1.0.6 runs without listing every chain of the table.
  t.same(lines, [
    `add chain ip kube-proxy ${ep7}`,
    `flush chain ip kube-proxy ${ep7}`,
    `add chain ip kube-proxy ${ep8}`,
    `flush chain ip kube-proxy ${ep8}`,
    `add chain ip kube-proxy ${svcChain}`,
    `flush chain ip kube-proxy ${svcChain}`,
    'add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; elements = { 172.30.0.47 } ; }',
    `add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; elements = { 172.30.0.47 . tcp . 80 : goto ${svcChain} } ; }`,
    `add chain ip kube-proxy ${svcChain} { ip daddr 172.30.0.47 ip saddr != 10.0.0.0/8 jump mark-for-masquerade ; numgen random mod 2 vmap { 0 : goto ${ep7} , 1 : goto ${ep8} } ; }`,
    `add chain ip kube-proxy ${ep7} { ip saddr 10.180.0.7 jump mark-for-masquerade ; meta l4proto tcp dnat to 10.180.0.7:80 ; }`,
    `add chain ip kube-proxy ${ep8} { ip saddr 10.180.0.8 jump mark-for-masquerade ; meta l4proto tcp dnat to 10.180.0.8:80 ; }`,
  ]);
  t.equal(added.stats.commands, 6 + 2 + 2 + 2 * 2, "kube-proxy's statements: 3 chains (add+flush), 2 elements, 2 service rules, 2 rules per endpoint");
  t.same([added.stats.services, added.stats.endpoints], [first.stats.services + 1, first.stats.endpoints + 2]);
  table.apply(added.payload);

  // svc1 loses its endpoint: its chains are flushed, its element moves to no-endpoint-services.
  const svc1Chain = servicePortChainNames('ns1', 'svc1', 'tcp', 'p80').cluster;
  const ep1Chain = endpointNames('ns1', 'svc1', 'tcp', 'p80', '10.180.0.1', 80).chain;
  const gone = syncNFTables(NODE, [...services, svc7], [...slices.slice(1), eps7], FAKE, added.memo);
  t.same(gone.payload.trim().split('\n'), [
    'delete element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 }',
    'add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; elements = { 172.30.0.41 . tcp . 80 comment "ns1/svc1:p80" : goto reject-chain } ; }',
    `flush chain ip kube-proxy ${ep1Chain}`,
    `flush chain ip kube-proxy ${svc1Chain}`,
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

  // Another configuration, or another node: a full sync.
  const reconfigured = syncNFTables(NODE, services, slices, { ...FAKE, masqueradeAll: true }, next.memo);
  t.ok(reconfigured.full);
  t.ok(syncNFTables({ ...NODE, name: 'other-node' }, services, slices, { ...FAKE, masqueradeAll: true }, reconfigured.memo).full);
});

/** Many Services of every kind: the i-th of them, at version v (a change of v changes its ports, endpoints or kind). */
function variant(i: number, v: number): { svc: Service; slice: EndpointSlice | null } {
  const ns = `ns${i % 7}`;
  const name = `svc${i}`;
  const ip = (base: number, k: number) => `172.30.${base + (k >> 8)}.${k & 255}`;
  const kind = (i + v) % 6;
  const fields: Partial<Service> = { clusterIP: ip(0, i), ports: [port('p80', 80 + (v % 2))] };
  if (kind === 1) Object.assign(fields, { type: 'NodePort', ports: [port('p80', 80, { nodePort: 30000 + i })] });
  if (kind === 2)
    Object.assign(fields, {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ports: [port('p80', 80, { nodePort: 30000 + i })],
      loadBalancerIngress: [{ ip: ip(100, i), ipMode: 'VIP' }],
      loadBalancerSourceRanges: ['203.0.113.0/25'],
      healthCheckNodePort: 31000 + i,
    });
  if (kind === 3) Object.assign(fields, { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 300, externalIPs: [ip(200, i % 4)] });
  if (kind === 4) Object.assign(fields, { internalTrafficPolicy: 'Local', ports: [port('p80', 80), port('p443', 443)] });
  const count = (i + v) % 4;
  const eps = Array.from({ length: count }, (_, k) => endpoint(`10.180.${i % 200}.${10 * v + k}`, k === 0 ? NODE.name : 'other-node'));
  const ports = (fields.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol }));
  return { svc: service(ns, name, fields), slice: kind === 5 ? null : { ...slice(ns, name, eps), ports } };
}

t.test('partial syncs over many changes leave the table a full sync writes', async (t) => {
  const N = 40;
  const versions = new Map<number, number>(Array.from({ length: N }, (_, i) => [i, 0]));
  // The same object for the same version, as an informer cache hands it out.
  const made = new Map<string, ReturnType<typeof variant>>();
  const state = () => {
    const parts = [...versions].map(([i, v]) => made.get(`${i}:${v}`) ?? made.set(`${i}:${v}`, variant(i, v)).get(`${i}:${v}`)!);
    return { services: parts.map((p) => p.svc), slices: parts.flatMap((p) => (p.slice ? [p.slice] : [])) };
  };
  let api = state();
  let r = syncNFTables(NODE, api.services, api.slices, FAKE, null);
  const table = new Table().apply(r.payload);
  // A deterministic walk: change, add and delete Services, a few at a time.
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let step = 0; step < 60; step++) {
    const touched: number[] = [];
    for (let k = 0; k < 1 + (next() % 3); k++) {
      const i = next() % (N + 5);
      touched.push(i);
      if (versions.has(i) && next() % 5 === 0) versions.delete(i);
      else versions.set(i, (versions.get(i) ?? 0) + 1);
    }
    // Unchanged Services come back as new, equal objects every third step (as the agent reads them).
    const fresh = state();
    api = step % 3 === 0 ? structuredClone(fresh) : fresh;
    r = syncNFTables(NODE, api.services, api.slices, FAKE, r.memo);
    t.notOk(r.full);
    for (const line of r.payload.split('\n').filter(Boolean))
      if (!/^(flush|delete) chain /.test(line) && !touched.some((i) => line.includes(`/svc${i}/`) || line.includes(`ns${i % 7}/svc${i}:`)))
        t.ok(/^(add (set|map)|delete element) /.test(line), `step ${step}: only the changed Services' chains: ${line}`);
    table.apply(r.payload);
    const full = new Table().apply(syncNFTables(NODE, api.services, api.slices, FAKE, null).payload);
    // Chains flushed but not yet deleted are empty, and nothing refers to them.
    const pending = new Set(r.memo.stale);
    for (const chain of pending) t.same(table.rules.get(chain), [], `step ${step}: ${chain} is empty`);
    const dump = table.dump().filter((l) => ![...pending].some((c) => l === `add chain ip kube-proxy ${c}`));
    t.same(dump.sort(), full.dump().sort(), `step ${step}: the table a full sync writes`);
    t.same(
      [r.stats.services, r.stats.endpoints],
      [syncNFTables(NODE, api.services, api.slices, FAKE, null).stats.services, syncNFTables(NODE, api.services, api.slices, FAKE, null).stats.endpoints],
    );
  }
});

t.test('two Services wanting one element: the last by name wins, as in a full sync, and keeps it when the other goes', async (t) => {
  const a = service('ns1', 'a', { clusterIP: '172.30.0.1', externalIPs: ['192.168.99.1'] });
  const b = service('ns1', 'b', { clusterIP: '172.30.0.2', externalIPs: ['192.168.99.1'] });
  const slices = [slice('ns1', 'a', [endpoint('10.180.0.1')]), slice('ns1', 'b', [])];
  const full = syncNFTables(NODE, [a, b], slices, FAKE, null);
  const table = new Table().apply(full.payload);
  const element = () => table.elements.get('no-endpoint-services')!.get('192.168.99.1 . tcp . 80');
  t.equal(element(), '192.168.99.1 . tcp . 80 comment "ns1/b:p80" : goto reject-chain', 'b is later by name');
  // a changes: b still wins the no-endpoint element.
  const a2 = { ...a, ports: [port('p80', 80), port('p81', 81)] };
  const changed = syncNFTables(NODE, [a2, b], slices, FAKE, full.memo);
  table.apply(changed.payload);
  t.equal(element(), '192.168.99.1 . tcp . 80 comment "ns1/b:p80" : goto reject-chain');
  // a gets no endpoints either, then b goes: a's element stays, a's own.
  const noEndpoints = [slice('ns1', 'a', []), slices[1]!];
  const both = syncNFTables(NODE, [a2, b], noEndpoints, FAKE, changed.memo);
  table.apply(both.payload);
  const bGone = syncNFTables(NODE, [a2], noEndpoints.slice(0, 1), FAKE, both.memo);
  table.apply(bGone.payload);
  t.equal(element(), '192.168.99.1 . tcp . 80 comment "ns1/b:p80" : goto reject-chain', 'same verdict: not rewritten for its comment');
  const fresh = new Table().apply(syncNFTables(NODE, [a2], noEndpoints.slice(0, 1), FAKE, null).payload);
  t.same(
    [...table.elements.get('no-endpoint-services')!.keys()].sort(),
    [...fresh.elements.get('no-endpoint-services')!.keys()].sort(),
    'the element stays while a wants it',
  );
  t.notMatch(bGone.payload, /delete element ip kube-proxy no-endpoint-services \{ 192\.168\.99\.1/);
});

t.test('stale chains in a large table wait for a transaction that deletes anyway, or for 1% of the chains', async (t) => {
  // 300 Services of 1 endpoint: 600 per-service chains.
  const many = Array.from({ length: 300 }, (_, i) => i);
  const svcs = many.map((i) => service('big', `s${i}`, { clusterIP: `172.30.${i >> 8}.${i & 255}` }));
  const eps = (i: number, v = 0) => slice('big', `s${i}`, [endpoint(`10.180.${i >> 8}.${(i & 255) + v}`)]);
  let slices = many.map((i) => eps(i));
  let r = syncNFTables(NODE, svcs, slices, FAKE, null);
  const table = new Table().apply(r.payload);
  // Endpoints move (a rollout): the old endpoint chains are flushed and left for later.
  for (let i = 0; i < 5; i++) {
    slices = slices.map((s, k) => (k === i ? eps(i, 1) : s));
    r = syncNFTables(NODE, svcs, slices, FAKE, r.memo);
    table.apply(r.payload);
    t.notMatch(r.payload, /^delete /m, `change ${i}: nothing deleted`);
  }
  t.equal(r.memo.stale.length, 5);
  // The sixth is 1% of 600 chains: all six go in the next transaction.
  slices = slices.map((s, k) => (k === 5 ? eps(5, 1) : s));
  r = syncNFTables(NODE, svcs, slices, FAKE, r.memo);
  table.apply(r.payload);
  t.equal(r.memo.stale.length, 6);
  slices = slices.map((s, k) => (k === 6 ? eps(6, 1) : s));
  r = syncNFTables(NODE, svcs, slices, FAKE, r.memo);
  t.equal(r.payload.match(/^delete chain /gm)?.length, 6);
  table.apply(r.payload);
  t.equal(r.memo.stale.length, 1, "this sync's own stale chain waits");
  // A deleted Service deletes its elements: the pending chain goes in the same transaction.
  r = syncNFTables(NODE, svcs.slice(1), slices.slice(1), FAKE, r.memo);
  t.match(r.payload, /^delete element ip kube-proxy service-ips \{ 172\.30\.0\.0 \. tcp \. 80 \}$/m);
  t.equal(r.payload.match(/^delete chain /gm)?.length, 1);
  table.apply(r.payload);
  t.same(
    r.memo.stale.sort(),
    [servicePortChainNames('big', 's0', 'tcp', 'p80').cluster, endpointNames('big', 's0', 'tcp', 'p80', '10.180.0.1', 80).chain].sort(),
  );
  // A stale chain used again is kept, not deleted.
  const back = syncNFTables(NODE, svcs, [eps(0, 1), ...slices.slice(1)], FAKE, r.memo);
  t.notMatch(back.payload, /^delete chain /m);
  t.same(back.memo.stale, []);
  table.apply(back.payload);
  const fresh = new Table().apply(syncNFTables(NODE, svcs, [eps(0, 1), ...slices.slice(1)], FAKE, null).payload);
  t.same(table.dump().sort(), fresh.dump().sort());
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
