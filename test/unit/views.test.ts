// kubectl's views of the lab's cluster: tables compared character for character with real kubectl
// output (seed 004's nginx-deploy, a MetalLB service), the AGE durations, and the -o yaml/json
// objects read back.
import t from 'tap';
import { parse } from 'yaml';
import { describeService, getEndpoints, getPods, getServices, humanDuration, NotFoundError } from '../../src/k8s/views.js';
import type { ClusterState, EndpointSlice, Meta, NodeInfo, Pod, Service, SliceEndpoint } from '../../src/api/objects.js';
import { service as apiService } from './lib/kube-api.js';

const NOW = new Date('2024-05-10T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const meta = (name: string, created: string, labels: Record<string, string> = {}, namespace = 'default'): Meta => ({
  name,
  namespace,
  labels,
  annotations: {},
  creationTimestamp: created,
  uid: `uid-${name}`,
});

function deploymentPod(name: string, podIP: string, nodeName: string, created: string, ready = true): Pod {
  return {
    meta: meta(name, created, { app: 'nginx-deploy', 'pod-template-hash': '7c8d8c76bf' }),
    nodeName,
    podIP,
    hostname: null,
    subdomain: null,
    dnsPolicy: 'ClusterFirst',
    dnsConfig: null,
    containers: [
      {
        name: 'nginx',
        image: 'nginx:1.25',
        ports: [{ name: null, containerPort: 80, protocol: 'TCP' }],
        readinessProbe: {
          kind: 'httpGet',
          port: 80,
          path: '/',
          initialDelaySeconds: 0,
          periodSeconds: 10,
          timeoutSeconds: 1,
          successThreshold: 1,
          failureThreshold: 3,
        },
      },
    ],
    owner: 'Deployment/nginx-deploy',
    replicaSet: 'nginx-deploy-7c8d8c76bf',
    ready,
  };
}

function service(name: string, fields: Partial<Service> = {}, created = ago(10 * MIN)): Service {
  return apiService('default', name, {
    meta: meta(name, created, { app: name }),
    clusterIP: '10.96.0.10',
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: null }],
    ...fields,
  });
}

const endpoint = (address: string, nodeName: string | null, pod: string | null, ready = true): SliceEndpoint => ({
  address,
  conditions: { ready, serving: ready, terminating: false },
  nodeName,
  pod,
});

function slice(svc: string, ports: EndpointSlice['ports'], endpoints: SliceEndpoint[], suffix = 'x7k2p'): EndpointSlice {
  return {
    meta: meta(`${svc}-${suffix}`, ago(10 * MIN), { 'kubernetes.io/service-name': svc }),
    service: svc,
    ports,
    endpoints,
    managedBy: 'endpointslice-controller.k8s.io',
  };
}

// Seed 004: `kubectl expose deployment nginx-deploy --port=8080 --target-port=80`, three replicas.
function nginxDeploy(): ClusterState {
  const created = ago(2 * DAY + 17 * HOUR + 12 * MIN);
  const pods = [
    deploymentPod('nginx-deploy-7c8d8c76bf-2wr4t', '10.40.0.6', 'node02', created),
    deploymentPod('nginx-deploy-7c8d8c76bf-rbx7d', '10.32.0.10', 'node03', created),
    deploymentPod('nginx-deploy-7c8d8c76bf-wwdgq', '10.32.0.9', 'node03', created),
  ];
  const svc = service('nginx-deploy', {
    clusterIP: '10.98.254.54',
    ports: [{ name: '', protocol: 'TCP', port: 8080, targetPort: 80, nodePort: null }],
    selector: { app: 'nginx-deploy' },
  });
  const endpoints = pods.map((p) => endpoint(p.podIP, p.nodeName, p.meta.name));
  return {
    pods,
    deployments: [
      {
        meta: meta('nginx-deploy', created, { app: 'nginx-deploy' }),
        replicas: 3,
        selector: { app: 'nginx-deploy' },
        template: { labels: { app: 'nginx-deploy' }, containers: pods[0]!.containers, nodeName: null },
        templateHash: '7c8d8c76bf',
      },
    ],
    services: [svc],
    slices: [slice('nginx-deploy', [{ name: '', port: 80, protocol: 'TCP' }], endpoints)],
  };
}

const NODES: NodeInfo[] = [
  { name: 'node02', address: '192.168.56.12', netns: 'node02', podCIDR: '10.40.0.0/16' },
  { name: 'node03', address: '192.168.56.13', netns: 'node03', podCIDR: '10.32.0.0/16' },
];

const lines = (...l: string[]) => l.map((x) => x + '\n').join('');

