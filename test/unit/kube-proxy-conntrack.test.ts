// kube-proxy's conntrack cleanup (src/components/kube-proxy/conntrack.ts): the `conntrack -D`
// commands after a sync, case by case as upstream's pkg/proxy/conntrack cleanup_test.go and the
// endpoints map tests (detectStaleConntrackEntries) pin them: deleted UDP endpoints, newly active
// UDP Services, deleted UDP Services; TCP and SCTP left alone.
import t from 'tap';
import type { EndpointConditions, EndpointSlice, Meta, Service, ServicePort, SliceEndpoint, SlicePort } from '../../src/api/objects.js';
import { conntrackCleanup, deletedCount, type ApiContents } from '../../src/components/kube-proxy/conntrack.js';
import type { Command } from '../../src/kernel/command.js';
import { service as apiService } from './lib/kube-api.js';

// Upstream's test addresses.
const CLUSTER_IP = '172.30.1.1';
const EXTERNAL_IP = '192.168.99.100';
const LB_IP = '1.2.3.4';
const NODE_PORT = 32000;
const EP = '10.240.0.4';
const EP2 = '10.240.0.5';

const meta = (name: string): Meta => ({ name, namespace: 'ns', labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z', uid: name });

const port = (protocol: ServicePort['protocol'], fields: Partial<ServicePort> = {}): ServicePort => ({
  name: 'p',
  protocol,
  port: 53,
  targetPort: 5353,
  nodePort: null,
  ...fields,
});

const service = (name: string, ports: ServicePort[], fields: Partial<Service> = {}): Service =>
  apiService('ns', name, { clusterIP: CLUSTER_IP, ports, ...fields });

const READY: EndpointConditions = { ready: true, serving: true, terminating: false };
const UNREADY: EndpointConditions = { ready: false, serving: false, terminating: false };
const TERMINATING: EndpointConditions = { ready: false, serving: true, terminating: true };
const endpoint = (address: string, conditions = READY): SliceEndpoint => ({ address, conditions, nodeName: 'node1', pod: null });

function slice(svc: string, endpoints: SliceEndpoint[], protocol: SlicePort['protocol'] = 'UDP'): EndpointSlice {
  return { meta: meta(`${svc}-abcde`), service: svc, ports: [{ name: 'p', port: 5353, protocol }], endpoints, managedBy: 'endpointslice-controller.k8s.io' };
}

/** A UDP Service on every kind of address: ClusterIP, external IP, load balancer IP and NodePort. */
const everywhere = service('dns', [port('UDP', { nodePort: NODE_PORT })], {
  type: 'LoadBalancer',
  externalIPs: [EXTERNAL_IP],
  loadBalancerIngress: [{ ip: LB_IP, ipMode: 'VIP' }],
});

const api = (services: Service[], slices: EndpointSlice[]): ApiContents => ({ services, slices });
const lines = (cmds: Command[]) => cmds.map((c) => [c.file, ...c.args].join(' '));

t.test('a deleted UDP endpoint: its flows are deleted for every address of the Service and its NodePort', async (t) => {
  const before = api([everywhere], [slice('dns', [endpoint(EP), endpoint(EP2)])]);
  const after = api([everywhere], [slice('dns', [endpoint(EP2)])]);
  t.same(lines(conntrackCleanup(before, after)), [
    `conntrack -D -p udp --dport ${NODE_PORT} --dst-nat ${EP}`,
    `conntrack -D --orig-dst ${CLUSTER_IP} --dst-nat ${EP} -p udp`,
    `conntrack -D --orig-dst ${EXTERNAL_IP} --dst-nat ${EP} -p udp`,
    `conntrack -D --orig-dst ${LB_IP} --dst-nat ${EP} -p udp`,
  ]);
});

t.test('an endpoint that stops serving (its pod failed its readiness probe) counts as deleted', async (t) => {
  const svc = service('dns', [port('UDP')]);
  const before = api([svc], [slice('dns', [endpoint(EP), endpoint(EP2)])]);
  t.same(lines(conntrackCleanup(before, api([svc], [slice('dns', [endpoint(EP, UNREADY), endpoint(EP2)])]))), [
    `conntrack -D --orig-dst ${CLUSTER_IP} --dst-nat ${EP} -p udp`,
  ]);
  // Terminating but still serving: traffic may still go there, so its flows stay.
  t.same(conntrackCleanup(before, api([svc], [slice('dns', [endpoint(EP, TERMINATING), endpoint(EP2)])])), []);
  // One that never served had no flows to delete.
  const unready = api([svc], [slice('dns', [endpoint(EP, UNREADY), endpoint(EP2)])]);
  t.same(conntrackCleanup(unready, api([svc], [slice('dns', [endpoint(EP2)])])), []);
  t.same(conntrackCleanup(before, before), [], 'nothing changed, nothing to delete');
});

t.test('a UDP Service going from no serving endpoint to some: entries to its addresses and NodePort go', async (t) => {
  const empty = api([everywhere], [slice('dns', [])]);
  const active = api([everywhere], [slice('dns', [endpoint(EP)])]);
  const expected = [
    `conntrack -D --orig-dst ${LB_IP} -p udp`,
    `conntrack -D --orig-dst ${CLUSTER_IP} -p udp`,
    `conntrack -D --orig-dst ${EXTERNAL_IP} -p udp`,
    `conntrack -D -p udp --dport ${NODE_PORT}`,
  ];
  t.same(lines(conntrackCleanup(empty, active)), expected, 'sorted by address, then the NodePort');
  t.same(lines(conntrackCleanup(api([everywhere], [slice('dns', [endpoint(EP, UNREADY)])]), active)), expected, 'unready endpoints do not count');
  t.same(lines(conntrackCleanup(null, active)), expected, "kube-proxy's first sync: every UDP Service with endpoints is newly active");
  t.same(conntrackCleanup(null, empty), [], 'still no endpoint: nothing');
});

t.test('a deleted UDP Service: its ClusterIP only (its endpoints went with it)', async (t) => {
  const before = api([everywhere], [slice('dns', [endpoint(EP)])]);
  t.same(lines(conntrackCleanup(before, api([], []))), [`conntrack -D --orig-dst ${CLUSTER_IP} -p udp`]);
  // The UDP port removed, a TCP port of the same name kept: the UDP one is gone.
  const tcpOnly = service('dns', [port('TCP')]);
  t.same(lines(conntrackCleanup(before, api([tcpOnly], [slice('dns', [endpoint(EP)], 'TCP')]))), [`conntrack -D --orig-dst ${CLUSTER_IP} -p udp`]);
});

t.test('TCP and SCTP Services: nothing (their flows end, or the kernel ends them)', async (t) => {
  for (const protocol of ['TCP', 'SCTP'] as const) {
    const svc = service('web', [port(protocol, { nodePort: NODE_PORT })], { type: 'NodePort' });
    const before = api([svc], [slice('web', [endpoint(EP), endpoint(EP2)], protocol)]);
    t.same(conntrackCleanup(before, api([svc], [slice('web', [endpoint(EP2)], protocol)])), [], `${protocol}: endpoint deleted`);
    t.same(conntrackCleanup(api([svc], [slice('web', [], protocol)]), before), [], `${protocol}: newly active`);
    t.same(conntrackCleanup(before, api([], [])), [], `${protocol}: service deleted`);
  }
});

t.test('a UDP and a TCP port of one Service are two service ports: only the UDP one is cleaned', async (t) => {
  const dns = service('dns', [port('UDP', { name: 'dns' }), port('TCP', { name: 'dns-tcp' })]);
  const slices = (eps: SliceEndpoint[]): EndpointSlice[] => [
    {
      ...slice('dns', eps),
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    },
  ];
  t.same(lines(conntrackCleanup(api([dns], slices([endpoint(EP), endpoint(EP2)])), api([dns], slices([endpoint(EP2)])))), [
    `conntrack -D --orig-dst ${CLUSTER_IP} --dst-nat ${EP} -p udp`,
  ]);
});

t.test('headless and ExternalName Services have no flows to clean', async (t) => {
  const headless = service('peers', [port('UDP')], { clusterIP: 'None' });
  const before = api([headless], [slice('peers', [endpoint(EP)])]);
  t.same(conntrackCleanup(null, before), []);
  t.same(conntrackCleanup(before, api([headless], [slice('peers', [])])), []);
  t.same(conntrackCleanup(before, api([], [])), []);
});

t.test("conntrack's own count of what it deleted", async (t) => {
  t.equal(deletedCount('conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n'), 2);
  t.equal(deletedCount('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n'), 0);
  t.equal(deletedCount('conntrack v1.4.7 (conntrack-tools): Operation not permitted\n'), null);
});
