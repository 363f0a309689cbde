// The kernel's view of kube-proxy's nftables mode: in a scratch network namespace, load the
// first sync (full) of upstream's TestOverallNFTablesRules plus the reference's worked example
// (§3) with the real `nft -f`, then partial syncs, and read the table back with
// `nft list table ip kube-proxy`. Every nft command runs through `ip netns exec kp-nftest`; the
// machine's own ruleset is never touched.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import type { EndpointSlice, Service } from '../../src/api/objects.js';
import { NFT_COMMAND, endpointNames, servicePortChainNames, syncNFTables, type NFTablesProxierConfig } from '../../src/components/kube-proxy/nftables.js';
import { NODE as TEST_NODE, endpoint, port, service, slice } from '../unit/lib/kube-api.js';

const NETNS = 'kp-nftest';
const NODE = { ...TEST_NODE, netns: NETNS };
const CFG: NFTablesProxierConfig = {
  localDetector: { ifLocal: 'ip saddr 10.0.0.0/8', ifNotLocal: 'ip saddr != 10.0.0.0/8' },
  masqueradeMark: '0x00004000',
  masqueradeAll: false,
  nodePortIPs: ['192.168.0.2'],
  serviceCIDRs: ['172.30.0.0/16'],
};

const inNetns = (argv: string[], input?: string): string => execFileSync('ip', ['netns', 'exec', NETNS, ...argv], { input, encoding: 'utf8' });
const load = (payload: string): void => void inNetns(NFT_COMMAND, payload);
const list = (): string => inNetns(['nft', 'list', 'table', 'ip', 'kube-proxy']);
/** The listing's chains, sets and maps, sorted: a base chain recreated by a restart is listed later. */
const objects = (listing: string): string[] =>
  listing
    .replace(/\n}\n$/, '\n')
    .split(/\n(?=\t(?:chain|set|map) )/)
    .sort();
const netnsExists = (): boolean =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => l.split(' ')[0] === NETNS);

// Reference §3's worked example: ns1/svc1 NodePort 3001, three endpoints; plus a LoadBalancer with
// affinity and source ranges, and a Service without endpoints.
const services: Service[] = [
  service('ns1', 'svc1', { type: 'NodePort', clusterIP: '172.30.0.41', ports: [port('p80', 80, { nodePort: 3001 })] }),
  service('ns5', 'svc5', {
    type: 'LoadBalancer',
    clusterIP: '172.30.0.45',
    ports: [port('p80', 80, { nodePort: 3002 })],
    loadBalancerIngress: [{ ip: '5.6.7.8', ipMode: 'VIP' }],
    loadBalancerSourceRanges: ['203.0.113.0/25'],
    sessionAffinity: 'ClientIP',
  }),
  service('ns6', 'svc6', { clusterIP: '172.30.0.46' }),
];
const slices: EndpointSlice[] = [
  slice('ns1', 'svc1', [endpoint('10.180.0.1'), endpoint('10.180.0.2'), endpoint('10.180.0.3')]),
  slice('ns5', 'svc5', [endpoint('10.180.0.3')]),
];

