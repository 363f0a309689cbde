// The cloud load balancer's proxy (src/components/cloud-load-balancer): what it proxies, its
// nginx configuration, and what `knetlab apply` does to it when the Services change. The real
// proxy carries packets in labs/service-cloud-lb and test/integration/services.test.ts.
import t from 'tap';
import type { ClusterState, LoadBalancerIngress, Service } from '../../src/api/objects.js';
import { proxiedPorts, proxyConfig } from '../../src/components/cloud-load-balancer/proxy.js';
import { updateCloudLoadBalancer } from '../../src/plan/registry.js';
import { loadLabFile } from '../../src/plan/load.js';
import { makeInstance } from '../../src/kernel/instance.js';
import { lowerPlan } from '../../src/kernel/lower.js';
import { renderCommand } from '../../src/kernel/command.js';

const { lab } = loadLabFile('labs/service-cloud-lb/lab.yaml', undefined, '2026-01-01T00:00:00Z');
const c = lab.cluster!;
const inst = makeInstance(lab.name, 'x', '/run/knetlab');
const initial = c.kubernetes!.state;
const web = initial.services.find((s) => s.meta.name === 'web')!;

const withWeb = (over: Partial<Service>): ClusterState => ({ ...initial, services: initial.services.map((s) => (s === web ? { ...s, ...over } : s)) });
const ingress = (...entries: [string, 'VIP' | 'Proxy'][]): LoadBalancerIngress[] => entries.map(([ip, ipMode]) => ({ ip, ipMode }));
const commands = (before: ClusterState, after: ClusterState) =>
  lowerPlan({ lab: lab.name, instance: inst.name, phases: updateCloudLoadBalancer(c, inst, before, after) })
    .flatMap((p) => p.actions)
    .map((a) => renderCommand(a.command).split('\n')[0]);

t.test('only Proxy addresses of LoadBalancer Services are proxied, per TCP or UDP port with a node port', async (t) => {
  t.same(proxiedPorts(initial), [{ service: 'default/web', ip: '203.0.113.11', port: 80, protocol: 'TCP', nodePort: 30080 }]);
  const ports = [
    { name: 'dns', protocol: 'UDP' as const, port: 53, targetPort: 53, nodePort: 30053 },
    { name: 'sctp', protocol: 'SCTP' as const, port: 9, targetPort: 9, nodePort: 30009 },
  ];
  t.same(
    proxiedPorts(withWeb({ ports, loadBalancerIngress: ingress(['203.0.113.10', 'VIP'], ['203.0.113.11', 'Proxy']) })).map(
      (p) => `${p.ip}:${p.port}/${p.protocol}`,
    ),
    ['203.0.113.11:53/UDP'],
    'SCTP is not proxied; the VIP needs no proxy',
  );
  t.same(proxiedPorts(withWeb({ type: 'NodePort' })), [], 'a NodePort Service has no load balancer');
  const udp = proxyConfig(proxiedPorts(withWeb({ ports })), c.nodes);
  t.match(udp, /listen 203\.0\.113\.11:53 udp;/);
  t.match(udp, /server 192\.168\.56\.11:30053;  # node1\n +server 192\.168\.56\.12:30053;  # node2/);
});

t.test('apply: nothing when the proxy would not change; a reload for a new node port; a start, new and removed addresses', async (t) => {
  t.same(commands(initial, initial), []);
  t.same(commands(initial, withWeb({ externalTrafficPolicy: 'Cluster' })), [], 'what the proxy does not look at changes nothing');
  t.same(commands(initial, withWeb({ ports: [{ ...web.ports[0]!, nodePort: 30081 }] })), [
    "tee /run/knetlab/labs/x-service-cloud-lb/cluster/cloud-lb.conf >/dev/null <<'EOF'",
    "ip netns exec x-router nginx -c /run/knetlab/labs/x-service-cloud-lb/cluster/cloud-lb.conf -g 'pid /run/knetlab/labs/x-service-cloud-lb/cluster/cloud-lb.pid; error_log /run/knetlab/labs/x-service-cloud-lb/cluster/cloud-lb.log warn;' -s reload",
  ]);
  const vipOnly = withWeb({ loadBalancerIngress: ingress(['203.0.113.10', 'VIP']) });
  t.same(
    commands(initial, withWeb({ loadBalancerIngress: ingress(['203.0.113.12', 'Proxy']) })).filter((l) => l.startsWith('ip -n') || l.includes(' ip addr')),
    ['ip -n x-router addr add 203.0.113.12/32 dev lo', 'ip netns exec x-router ip addr del 203.0.113.11/32 dev lo'],
  );
  const gone = commands(initial, vipOnly);
  t.match(gone.at(-2), / -s quit$/, 'nothing left to proxy: nginx quits, then');
  t.equal(gone.at(-1), 'ip netns exec x-router ip addr del 203.0.113.11/32 dev lo');
  const first = lowerPlan({ lab: lab.name, instance: inst.name, phases: updateCloudLoadBalancer(c, inst, vipOnly, initial) }).flatMap((p) => p.actions);
  t.same(
    first.map((a) => a.claim?.kind ?? null),
    [null, null, 'process'],
    'no proxy ran before: the address, the configuration, and nginx started (and recorded for down)',
  );
});