t.test('seed 004: get svc, get endpoints and get pods -o wide print exactly as kubectl did', async (t) => {
  const state = nginxDeploy();
  t.equal(
    getServices(state, { output: 'table', now: NOW }),
    lines(
      'NAME           TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)    AGE', //
      'nginx-deploy   ClusterIP   10.98.254.54   <none>        8080/TCP   10m',
    ),
  );
  t.equal(
    getEndpoints(state, { output: 'table', now: NOW }),
    lines(
      'NAME           ENDPOINTS                                 AGE', //
      'nginx-deploy   10.32.0.10:80,10.32.0.9:80,10.40.0.6:80   10m',
    ),
    'Endpoints addresses are ordered as strings: .10 before .9',
  );
  t.equal(
    getPods(state, { output: 'wide', now: NOW }),
    lines(
      'NAME                            READY   STATUS    RESTARTS   AGE     IP           NODE     NOMINATED NODE   READINESS GATES',
      'nginx-deploy-7c8d8c76bf-2wr4t   1/1     Running   0          2d17h   10.40.0.6    node02   <none>           <none>',
      'nginx-deploy-7c8d8c76bf-rbx7d   1/1     Running   0          2d17h   10.32.0.10   node03   <none>           <none>',
      'nginx-deploy-7c8d8c76bf-wwdgq   1/1     Running   0          2d17h   10.32.0.9    node03   <none>           <none>',
    ),
  );
});

t.test('get pods: a pod failing its readiness probe is Running 0/1; narrow columns keep the minimum width', async (t) => {
  const state = nginxDeploy();
  state.pods = [deploymentPod('web', '10.244.1.2', 'n1', ago(45 * 1000), false)];
  t.equal(
    getPods(state, { output: 'table', now: NOW }),
    lines(
      'NAME   READY   STATUS    RESTARTS   AGE', //
      'web    0/1     Running   0          45s',
    ),
  );
});

t.test('get svc with names prints those services in the order given; a missing one is NotFound', async (t) => {
  const state: ClusterState = {
    pods: [],
    deployments: [],
    services: [service('zeta'), service('kubia', { clusterIP: '10.99.166.60' }, ago(47 * HOUR + 5 * MIN))],
    slices: [],
  };
  t.equal(
    getServices(state, { output: 'table', now: NOW, names: ['kubia'] }),
    lines(
      'NAME    TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)   AGE', //
      'kubia   ClusterIP   10.99.166.60   <none>        80/TCP    47h',
    ),
  );
  t.match(getServices(state, { output: 'table', now: NOW, names: ['zeta', 'kubia'] }), /^NAME.*\nzeta .*\nkubia /);
  t.match(getServices(state, { output: 'table', now: NOW }), /^NAME.*\nkubia .*\nzeta /, 'without names: sorted by name');
  t.throws(() => getServices(state, { output: 'table', now: NOW, names: ['kubia', 'nope'] }), {
    name: 'NotFoundError',
    message: 'Error from server (NotFound): services "nope" not found',
  });
  t.throws(() => getPods(state, { output: 'yaml', now: NOW, names: ['nope'] }), new NotFoundError('pods', 'nope'));
  t.throws(() => getEndpoints(state, { output: 'table', now: NOW, names: ['nope'] }), { message: 'Error from server (NotFound): endpoints "nope" not found' });
  t.equal(getPods(state, { output: 'table', now: NOW }), 'No resources found in default namespace.\n');
});

t.test('get svc -n: NodePort ports as port:nodePort, several joined by commas (seed 004, ingress-nginx)', async (t) => {
  const ns = (s: Service) => ({ ...s, meta: { ...s.meta, namespace: 'ingress-nginx' } });
  const state: ClusterState = {
    pods: [],
    deployments: [],
    services: [
      ns(
        service(
          'ingress-nginx-controller',
          {
            type: 'NodePort',
            clusterIP: '10.107.127.108',
            ports: [
              { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 32556 },
              { name: 'https', protocol: 'TCP', port: 443, targetPort: 'https', nodePort: 30692 },
            ],
          },
          ago(25 * DAY),
        ),
      ),
      ns(
        service(
          'ingress-nginx-controller-admission',
          { clusterIP: '10.111.3.4', ports: [{ name: 'https-webhook', protocol: 'TCP', port: 443, targetPort: 'webhook', nodePort: null }] },
          ago(25 * DAY),
        ),
      ),
      service('elsewhere'),
    ],
    slices: [],
  };
  t.equal(
    getServices(state, { output: 'table', now: NOW, namespace: 'ingress-nginx' }),
    lines(
      'NAME                                 TYPE        CLUSTER-IP       EXTERNAL-IP   PORT(S)                      AGE',
      'ingress-nginx-controller             NodePort    10.107.127.108   <none>        80:32556/TCP,443:30692/TCP   25d',
      'ingress-nginx-controller-admission   ClusterIP   10.111.3.4       <none>        443/TCP                      25d',
    ),
  );
});

