// The kernel's view of kube-proxy's IPVS mode: in a scratch network namespace, load the §2.4
// worked example's payloads (reference kube-proxy.md) with the real tools, then compare
// `iptables-save` and `ipset save` with the reference. ipvsadm and the dummy device need ip_vs and
// dummy, which some kernels lack (this machine's among them): those parts run where the kernel
// has them (`knetlab vm -- npx tap test/integration/proxy-ipvs.test.ts`) and are skipped, saying
// so, elsewhere. Every command runs through `ip netns exec`; the machine's own tables are never touched.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { DEFAULT_KUBE_PROXY_CONFIGURATION, type EndpointSlice, type Meta, type NodeInfo, type Service } from '../../src/api/objects.js';
import type { Command } from '../../src/kernel/command.js';
import { ipvsProxier } from '../../src/components/kube-proxy/ipvs.js';

const NETNS = 'kp-ipvs-itest';
const NODE: NodeInfo = { name: 'test-node', address: '192.168.0.2', netns: NETNS, podCIDR: '10.0.1.0/24' };
const CTX = {
  config: { ...DEFAULT_KUBE_PROXY_CONFIGURATION, mode: 'ipvs' as const },
  clusterCIDR: '10.0.0.0/8',
  nodeAddresses: ['127.0.0.1', '192.168.0.2', '192.168.1.2', '192.168.99.11'],
};
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
// §2.4: the endpoints are on this node.
const SLICE: EndpointSlice = {
  meta: meta('ns1', 'svc1-1'),
  service: 'svc1',
  ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  endpoints: ['10.180.0.1', '10.180.0.2', '10.180.0.3'].map((address) => ({
    address,
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: 'test-node',
    pod: null,
  })),
  managedBy: 'endpointslice-controller.k8s.io',
};

/** Reference §2.4, real `iptables-save` output (rules only: the reference leaves out the chain lines). */
const EXPECTED_FILTER = `-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER
-A INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT
-A FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT --reject-with icmp-port-unreachable
-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
-A KUBE-SOURCE-RANGES-FIREWALL -j DROP`;

const EXPECTED_NAT = `-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ
-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN
-A KUBE-SERVICES ! -s 10.0.0.0/8 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT`;

/** Reference §2.4, `ipset save` (bucketsize/initval, which ipset 7 adds and which vary, left out). */
const EXPECTED_SETS = `create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add KUBE-LOOP-BACK 10.180.0.1,tcp:80,10.180.0.1
add KUBE-LOOP-BACK 10.180.0.2,tcp:80,10.180.0.2
add KUBE-LOOP-BACK 10.180.0.3,tcp:80,10.180.0.3
create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
add KUBE-CLUSTER-IP 172.30.0.41,tcp:80
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
add KUBE-NODE-PORT-TCP 3001
create KUBE-IPVS-IPS hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-IPVS-IPS 172.30.0.41`;

const inNetns = (argv: string[], input?: string): string => execFileSync('ip', ['netns', 'exec', NETNS, ...argv], { input, encoding: 'utf8' });
const run = (cmd: Command): string => inNetns([cmd.file, ...cmd.args], cmd.input);
const tryNetns = (argv: string[]) => spawnSync('ip', ['netns', 'exec', NETNS, ...argv], { encoding: 'utf8' });

const rulesOf = (table: string): string =>
  inNetns(['iptables-save', '-t', table])
    .split('\n')
    .filter((l) => l.startsWith('-A '))
    .join('\n');

/** `ipset save` with ipset 7's bucketsize/initval dropped, entries sorted, and only the sets that have entries (the reference lists the others as "created empty"). */
function setsWithEntries(save: string): string {
  const lines = save.split('\n').map((l) => l.replace(/ bucketsize \d+ initval 0x[0-9a-f]+/, '').trimEnd());
  const used = new Set(lines.filter((l) => l.startsWith('add ')).map((l) => l.split(' ')[1]));
  // A hash set lists its entries in hash order: compare them sorted.
  return lines
    .filter((l) => l.startsWith('create ') && used.has(l.split(' ')[1]))
    .flatMap((create) => [create, ...lines.filter((l) => l.startsWith(`add ${create.split(' ')[1]} `)).sort()])
    .join('\n');
}

