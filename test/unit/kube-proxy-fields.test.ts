// Every KubeProxyConfiguration field knetlab models, one test each: the document read as kube-proxy
// reads --config (defaults, validation with positions), then its effect on the rules compared with
// what kube-proxy writes (pkg/proxy/iptables/proxier_test.go: TestMasqueradeRule, TestNodePorts,
// TestNodePortsLocalhost-style cases, the local detectors of pkg/proxy/util/localdetector_test.go)
// and on the sysctls it sets. Fields knetlab does not model are warned about by name.
import t from 'tap';
import { DEFAULT_KUBE_PROXY_CONFIGURATION, type KubeProxyConfiguration, type Service } from '../../src/api/objects.js';
import { readManifests } from '../../src/k8s/manifest.js';
import { parseGoDuration } from '../../src/k8s/manifest/kube-proxy-config.js';
import { formatDiagnostic } from '../../src/labfile/diagnostics.js';
import { iptablesConfig, syncProxyRules } from '../../src/components/kube-proxy/iptables.js';
import { nftablesConfig } from '../../src/components/kube-proxy/nftables.js';
import { kubeProxySysctls, localhostNodePorts, nodePortIPs, syncPeriods } from '../../src/components/kube-proxy/config.js';
import { NODE, chains, endpoint, port, rules, service, slice } from './lib/kube-api.js';

const doc = (body: string) => `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n${body}`;
const read = (body: string) => readManifests([{ file: 'kp.yaml', text: doc(body) }]);
const diagnostics = (body: string) => read(body).diagnostics.map(formatDiagnostic);

/** The resolved configuration of a document that must have no error. */
function config(body: string): KubeProxyConfiguration {
  const r = read(body);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map(formatDiagnostic).join('\n'));
  const o = r.objects[0];
  if (o?.kind !== 'KubeProxyConfiguration') throw new Error('no KubeProxyConfiguration');
  return o.resolved;
}

// The upstream fixture's node has three addresses (reference, "Conventions") besides loopback.
const NODE_ADDRESSES = ['127.0.0.1', '192.168.0.2', '192.168.1.2', '192.168.99.11'];
const svc1 = service('ns1', 'svc1');
const nodePortSvc = service('ns1', 'svc1', { type: 'NodePort', ports: [port('p80', 80, { nodePort: 3001 })] });
const slices = [slice('ns1', 'svc1', [endpoint('10.180.0.1')])];

function payload(body: string, services: Service[] = [svc1]): string {
  const ctx = { config: config(body), clusterCIDR: '10.0.0.0/8', nodeAddresses: NODE_ADDRESSES };
  return syncProxyRules(NODE, services, slices, iptablesConfig(NODE, ctx)).payload;
}
const nodePortJumps = (p: string) => rules(p, 'nat').filter((r) => r.includes('kubernetes service nodeports'));
const SVC1_MASQ = '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80';
const NODEPORTS_NOTE = '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';

t.test("an empty document is kube-proxy's defaults (defaults.go)", async (t) => {
  t.same(config(''), DEFAULT_KUBE_PROXY_CONFIGURATION);
  t.equal(DEFAULT_KUBE_PROXY_CONFIGURATION.iptables.masqueradeBit, 14);
  t.equal(DEFAULT_KUBE_PROXY_CONFIGURATION.conntrack.tcpEstablishedTimeoutMs, 24 * 3600_000);
  t.equal(DEFAULT_KUBE_PROXY_CONFIGURATION.healthzBindAddress, '0.0.0.0:10256');
});

