// The kernel's view of kube-proxy's iptables mode: in a scratch network namespace, install the
// jump rules and restore the reference's worked example (§1.13), then compare `iptables-save`
// with the real outputs recorded in the reference, §1.13(b) and (c). Every iptables command runs
// through `ip netns exec kp-itest`; the machine's own tables are never touched.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import type { EndpointSlice, Meta, NodeInfo, Service } from '../../src/api/objects.js';
import {
  DEFAULT_PROXIER_CONFIG,
  RESTORE_COMMAND,
  cidrDetector,
  chainsIn,
  endpointChain,
  jumpCommands,
  jumpRulesPayload,
  servicePortChains,
  syncProxyRules,
} from '../../src/components/kube-proxy/iptables.js';
import { iptablesCleanup } from '../../src/components/kube-proxy/iptables/cleanup.js';
import { NO_CONNECTION_TO_DELETE, conntrackCleanup } from '../../src/components/kube-proxy/conntrack.js';

const NETNS = 'kp-itest';

/** Reference §1.13(b), real `iptables-save -t nat` output (iptables 1.8.9, nft and legacy alike). */
const EXPECTED_NAT = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-EXT-XPGD46QRK7WJZT7O - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-SEP-ICDUIKC33SFI6ZPR - [0:0]
:KUBE-SEP-LXVODXWDISEETFEF - [0:0]
:KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-NODEPORTS -p tcp -m comment --comment "ns1/svc1:p80" -m tcp --dport 3001 -j KUBE-EXT-XPGD46QRK7WJZT7O
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SEP-ICDUIKC33SFI6ZPR -s 10.180.0.3/32 -m comment --comment "ns1/svc1:p80" -j KUBE-MARK-MASQ
-A KUBE-SEP-ICDUIKC33SFI6ZPR -p tcp -m comment --comment "ns1/svc1:p80" -m tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SEP-LXVODXWDISEETFEF -s 10.180.0.2/32 -m comment --comment "ns1/svc1:p80" -j KUBE-MARK-MASQ
-A KUBE-SEP-LXVODXWDISEETFEF -p tcp -m comment --comment "ns1/svc1:p80" -m tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-SEP-SXIVWICOYRO3J4NJ -s 10.180.0.1/32 -m comment --comment "ns1/svc1:p80" -j KUBE-MARK-MASQ
-A KUBE-SEP-SXIVWICOYRO3J4NJ -p tcp -m comment --comment "ns1/svc1:p80" -m tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-SVC-XPGD46QRK7WJZT7O ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-SXIVWICOYRO3J4NJ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-LXVODXWDISEETFEF
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.3:80" -j KUBE-SEP-ICDUIKC33SFI6ZPR
COMMIT
`;

/** Reference §1.13(c), real `iptables-save -t filter` output, same run. */
const EXPECTED_FILTER = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -j KUBE-FIREWALL
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`;

// The §1.13 service: ns1/svc1, NodePort 3001, three ready endpoints on other nodes.
const NODE: NodeInfo = { name: 'test-node', address: '192.168.0.2', netns: NETNS, podCIDR: '10.0.1.0/24' };
const CFG = { ...DEFAULT_PROXIER_CONFIG, localDetector: cidrDetector('10.0.0.0/8') };
const meta = (namespace: string, name: string): Meta => ({
  name,
  namespace,
  labels: {},
  annotations: {},
  creationTimestamp: '2024-01-01T00:00:00Z',
  uid: name,
});
const SVC1: Service = {
  meta: meta('ns1', 'svc1'),
  type: 'NodePort',
  clusterIP: '172.30.0.41',
  ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 3001 }],
  selector: { app: 'svc1' },
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
  loadBalancerIngress: [],
};
const SLICE: EndpointSlice = {
  meta: meta('ns1', 'svc1-1'),
  service: 'svc1',
  ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  endpoints: ['10.180.0.1', '10.180.0.2', '10.180.0.3'].map((address) => ({
    address,
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: 'other-node',
    pod: null,
  })),
  managedBy: 'endpointslice-controller.k8s.io',
};

/** Runs argv inside the scratch namespace, never in the machine's own. */
const inNetns = (argv: string[], input?: string): string => execFileSync('ip', ['netns', 'exec', NETNS, ...argv], { input, encoding: 'utf8' });

/** iptables-save of one table without its "#" comment lines, counters zeroed. */
const save = (table: string): string =>
  inNetns(['iptables-save', '-t', table])
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n')
    .replace(/\[\d+:\d+\]/g, '[0:0]');

const netnsExists = (): boolean =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => l.split(' ')[0] === NETNS);

function freshNetns(): void {
  if (netnsExists()) execFileSync('ip', ['netns', 'del', NETNS]);
  execFileSync('ip', ['netns', 'add', NETNS]);
}