const netnsExists = (): boolean =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => l.split(' ')[0] === NETNS);

function freshNetns(): void {
  if (netnsExists()) execFileSync('ip', ['netns', 'del', NETNS]);
  execFileSync('ip', ['netns', 'add', NETNS]);
}

/** The mode's listings in the namespace, as the agent's observe returns them (ipvsadm's empty where the kernel lacks ip_vs). */
const observe = (): string[] =>
  ipvsProxier.observe.map((cmd) => spawnSync('ip', ['netns', 'exec', NETNS, cmd.file, ...cmd.args], { input: cmd.input, encoding: 'utf8' }).stdout ?? '');

if (process.getuid?.() !== 0) {
  t.skip('the kube-proxy IPVS integration test needs root (it creates a network namespace)', () => {});
} else {
  t.teardown(() => {
    if (netnsExists()) execFileSync('ip', ['netns', 'del', NETNS]);
  });
  freshNetns();
  const hasDummy = tryNetns(['ip', 'link', 'add', 'probe0', 'type', 'dummy']).status === 0;
  const hasIpvs = tryNetns(['ipvsadm', '-Ln']).status === 0;
  execFileSync('ip', ['netns', 'del', NETNS]);

  t.test('§2.4: the ipset and iptables payloads load, and ipset save / iptables-save are the reference output', async (t) => {
    freshNetns();
    const setup = ipvsProxier.setup(null);
    const sync = ipvsProxier.sync(NODE, { services: [SVC1], slices: [SLICE] }, null, CTX).commands;
    for (const cmd of setup) if (cmd.file === 'iptables-restore') run(cmd);
    for (const cmd of sync) if (cmd.file === 'ipset' || cmd.file === 'iptables-restore') run(cmd);
    t.equal(rulesOf('filter'), EXPECTED_FILTER);
    t.equal(rulesOf('nat'), EXPECTED_NAT);
    const save = inNetns(['ipset', 'save']);
    t.equal(setsWithEntries(save), EXPECTED_SETS);
    t.equal(save.split('\n').filter((l) => l.startsWith('create ')).length, 17, 'every other set of §2.2 is created empty');

    // A second sync from what the kernel holds: nothing to add to the sets, no jump to add, same rules.
    const again = ipvsProxier.sync(NODE, { services: [SVC1], slices: [SLICE] }, observe(), CTX).commands;
    t.notOk(
      again.some((c) => c.file === 'ipset'),
      'the sets are as wanted: no ipset restore',
    );
    const restore = again.find((c) => c.file === 'iptables-restore')!;
    t.notMatch(restore.input!, /-I /);
    run(restore);
    t.equal(rulesOf('nat'), EXPECTED_NAT);

    // The Service goes: its entries are deleted, the rules that need a non-empty set go with them.
    const gone = ipvsProxier.sync(NODE, { services: [], slices: [] }, observe(), CTX).commands;
    for (const cmd of gone) if (cmd.file === 'ipset' || cmd.file === 'iptables-restore') run(cmd);
    t.notMatch(inNetns(['ipset', 'save']), /^add /m, 'every entry deleted');
    t.notMatch(rulesOf('nat'), /KUBE-CLUSTER-IP/);

    // Cleanup: no chain, jump or set of the mode is left.
    for (const cmd of ipvsProxier.cleanup(observe())) if (cmd.file !== 'ipvsadm' && cmd.file !== 'ip') run(cmd);
    t.equal(inNetns(['ipset', 'save']), '');
    t.notMatch(inNetns(['iptables-save']), /KUBE-(SERVICES|IPVS|NODE-PORT|LOAD-BALANCER|FORWARD|POSTROUTING|PROXY-FIREWALL|SOURCE-RANGES)/);
  });

  t.test('every other set rule shape loads: LB with source ranges and Local policy, externalIPs, UDP NodePort', async (t) => {
    freshNetns();
    const services: Service[] = [
      {
        ...SVC1,
        meta: meta('ns2', 'svc2'),
        type: 'LoadBalancer',
        clusterIP: '172.30.0.42',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 30000,
        externalIPs: ['192.168.99.22'],
        loadBalancerIngress: [{ ip: '1.2.3.4', ipMode: 'VIP' }],
        loadBalancerSourceRanges: ['203.0.113.0/25', '192.168.0.0/24'],
      },
      {
        ...SVC1,
        meta: meta('ns3', 'svc3'),
        clusterIP: '172.30.0.43',
        externalIPs: ['192.168.99.33'],
        ports: [{ ...SVC1.ports[0]!, protocol: 'UDP', nodePort: 3003 }],
      },
    ];
    for (const cmd of ipvsProxier.setup(null)) if (cmd.file === 'iptables-restore') run(cmd);
    for (const cmd of ipvsProxier.sync(NODE, { services, slices: [SLICE] }, null, CTX).commands)
      if (cmd.file === 'ipset' || cmd.file === 'iptables-restore') run(cmd);
    const save = inNetns(['ipset', 'save']);
    t.match(save, 'add KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,tcp:80,203.0.113.0/25');
    t.match(save, 'add KUBE-LOAD-BALANCER-SOURCE-IP 1.2.3.4,tcp:80,1.2.3.4');
    t.match(save, 'add KUBE-NODE-PORT-UDP 3003');
    t.match(save, 'add KUBE-HEALTH-CHECK-NODE-PORT 30000');
    const filter = rulesOf('filter');
    t.match(
      filter,
      '-A KUBE-SOURCE-RANGES-FIREWALL -m comment --comment "Kubernetes service load balancer ip + port + source IP for packet filter purpose" -m set --match-set KUBE-LOAD-BALANCER-SOURCE-IP dst,dst,src -j RETURN',
    );
    const nat = rulesOf('nat');
    t.match(
      nat,
      '-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port for masquerade and filter purpose" -m set --match-set KUBE-EXTERNAL-IP dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT',
    );
    t.match(
      nat,
      '-A KUBE-NODE-PORT -p udp -m comment --comment "Kubernetes nodeport UDP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-UDP dst -j KUBE-MARK-MASQ',
    );
  });

  t.test(
    'kube-ipvs0 and the ipvsadm payload, where the kernel has dummy and ip_vs',
    { skip: !(hasDummy && hasIpvs) && 'this kernel lacks the dummy or ip_vs module (run it under knetlab vm)' },
    async (t) => {
      freshNetns();
      for (const cmd of ipvsProxier.setup(null)) run(cmd);
      for (const cmd of ipvsProxier.sync(NODE, { services: [SVC1], slices: [SLICE] }, null, CTX).commands) run(cmd);
      t.match(inNetns(['ip', '-o', 'link', 'show', 'kube-ipvs0']), /kube-ipvs0: <BROADCAST,NOARP> .* state DOWN .*link\/ether/, 'a dummy device, down');
      t.match(inNetns(['ip', '-o', 'addr', 'show', 'dev', 'kube-ipvs0']), 'inet 172.30.0.41/32 scope global kube-ipvs0');
      const listed = inNetns(['ipvsadm', '-Sn']);
      t.match(listed, '-A -t 172.30.0.41:80 -s rr');
      t.match(listed, '-a -t 172.30.0.41:80 -r 10.180.0.1:80 -m -w 1');
      t.match(inNetns(['ipvsadm', '-Ln']), /TCP {2}172\.30\.0\.41:80 rr\n {2}-> 10\.180\.0\.1:80 +Masq +1 +0 +0/);
      // Stale removal: a second sync without the Service leaves nothing behind.
      for (const cmd of ipvsProxier.sync(NODE, { services: [], slices: [] }, observe(), CTX).commands) run(cmd);
      t.equal(inNetns(['ipvsadm', '-Sn']).trim(), '');
      t.equal(inNetns(['ip', '-o', 'addr', 'show', 'dev', 'kube-ipvs0']).trim(), '');
      for (const cmd of ipvsProxier.cleanup(observe())) run(cmd);
      t.not(tryNetns(['ip', 'link', 'show', 'kube-ipvs0']).status, 0, 'kube-ipvs0 is gone');
    },
  );
}