t.test('durations are Go durations', async (t) => {
  t.equal(parseGoDuration('30s'), 30_000);
  t.equal(parseGoDuration('1m30s'), 90_000);
  t.equal(parseGoDuration('1.5h'), 5_400_000);
  t.equal(parseGoDuration('500ms'), 500);
  t.equal(parseGoDuration('0'), 0);
  t.equal(parseGoDuration('30'), undefined, 'a number needs a unit');
  t.equal(parseGoDuration('1d'), undefined, 'Go has no days');
  t.match(diagnostics('iptables:\n  syncPeriod: 30\n'), [
    /4:15  error  iptables\.syncPeriod must be a duration string, not the number 30\n  hint: a duration is a number with a unit/,
  ]);
  t.match(diagnostics('iptables:\n  minSyncPeriod: soon\n'), [/4:18  error  iptables\.minSyncPeriod "soon" is not a duration/]);
  t.match(diagnostics('iptables:\n  syncPeriod: 0s\n'), [/iptables\.syncPeriod 0s must be greater than 0/]);
});

t.test('iptables.masqueradeAll: the ClusterIP masquerade rule loses its "! -s <clusterCIDR>"', async (t) => {
  t.ok(rules(payload(''), 'nat').includes(`${SVC1_MASQ} ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`));
  const all = rules(payload('iptables:\n  masqueradeAll: true\n'), 'nat');
  t.ok(all.includes(`${SVC1_MASQ} -j KUBE-MARK-MASQ`));
  t.notOk(all.some((r) => r.includes('! -s 10.0.0.0/8')));
});

t.test('iptables.masqueradeBit: the mark KUBE-MARK-MASQ sets, KUBE-POSTROUTING and KUBE-FORWARD test (TestMasqueradeRule)', async (t) => {
  const p = payload('iptables:\n  masqueradeBit: 2\n');
  t.ok(rules(p, 'nat').includes('-A KUBE-MARK-MASQ -j MARK --or-mark 0x00000004'));
  t.ok(rules(p, 'nat').includes('-A KUBE-POSTROUTING -m mark ! --mark 0x00000004/0x00000004 -j RETURN'));
  t.ok(rules(p, 'nat').includes('-A KUBE-POSTROUTING -j MARK --xor-mark 0x00000004'));
  t.ok(rules(p, 'filter').includes('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00000004/0x00000004 -j ACCEPT'));
  t.match(diagnostics('iptables:\n  masqueradeBit: 32\n'), [/4:18  error  iptables\.masqueradeBit 32 must be within the range \[0, 31\]/]);
});