if (!(process.getuid?.() === 0) || spawnSync('nft', ['--version']).status !== 0) {
  t.skip('the kube-proxy nftables integration test needs root and nft (it creates a network namespace)', () => {});
} else {
  if (netnsExists()) execFileSync('ip', ['netns', 'del', NETNS]);
  execFileSync('ip', ['netns', 'add', NETNS]);
  t.teardown(() => {
    if (netnsExists()) execFileSync('ip', ['netns', 'del', NETNS]);
  });

  const svc1 = servicePortChainNames('ns1', 'svc1', 'tcp', 'p80').cluster;
  const ep = (ip: string) => endpointNames('ns1', 'svc1', 'tcp', 'p80', ip, 80).chain;

  t.test('full sync, then partial ones, with the real nft', async (t) => {
    const first = syncNFTables(NODE, services, slices, CFG, null);
    load(first.payload);
    const table = list();
    // nft 1.0.6's rendering of what kube-proxy wrote (reference §3).
    t.match(table, `chain ${svc1} {`);
    t.match(table, `numgen random mod 3 vmap { 0 : goto ${ep('10.180.0.1')}, 1 : goto ${ep('10.180.0.2')}, 2 : goto ${ep('10.180.0.3')} }`);
    t.match(table, 'meta mark set meta mark | 0x00004000');
    t.match(table, 'masquerade fully-random');
    t.match(table, /chain nat-prerouting \{\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tjump services\n/);
    t.match(table, /chain filter-prerouting-pre-dnat \{\n\t\ttype filter hook prerouting priority dstnat - 10; policy accept;/);
    t.match(table, `172.30.0.41 . tcp . 80 : goto ${svc1}`);
    t.match(table, '172.30.0.46 . tcp . 80 comment "ns6/svc6:p80" : goto reject-chain');
    t.match(
      table,
      /set affinity-\S+ns5\/svc5\/tcp\/p80__10\.180\.0\.3\/80 \{\n\t\ttype ipv4_addr\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\ttimeout 3h\n/,
    );

    // A second process's first sync over the existing table (kube-proxy restarted): still one transaction.
    load(syncNFTables(NODE, services, slices, CFG, null).payload);
    t.same(objects(list()), objects(table), 'a restart rewrites the same table');

    // A new Service: a small transaction, the rest untouched.
    const svc7 = service('ns7', 'svc7', { clusterIP: '172.30.0.47' });
    const eps7 = slice('ns7', 'svc7', [endpoint('10.180.0.7')]);
    const added = syncNFTables(NODE, [...services, svc7], [...slices, eps7], CFG, first.memo);
    t.ok(added.stats.commands < 12, `${added.stats.commands} commands`);
    load(added.payload);
    t.match(list(), `172.30.0.47 . tcp . 80 : goto ${servicePortChainNames('ns7', 'svc7', 'tcp', 'p80').cluster}`);

    // svc1 loses two endpoints: its chain is rewritten, the two endpoint chains flushed, then deleted.
    const fewer = [slice('ns1', 'svc1', [endpoint('10.180.0.2')]), slices[1]!, eps7];
    const shrunk = syncNFTables(NODE, [...services, svc7], fewer, CFG, added.memo);
    load(shrunk.payload);
    t.match(list(), `numgen random mod 1 vmap { 0 : goto ${ep('10.180.0.2')} }`);
    t.match(list(), `chain ${ep('10.180.0.1')} {\n\t}`, 'flushed, not yet deleted');
    const after = syncNFTables(NODE, [...services, svc7], fewer, CFG, shrunk.memo);
    load(after.payload);
    t.notMatch(list(), ep('10.180.0.1'));
    t.notMatch(list(), ep('10.180.0.3'));

    // Partial syncs in every form nft must accept without its chain cache: an affinity and
    // source-range LoadBalancer rewritten (sets declared, rules with @set references and an
    // anonymous set), a Service gaining endpoints (its no-endpoint element deleted), an
    // externalTrafficPolicy Local one added (rules with comments), svc7 deleted.
    const svc5b = { ...services[1]!, loadBalancerSourceRanges: ['203.0.113.0/25', '192.168.0.0/16'], affinityTimeoutSeconds: 60 };
    const svc8 = service('ns8', 'svc8', {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      clusterIP: '172.30.0.48',
      ports: [port('p80', 80, { nodePort: 3008 })],
      loadBalancerIngress: [{ ip: '5.6.7.9', ipMode: 'VIP' }],
    });
    const later = [services[0]!, svc5b, services[2]!, svc8];
    const laterSlices = [
      ...fewer.slice(0, 2),
      slice('ns5', 'svc5', [endpoint('10.180.0.3'), endpoint('10.180.0.4')]),
      slice('ns6', 'svc6', [endpoint('10.180.0.6')]),
      slice('ns8', 'svc8', [endpoint('10.180.0.8', NODE.name)]),
    ].filter((s, i) => i !== 1);
    const rewritten = syncNFTables(NODE, later, laterSlices, CFG, after.memo);
    t.match(rewritten.payload, /^add chain ip kube-proxy service-\S+ns5\/svc5\S+ \{ .* ; ip saddr @affinity-\S+ goto endpoint-/m);
    t.match(rewritten.payload, /^delete element ip kube-proxy no-endpoint-services /m);
    load(rewritten.payload);
    // The node (192.168.0.2) is in a source range: the LB IP is let through too.
    t.match(list(), 'ip saddr != { 5.6.7.8, 192.168.0.0/16, 203.0.113.0/25 } drop');
    t.match(list(), 'short-circuit pod traffic');
    t.notMatch(list(), '172.30.0.47', "svc7's elements are gone (its chains wait, flushed)");

    // The partial syncs leave exactly the table a full sync of the same state writes (chains
    // flushed by the last one are still there, empty: a later sync deletes them).
    const stale = rewritten.memo.stale;
    const partialTable = objects(list()).filter((o) => !stale.some((c) => o.startsWith(`\tchain ${c} {`)));
    for (const chain of stale) t.match(list(), `chain ${chain} {\n\t}`, `${chain} flushed`);
    inNetns(['nft', 'delete', 'table', 'ip', 'kube-proxy']);
    load(syncNFTables(NODE, later, laterSlices, CFG, null).payload);
    t.same(objects(list()), partialTable);
  });
}
