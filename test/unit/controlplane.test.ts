// The control plane as pure functions: allocation (explicit, conflicting, out of range,
// deterministic), scheduling, generated names, scaling, endpoints (named ports, mirroring,
// readiness) and MetalLB, traced through the state they produce.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifests } from '../../src/k8s/manifest.js';
import type { ManifestObject } from '../../src/k8s/manifest/types.js';
import { computeSlices, reconcile } from '../../src/k8s/controlplane.js';
import type { ControlPlaneConfig } from '../../src/k8s/controlplane/context.js';
import { safeEncodeString } from '../../src/k8s/controlplane/meta.js';
import { podTemplateHash } from '../../src/k8s/controlplane/scheduling.js';
import type { ClusterState } from '../../src/api/objects.js';
import { formatDiagnostic } from '../../src/labfile/diagnostics.js';

const NOW = '2025-01-01T00:00:00Z';
const LATER = '2025-01-01T01:00:00Z';
const ALPHABET = '[bcdfghjklmnpqrstvwxz2456789]';

const config = (over: Partial<ControlPlaneConfig> = {}): ControlPlaneConfig => ({
  serviceCIDR: '10.96.0.0/12',
  nodePortRange: [30000, 32767],
  nodes: [
    { name: 'node1', podCIDR: '10.244.1.0/24', firstHost: 2, reserved: [] },
    { name: 'node2', podCIDR: '10.244.2.0/24', firstHost: 2, reserved: [] },
  ],
  lbPool: [],
  now: NOW,
  ...over,
});

function objectsOf(...texts: string[]): ManifestObject[] {
  const r = readManifests(texts.map((text, i) => ({ file: `m${i}.yaml`, text })));
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map(formatDiagnostic).join('\n'));
  return r.objects;
}
const fixture = (name: string) => readFileSync(join('test/fixtures/manifests', name), 'utf8');