t.test('iptables.localhostNodePorts: off adds "! -d 127.0.0.0/8", drops KUBE-FIREWALL and route_localnet', async (t) => {
  const on = payload('', [nodePortSvc]);
  t.same(nodePortJumps(on), [`${NODEPORTS_NOTE} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`]);
  t.ok(chains(on, 'filter').includes('KUBE-FIREWALL'));
  t.ok(
    rules(on, 'filter').includes(
      '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    ),
  );
  t.same(kubeProxySysctls(config(''), NODE)[0], ['net.ipv4.conf.all.route_localnet', '1']);
  const off = payload('iptables:\n  localhostNodePorts: false\n', [nodePortSvc]);
  t.same(nodePortJumps(off), [`${NODEPORTS_NOTE} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS`]);
  t.notOk(chains(off, 'filter').includes('KUBE-FIREWALL'));
  t.notOk(kubeProxySysctls(config('iptables:\n  localhostNodePorts: false\n'), NODE).some(([k]) => k.includes('route_localnet')));
});

t.test('nodePortAddresses: one jump per node IP inside them; loopback only with localhostNodePorts (TestNodePorts)', async (t) => {
  // --nodeport-addresses 192.168.0.0/24,127.0.0.1/32 with localhost NodePorts off: only the primary IP.
  const p = payload('nodePortAddresses: [192.168.0.0/24, 127.0.0.1/32]\niptables:\n  localhostNodePorts: false\n', [nodePortSvc]);
  t.same(nodePortJumps(p), [`${NODEPORTS_NOTE} -d 192.168.0.2 -j KUBE-NODEPORTS`]);
  // With localhost NodePorts on (the default) and loopback listed, 127.0.0.1 gets its jump too.
  const lo = payload('nodePortAddresses: [192.168.0.0/16, 127.0.0.0/8]\n', [nodePortSvc]);
  t.same(nodePortJumps(lo), [
    `${NODEPORTS_NOTE} -d 127.0.0.1 -j KUBE-NODEPORTS`,
    `${NODEPORTS_NOTE} -d 192.168.0.2 -j KUBE-NODEPORTS`,
    `${NODEPORTS_NOTE} -d 192.168.1.2 -j KUBE-NODEPORTS`,
    `${NODEPORTS_NOTE} -d 192.168.99.11 -j KUBE-NODEPORTS`,
  ]);
  t.ok(chains(lo, 'filter').includes('KUBE-FIREWALL'));
  // Loopback not listed: localhostNodePorts is forced off, so no KUBE-FIREWALL and no route_localnet.
  const cfg = config('nodePortAddresses: [192.168.0.0/24]\n');
  t.equal(localhostNodePorts(cfg, NODE), false);
  t.notOk(chains(payload('nodePortAddresses: [192.168.0.0/24]\n', [nodePortSvc]), 'filter').includes('KUBE-FIREWALL'));
  t.same(
    kubeProxySysctls(cfg, NODE).filter(([k]) => k.includes('route_localnet')),
    [],
  );
  // Keywords: primary is the node's own IP; all (or a /0) is every address, as if unset.
  t.same(nodePortIPs(config('nodePortAddresses: [primary]\n'), NODE, NODE_ADDRESSES), ['192.168.0.2']);
  t.same(nodePortIPs(config('nodePortAddresses: [localhost]\n'), NODE, NODE_ADDRESSES), ['127.0.0.1']);
  t.equal(nodePortIPs(config('nodePortAddresses: [all]\n'), NODE, NODE_ADDRESSES), null);
  t.equal(nodePortIPs(config('nodePortAddresses: [0.0.0.0/0]\n'), NODE, NODE_ADDRESSES), null);
  t.match(diagnostics('nodePortAddresses: [192.168.0.0/33]\n'), [
    /3:21  error  nodePortAddresses\[0\] "192\.168\.0\.0\/33" is not a CIDR or one of "primary", "localhost", "all"/,
  ]);
  t.match(diagnostics('nodePortAddresses: ["fd00::/64"]\n'), [/warning  nodePortAddresses\[0\] "fd00::\/64" is IPv6/]);
});

t.test('detectLocalMode: ClusterCIDR, NodeCIDR, BridgeInterface and InterfaceNamePrefix (localdetector.go)', async (t) => {
  const etpLocal = service('ns1', 'svc1', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [port('p80', 80, { nodePort: 3001 })] });
  const ext = (p: string) => rules(p, 'nat').find((r) => r.includes('pod traffic for ns1/svc1:p80 external destinations'));
  const masq = (p: string) => rules(p, 'nat').find((r) => r.startsWith(SVC1_MASQ));
  const cases: [string, string, string][] = [
    ['', '! -s 10.0.0.0/8', '-s 10.0.0.0/8'],
    ['clusterCIDR: 10.244.0.0/16\n', '! -s 10.244.0.0/16', '-s 10.244.0.0/16'],
    ['detectLocalMode: NodeCIDR\n', '! -s 10.0.1.0/24', '-s 10.0.1.0/24'],
    ['detectLocalMode: BridgeInterface\ndetectLocal:\n  bridgeInterface: cni0\n', '! -i cni0', '-i cni0'],
    ['detectLocalMode: InterfaceNamePrefix\ndetectLocal:\n  interfaceNamePrefix: cali\n', '! -i cali+', '-i cali+'],
  ];
  for (const [body, notLocal, local] of cases) {
    const p = payload(body, [etpLocal]);
    t.equal(masq(p), `${SVC1_MASQ} ${notLocal} -j KUBE-MARK-MASQ`, body || 'default');
    t.equal(
      ext(p),
      `-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" ${local} -j KUBE-SVC-XPGD46QRK7WJZT7O`,
      body || 'default',
    );
  }
  // An empty clusterCIDR is no detector: neither rule is written.
  const none = payload('clusterCIDR: ""\n', [etpLocal]);
  t.equal(masq(none), undefined);
  t.equal(ext(none), undefined);
  t.match(diagnostics('detectLocalMode: BridgeInterface\n'), [/3:18  error  detectLocalMode BridgeInterface needs detectLocal\.bridgeInterface/]);
  t.match(diagnostics('detectLocalMode: InterfaceNamePrefix\n'), [/detectLocalMode InterfaceNamePrefix needs detectLocal\.interfaceNamePrefix/]);
  t.match(diagnostics('detectLocalMode: clustercidr\n'), [/detectLocalMode is "clustercidr"; it must be one of .*\n  hint: did you mean "ClusterCIDR"\?/]);
  t.match(diagnostics('clusterCIDR: 10.244.0.0\n'), [/3:14  error  clusterCIDR "10\.244\.0\.0" is not a CIDR/]);
  t.equal(config('clusterCIDR: "10.244.0.0/16,fd00:10:244::/56"\n').clusterCIDR, '10.244.0.0/16', 'a dual-stack pair: the IPv4 one');
});