t.test('get -A: every namespace, a NAMESPACE column first, sorted by namespace then name; -n another namespace', async (t) => {
  const state = nginxDeploy();
  const inNs = <T extends { meta: Meta }>(o: T, namespace: string): T => ({ ...o, meta: { ...o.meta, namespace } });
  // kubeadm's cluster DNS, in kube-system, beside seed 004's nginx-deploy in default.
  const dnsPod = inNs(deploymentPod('coredns-5dd5756b68-7x9mq', '10.32.0.2', 'node03', ago(10 * DAY)), 'kube-system');
  const dns = inNs(
    service(
      'kube-dns',
      {
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53, nodePort: null },
          { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53, nodePort: null },
          { name: 'metrics', protocol: 'TCP', port: 9153, targetPort: 9153, nodePort: null },
        ],
      },
      ago(10 * DAY),
    ),
    'kube-system',
  );
  state.pods = [dnsPod, ...state.pods];
  state.services = [dns, ...state.services];
  state.slices = [
    inNs(slice('kube-dns', [{ name: 'dns', port: 53, protocol: 'UDP' }], [endpoint('10.32.0.2', 'node03', dnsPod.meta.name)], 'q8m4d'), 'kube-system'),
    ...state.slices,
  ];
  t.equal(
    getServices(state, { output: 'table', now: NOW, allNamespaces: true }),
    lines(
      'NAMESPACE     NAME           TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)                  AGE',
      'default       nginx-deploy   ClusterIP   10.98.254.54   <none>        8080/TCP                 10m',
      'kube-system   kube-dns       ClusterIP   10.96.0.10     <none>        53/UDP,53/TCP,9153/TCP   10d',
    ),
  );
  t.equal(
    getPods(state, { output: 'wide', now: NOW, allNamespaces: true }),
    lines(
      'NAMESPACE     NAME                            READY   STATUS    RESTARTS   AGE     IP           NODE     NOMINATED NODE   READINESS GATES',
      'default       nginx-deploy-7c8d8c76bf-2wr4t   1/1     Running   0          2d17h   10.40.0.6    node02   <none>           <none>',
      'default       nginx-deploy-7c8d8c76bf-rbx7d   1/1     Running   0          2d17h   10.32.0.10   node03   <none>           <none>',
      'default       nginx-deploy-7c8d8c76bf-wwdgq   1/1     Running   0          2d17h   10.32.0.9    node03   <none>           <none>',
      'kube-system   coredns-5dd5756b68-7x9mq        1/1     Running   0          10d     10.32.0.2    node03   <none>           <none>',
    ),
  );
  t.equal(
    getEndpoints(state, { output: 'table', now: NOW, allNamespaces: true }),
    lines(
      'NAMESPACE     NAME           ENDPOINTS                                 AGE',
      'default       nginx-deploy   10.32.0.10:80,10.32.0.9:80,10.40.0.6:80   10m',
      'kube-system   kube-dns       10.32.0.2:53                              10d',
    ),
  );
  // -A wins over -n, as in kubectl; the objects keep their namespace in YAML.
  const list = parse(getServices(state, { output: 'yaml', now: NOW, namespace: 'default', allNamespaces: true })) as {
    kind: string;
    items: { metadata: { namespace: string; name: string } }[];
  };
  t.equal(list.kind, 'List');
  t.same(
    list.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`),
    ['default/nginx-deploy', 'kube-system/kube-dns'],
  );
  t.throws(() => getPods(state, { output: 'table', now: NOW, allNamespaces: true, names: ['coredns-5dd5756b68-7x9mq'] }), {
    message: 'error: a resource cannot be retrieved by name across all namespaces',
  });
  // -n: one namespace, without the NAMESPACE column; the names are looked up in it.
  t.equal(
    getPods(state, { output: 'table', now: NOW, namespace: 'kube-system' }),
    lines(
      'NAME                       READY   STATUS    RESTARTS   AGE', //
      'coredns-5dd5756b68-7x9mq   1/1     Running   0          10d',
    ),
  );
  t.throws(
    () => getServices(state, { output: 'table', now: NOW, namespace: 'kube-system', names: ['nginx-deploy'] }),
    new NotFoundError('services', 'nginx-deploy'),
  );
  t.equal(getServices(state, { output: 'table', now: NOW, namespace: 'nope' }), 'No resources found in nope namespace.\n');
  t.equal(getServices({ pods: [], deployments: [], services: [], slices: [] }, { output: 'table', now: NOW, allNamespaces: true }), 'No resources found\n');
});

t.test('get svc: LoadBalancer, headless and ExternalName rows; -o wide adds SELECTOR', async (t) => {
  const state: ClusterState = {
    pods: [],
    deployments: [],
    services: [
      service('lb-pending', {
        type: 'LoadBalancer',
        clusterIP: '10.96.100.1',
        ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 31234 }],
      }),
      service('lb', {
        type: 'LoadBalancer',
        clusterIP: '10.96.100.2',
        ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
        loadBalancerIngress: [
          { ip: '192.168.56.241', ipMode: 'VIP' },
          { ip: '192.168.56.240', ipMode: 'VIP' },
        ],
        selector: { tier: 'web', app: 'lb' },
      }),
      service('lb-ext', {
        type: 'LoadBalancer',
        clusterIP: '10.96.100.3',
        ports: [{ name: '', protocol: 'UDP', port: 53, targetPort: 53, nodePort: 30053 }],
        externalIPs: ['203.0.113.7'],
      }),
      service('headless', { clusterIP: 'None' }),
      service('db', { type: 'ExternalName', clusterIP: null, externalName: 'db.example.com', ports: [], selector: null }),
      service('ext-ip', { externalIPs: ['198.51.100.1', '198.51.100.2'], selector: null }),
    ],
    slices: [],
  };
  t.equal(
    getServices(state, { output: 'table', now: NOW }),
    lines(
      'NAME         TYPE           CLUSTER-IP    EXTERNAL-IP                 PORT(S)        AGE',
      'db           ExternalName   <none>        db.example.com              <none>         10m',
      'ext-ip       ClusterIP      10.96.0.10    198.51.100.1,198.51.100.2   80/TCP         10m',
      'headless     ClusterIP      None          <none>                      80/TCP         10m',
      'lb           LoadBalancer   10.96.100.2   192.168.56.24...            80:30080/TCP   10m',
      'lb-ext       LoadBalancer   10.96.100.3   203.0.113.7                 53:30053/UDP   10m',
      'lb-pending   LoadBalancer   10.96.100.1   <pending>                   80:31234/TCP   10m',
    ),
    'ingress addresses are sorted and, without -o wide, clipped to 16 characters',
  );
  t.equal(
    getServices(state, { output: 'wide', now: NOW, names: ['lb', 'db'] }),
    lines(
      'NAME   TYPE           CLUSTER-IP    EXTERNAL-IP                     PORT(S)        AGE   SELECTOR',
      'lb     LoadBalancer   10.96.100.2   192.168.56.240,192.168.56.241   80:30080/TCP   10m   app=lb,tier=web',
      'db     ExternalName   <none>        db.example.com                  <none>         10m   <none>',
    ),
  );
});

t.test('get endpoints: truncation after three, unready addresses hidden, bare IPs for portless headless services', async (t) => {
  const ip = (i: number) => `10.244.1.${i}`;
  const state: ClusterState = {
    pods: [],
    deployments: [],
    services: [
      service('five'),
      service('two-ports', {
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: null },
          { name: 'metrics', protocol: 'TCP', port: 9100, targetPort: 9100, nodePort: null },
        ],
      }),
      service('starting'),
      service('no-pods'),
      service('portless', { clusterIP: 'None', ports: [] }),
      service('manual', { selector: null }),
      service('external', { type: 'ExternalName', clusterIP: null, externalName: 'example.com', selector: null }),
    ],
    slices: [
      slice(
        'five',
        [{ name: '', port: 80, protocol: 'TCP' }],
        [1, 2, 3, 4, 5].map((i) => endpoint(ip(i), 'n1', `p${i}`)),
      ),
      slice(
        'two-ports',
        [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9100, protocol: 'TCP' },
        ],
        [endpoint(ip(7), 'n1', 'a'), endpoint(ip(6), 'n1', 'b')],
      ),
      slice('starting', [{ name: '', port: 80, protocol: 'TCP' }], [endpoint(ip(8), 'n1', 'c', false)]),
      slice('portless', [], [endpoint(ip(9), 'n1', 'd'), endpoint(ip(10), 'n2', 'e')]),
    ],
  };
  t.equal(
    getEndpoints(state, { output: 'table', now: NOW }),
    lines(
      'NAME        ENDPOINTS                                                     AGE',
      'five        10.244.1.1:80,10.244.1.2:80,10.244.1.3:80 + 2 more...         10m',
      'no-pods     <none>                                                        10m',
      'portless    10.244.1.10,10.244.1.9                                        10m',
      'starting                                                                  10m',
      'two-ports   10.244.1.6:8080,10.244.1.7:8080,10.244.1.6:9100 + 1 more...   10m',
    ),
    'a selectorless service without addresses and an ExternalName service have no Endpoints',
  );
});

t.test('HumanDuration: the AGE column at every precision step', async (t) => {
  const S = 1000;
  const cases: [number, string][] = [
    [-2 * S, '<invalid>'],
    [-1999, '0s'],
    [-1 * S, '0s'],
    [0, '0s'],
    [999, '0s'],
    [45 * S, '45s'],
    [119 * S, '119s'],
    [120 * S, '2m'],
    [121 * S, '2m1s'],
    [3 * MIN + 2 * S, '3m2s'],
    [9 * MIN + 59 * S, '9m59s'],
    [10 * MIN, '10m'],
    [10 * MIN + 59 * S, '10m'],
    [179 * MIN, '179m'],
    [3 * HOUR, '3h'],
    [3 * HOUR + 5 * MIN, '3h5m'],
    [7 * HOUR + 59 * MIN, '7h59m'],
    [8 * HOUR, '8h'],
    [47 * HOUR + 59 * MIN, '47h'],
    [48 * HOUR, '2d'],
    [2 * DAY + 17 * HOUR, '2d17h'],
    [7 * DAY + 23 * HOUR, '7d23h'],
    [8 * DAY, '8d'],
    [25 * DAY + 3 * HOUR, '25d'],
    [729 * DAY, '729d'],
    [730 * DAY, '2y'],
    [3 * 365 * DAY + 4 * DAY, '3y4d'],
    [8 * 365 * DAY - HOUR, '7y364d'],
    [8 * 365 * DAY, '8y'],
    [12 * 365 * DAY + 100 * DAY, '12y'],
  ];
  for (const [ms, text] of cases) t.equal(humanDuration(ms), text, `${ms} ms`);
});

t.test('-o yaml: a named object prints as itself, in kubectl YAML style', async (t) => {
  const state = nginxDeploy();
  const text = getServices(state, { output: 'yaml', now: NOW, names: ['nginx-deploy'] });
  t.equal(
    text,
    lines(
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  creationTimestamp: "2024-05-10T11:50:00Z"',
      '  labels:',
      '    app: nginx-deploy',
      '  name: nginx-deploy',
      '  namespace: default',
      '  uid: uid-nginx-deploy',
      'spec:',
      '  clusterIP: 10.98.254.54',
      '  clusterIPs:',
      '  - 10.98.254.54',
      '  internalTrafficPolicy: Cluster',
      '  ipFamilies:',
      '  - IPv4',
      '  ipFamilyPolicy: SingleStack',
      '  ports:',
      '  - port: 8080',
      '    protocol: TCP',
      '    targetPort: 80',
      '  selector:',
      '    app: nginx-deploy',
      '  sessionAffinity: None',
      '  type: ClusterIP',
      'status:',
      '  loadBalancer: {}',
    ),
    'keys sorted, sequences at their key, timestamps in whole seconds and quoted',
  );
});

t.test('-o yaml of a list: kind List with metadata.resourceVersion ""; pods carry their ReplicaSet and node', async (t) => {
  const state = nginxDeploy();
  state.pods[1] = { ...state.pods[1]!, ready: false };
  const text = getPods(state, { output: 'yaml', now: NOW, nodes: NODES });
  t.match(text, /\nkind: List\nmetadata:\n  resourceVersion: ""\n$/);
  const list = parse(text);
  t.equal(list.apiVersion, 'v1');
  t.equal(list.items.length, 3);
  const [ready, unready] = list.items;
  t.equal(ready.kind, 'Pod');
  t.same(ready.metadata.ownerReferences, [
    {
      apiVersion: 'apps/v1',
      blockOwnerDeletion: true,
      controller: true,
      kind: 'ReplicaSet',
      name: 'nginx-deploy-7c8d8c76bf',
      uid: ready.metadata.ownerReferences[0].uid,
    },
  ]);
  t.match(ready.metadata.ownerReferences[0].uid, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.equal(unready.metadata.ownerReferences[0].uid, ready.metadata.ownerReferences[0].uid, 'one ReplicaSet, one UID');
  t.equal(ready.metadata.generateName, 'nginx-deploy-7c8d8c76bf-');
  t.same(ready.metadata.labels, { app: 'nginx-deploy', 'pod-template-hash': '7c8d8c76bf' });
  t.equal(ready.spec.nodeName, 'node02');
  t.same(ready.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
  t.same(ready.spec.containers[0].readinessProbe, {
    failureThreshold: 3,
    httpGet: { path: '/', port: 80, scheme: 'HTTP' },
    periodSeconds: 10,
    successThreshold: 1,
    timeoutSeconds: 1,
  });
  t.equal(ready.spec.containers[0].imagePullPolicy, 'IfNotPresent');
  t.equal(ready.status.phase, 'Running');
  t.equal(ready.status.podIP, '10.40.0.6');
  t.same(ready.status.podIPs, [{ ip: '10.40.0.6' }]);
  t.equal(ready.status.hostIP, '192.168.56.12');
  t.equal(unready.status.hostIP, '192.168.56.13');
  const readyCondition = (pod: { status: { conditions: { type: string; status: string }[] } }) => pod.status.conditions.find((c) => c.type === 'Ready');
  t.equal(readyCondition(ready)?.status, 'True');
  t.match(readyCondition(unready), { status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [nginx]' });
  t.match(text, /    status: "True"\n/, 'condition statuses are quoted strings');
});

t.test('-o yaml of services: the defaults the API server fills in for each type', async (t) => {
  const state: ClusterState = {
    pods: [],
    deployments: [],
    services: [
      service('lb', {
        type: 'LoadBalancer',
        clusterIP: '10.96.100.2',
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'web', nodePort: 30080 }],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
        loadBalancerIngress: [{ ip: '192.168.56.240', ipMode: 'VIP' }],
        loadBalancerIP: '192.168.56.240',
        loadBalancerSourceRanges: ['192.168.56.0/24'],
        sessionAffinity: 'ClientIP',
        affinityTimeoutSeconds: 600,
        publishNotReadyAddresses: true,
      }),
      service('plain'),
      service('db', { type: 'ExternalName', clusterIP: null, externalName: 'db.example.com', ports: [], selector: null }),
      service('peers', { clusterIP: 'None', selector: null }),
    ],
    slices: [],
  };
  const [db, lb, peers, plain] = parse(getServices(state, { output: 'yaml', now: NOW })).items;
  t.same(lb.spec, {
    allocateLoadBalancerNodePorts: true,
    clusterIP: '10.96.100.2',
    clusterIPs: ['10.96.100.2'],
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 32000,
    internalTrafficPolicy: 'Cluster',
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    loadBalancerIP: '192.168.56.240',
    loadBalancerSourceRanges: ['192.168.56.0/24'],
    ports: [{ name: 'http', nodePort: 30080, port: 80, protocol: 'TCP', targetPort: 'web' }],
    publishNotReadyAddresses: true,
    selector: { app: 'lb' },
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
    type: 'LoadBalancer',
  });
  t.same(lb.status, { loadBalancer: { ingress: [{ ip: '192.168.56.240', ipMode: 'VIP' }] } });
  t.notOk('externalTrafficPolicy' in plain.spec, 'only node ports and load balancers have an external policy');
  t.same(db.spec, { externalName: 'db.example.com', sessionAffinity: 'None', type: 'ExternalName' });
  t.same(db.status, { loadBalancer: {} });
  t.equal(peers.spec.clusterIP, 'None');
  t.equal(peers.spec.ipFamilyPolicy, 'RequireDualStack', 'a headless service without selector takes every family');
  t.notOk('selector' in peers.spec);
});

t.test('-o yaml of endpoints: ready and unready addresses with their pods, sorted by IP', async (t) => {
  const state = nginxDeploy();
  state.services.push(service('headless', { clusterIP: 'None', selector: { app: 'nginx-deploy' } }));
  state.slices[0]!.endpoints[2] = { ...state.slices[0]!.endpoints[2]!, conditions: { ready: false, serving: false, terminating: false } };
  state.slices[0]!.endpoints.push({ address: '10.40.0.7', conditions: { ready: false, serving: true, terminating: true }, nodeName: 'node02', pod: 'gone' });
  const ep = parse(getEndpoints(state, { output: 'yaml', now: NOW, names: ['nginx-deploy'] }));
  t.equal(ep.kind, 'Endpoints');
  t.equal(ep.metadata.name, 'nginx-deploy');
  t.same(ep.subsets, [
    {
      addresses: [
        {
          ip: '10.32.0.10',
          nodeName: 'node03',
          targetRef: { kind: 'Pod', name: 'nginx-deploy-7c8d8c76bf-rbx7d', namespace: 'default', uid: 'uid-nginx-deploy-7c8d8c76bf-rbx7d' },
        },
        {
          ip: '10.40.0.6',
          nodeName: 'node02',
          targetRef: { kind: 'Pod', name: 'nginx-deploy-7c8d8c76bf-2wr4t', namespace: 'default', uid: 'uid-nginx-deploy-7c8d8c76bf-2wr4t' },
        },
      ],
      notReadyAddresses: [
        {
          ip: '10.32.0.9',
          nodeName: 'node03',
          targetRef: { kind: 'Pod', name: 'nginx-deploy-7c8d8c76bf-wwdgq', namespace: 'default', uid: 'uid-nginx-deploy-7c8d8c76bf-wwdgq' },
        },
      ],
      ports: [{ port: 80, protocol: 'TCP' }],
    },
  ]);
  t.match(getEndpoints(state, { output: 'table', now: NOW }), /\nnginx-deploy +10\.32\.0\.10:80,10\.40\.0\.6:80 +10m\n/, 'the terminating pod is gone');
  const headless = parse(getEndpoints(state, { output: 'yaml', now: NOW, names: ['headless'] }));
  t.same(headless.metadata.labels, { app: 'headless', 'service.kubernetes.io/headless': '' });
  t.notOk('subsets' in headless, 'no addresses: no subsets field');
});

t.test('-o json: Go encoding/json layout with keys in byte order; YAML keys in go-yaml order', async (t) => {
  const state = nginxDeploy();
  state.services[0]!.meta.labels = { 'tier-10': 'yes', 'tier-9': 'true', app: 'nginx-deploy' };
  const json = getServices(state, { output: 'json', now: NOW, names: ['nginx-deploy'] });
  t.ok(json.startsWith('{\n    "apiVersion": "v1",\n    "kind": "Service",\n    "metadata": {\n'));
  t.ok(json.endsWith('\n}\n'));
  t.same(JSON.parse(json).spec.ports, [{ port: 8080, protocol: 'TCP', targetPort: 80 }]);
  t.match(json, /"tier-10": "yes",\n\s+"tier-9": "true"/, 'byte order puts tier-10 first');
  const yamlText = getServices(state, { output: 'yaml', now: NOW, names: ['nginx-deploy'] });
  t.match(yamlText, /    tier-9: "true"\n    tier-10: "yes"\n/, 'go-yaml compares digit runs as numbers and quotes YAML 1.1 booleans');
  const list = JSON.parse(getEndpoints(state, { output: 'json', now: NOW }));
  t.same(list.metadata, { resourceVersion: '' });
  t.equal(list.kind, 'List');
});

t.test('describe svc: ClusterIP in the layout of current kubectl', async (t) => {
  const state = nginxDeploy();
  t.equal(
    describeService(state, 'nginx-deploy'),
    lines(
      'Name:                     nginx-deploy',
      'Namespace:                default',
      'Labels:                   app=nginx-deploy',
      'Annotations:              <none>',
      'Selector:                 app=nginx-deploy',
      'Type:                     ClusterIP',
      'IP Family Policy:         SingleStack',
      'IP Families:              IPv4',
      'IP:                       10.98.254.54',
      'IPs:                      10.98.254.54',
      'Port:                     <unset>  8080/TCP',
      'TargetPort:               80/TCP',
      'Endpoints:                10.40.0.6:80,10.32.0.10:80,10.32.0.9:80',
      'Session Affinity:         None',
      'Internal Traffic Policy:  Cluster',
      'Events:                   <none>',
    ),
  );
  t.throws(() => describeService(state, 'nope'), { message: 'Error from server (NotFound): services "nope" not found' });
  t.throws(() => describeService(state, 'nginx-deploy', 'kube-system'), NotFoundError);
});

t.test('describe svc: a MetalLB LoadBalancer, character for character as kubectl 1.31 printed it', async (t) => {
  const svc = service('argocd-server', {
    type: 'LoadBalancer',
    clusterIP: '172.31.245.161',
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 32411 },
      { name: 'https', protocol: 'TCP', port: 443, targetPort: 8080, nodePort: 32141 },
    ],
    selector: { 'app.kubernetes.io/name': 'argocd-server' },
    loadBalancerIngress: [{ ip: '10.32.50.40', ipMode: 'VIP' }],
  });
  svc.meta = {
    ...meta(
      'argocd-server',
      ago(6 * MIN),
      { 'app.kubernetes.io/part-of': 'argocd', 'app.kubernetes.io/name': 'argocd-server', 'app.kubernetes.io/component': 'server' },
      'argocd',
    ),
    annotations: { 'metallb.universe.tf/loadBalancerIPs': '10.32.50.40', 'metallb.universe.tf/ip-allocated-from-pool': 'pool1' },
  };
  const argoSlice = slice(
    'argocd-server',
    [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'https', port: 8080, protocol: 'TCP' },
    ],
    [endpoint('172.29.3.24', 'ld5tmlk8sw02', 'argocd-server-0')],
  );
  argoSlice.meta.namespace = 'argocd';
  const state: ClusterState = { pods: [], deployments: [], services: [svc], slices: [argoSlice] };
  const events = [
    { type: 'Normal' as const, reason: 'IPAllocated', age: '5m13s', from: 'metallb-controller', message: 'Assigned IP ["10.32.50.40"]' },
    {
      type: 'Normal' as const,
      reason: 'nodeAssigned',
      age: '5m13s',
      from: 'metallb-speaker',
      message: 'announcing from node "ld5tmlk8sw02" with protocol "layer2"',
    },
  ];
  t.equal(
    describeService(state, 'argocd-server', 'argocd', events),
    lines(
      'Name:                     argocd-server',
      'Namespace:                argocd',
      'Labels:                   app.kubernetes.io/component=server',
      '                          app.kubernetes.io/name=argocd-server',
      '                          app.kubernetes.io/part-of=argocd',
      'Annotations:              metallb.universe.tf/ip-allocated-from-pool: pool1',
      '                          metallb.universe.tf/loadBalancerIPs: 10.32.50.40',
      'Selector:                 app.kubernetes.io/name=argocd-server',
      'Type:                     LoadBalancer',
      'IP Family Policy:         SingleStack',
      'IP Families:              IPv4',
      'IP:                       172.31.245.161',
      'IPs:                      172.31.245.161',
      'LoadBalancer Ingress:     10.32.50.40 (VIP)',
      'Port:                     http  80/TCP',
      'TargetPort:               8080/TCP',
      'NodePort:                 http  32411/TCP',
      'Endpoints:                172.29.3.24:8080',
      'Port:                     https  443/TCP',
      'TargetPort:               8080/TCP',
      'NodePort:                 https  32141/TCP',
      'Endpoints:                172.29.3.24:8080',
      'Session Affinity:         None',
      'External Traffic Policy:  Cluster',
      'Internal Traffic Policy:  Cluster',
      'Events:',
      '  Type    Reason        Age    From                Message',
      '  ----    ------        ----   ----                -------',
      '  Normal  IPAllocated   5m13s  metallb-controller  Assigned IP ["10.32.50.40"]',
      '  Normal  nodeAssigned  5m13s  metallb-speaker     announcing from node "ld5tmlk8sw02" with protocol "layer2"',
    ),
  );
});

t.test('a cloud load balancer with a VIP and a Proxy address: EXTERNAL-IP, -o yaml and describe show both, with their ipMode', async (t) => {
  const svc = service('web', {
    type: 'LoadBalancer',
    clusterIP: '10.96.100.10',
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 30080 }],
    loadBalancerIngress: [
      { ip: '203.0.113.10', ipMode: 'VIP' },
      { ip: '203.0.113.11', ipMode: 'Proxy' },
    ],
  });
  const state: ClusterState = { pods: [], deployments: [], services: [svc], slices: [] };
  t.equal(
    getServices(state, { output: 'wide', now: NOW }),
    lines(
      'NAME   TYPE           CLUSTER-IP     EXTERNAL-IP                 PORT(S)        AGE   SELECTOR',
      'web    LoadBalancer   10.96.100.10   203.0.113.10,203.0.113.11   80:30080/TCP   10m   app=web',
    ),
  );
  t.match(getServices(state, { output: 'table', now: NOW }), / 203\.0\.113\.10,\.\.\. /, 'clipped to 16 characters without -o wide, as kubectl does');
  t.same(parse(getServices(state, { output: 'yaml', now: NOW, names: ['web'] })).status, {
    loadBalancer: {
      ingress: [
        { ip: '203.0.113.10', ipMode: 'VIP' },
        { ip: '203.0.113.11', ipMode: 'Proxy' },
      ],
    },
  });
  t.match(describeService(state, 'web'), /^LoadBalancer Ingress: +203\.0\.113\.10 \(VIP\), 203\.0\.113\.11 \(Proxy\)$/m);
});

t.test('describe svc: LoadBalancer with externalTrafficPolicy Local, a named target port and unready pods', async (t) => {
  const svc = service('web', {
    type: 'LoadBalancer',
    clusterIP: '10.96.12.34',
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 31234 }],
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 32000,
    loadBalancerIP: '192.168.56.240',
    loadBalancerSourceRanges: ['192.168.56.0/24', '10.0.0.0/8'],
    loadBalancerIngress: [{ ip: '192.168.56.240', ipMode: 'VIP' }],
    sessionAffinity: 'ClientIP',
  });
  const ready = [2, 3, 4].map((i) => endpoint(`10.244.${i}.2`, `node${i}`, `web-${i}`));
  const webSlice = slice(
    'web',
    [{ name: '', port: 8080, protocol: 'TCP' }],
    [endpoint('10.244.1.2', 'node1', 'web-1', false), ...ready, endpoint('10.244.5.2', 'node5', 'web-5')],
  );
  const state: ClusterState = { pods: [], deployments: [], services: [svc], slices: [webSlice] };
  t.equal(
    describeService(state, 'web', 'default', [
      { type: 'Warning', reason: 'AllocationFailed', age: '2m (x3 over 10m)', from: 'metallb-controller', message: 'no available IPs\n' },
    ]),
    lines(
      'Name:                        web',
      'Namespace:                   default',
      'Labels:                      app=web',
      'Annotations:                 <none>',
      'Selector:                    app=web',
      'Type:                        LoadBalancer',
      'IP Family Policy:            SingleStack',
      'IP Families:                 IPv4',
      'IP:                          10.96.12.34',
      'IPs:                         10.96.12.34',
      'Desired LoadBalancer IP:     192.168.56.240',
      'LoadBalancer Ingress:        192.168.56.240 (VIP)',
      'Port:                        <unset>  80/TCP',
      'TargetPort:                  http/TCP',
      'NodePort:                    <unset>  31234/TCP',
      'Endpoints:                   10.244.2.2:8080,10.244.3.2:8080,10.244.4.2:8080 + 1 more...',
      'Session Affinity:            ClientIP',
      'External Traffic Policy:     Local',
      'Internal Traffic Policy:     Cluster',
      'HealthCheck NodePort:        32000',
      'LoadBalancer Source Ranges:  192.168.56.0/24,10.0.0.0/8',
      'Events:',
      '  Type     Reason            Age               From                Message',
      '  ----     ------            ----              ----                -------',
      '  Warning  AllocationFailed  2m (x3 over 10m)  metallb-controller  no available IPs',
    ),
  );
});

t.test('describe svc: slices with no ready endpoint leave Endpoints blank; ExternalName has no address', async (t) => {
  const state: ClusterState = {
    pods: [],
    deployments: [],
    services: [service('starting'), service('db', { type: 'ExternalName', clusterIP: null, externalName: 'db.example.com', ports: [], selector: null })],
    slices: [slice('starting', [{ name: '', port: 80, protocol: 'TCP' }], [endpoint('10.244.1.2', 'n1', 'p', false)])],
  };
  t.match(describeService(state, 'starting'), /\nEndpoints: {16}\n/);
  t.equal(
    describeService(state, 'db'),
    lines(
      'Name:              db',
      'Namespace:         default',
      'Labels:            app=db',
      'Annotations:       <none>',
      'Selector:          <none>',
      'Type:              ExternalName',
      'IP Families:       <none>',
      'IP:                ',
      'IPs:               <none>',
      'External Name:     db.example.com',
      'Session Affinity:  None',
      'Events:            <none>',
    ),
  );
});
