// kubectl get ingress and describe ingress, from the objects the control plane resolves out of
// the ingress-tls lab's manifests: columns and layout as kubectl's printers and describer write
// them (printIngress, describeIngressV1), the ADDRESS as ingress-nginx publishes it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { readManifests } from '../../src/k8s/manifest.js';
import { reconcile } from '../../src/k8s/controlplane.js';
import { describeIngress, getIngresses, NotFoundError } from '../../src/k8s/views.js';
import type { ClusterState, NodeInfo } from '../../src/api/objects.js';

const CREATED = '2024-05-10T11:59:22Z';
const NOW = new Date('2024-05-10T12:00:00Z');
const NODES: NodeInfo[] = [{ name: 'node1', address: '192.168.56.11', netns: 'node1', podCIDR: '10.244.1.0/24' }];

function state(files: string[], extra = '', lbPool = ['192.168.56.240/28']): ClusterState {
  const sources = files.map((f) => ({ file: f, text: readFileSync(`labs/ingress-tls/${f}`, 'utf8') }));
  if (extra) sources.push({ file: 'extra.yaml', text: extra });
  const read = readManifests(sources);
  const config = {
    serviceCIDR: '10.96.0.0/12',
    nodePortRange: [30000, 32767] as [number, number],
    nodes: [{ name: 'node1', podCIDR: '10.244.1.0/24', firstHost: 2, reserved: [] }],
    lbPool,
    now: CREATED,
  };
  return reconcile(read.objects, config, null).state;
}
const ALL = ['ingress-nginx.yaml', 'apps.yaml', 'secrets.yaml', 'ingress.yaml'];
const opts = (more = {}) => ({ output: 'table' as const, now: NOW, nodes: NODES, ...more });

t.test('get ingress: CLASS as written, HOSTS joined, ADDRESS the published LoadBalancer IP, PORTS with TLS (seed 004 §6.4)', async (t) => {
  const s = state(ALL);
  t.equal(
    getIngresses(s, opts()),
    [
      'NAME         CLASS    HOSTS            ADDRESS          PORTS     AGE',
      'forced       <none>   forced.bar.com   192.168.56.240   80        38s',
      'nginx-test   <none>   foo.bar.com      192.168.56.240   80, 443   38s',
      'plain        <none>   plain.bar.com    192.168.56.240   80        38s',
      'wildcard     <none>   *.foo.com        192.168.56.240   80, 443   38s',
      '',
    ].join('\n'),
  );
  t.equal(getIngresses(s, opts({ namespace: 'ingress-nginx' })), 'No resources found in ingress-nginx namespace.\n');
  t.throws(() => getIngresses(s, opts({ names: ['nope'] })), new NotFoundError('ingresses', 'nope'));
  const y = parse(getIngresses(s, opts({ output: 'yaml', names: ['nginx-test'] }))) as { status: unknown; spec: { tls: unknown; ingressClassName?: string } };
  t.same(y.status, { loadBalancer: { ingress: [{ ip: '192.168.56.240' }] } });
  t.same(y.spec.tls, [{ hosts: ['foo.bar.com'], secretName: 'tls-secret' }]);
  t.equal(y.spec.ingressClassName, undefined, 'no class written, none shown');
});

t.test('get ingress: "*" without hosts, "+ N more..." past three rules, a class by name, no address without a controller', async (t) => {
  const many = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: many }
spec:
  ingressClassName: nginx
  rules:
${['a', 'b', 'c', 'd', 'e'].map((h) => `  - { host: ${h}.example.com, http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: httpsvc, port: { number: 80 } } } }] } }`).join('\n')}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: anyhost, annotations: { kubernetes.io/ingress.class: nginx } }
spec:
  rules:
  - { http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: httpsvc, port: { number: 80 } } } }] } }
`;
  const withController = state(['ingress-nginx.yaml', 'apps.yaml'], many);
  t.equal(
    getIngresses(withController, opts()),
    [
      'NAME      CLASS    HOSTS                                                   ADDRESS          PORTS   AGE',
      'anyhost   <none>   *                                                       192.168.56.240   80      38s',
      'many      nginx    a.example.com,b.example.com,c.example.com + 2 more...   192.168.56.240   80      38s',
      '',
    ].join('\n'),
    'the legacy annotation is not spec.ingressClassName',
  );
  // Without the controller Deployment nothing publishes an address.
  const without = state(
    ['apps.yaml'],
    'apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: { name: nginx }\nspec: { controller: k8s.io/ingress-nginx }\n---\n' + many,
  );
  t.match(getIngresses(without, opts()), /^many {6}nginx {4}a\.example\.com.* {3}80 {6}38s$/m);
  t.notMatch(getIngresses(without, opts()), /192\.168/);
  // A LoadBalancer Service MetalLB has no address for: nothing to publish yet.
  const noPool = state(
    ['ingress-nginx.yaml', 'apps.yaml', 'secrets.yaml', 'ingress.yaml'].map((f) => f),
    '',
    [],
  );
  t.match(getIngresses(noPool, opts()), /nginx-test +<none> +foo\.bar\.com +80, 443/, 'a LoadBalancer without an address: ADDRESS empty');
});

t.test('describe ingress: kubectl describeIngressV1, rules with backends and endpoints, TLS, annotations', async (t) => {
  const s = state(ALL);
  const ep = s.slices.find((x) => x.service === 'httpsvc')!.endpoints[0]!.address;
  t.equal(
    describeIngress(s, 'nginx-test', 'default', [], NODES),
    [
      'Name:             nginx-test',
      'Labels:           <none>',
      'Namespace:        default',
      'Address:          192.168.56.240',
      'Ingress Class:    <none>',
      'Default backend:  <default>',
      'TLS:',
      '  tls-secret terminates foo.bar.com',
      'Rules:',
      '  Host         Path  Backends',
      '  ----         ----  --------',
      '  foo.bar.com  ',
      `               /   httpsvc:80 (${ep}:80)`,
      'Annotations:   <none>',
      'Events:        <none>',
      '',
    ].join('\n'),
  );
  const w = describeIngress(s, 'wildcard', 'default', [
    { type: 'Normal', reason: 'Sync', age: '5s', from: 'nginx-ingress-controller', message: 'Scheduled for sync' },
  ]);
  t.match(w, /Address: {10}192\.168\.56\.240/, 'the published Service address needs no node list');
  t.match(w, /^Annotations:  nginx\.ingress\.kubernetes\.io\/ssl-redirect: false$/m);
  t.match(
    w,
    /Events:\n  Type {4}Reason  Age {3}From {22}Message\n  ---- {4}------  ---- {2}---- {22}-------\n  Normal  Sync {4}5s {4}nginx-ingress-controller  Scheduled for sync\n$/,
  );
  t.throws(() => describeIngress(s, 'nope'), new NotFoundError('ingresses', 'nope'));
});

t.test('describe ingress: a named port, a missing Service, a default backend and no rules', async (t) => {
  const extra = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: dflt }
spec:
  defaultBackend: { service: { name: httpsvc, port: { number: 80 } } }
`;
  const s = state(ALL, extra);
  const d = describeIngress(s, 'dflt');
  t.match(d, /^Default backend:  httpsvc:80 \(10\.244\.1\.\d+:80\)$/m);
  t.match(d, /^  \* +\* +httpsvc:80 \(10\.244\.1\.\d+:80\)$/m);
  t.notMatch(d, /^TLS:/m);
});