if (process.getuid?.() !== 0) {
  t.skip('the kube-proxy iptables integration test needs root (it creates a network namespace)', () => {});
} else {
  t.teardown(() => {
    if (netnsExists()) execFileSync('ip', ['netns', 'del', NETNS]);
  });

  t.test('jump commands + the §1.13 payload: iptables-save is the reference output', async (t) => {
    freshNetns();
    for (const argv of jumpCommands()) inNetns(argv);
    inNetns(RESTORE_COMMAND, syncProxyRules(NODE, [SVC1], [SLICE], CFG).payload);
    t.equal(save('nat'), EXPECTED_NAT);
    t.equal(save('filter'), EXPECTED_FILTER);
  });

  t.test('the jump rules as one restore: the same tables, and idempotent', async (t) => {
    freshNetns();
    inNetns(RESTORE_COMMAND, jumpRulesPayload(inNetns(['iptables-save'])));
    inNetns(RESTORE_COMMAND, syncProxyRules(NODE, [SVC1], [SLICE], CFG).payload);
    t.equal(save('nat'), EXPECTED_NAT);
    t.equal(save('filter'), EXPECTED_FILTER);
    // A restarted proxy: nothing is missing, so nothing is declared (flushed) or inserted again.
    const again = jumpRulesPayload(inNetns(['iptables-save']));
    t.equal(again, '*mangle\nCOMMIT\n*nat\nCOMMIT\n*filter\nCOMMIT\n');
    inNetns(RESTORE_COMMAND, again);
    t.equal(save('nat'), EXPECTED_NAT);
  });

  t.test('every other rule shape loads, and iptables-save prints it as the reference says', async (t) => {
    freshNetns();
    inNetns(RESTORE_COMMAND, jumpRulesPayload(''));
    // Upstream's svc2 (LB, externalTrafficPolicy Local, no local endpoint), svc5 (LB, ClientIP
    // affinity, a space-padded source range) and svc6 (no endpoints), reference §1.6 and §1.14.
    const svc = (name: string, fields: Partial<Service>): Service => ({ ...SVC1, meta: meta(name.replace('svc', 'ns'), name), ...fields });
    const lb = (clusterIP: string, nodePort: number, ingressIP: string) => ({
      type: 'LoadBalancer' as const,
      clusterIP,
      ports: [{ ...SVC1.ports[0]!, nodePort }],
      loadBalancerIngress: [{ ip: ingressIP, ipMode: 'VIP' }],
    });
    const services = [
      svc('svc2', { ...lb('172.30.0.42', 3001, '1.2.3.4'), externalIPs: ['192.168.99.22'], externalTrafficPolicy: 'Local', healthCheckNodePort: 30000 }),
      svc('svc5', { ...lb('172.30.0.45', 3002, '5.6.7.8'), loadBalancerSourceRanges: [' 203.0.113.0/25'], sessionAffinity: 'ClientIP' }),
      svc('svc6', { type: 'ClusterIP', clusterIP: '172.30.0.46', ports: [{ ...SVC1.ports[0]!, nodePort: null }] }),
    ];
    const slices = [
      { ...SLICE, meta: meta('ns2', 'svc2-1'), service: 'svc2', endpoints: [{ ...SLICE.endpoints[1]! }] },
      { ...SLICE, meta: meta('ns5', 'svc5-1'), service: 'svc5', endpoints: [{ ...SLICE.endpoints[2]! }] },
    ];
    inNetns(RESTORE_COMMAND, syncProxyRules(NODE, services, slices, CFG).payload);
    const nat = save('nat').split('\n');
    const filter = save('filter').split('\n');
    t.ok(
      nat.includes(
        '-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-I77PXRDZVX7PMWMN --mask 255.255.255.255 --rsource -j KUBE-SEP-I77PXRDZVX7PMWMN',
      ),
    );
    t.ok(
      nat.includes(
        '-A KUBE-SEP-I77PXRDZVX7PMWMN -p tcp -m comment --comment "ns5/svc5:p80" -m recent --set --name KUBE-SEP-I77PXRDZVX7PMWMN --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.3:80',
      ),
    );
    t.ok(nat.includes('-A KUBE-FW-NUKIZ6OKUXPJNT4C -s 203.0.113.0/25 -m comment --comment "ns5/svc5:p80 loadbalancer IP" -j KUBE-EXT-NUKIZ6OKUXPJNT4C'));
    t.ok(nat.includes('-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"'));
    t.ok(
      nat.includes(
        '-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -s 10.0.0.0/8 -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -j KUBE-SVC-GNZBNJ2PO5MGZ6GT',
      ),
    );
    t.ok(
      filter.includes(
        '-A KUBE-SERVICES -d 172.30.0.46/32 -p tcp -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
      ),
    );
    t.ok(
      filter.includes(
        '-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 3001 -j DROP',
      ),
    );
    t.ok(filter.includes('-A KUBE-NODEPORTS -p tcp -m comment --comment "ns2/svc2:p80 health check node port" -m tcp --dport 30000 -j ACCEPT'));
    t.ok(
      filter.includes(
        '-A KUBE-PROXY-FIREWALL -d 5.6.7.8/32 -p tcp -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp --dport 80 -j DROP',
      ),
    );
  });

  t.test('UDP and SCTP service ports load: -p udp -m udp and -p sctp -m sctp, DNAT and REJECT alike', async (t) => {
    freshNetns();
    inNetns(RESTORE_COMMAND, jumpRulesPayload(''));
    const svc = (name: string, protocol: 'UDP' | 'SCTP', clusterIP: string, nodePort: number | null): Service => ({
      ...SVC1,
      meta: meta('ns7', name),
      type: nodePort === null ? 'ClusterIP' : 'NodePort',
      clusterIP,
      ports: [{ name: 'p53', protocol, port: 53, targetPort: 5353, nodePort }],
    });
    const services = [svc('dns', 'UDP', '172.30.0.53', 3053), svc('sig', 'SCTP', '172.30.0.54', 3054), svc('none', 'SCTP', '172.30.0.55', null)];
    const slice = (name: string, protocol: 'UDP' | 'SCTP'): EndpointSlice => ({
      ...SLICE,
      meta: meta('ns7', `${name}-1`),
      service: name,
      ports: [{ name: 'p53', port: 5353, protocol }],
      endpoints: [{ ...SLICE.endpoints[0]! }],
    });
    inNetns(RESTORE_COMMAND, syncProxyRules(NODE, services, [slice('dns', 'UDP'), slice('sig', 'SCTP')], CFG).payload);
    const nat = save('nat').split('\n');
    const filter = save('filter').split('\n');
    for (const [name, proto, ip, nodePort] of [
      ['dns', 'udp', '172.30.0.53', 3053],
      ['sig', 'sctp', '172.30.0.54', 3054],
    ] as const) {
      const chains = servicePortChains(`ns7/${name}:p53`, proto === 'udp' ? 'UDP' : 'SCTP');
      const sep = endpointChain(`ns7/${name}:p53`, proto === 'udp' ? 'UDP' : 'SCTP', '10.180.0.1:5353');
      t.ok(
        nat.includes(`-A KUBE-SERVICES -d ${ip}/32 -p ${proto} -m comment --comment "ns7/${name}:p53 cluster IP" -m ${proto} --dport 53 -j ${chains.svc}`),
        `${proto}: the ClusterIP rule`,
      );
      t.ok(
        nat.includes(`-A KUBE-NODEPORTS -p ${proto} -m comment --comment "ns7/${name}:p53" -m ${proto} --dport ${nodePort} -j ${chains.ext}`),
        `${proto}: the NodePort rule`,
      );
      t.ok(
        nat.includes(`-A ${sep} -p ${proto} -m comment --comment "ns7/${name}:p53" -m ${proto} -j DNAT --to-destination 10.180.0.1:5353`),
        `${proto}: the DNAT`,
      );
    }
    t.ok(
      filter.includes(
        '-A KUBE-SERVICES -d 172.30.0.55/32 -p sctp -m comment --comment "ns7/none:p53 has no endpoints" -m sctp --dport 53 -j REJECT --reject-with icmp-port-unreachable',
      ),
      'sctp: the REJECT without endpoints',
    );

    // kube-proxy's conntrack deletions after that sync and after the endpoint left: the real
    // conntrack takes every one (an empty table answers "0 flow entries have been deleted").
    const api = { services, slices: [slice('dns', 'UDP'), slice('sig', 'SCTP')] };
    const commands = [...conntrackCleanup(null, api), ...conntrackCleanup(api, { services, slices: [] })];
    t.equal(commands.length, 4, 'newly active: ClusterIP and NodePort; deleted endpoint: NodePort and ClusterIP');
    for (const cmd of commands) {
      const r = spawnSync('ip', ['netns', 'exec', NETNS, cmd.file, ...cmd.args], { encoding: 'utf8' });
      t.ok(r.status === 0 || r.stderr.includes(NO_CONNECTION_TO_DELETE), `${cmd.file} ${cmd.args.join(' ')}: ${r.stderr.trim()}`);
    }
  });

  t.test('a later sync deletes the chains of a removed service, and nothing else', async (t) => {
    freshNetns();
    for (const argv of jumpCommands()) inNetns(argv);
    inNetns(RESTORE_COMMAND, syncProxyRules(NODE, [SVC1], [SLICE], CFG).payload);
    const existing = chainsIn(inNetns(['iptables-save']));
    const { payload, natChains } = syncProxyRules(NODE, [], [], CFG, existing);
    inNetns(RESTORE_COMMAND, payload);
    const after = chainsIn(inNetns(['iptables-save']));
    t.same(after.nat.filter((c) => c.startsWith('KUBE-')).sort(), [...natChains, 'KUBE-PROXY-CANARY'].sort());
    t.notMatch(save('nat'), /KUBE-(SVC|SEP|EXT)-/);
    t.match(save('nat'), /-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n/, 'the jump rules stay');
  });

  t.test('large-cluster mode declares the nat chains in reverse order: the same tables as in name order', async (t) => {
    // 334 Services of 3 endpoints: above the 1000 endpoints of large-cluster mode.
    const services = Array.from({ length: 334 }, (_, i): Service => ({ ...SVC1, meta: meta('big', `s${i}`), clusterIP: `172.30.${i >> 8}.${i & 255}` }));
    const slices = services.map((svc, i): EndpointSlice => ({
      ...SLICE,
      meta: meta('big', `s${i}-1`),
      service: svc.meta.name,
      endpoints: SLICE.endpoints.map((ep, k) => ({ ...ep, address: `10.181.${i >> 6}.${((i & 63) << 2) + k}` })),
    }));
    const { payload, stats } = syncProxyRules(NODE, services, slices, CFG);
    t.ok(stats.endpoints > 1000);
    // The same payload with the chain lines in name order.
    const [head, nat] = payload.split('*nat\n') as [string, string];
    const declarations = nat.split('\n').filter((l) => l.startsWith(':'));
    const inNameOrder = `${head}*nat\n${[...declarations].sort().join('\n')}\n${nat.slice(declarations.join('\n').length + 1)}`;
    t.not(inNameOrder, payload);
    const saved: string[] = [];
    for (const input of [payload, inNameOrder]) {
      freshNetns();
      for (const argv of jumpCommands()) inNetns(argv);
      inNetns(RESTORE_COMMAND, input);
      saved.push(save('nat') + save('filter'));
    }
    t.equal(saved[0], saved[1], 'iptables-save lists the same');
  });

  t.test(
    "CleanupLeftovers (kube-proxy --cleanup): no kube-proxy chain or jump is left but KUBE-MARK-MASQ, kubelet's KUBE-FIREWALL and the canaries",
    async (t) => {
      freshNetns();
      const before = inNetns(['iptables-save']);
      inNetns(RESTORE_COMMAND, jumpRulesPayload(before));
      // Two services, one with a NodePort, and the KUBE-FIREWALL rule localhostNodePorts writes.
      const svc2: Service = { ...SVC1, meta: meta('ns1', 'svc2'), type: 'ClusterIP', clusterIP: '172.30.0.42', ports: [{ ...SVC1.ports[0]!, nodePort: null }] };
      const slice2: EndpointSlice = { ...SLICE, meta: meta('ns1', 'svc2-1'), service: 'svc2' };
      inNetns(RESTORE_COMMAND, syncProxyRules(NODE, [SVC1, svc2], [SLICE, slice2], { ...CFG, localhostNodePorts: true }).payload);
      t.match(save('nat'), /KUBE-SEP-/);
      const commands = iptablesCleanup(inNetns(['iptables-save']));
      for (const cmd of commands) inNetns([cmd.file, ...cmd.args], cmd.input);
      const nat = save('nat');
      const filter = save('filter');
      const mangle = save('mangle');
      const chains = (text: string) => [...text.matchAll(/^:(KUBE-[A-Z0-9-]+) /gm)].map((m) => m[1]).sort();
      t.same(chains(nat), ['KUBE-MARK-MASQ', 'KUBE-PROXY-CANARY']);
      t.same(chains(filter), ['KUBE-FIREWALL', 'KUBE-PROXY-CANARY']);
      t.same(chains(mangle), ['KUBE-PROXY-CANARY']);
      const jumps = (text: string) => text.split('\n').filter((l) => /^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) .*-j KUBE-/.test(l));
      t.same(jumps(nat), [], 'no jump from a built-in nat chain');
      t.same(jumps(filter), ['-A INPUT -j KUBE-FIREWALL', '-A OUTPUT -j KUBE-FIREWALL'], "only kubelet's jumps to KUBE-FIREWALL");
      t.match(filter, /-A KUBE-FIREWALL .*block incoming localnet connections/, "KUBE-FIREWALL's rule stays, as kubelet's");
      t.same(iptablesCleanup(inNetns(['iptables-save'])), [], 'a second cleanup finds nothing to do');
    },
  );
}