t.test('detectLocalMode in nftables mode: the same detectors in nft syntax (IfLocalNFT / IfNotLocalNFT)', async (t) => {
  const detector = (body: string) => nftablesConfig(NODE, { config: config(body), clusterCIDR: '10.0.0.0/8', nodeAddresses: [NODE.address] }).localDetector;
  t.same(detector(''), { ifLocal: 'ip saddr 10.0.0.0/8', ifNotLocal: 'ip saddr != 10.0.0.0/8' });
  t.same(detector('detectLocalMode: NodeCIDR\n'), { ifLocal: 'ip saddr 10.0.1.0/24', ifNotLocal: 'ip saddr != 10.0.1.0/24' });
  t.same(detector('detectLocalMode: BridgeInterface\ndetectLocal:\n  bridgeInterface: cni0\n'), { ifLocal: 'iifname "cni0"', ifNotLocal: 'iifname != "cni0"' });
  t.same(detector('detectLocalMode: InterfaceNamePrefix\ndetectLocal:\n  interfaceNamePrefix: cali\n'), {
    ifLocal: 'iifname "cali*"',
    ifNotLocal: 'iifname != "cali*"',
  });
  t.equal(detector('clusterCIDR: ""\n'), null, 'an empty clusterCIDR is no detector');
});

t.test('conntrack: the sysctls kube-proxy sets; tcpBeLiberal also drops the INVALID rule', async (t) => {
  t.same(kubeProxySysctls(config('iptables:\n  localhostNodePorts: false\n'), NODE), [
    ['net.netfilter.nf_conntrack_tcp_timeout_established', '86400'],
    ['net.netfilter.nf_conntrack_tcp_timeout_close_wait', '3600'],
  ]);
  const body =
    'iptables:\n  localhostNodePorts: false\nconntrack:\n  tcpEstablishedTimeout: 2h\n  tcpCloseWaitTimeout: 0s\n  tcpBeLiberal: true\n  udpTimeout: 15s\n  udpStreamTimeout: 2m\n';
  t.same(kubeProxySysctls(config(body), NODE), [
    ['net.netfilter.nf_conntrack_tcp_timeout_established', '7200'],
    ['net.netfilter.nf_conntrack_tcp_be_liberal', '1'],
    ['net.netfilter.nf_conntrack_udp_timeout', '15'],
    ['net.netfilter.nf_conntrack_udp_timeout_stream', '120'],
  ]);
  const invalid = '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP';
  t.ok(rules(payload(''), 'filter').includes(invalid));
  t.notOk(rules(payload('conntrack:\n  tcpBeLiberal: true\n'), 'filter').includes(invalid));
  t.match(diagnostics('conntrack:\n  maxPerCore: 0\n'), [
    /4:3  warning  conntrack\.maxPerCore and conntrack\.min size the conntrack table, which is global to the machine/,
  ]);
  t.match(diagnostics('conntrack:\n  min: -1\n'), [
    /warning  conntrack\.maxPerCore and conntrack\.min/,
    /error  conntrack\.min -1 must be greater than or equal to 0/,
  ]);
});