const service = (name: string, spec: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
${spec}
---
`;
const deployment = (
  name: string,
  replicas: number,
  container = '{ name: c, image: nginx, ports: [{ name: http, containerPort: 8080 }] }',
) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [${container}]
---
`;
const pod = (name: string, labels: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: ${labels} }
spec:
  ${extra}containers: [{ name: c, image: nginx, ports: [{ containerPort: 80 }] }]
---
`;

const run = (objects: ManifestObject[], prev: ClusterState | null = null, over: Partial<ControlPlaneConfig> = {}) => reconcile(objects, config(over), prev);
const errorsOf = (r: ReturnType<typeof reconcile>) => r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
const clusterIPs = (s: ClusterState) => Object.fromEntries(s.services.map((x) => [x.meta.name, x.clusterIP]));

t.test('cluster IPs: explicit ones honoured, the others lowest-free from network+10, skipping .10 and .1', async (t) => {
  const objs = objectsOf(
    service('a', '  ports: [{ port: 80 }]') +
      service('b', '  ports: [{ port: 80 }]') +
      service('dns', '  clusterIP: 10.96.0.10\n  ports: [{ port: 53, protocol: UDP }]') +
      service('fixed', '  clusterIP: 10.96.0.12\n  ports: [{ port: 80 }]') +
      service('headless', '  clusterIP: None\n  selector: { app: x }') +
      service('alias', '  type: ExternalName\n  externalName: db.example.com'),
  );
  const r = run(objs);
  t.same(errorsOf(r), []);
  t.same(clusterIPs(r.state), { a: '10.96.0.11', b: '10.96.0.13', dns: '10.96.0.10', fixed: '10.96.0.12', headless: 'None', alias: null });
  t.same(clusterIPs(run(objs).state), clusterIPs(r.state), 'the same manifests give the same addresses');
});

t.test("cluster IPs: the API server's errors, at the clusterIP, and the rest of the cluster still reconciled", async (t) => {
  const r = run(
    objectsOf(
      fixture('seed000-fragments-completed.yaml'),
      service('redis', '  clusterIP: 10.97.97.97\n  ports: [{ port: 6379 }]') +
        service('redis-copy', '  clusterIP: 10.97.97.97\n  ports: [{ port: 6379 }]') +
        service('first', '  clusterIP: 10.96.0.1\n  ports: [{ port: 80 }]'),
    ),
  );
  t.same(errorsOf(r), [
    'm0.yaml:30:14  error  spec.clusterIP 10.0.171.239: the provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12\n  hint: omit clusterIP to have one allocated, or pick an address in the service CIDR',
    'm1.yaml:14:14  error  spec.clusterIP 10.97.97.97: the provided IP is already allocated\n  hint: Service default/redis has it; omit clusterIP to have one allocated, or pick a free address',
    'm1.yaml:22:14  error  spec.clusterIP 10.96.0.1: the provided IP is already allocated\n  hint: Service default/kubernetes has it; omit clusterIP to have one allocated, or pick a free address',
  ]);
  t.same(
    r.state.services.map((s) => s.meta.name),
    ['my-nodeport-service', 'my-externalname-service', 'redis'],
    'the refused Services are not created',
  );
});

t.test('allocations are kept across reconciles; a deleted Service frees its address and node ports', async (t) => {
  const a = service('a', '  type: NodePort\n  ports: [{ port: 80 }]');
  const b = service('b', '  type: NodePort\n  ports: [{ name: http, port: 80 }, { name: https, port: 443 }]');
  const first = run(objectsOf(a + b));
  t.same(clusterIPs(first.state), { a: '10.96.0.11', b: '10.96.0.12' });
  t.same(
    first.state.services.map((s) => s.ports.map((p) => p.nodePort)),
    [[30000], [30001, 30002]],
  );
  // b's ports are swapped: node ports follow the port names (patchAllocatedValues).
  const c = service('c', '  type: NodePort\n  ports: [{ port: 80 }]');
  const b2 = service('b', '  type: NodePort\n  ports: [{ name: https, port: 443 }, { name: http, port: 80 }]');
  const second = run(objectsOf(c + b2), first.state, { now: LATER });
  t.same(clusterIPs(second.state), { c: '10.96.0.11', b: '10.96.0.12' });
  t.same(
    second.state.services.map((s) => s.ports.map((p) => `${p.name}:${p.nodePort}`)),
    [[':30000'], ['https:30002', 'http:30001']],
  );
  const b1 = first.state.services.find((s) => s.meta.name === 'b')!;
  const b2s = second.state.services.find((s) => s.meta.name === 'b')!;
  t.same([b2s.meta.uid, b2s.meta.creationTimestamp], [b1.meta.uid, NOW], 'uid and creationTimestamp are kept');
  t.equal(second.state.services.find((s) => s.meta.name === 'c')!.meta.creationTimestamp, LATER);
  const asClusterIP = run(objectsOf(service('b', '  ports: [{ name: http, port: 80 }, { name: https, port: 443 }]')), second.state);
  t.same(
    asClusterIP.state.services[0]!.ports.map((p) => p.nodePort),
    [null, null],
    'a Service changed to ClusterIP has no node ports',
  );
});

t.test('node ports: explicit ones first, duplicates refused, health check ports for LoadBalancer + Local', async (t) => {
  const r = run(
    objectsOf(
      service('auto', '  type: NodePort\n  ports: [{ port: 80 }]') +
        service('web', '  type: NodePort\n  ports: [{ port: 80, nodePort: 30000 }]') +
        service('clash', '  type: NodePort\n  ports: [{ port: 80, nodePort: 30000 }]') +
        service('dns', '  type: NodePort\n  ports: [{ name: dns, port: 53, protocol: UDP, nodePort: 30053 }, { name: dns-tcp, port: 53, nodePort: 30053 }]'),
      fixture('seed001-loadbalancer-svc.yaml'),
    ),
  );
  t.same(errorsOf(r), [
    'm0.yaml:23:33  error  spec.ports[0].nodePort 30000: provided port is already allocated\n  hint: Service default/web uses it; omit it to have one allocated, or pick a free port',
  ]);
  const ports = Object.fromEntries(r.state.services.map((s) => [s.meta.name, [...s.ports.map((p) => p.nodePort), s.healthCheckNodePort]]));
  t.same(ports, { auto: [30001, null], web: [30000, null], dns: [30053, 30053, null], 'loadbalancer-svc': [30002, 30003] });
  const a = service('a', '  type: NodePort\n  ports: [{ port: 80, nodePort: 30080 }]');
  const newcomer = run(objectsOf(service('b', '  type: NodePort\n  ports: [{ port: 80, nodePort: 30080 }]') + a), run(objectsOf(a)).state);
  t.same(errorsOf(newcomer), [
    'm0.yaml:7:33  error  spec.ports[0].nodePort 30080: provided port is already allocated\n  hint: Service default/a uses it; omit it to have one allocated, or pick a free port',
  ]);
  t.same(
    newcomer.state.services.map((s) => s.meta.name),
    ['a'],
    'the Service that had the port keeps it, wherever it is listed',
  );
  const narrow = run(objectsOf(service('web', '  type: NodePort\n  ports: [{ port: 80, nodePort: 31234 }]')), null, { nodePortRange: [30000, 30999] });
  t.same(errorsOf(narrow), [
    'm0.yaml:7:33  error  spec.ports[0].nodePort 31234 is outside 30000-30999\n  hint: omit nodePort to have one allocated, or pick a port in the NodePort range',
  ]);
});

t.test('scheduling: pods bound by nodeName stay there, the rest go to the node with the fewest pods', async (t) => {
  const objs = objectsOf(deployment('web', 3) + pod('pinned', '{ app: other }', 'nodeName: node1\n  '));
  const r = run(objs, null, {
    nodes: [
      { name: 'node1', podCIDR: '10.244.1.0/24', firstHost: 2, reserved: ['10.244.1.2'] },
      { name: 'node2', podCIDR: '10.244.2.0/24', firstHost: 2, reserved: [] },
    ],
  });
  t.same(errorsOf(r), []);
  t.same(
    r.state.pods.map((p) => [p.meta.name.replace(/^web-\w+-\w{5}$/, 'web-*'), p.nodeName, p.podIP]),
    [
      ['web-*', 'node2', '10.244.2.2'],
      ['web-*', 'node1', '10.244.1.3'],
      ['web-*', 'node2', '10.244.2.3'],
      ['pinned', 'node1', '10.244.1.4'],
    ],
  );
  t.same(
    r.events.filter((e) => e.reason === 'Scheduled').map((e) => e.message.replace(/web-\S+/, 'web-…')),
    ['Successfully assigned default/web-… to node2', 'Successfully assigned default/web-… to node1', 'Successfully assigned default/web-… to node2'],
    'the scheduler reports the pods it placed, not those bound by nodeName',
  );
  const calico = run(objectsOf(pod('p', '{ app: p }')), null, { nodes: [{ name: 'n', podCIDR: '10.10.0.0/26', firstHost: 1, reserved: [] }] });
  t.equal(calico.state.pods[0]!.podIP, '10.10.0.1', 'Calico hands out the block from +1');
  const lost = run(objectsOf(pod('lost', '{ app: p }', 'nodeName: node9\n  ')));
  t.same(errorsOf(lost), [
    'm0.yaml:5:13  error  spec.nodeName "node9" is not a node of this cluster\n  hint: the nodes are node1, node2; remove nodeName to let the scheduler place the pod',
  ]);
  t.same(lost.state.pods, []);
  const full = run(objectsOf(deployment('big', 3)), null, { nodes: [{ name: 'tiny', podCIDR: '10.1.0.0/30', firstHost: 1, reserved: [] }] });
  t.equal(errorsOf(full).length, 1, 'more replicas than the pod subnets hold: one error, up front');
  t.match(errorsOf(full)[0], /spec\.replicas 3 is more than the cluster's pod subnets can address \(2 pods on 1 node\)/);
  t.equal(full.state.pods.length, 2);
  // A full node beside pods bound to it by name: host-local's own error, once for the node.
  const pinned = run(
    objectsOf(pod('a', '{ app: p }', 'nodeName: tiny\n  '), pod('b', '{ app: p }', 'nodeName: tiny\n  '), pod('c', '{ app: p }', 'nodeName: tiny\n  ')),
    null,
    {
      nodes: [{ name: 'tiny', podCIDR: '10.1.0.0/30', firstHost: 1, reserved: [] }],
    },
  );
  t.equal(errorsOf(pinned).length, 1);
  t.match(errorsOf(pinned)[0], /failed to allocate for range 0: no IP addresses available in range set 10\.1\.0\.0\/30 on node tiny/);
});

t.test('names: ReplicaSet <deployment>-<pod-template-hash>, pods <replicaset>-<5 characters>, the same on every run', async (t) => {
  t.equal(safeEncodeString('0123456789'), '456789bcdf', "rand.SafeEncodeString maps each digit through k8s' alphabet");
  const objs = objectsOf(deployment('web', 2));
  const r = run(objs);
  const hash = podTemplateHash((objs[0]!.raw.spec as Record<string, unknown>).template);
  t.match(hash, /^[456789bcdf]{1,10}$/);
  t.same(r.state.deployments[0]!.templateHash, hash);
  for (const p of r.state.pods) {
    t.match(p.meta.name, new RegExp(`^web-${hash}-${ALPHABET}{5}$`));
    t.same([p.replicaSet, p.owner, p.meta.labels], [`web-${hash}`, 'Deployment/web', { app: 'web', 'pod-template-hash': hash }]);
  }
  t.same(
    run(objectsOf(deployment('web', 2))).state.pods.map((p) => [p.meta.name, p.meta.uid]),
    r.state.pods.map((p) => [p.meta.name, p.meta.uid]),
  );
  t.not(
    podTemplateHash({ spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } }),
    podTemplateHash({ spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } }),
  );
  t.same(
    r.events
      .filter((e) => e.object.startsWith('deployment/') || e.object.startsWith('replicaset/'))
      .map((e) => `${e.source} ${e.reason} ${e.message.replace(hash, 'H')}`),
    [
      'deployment-controller ScalingReplicaSet Scaled up replica set web-H from 0 to 2',
      `replicaset-controller SuccessfulCreate Created pod: ${r.state.pods[0]!.meta.name.replace(hash, 'H')}`,
      `replicaset-controller SuccessfulCreate Created pod: ${r.state.pods[1]!.meta.name.replace(hash, 'H')}`,
    ],
  );
});

t.test('scaling keeps the pods there are: up adds, down removes not-ready pods, then the newest', async (t) => {
  const two = run(objectsOf(deployment('web', 2)));
  const four = run(objectsOf(deployment('web', 4)), two.state, { now: LATER });
  const kept = (a: ClusterState, b: ClusterState) =>
    a.pods.filter((p) => b.pods.some((q) => q.meta.name === p.meta.name && q.podIP === p.podIP && q.meta.uid === p.meta.uid)).length;
  t.equal(four.state.pods.length, 4);
  t.equal(kept(two.state, four.state), 2, 'the first two pods are kept, with their addresses and uids');
  t.same(
    four.state.pods.map((p) => p.meta.creationTimestamp),
    [NOW, NOW, LATER, LATER],
  );
  const one = run(objectsOf(deployment('web', 1)), four.state);
  t.same(
    one.state.pods.map((p) => p.meta.name),
    [four.state.pods[0]!.meta.name],
    'the oldest stays',
  );
  t.match(one.events[0], { reason: 'ScalingReplicaSet', message: /^Scaled down replica set web-\S+ from 4 to 1$/ });
  const firstNotReady: ClusterState = { ...four.state, pods: four.state.pods.map((p, i) => ({ ...p, ready: i !== 0 })) };
  t.same(
    run(objectsOf(deployment('web', 3)), firstNotReady).state.pods.map((p) => p.meta.name),
    four.state.pods.slice(1).map((p) => p.meta.name),
    'a not-ready pod goes before any ready one',
  );
  const back = run(objectsOf(deployment('web', 2)), one.state);
  t.same(
    back.state.pods.map((p) => p.meta.name),
    two.state.pods.map((p) => p.meta.name),
    'scaling back up reuses the freed names',
  );
});

t.test('a changed template is a new ReplicaSet: every pod is replaced', async (t) => {
  const before = run(objectsOf(deployment('web', 2)));
  const after = run(objectsOf(deployment('web', 2, '{ name: c, image: nginx:1.27, ports: [{ name: http, containerPort: 8080 }] }')), before.state);
  const [oldRs, newRs] = [before.state.pods[0]!.replicaSet!, after.state.pods[0]!.replicaSet!];
  t.not(oldRs, newRs);
  t.ok(after.state.pods.every((p) => p.replicaSet === newRs && !before.state.pods.some((q) => q.meta.name === p.meta.name)));
  t.same(
    after.events.filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message),
    [`Scaled down replica set ${oldRs} from 2 to 0`, `Scaled up replica set ${newRs} from 0 to 2`],
  );
});

t.test('endpoints: a named targetPort is resolved per pod, pods without that port get their own slice', async (t) => {
  const objs = objectsOf(fixture('deployment-nginx.yaml'), pod('static', '{ app: nginx }'));
  const r = run(objs);
  const slices = r.state.slices.filter((s) => s.service === 'nginx');
  t.same(
    slices.map((s) => [s.ports, s.endpoints.length]),
    [
      [[{ name: 'web', port: 80, protocol: 'TCP' }], 3],
      [[], 1],
    ],
  );
  t.same(slices[1]!.endpoints[0], { address: '10.244.2.3', conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node2', pod: 'static' });
  for (const s of slices) {
    t.match(s.meta.name, new RegExp(`^nginx-${ALPHABET}{5}$`));
    t.same(s.meta.labels, { 'kubernetes.io/service-name': 'nginx', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    t.equal(s.managedBy, 'endpointslice-controller.k8s.io');
  }
  const none = run(objectsOf(service('nobody', '  selector: { app: nobody }\n  ports: [{ port: 80 }]')));
  t.same(
    none.state.slices.map((s) => [s.ports, s.endpoints]),
    [[[], []]],
    'a Service selecting nothing gets the empty placeholder slice',
  );
});

t.test("Endpoints written by hand are mirrored into a slice (seed 004's elasticsearch)", async (t) => {
  const r = run(objectsOf(fixture('seed004-elasticsearch.yaml')));
  t.same(r.diagnostics, []);
  t.equal(r.state.slices.length, 1);
  const s = r.state.slices[0]!;
  t.same([s.service, s.managedBy, s.ports], ['elasticsearch', 'endpointslicemirroring-controller.k8s.io', [{ name: '', port: 9200, protocol: 'TCP' }]]);
  t.same(
    s.endpoints.map((e) => [e.address, e.conditions.ready, e.nodeName, e.pod]),
    [
      ['192.168.24.14', true, null, null],
      ['192.168.24.15', true, null, null],
      ['192.168.24.16', true, null, null],
    ],
  );
  const notReady = run(
    objectsOf(
      service('ext', '  ports: [{ port: 80 }]') +
        'apiVersion: v1\nkind: Endpoints\nmetadata: { name: ext }\nsubsets:\n- addresses: [{ ip: 192.0.2.1 }]\n  notReadyAddresses: [{ ip: 192.0.2.2 }]\n  ports: [{ port: 8080 }]\n',
    ),
  );
  t.same(
    notReady.state.slices[0]!.endpoints.map((e) => [e.address, e.conditions]),
    [
      ['192.0.2.1', { ready: true, serving: true, terminating: false }],
      ['192.0.2.2', { ready: false, serving: false, terminating: false }],
    ],
  );
  const headless = run(objectsOf(fixture('seed001-headless-svc.yaml')));
  t.same(headless.diagnostics.map(formatDiagnostic), [
    "m0.yaml:19:3  warning  Service default/headless-svc has a selector, so the endpoints controller owns its endpoints and these are replaced\n  hint: remove the Service's selector to list its endpoints by hand, or remove these Endpoints",
  ]);
  t.same(
    headless.state.slices.map((s) => s.managedBy),
    ['endpointslice-controller.k8s.io'],
  );
  const orphan = run(
    objectsOf('apiVersion: v1\nkind: Endpoints\nmetadata: { name: gone }\nsubsets: [{ addresses: [{ ip: 192.0.2.1 }], ports: [{ port: 80 }] }]\n'),
  );
  t.match(formatDiagnostic(orphan.diagnostics[0]!), /^m0\.yaml:3:13  warning  there is no Service default\/gone: kube-proxy does not use these Endpoints/);
});

t.test('hand-written EndpointSlices are kept as they are', async (t) => {
  const r = run(
    objectsOf(
      service('ext', '  ports: [{ port: 80 }]') +
        'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: ext-1, labels: { kubernetes.io/service-name: ext } }\naddressType: IPv4\nendpoints: [{ addresses: [192.0.2.9] }]\nports: [{ port: 8080 }]\n',
    ),
  );
  t.same(
    r.state.slices.map((s) => [s.meta.name, s.service, s.managedBy, s.endpoints[0]!.address, s.ports[0]!.port]),
    [['ext-1', 'ext', 'user', '192.0.2.9', 8080]],
  );
  t.same(computeSlices(r.state), r.state.slices, 'and survive a recomputation without the manifests');
});

t.test('readiness is an input: flipping pod.ready and recomputing the slices moves the endpoint', async (t) => {
  const objs = objectsOf(fixture('deployment-nginx.yaml'), fixture('seed004-elasticsearch.yaml'));
  const r = run(objs);
  const nginx = (s: ClusterState) => s.slices.find((x) => x.service === 'nginx')!;
  t.same(
    nginx(r.state).endpoints.map((e) => e.conditions.ready),
    [false, false, false],
    'pods with a readiness probe start not ready',
  );
  const first = r.state.pods[0]!.meta.name;
  const flipped: ClusterState = { ...r.state, pods: r.state.pods.map((p) => (p.meta.name === first ? { ...p, ready: true } : p)) };
  const slices = computeSlices(flipped);
  const after = { ...flipped, slices };
  t.same(
    nginx(after).endpoints.map((e) => [e.pod === first, e.conditions.ready, e.conditions.serving]),
    nginx(r.state).endpoints.map((e) => [e.pod === first, e.pod === first, e.pod === first]),
  );
  t.same(
    slices.map((s) => [s.meta.name, s.meta.uid]),
    r.state.slices.map((s) => [s.meta.name, s.meta.uid]),
    'the slices keep their names and uids, the mirrored one included',
  );
  const again = run(objs, after);
  t.equal(again.state.pods.find((p) => p.meta.name === first)!.ready, true, 'a later reconcile keeps what the prober said');
  const publish = run(
    objectsOf(fixture('deployment-nginx.yaml').replace('  selector:\n    app: nginx\n', '  selector:\n    app: nginx\n  publishNotReadyAddresses: true\n')),
  );
  t.same(
    nginx(publish.state).endpoints.map((e) => [e.conditions.ready, e.conditions.serving]),
    [
      [true, false],
      [true, false],
      [true, false],
    ],
    'publishNotReadyAddresses makes them ready, not serving',
  );
});

t.test('MetalLB: addresses from the pool in order, loadBalancerIP honoured, <pending> without a pool', async (t) => {
  const lb = (name: string, extra = '') => service(name, `  type: LoadBalancer\n${extra}  ports: [{ port: 80 }]`);
  const objs = objectsOf(lb('a') + lb('b', '  loadBalancerIP: 192.168.56.245\n') + lb('c'));
  const r = run(objs, null, { lbPool: ['192.168.56.240/28'] });
  // MetalLB would leave d <pending> for good ("is not allowed in config"): the lab is refused instead.
  const outside = run(objectsOf(lb('d', '  loadBalancerIP: 10.0.0.1\n')), null, { lbPool: ['192.168.56.240/28'] });
  t.match(errorsOf(outside), [/:7:19 {2}error {2}spec\.loadBalancerIP 10\.0\.0\.1 is outside MetalLB's address pool \(192\.168\.56\.240\/28\)\n {2}hint: /]);
  t.same(
    r.state.services.map((s) => [s.meta.name, s.loadBalancerIngress.map((ing) => `${ing.ip} ${ing.ipMode}`)]),
    [
      ['a', ['192.168.56.240 VIP']],
      ['b', ['192.168.56.245 VIP']],
      ['c', ['192.168.56.241 VIP']],
    ],
  );
  t.same(
    r.events.map((e) => [e.object, e.type, e.reason, e.message, e.source]),
    [
      ['service/b', 'Normal', 'IPAllocated', 'Assigned IP ["192.168.56.245"]', 'metallb-controller'],
      ['service/a', 'Normal', 'IPAllocated', 'Assigned IP ["192.168.56.240"]', 'metallb-controller'],
      ['service/c', 'Normal', 'IPAllocated', 'Assigned IP ["192.168.56.241"]', 'metallb-controller'],
    ],
  );
  const again = run(objectsOf(lb('c') + lb('e')), r.state, { lbPool: ['192.168.56.240/28'] });
  t.same(
    again.state.services.map((s) => [s.meta.name, s.loadBalancerIngress.map((ing) => `${ing.ip} ${ing.ipMode}`)]),
    [
      ['c', ['192.168.56.241 VIP']],
      ['e', ['192.168.56.240 VIP']],
    ],
    'c keeps its address, e gets the one a freed',
  );
  t.same(
    again.events.map((e) => e.object),
    ['service/e'],
  );
  const pending = run(objectsOf(lb('a')));
  t.same(pending.state.services[0]!.loadBalancerIngress, []);
  t.same(pending.events, [
    {
      object: 'service/a',
      namespace: 'default',
      type: 'Warning',
      reason: 'AllocationFailed',
      message: 'Failed to allocate IP for "default/a": no available IPs',
      source: 'metallb-controller',
    },
  ]);
  const other = run(objectsOf(lb('a').replace('metadata:\n', 'metadata:\n  namespace: shop\n')));
  t.same(
    other.events.map((e) => `${e.namespace} ${e.object} ${e.reason}`),
    ['shop service/a AllocationFailed'],
    "an event names its object's namespace, as involvedObject.namespace does",
  );
});

t.test("a status written in the manifest is a cloud provider's load balancer: kept as written, and MetalLB does not allocate", async (t) => {
  const cloud = (name: string, ingress: string) =>
    `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  type: LoadBalancer
  ports: [{ port: 80 }]
status:
  loadBalancer:
    ingress: ${ingress}
---
`;
  const lb = service('metal', '  type: LoadBalancer\n  ports: [{ port: 80 }]');
  const both = cloud('web', '[{ ip: 203.0.113.10 }, { ip: 203.0.113.11, ipMode: Proxy }]');
  const ingressOf = (r: ReturnType<typeof run>) => Object.fromEntries(r.state.services.map((x) => [x.meta.name, x.loadBalancerIngress]));
  const r = run(objectsOf(both + lb), null, { lbPool: ['192.168.56.240/28'] });
  t.same(errorsOf(r), []);
  t.same(ingressOf(r), {
    web: [
      { ip: '203.0.113.10', ipMode: 'VIP' },
      { ip: '203.0.113.11', ipMode: 'Proxy' },
    ],
    metal: [{ ip: '192.168.56.240', ipMode: 'VIP' }],
  });
  t.same(
    r.events.map((e) => e.object),
    ['service/metal'],
    "MetalLB says nothing about the cloud's Service",
  );
  t.ok(
    r.state.services.every((x) => x.ports.every((p) => p.nodePort !== null)),
    'both get node ports: the cloud load balancer reaches the nodes there',
  );

  const none = run(objectsOf(both));
  t.same(none.events, [], 'without a pool, no AllocationFailed either');
  t.same(ingressOf(none).web!.length, 2);

  // The cloud's status replaces an address MetalLB gave before; without it, MetalLB allocates again.
  const was = run(objectsOf(service('web', '  type: LoadBalancer\n  ports: [{ port: 80 }]')), null, { lbPool: ['192.168.56.240/28'] });
  t.same(ingressOf(was).web, [{ ip: '192.168.56.240', ipMode: 'VIP' }]);
  const now = run(objectsOf(both), was.state, { lbPool: ['192.168.56.240/28'] });
  t.same(ingressOf(now).web, [
    { ip: '203.0.113.10', ipMode: 'VIP' },
    { ip: '203.0.113.11', ipMode: 'Proxy' },
  ]);
  t.same(ingressOf(run(objectsOf(service('web', '  type: LoadBalancer\n  ports: [{ port: 80 }]')), now.state, { lbPool: ['192.168.56.240/28'] })).web, [
    { ip: '192.168.56.240', ipMode: 'VIP' },
  ]);

  // An address from MetalLB's pool would be handed out twice.
  t.same(errorsOf(run(objectsOf(cloud('web', '[{ ip: 192.168.56.241 }]')), null, { lbPool: ['192.168.56.240/28'] })), [
    "m0.yaml:9:21  error  status.loadBalancer.ingress[0].ip 192.168.56.241 is in MetalLB's address pool (192.168.56.240/28)\n  hint: a load balancer address written in the status stands for a cloud provider's load balancer: pick one outside the pool, or remove status to let MetalLB allocate",
  ]);
});

t.test('objects that are gone are gone: pods, slices and deployments', async (t) => {
  const r = run(objectsOf(fixture('deployment-nginx.yaml')));
  const empty = run([], r.state);
  t.same(empty.state, { pods: [], deployments: [], services: [], slices: [] });
});