t.test('syncPeriod and minSyncPeriod of the mode in use', async (t) => {
  t.same(syncPeriods(config('')), { syncPeriodMs: 30_000, minSyncPeriodMs: 1_000 });
  t.same(syncPeriods(config('iptables:\n  syncPeriod: 5s\n  minSyncPeriod: 0s\n')), { syncPeriodMs: 5_000, minSyncPeriodMs: 0 });
});

t.test('healthzBindAddress: IPv4 address and port; the port defaults to 10256', async (t) => {
  t.equal(config('healthzBindAddress: 127.0.0.1:10266\n').healthzBindAddress, '127.0.0.1:10266');
  t.equal(config('healthzBindAddress: 0.0.0.0\n').healthzBindAddress, '0.0.0.0:10256');
  t.match(diagnostics('healthzBindAddress: "localhost:1"\n'), [/error  healthzBindAddress "localhost:1" is not an IPv4 address with an optional port/]);
});

t.test('ipvs and nftables sections are read and checked, and said to act only in their modes', async (t) => {
  const c = config('ipvs:\n  scheduler: lc\n  strictARP: true\n  excludeCIDRs: [10.0.0.0/24]\n  tcpTimeout: 900s\nnftables:\n  masqueradeBit: 5\n');
  t.same(c.ipvs.scheduler, 'lc');
  t.same(c.ipvs.strictARP, true);
  t.same(c.ipvs.excludeCIDRs, ['10.0.0.0/24']);
  t.same(c.ipvs.tcpTimeoutMs, 900_000);
  t.same(c.nftables.masqueradeBit, 5);
  t.match(diagnostics('mode: iptables\nipvs:\n  scheduler: lc\n'), [
    /4:1  warning  ipvs settings take effect only in ipvs mode; kube-proxy runs in iptables mode here/,
  ]);
  // Without a mode in the document it may come from the command line (--proxy-mode): no warning.
  t.same(diagnostics('ipvs:\n  scheduler: lc\n'), []);
  t.match(diagnostics('ipvs:\n  scheduler: roundrobin\n'), [/4:14  error  ipvs\.scheduler "roundrobin" is not an IPVS scheduler\n  hint: one of rr, wrr, lc/]);
});

t.test('every other field of the real KubeProxyConfiguration is warned about by name; a field it does not have is an error', async (t) => {
  for (const field of [
    'featureGates: {}',
    'clientConnection: {}',
    'logging: {}',
    'oomScoreAdj: -999',
    'metricsBindAddress: 0.0.0.0:10249',
    'configSyncPeriod: 15m',
  ]) {
    const name = field.split(':')[0]!;
    t.match(diagnostics(field + '\n').join('\n'), new RegExp(`3:1  warning  ${name} is not modelled by knetlab and is ignored`), name);
  }
  t.match(diagnostics('iptables:\n  snatNodeInternalIP: true\n'), [/4:3  warning  iptables\.snatNodeInternalIP is not modelled by knetlab and is ignored/]);
  t.match(diagnostics('masqueradeAll: true\n'), [/3:1  error  unknown field "masqueradeAll"/]);
  t.match(diagnostics('iptables:\n  masqueradAll: true\n'), [/4:3  error  unknown field "iptables\.masqueradAll"\n  hint: did you mean "masqueradeAll"\?/]);
});
