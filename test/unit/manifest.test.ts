// Kubernetes manifests as users paste them: the seeds' examples read (or fail precisely), every
// error at its line:column with a hint, all of them at once, and a warning for each field
// knetlab does not model.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifests } from '../../src/k8s/manifest.js';
import { positionIn, type ManifestObject } from '../../src/k8s/manifest/types.js';
import { formatDiagnostic } from '../../src/labfile/diagnostics.js';

const dir = 'test/fixtures/manifests';
const fixture = (name: string) => ({ file: join(dir, name), text: readFileSync(join(dir, name), 'utf8') });
const read = (text: string, file = 'm.yaml') => readManifests([{ file, text }]);
const shown = (text: string, severity: 'error' | 'warning') =>
  read(text)
    .diagnostics.filter((d) => d.severity === severity)
    .map(formatDiagnostic);
const errorsOf = (text: string) => shown(text, 'error');
const warningsOf = (text: string) => shown(text, 'warning');
const only = <K extends ManifestObject['kind']>(objects: ManifestObject[], kind: K) =>
  objects.find((o): o is Extract<ManifestObject, { kind: K }> => o.kind === kind)!;

const service = (spec: string, name = 'web') => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
${spec}`;

t.test('every seed example reads, or fails at its line and column', async (t) => {
  // [fixture, objects read, first error (file:line:col  error  message) or null]
  const table: [string, string[], string | null][] = [
    ['seed000-web-nodeport.yaml', ['Service default/web'], null],
    [
      'seed000-fragments-completed.yaml',
      ['Service default/my-nodeport-service', 'Service default/my-lb-service', 'Service default/my-externalname-service'],
      null,
    ],
    ['seed000-nodeport-fragment.yaml', [], '2:1  error  kind is required'],
    ['seed000-loadbalancer-fragment.yaml', [], '2:1  error  kind is required'],
    ['seed000-externalname-fragment.yaml', [], '2:1  error  kind is required'],
    ['seed001-describe-output.yaml', [], '2:1  error  kind is required'],
    ['seed001-nodeport-svc.yaml', ['Service default/nodeport-svc'], null],
    ['seed001-loadbalancer-svc.yaml', ['Service default/loadbalancer-svc'], null],
    ['seed001-externalname-svc.yaml', ['Service default/externalname-svc'], null],
    ['seed001-headless-svc.yaml', ['Service default/headless-svc', 'Endpoints default/headless-svc'], null],
    ['seed002-redis-svc.yaml', [], '6:1  error  YAML: Tabs are not allowed as indentation'],
    ['seed002-myapp-svc.yaml', [], '6:1  error  YAML: Tabs are not allowed as indentation'],
    ['seed002-myapp-svc-headless.yaml', [], '6:3  error  YAML: Tabs are not allowed as indentation'],
    ['seed003-pod-dns.yaml', ['Service default/default-subdomain'], '25:16  error  YAML: Nested mappings are not allowed in compact mappings'],
    ['seed004-elasticsearch.yaml', ['Service default/elasticsearch', 'Endpoints default/elasticsearch'], null],
    ['seed004-hello-world.yaml', ['Service default/hello-world'], null],
    ['seed004-db-service.yaml', ['Service default/db-service'], null],
    ['seed004-nginx-headless.yaml', ['Service default/nginx-headless'], null],
    ['seed004-flannel-configmap.yaml', [], '2:7  error  kind "ConfigMap" is not supported'],
    ['seed004-ingress.yaml', ['Ingress default/ingress-wildcard-host'], null],
    ['deployment-nginx.yaml', ['Deployment default/nginx-deployment', 'Service default/nginx'], null],
  ];
  for (const [name, objects, firstError] of table) {
    const r = readManifests([fixture(name)]);
    t.same(
      r.objects.map((o) => `${o.kind} ${o.namespace}/${o.name}`),
      objects,
      `${name}: objects`,
    );
    const error = r.diagnostics.find((d) => d.severity === 'error');
    t.equal(error ? formatDiagnostic(error).split('\n')[0] : null, firstError && `${join(dir, name)}:${firstError}`, `${name}: first error`);
  }
});

t.test("seed 000's NodePort Service, comments and all, resolves with the API's defaults", async (t) => {
  const { objects, diagnostics } = readManifests([fixture('seed000-web-nodeport.yaml')]);
  t.same(diagnostics, []);
  const svc = only(objects, 'Service');
  t.same(svc.labels, { app: 'web' });
  t.same(svc.resolved, {
    type: 'NodePort',
    clusterIP: null,
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 31234 }],
    selector: { app: 'web', project: 'blog' },
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
    statusIngress: null,
  });
  t.same(positionIn(svc, ['spec', 'ports', 0, 'nodePort']), { line: 13, col: 15 }, 'positions are kept for later diagnostics');
  t.same(positionIn(svc, ['spec', 'ports', 0, 'nodePort'], 'key'), { line: 13, col: 5 });
});

t.test('tabs: one precise error per line, the other documents of the file still read', async (t) => {
  const text = 'apiVersion: v1\nkind: Service\nmetadata:\n\tname: redis\nspec:\n\tports:\n\t-\tport: 6379\n---\n' + service('  ports: [{ port: 80 }]', 'ok');
  const r = read(text);
  t.same(
    r.objects.map((o) => o.name),
    ['ok'],
  );
  const errs = r.diagnostics.map(formatDiagnostic);
  t.same(
    errs.map((e) => e.split('  error  ')[0]),
    ['m.yaml:4:1', 'm.yaml:6:1', 'm.yaml:7:1'],
  );
  t.match(errs[0], /YAML: Tabs are not allowed as indentation\n  hint: YAML indents with spaces only: replace the tabs at the start of this line with spaces/);
});

t.test('seed 003 with the image quoted: spec indented under metadata is found, with the missing spec', async (t) => {
  const text = readFileSync(join(dir, 'seed003-pod-dns.yaml'), 'utf8').replaceAll('busybox: 1.28', '"busybox:1.28"');
  const errs = errorsOf(text);
  t.same(errs, [
    'm.yaml:15:1  error  spec is required\n  hint: a pod needs a spec with its containers',
    'm.yaml:21:3  error  unknown field "metadata.spec"\n  hint: spec belongs at the top level of the object: check its indentation',
    'm.yaml:31:1  error  spec is required\n  hint: a pod needs a spec with its containers',
    'm.yaml:37:3  error  unknown field "metadata.spec"\n  hint: spec belongs at the top level of the object: check its indentation',
  ]);
});

t.test('every error of a Service at once, in file order, each at its key or value', async (t) => {
  const text = service(`  type: NodePort
  sessionAffinity: clientIP
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: 90000
  loadBalancerSourceRanges: [" 10.0.0.0/8", 10.1.0.0/33]
  healthCheckNodePort: 32000
  ports:
  - name: http
    port: 80
    targetPort: HTTP
    nodePort: 80
  - name: http
    port: 70000
    protocol: tcp
  - port: 443
    targetPort: "8443"
    portt: 1`);
  const errs = errorsOf(text);
  t.same(errs, [
    'm.yaml:7:20  error  spec.sessionAffinity is "clientIP"; it must be one of "None", "ClientIP"\n  hint: did you mean "ClientIP"? (the values are case-sensitive)',
    "m.yaml:8:3  error  spec.sessionAffinityConfig must not be set when sessionAffinity is 'None'\n  hint: set sessionAffinity: ClientIP, or remove sessionAffinityConfig",
    'm.yaml:10:23  error  spec.sessionAffinityConfig.clientIP.timeoutSeconds 90000 must be greater than 0 and less than or equal to 86400\n  hint: the default is 10800 (3 hours)',
    "m.yaml:11:3  error  spec.loadBalancerSourceRanges may only be used when type is 'LoadBalancer'\n  hint: remove it, or set type: LoadBalancer",
    'm.yaml:11:45  error  spec.loadBalancerSourceRanges[1] "10.1.0.0/33" is not an IPv4 CIDR\n  hint: must be a list of IP ranges, e.g. 10.240.0.0/24',
    "m.yaml:12:3  error  spec.healthCheckNodePort may only be set when type is 'LoadBalancer' and externalTrafficPolicy is 'Local'\n  hint: remove healthCheckNodePort",
    "m.yaml:16:17  error  spec.ports[0].targetPort \"HTTP\" is not a valid port name (IANA_SVC_NAME)\n  hint: a port name is at most 15 characters: lowercase letters, digits and '-', with at least one letter, no '--' and no '-' at either end (e.g. http)",
    'm.yaml:17:15  error  spec.ports[0].nodePort 80 is outside 30000-32767\n  hint: omit nodePort to have one allocated, or pick a port in the NodePort range',
    'm.yaml:18:11  error  spec.ports[1].name "http" is used by another port of this Service\n  hint: port names are unique within a Service',
    'm.yaml:19:11  error  spec.ports[1].port 70000 is not a valid port number\n  hint: ports are numbers from 1 to 65535',
    'm.yaml:20:15  error  spec.ports[1].protocol is "tcp"; it must be one of "TCP", "UDP", "SCTP"\n  hint: did you mean "TCP"? (the values are case-sensitive)',
    'm.yaml:21:5  error  spec.ports[2].name is required when a Service has more than one port\n  hint: name every port, e.g. name: http',
    'm.yaml:22:17  error  spec.ports[2].targetPort "8443" is a string, so it names a port, and a port name needs a letter\n  hint: write the number without quotes',
    'm.yaml:23:5  error  unknown field "spec.ports[2].portt"\n  hint: did you mean "port"?',
  ]);
  t.same(read(text).objects, [], 'an object with errors is not returned');
});

t.test('nodePort on a ClusterIP Service, ExternalName without externalName, headless NodePort', async (t) => {
  t.same(errorsOf(service('  ports: [{ port: 80, nodePort: 30080 }]')), [
    "m.yaml:6:23  error  spec.ports[0].nodePort may not be used when type is 'ClusterIP'\n  hint: remove nodePort, or set type: NodePort",
  ]);
  t.same(errorsOf(service('  type: ExternalName')), [
    'm.yaml:5:1  error  spec.externalName is required for ExternalName services\n  hint: add externalName: the DNS name the Service is an alias for (e.g. my.database.example.com)',
  ]);
  t.match(
    errorsOf(service('  type: NodePort\n  clusterIP: None\n  ports: [{ port: 80 }]'))[0],
    /^m\.yaml:7:14  error  spec\.clusterIP may not be set to 'None' for NodePort services/,
  );
  t.match(
    errorsOf(service('  clusterIP: 10.96.0.300\n  ports: [{ port: 80 }]'))[0],
    /^m\.yaml:6:14  error  spec\.clusterIP "10\.96\.0\.300" is not an IPv4 address/,
  );
  t.match(
    errorsOf(service('  externalTrafficPolicy: Local\n  ports: [{ port: 80 }]'))[0],
    /^m\.yaml:6:3  error  spec\.externalTrafficPolicy may only be set for externally-accessible services/,
  );
  t.match(errorsOf(service('  selector: { app: web }'))[0], /^m\.yaml:5:1  error  spec\.ports is required/);
  t.same(errorsOf(service('  clusterIP: None\n  selector: { app: web }')), [], 'a headless Service may have no ports');
});

t.test('names follow the API server: Services are DNS-1035 labels, pods DNS-1123 subdomains', async (t) => {
  t.match(
    errorsOf(service('  ports: [{ port: 80 }]', '1web'))[0],
    /^m\.yaml:4:9  error  metadata\.name "1web" is not a valid Service name \(a DNS-1035 label\)/,
  );
  t.match(errorsOf(service('  ports: [{ port: 80 }]', 'a'.repeat(64)))[0], /is not a valid Service name/);
  const pod = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name} }\nspec:\n  containers: [{ name: c, image: nginx }]\n`;
  t.same(errorsOf(pod('web.v1-0')), []);
  t.match(errorsOf(pod('Web_1'))[0], /^m\.yaml:3:19  error  metadata\.name "Web_1" is not a valid Pod name \(a DNS-1123 subdomain\)/);
  t.match(errorsOf(pod('web, namespace: Prod'))[0], /^m\.yaml:3:35  error  metadata\.namespace "Prod" is not a valid namespace name/);
});

t.test('dnsPolicy and dnsConfig are read and checked as the API server does', async (t) => {
  const pod = (spec: string) => `apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: nginx }]\n${spec}`;
  const spec = (text: string) => only(read(pod(text)).objects, 'Pod').resolved;
  t.same([spec('').dnsPolicy, spec('').dnsConfig], ['ClusterFirst', null], 'the API server defaults the policy to ClusterFirst');
  t.same(
    spec(
      '  dnsPolicy: None\n  dnsConfig:\n    nameservers: [1.2.3.4]\n    searches: [ns1.svc.cluster-domain.example, my.dns.search.suffix.]\n    options:\n      - { name: ndots, value: "2" }\n      - name: edns0\n',
    ),
    {
      nodeName: null,
      hostname: null,
      subdomain: null,
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['1.2.3.4'],
        searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix.'],
        options: [
          { name: 'ndots', value: '2' },
          { name: 'edns0', value: null },
        ],
      },
      containers: [{ name: 'c', image: 'nginx', ports: [], readinessProbe: null }],
    },
    "the documentation's example",
  );
  t.same(errorsOf(pod('  dnsPolicy: ClusterFirstWithHostNet\n')), []);
  t.match(errorsOf(pod('  dnsPolicy: clusterfirst\n')), [
    /^m\.yaml:6:14  error  spec\.dnsPolicy is "clusterfirst"; it must be one of "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"/,
  ]);
  t.match(errorsOf(pod('  dnsPolicy: None\n')), [/^m\.yaml:6:14  error  spec\.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None/]);
  t.match(errorsOf(pod('  dnsPolicy: None\n  dnsConfig: { searches: [a.b] }\n')), [
    /^m\.yaml:7:14  error  spec\.dnsConfig\.nameservers: Required value: must provide at least one DNS nameserver/,
  ]);
  t.match(errorsOf(pod('  dnsConfig:\n    nameservers: [1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4]\n')), [
    /^m\.yaml:7:18  error  spec\.dnsConfig\.nameservers must not have more than 3 nameservers/,
  ]);
  t.match(errorsOf(pod('  dnsConfig: { nameservers: [10.96.0.300] }\n')), [
    /^m\.yaml:6:30  error  spec\.dnsConfig\.nameservers\[0\] "10\.96\.0\.300" must be a valid IP address/,
  ]);
  t.match(errorsOf(pod('  dnsConfig: { searches: [Bad_Domain] }\n')), [
    /^m\.yaml:6:27  error  spec\.dnsConfig\.searches\[0\] "Bad_Domain" is not a DNS-1123 subdomain/,
  ]);
  t.match(errorsOf(pod('  dnsConfig: { options: [{ value: "2" }] }\n')), [
    /^m\.yaml:6:26  error  spec\.dnsConfig\.options\[0\]: Required value: Option\.Name must not be empty/,
  ]);
  t.match(errorsOf(pod('  dnsConfig: { nameserver: [1.2.3.4] }\n')), [
    /^m\.yaml:6:16  error  unknown field "spec\.dnsConfig\.nameserver"\n  hint: did you mean "nameservers"\?/,
  ]);
  t.same(warningsOf(pod('  dnsPolicy: Default\n')), [], 'dnsPolicy is modelled now, not ignored');
});

t.test('named targetPorts must be IANA service names', async (t) => {
  const target = (name: string) => errorsOf(service(`  ports: [{ port: 80, targetPort: ${name} }]`));
  t.same(target('http-alt'), []);
  t.match(target('http-alternative1')[0], /"http-alternative1" is not a valid port name \(IANA_SVC_NAME\)/, 'more than 15 characters');
  t.match(target('"8080"')[0], /names a port, and a port name needs a letter/);
  t.match(target('web--1')[0], /is not a valid port name/);
  t.match(target('-web')[0], /is not a valid port name/);
});

t.test('Service fields resolve: clusterIPs, trimmed source ranges, affinity, policies, health check port', async (t) => {
  const { objects, diagnostics } = read(
    service(`  type: LoadBalancer
  clusterIPs: [10.96.0.50]
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  healthCheckNodePort: 32100
  loadBalancerIP: 192.168.56.241
  loadBalancerSourceRanges: [" 203.0.113.0/25 "]
  externalIPs: [198.51.100.7]
  sessionAffinity: ClientIP
  sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }
  publishNotReadyAddresses: true
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  ports:
  - { name: http, port: 80, targetPort: web }
  - { name: dns, port: 53, protocol: UDP, nodePort: 30053 }`),
  );
  t.same(diagnostics, []);
  const s = only(objects, 'Service').resolved;
  t.equal(s.clusterIP, '10.96.0.50');
  t.same(s.loadBalancerSourceRanges, ['203.0.113.0/25']);
  t.same(s.ports, [
    { name: 'http', protocol: 'TCP', port: 80, targetPort: 'web', nodePort: null },
    { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53, nodePort: 30053 },
  ]);
  t.same(
    [
      s.sessionAffinity,
      s.affinityTimeoutSeconds,
      s.externalTrafficPolicy,
      s.internalTrafficPolicy,
      s.healthCheckNodePort,
      s.loadBalancerIP,
      s.externalIPs,
      s.publishNotReadyAddresses,
    ],
    ['ClientIP', 60, 'Local', 'Local', 32100, '192.168.56.241', ['198.51.100.7'], true],
  );
  t.match(
    errorsOf(service('  clusterIPs: [10.96.0.5, "fd00::5"]\n  ports: [{ port: 80 }]'))[0],
    /spec\.clusterIPs may hold one address: knetlab clusters are IPv4 single-stack/,
  );
  t.match(errorsOf(service('  ipFamilyPolicy: RequireDualStack\n  ports: [{ port: 80 }]'))[0], /RequireDualStack cannot be met/);
});

t.test("a LoadBalancer Service's status.loadBalancer.ingress is read: ip, ipMode (VIP by default), every problem at its place", async (t) => {
  const lb = (status: string, type = 'LoadBalancer') => service(`  type: ${type}\n  ports: [{ port: 80 }]\nstatus:\n${status}`);
  const ok = read(
    lb('  loadBalancer:\n    ingress:\n    - ip: 203.0.113.10\n    - { ip: 203.0.113.11, ipMode: Proxy }\n    - { ip: 203.0.113.12, ipMode: VIP }'),
  );
  t.same(ok.diagnostics, []);
  t.same(only(ok.objects, 'Service').resolved.statusIngress, [
    { ip: '203.0.113.10', ipMode: 'VIP' },
    { ip: '203.0.113.11', ipMode: 'Proxy' },
    { ip: '203.0.113.12', ipMode: 'VIP' },
  ]);
  t.equal(only(read(service('  type: LoadBalancer\n  ports: [{ port: 80 }]')).objects, 'Service').resolved.statusIngress, null, 'no status: null');
  t.equal(only(read(lb('  loadBalancer: {}')).objects, 'Service').resolved.statusIngress, null, 'no ingress entry: as if none were written');

  // Lines: 1 apiVersion … 8 status:, 9 loadBalancer:, 10 ingress:, 11 the first entry.
  t.same(
    errorsOf(
      lb(`  loadBalancer:
    ingress:
    - { ip: 203.0.113.10, ipMode: proxy }
    - { ip: "2001:db8::10" }
    - { ip: 203.0.113.300 }
    - { hostname: lb.example.com, ipMode: VIP }
    - { ip: 203.0.113.10 }
    - { ip: 203.0.113.13, ipMod: VIP }`),
    ).map((e) => e.split('\n')[0]),
    [
      'm.yaml:11:35  error  status.loadBalancer.ingress[0].ipMode is "proxy"; it must be one of "VIP", "Proxy"',
      'm.yaml:12:13  error  status.loadBalancer.ingress[1].ip "2001:db8::10" is not an IPv4 address',
      'm.yaml:13:13  error  status.loadBalancer.ingress[2].ip "203.0.113.300" is not an IPv4 address',
      'm.yaml:14:35  error  status.loadBalancer.ingress[3].ipMode may not be specified when `ip` is not set',
      'm.yaml:15:13  error  status.loadBalancer.ingress[4].ip 203.0.113.10 is already status.loadBalancer.ingress[0]',
      'm.yaml:16:27  error  unknown field "status.loadBalancer.ingress[5].ipMod"',
    ],
  );
  t.match(errorsOf(lb('  loadBalancer:\n    ingress:\n    - { ip: 203.0.113.10, ipMode: proxy }'))[0], /did you mean "Proxy"\?/);
  t.match(errorsOf(lb('  loadBalancer:\n    ingress: 203.0.113.10'))[0], /m\.yaml:10:14 {2}error {2}status\.loadBalancer\.ingress must be a list/);

  t.same(
    warningsOf(
      lb(`  conditions: []
  loadBalancer:
    ingress:
    - { hostname: a1b2.elb.amazonaws.com }
    - { ip: 203.0.113.10, ports: [{ port: 80, protocol: TCP }] }
    - {}`),
    ).map((w) => w.split('\n')[0]),
    [
      'm.yaml:9:3  warning  status.conditions is not modelled by knetlab and is ignored',
      'm.yaml:12:9  warning  status.loadBalancer.ingress[0].hostname is not modelled by knetlab and is ignored',
      'm.yaml:13:27  warning  status.loadBalancer.ingress[1].ports is not modelled by knetlab and is ignored',
      'm.yaml:14:7  warning  status.loadBalancer.ingress[2] has neither ip nor hostname and is ignored',
    ],
  );
  const hostOnly = read(lb('  loadBalancer:\n    ingress:\n    - { hostname: a1b2.elb.amazonaws.com }'));
  t.same(only(hostOnly.objects, 'Service').resolved.statusIngress, [], "a hostname-only status is still the cloud's: no address, and MetalLB stays away");

  // Any other type: status is ignored, as for every other kind.
  const other = read(lb('  loadBalancer:\n    ingress: [{ ip: 203.0.113.10 }]', 'NodePort'));
  t.same(
    other.diagnostics.map((d) => formatDiagnostic(d).split('\n')[0]),
    ['m.yaml:8:1  warning  status is written by the cluster, not by a manifest, and is ignored'],
  );
  t.equal(only(other.objects, 'Service').resolved.statusIngress, null);
});

t.test('fields knetlab does not model are warned about one by one, with their full path', async (t) => {
  const { objects, diagnostics } = readManifests([fixture('deployment-nginx.yaml')]);
  t.ok(only(objects, 'Deployment'), 'the Deployment still reads');
  t.same(
    diagnostics.map((d) => formatDiagnostic(d)),
    [
      `${dir}/deployment-nginx.yaml:12:3  warning  spec.strategy is not modelled by knetlab and is ignored`,
      `${dir}/deployment-nginx.yaml:25:9  warning  spec.template.spec.containers[0].imagePullPolicy is not modelled by knetlab and is ignored`,
      `${dir}/deployment-nginx.yaml:29:9  warning  spec.template.spec.containers[0].resources is not modelled by knetlab and is ignored`,
    ],
  );
  const pasted = warningsOf(`apiVersion: v1
kind: Pod
metadata:
  name: p
  uid: 0b7f
spec:
  volumes: []
  containers:
  - name: c
    image: nginx
    env: [{ name: A, value: b }]
    ports: [{ containerPort: 80, hostPort: 8080 }]
    livenessProbe: { tcpSocket: { port: 80 } }
status:
  podIP: 10.244.1.5
`);
  t.same(
    pasted.map((w) => w.split('\n')[0]),
    [
      'm.yaml:5:3  warning  metadata.uid is not modelled by knetlab and is ignored',
      'm.yaml:7:3  warning  spec.volumes is not modelled by knetlab and is ignored',
      'm.yaml:11:5  warning  spec.containers[0].env is not modelled by knetlab and is ignored',
      'm.yaml:12:34  warning  spec.containers[0].ports[0].hostPort is not modelled by knetlab and is ignored',
      'm.yaml:13:5  warning  spec.containers[0].livenessProbe is not modelled by knetlab and is ignored',
      'm.yaml:14:1  warning  status is written by the cluster, not by a manifest, and is ignored',
    ],
  );
});

t.test('a Deployment resolves: replicas default to 1, the template is a pod spec, probes get their defaults', async (t) => {
  const { objects } = readManifests([fixture('deployment-nginx.yaml')]);
  const d = only(objects, 'Deployment').resolved;
  t.equal(d.replicas, 3);
  t.same(d.selector, { app: 'nginx' });
  t.same(d.template.labels, { app: 'nginx' });
  t.same(d.template.spec.containers, [
    {
      name: 'nginx',
      image: 'nginx:1.14.2',
      ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
      readinessProbe: {
        kind: 'httpGet',
        port: 'http',
        path: '/healthz',
        initialDelaySeconds: 0,
        periodSeconds: 5,
        timeoutSeconds: 1,
        successThreshold: 1,
        failureThreshold: 3,
      },
    },
  ]);
  const one = read(`apiVersion: apps/v1
kind: Deployment
metadata: { name: d }
spec:
  selector: { matchLabels: { app: d } }
  template:
    metadata: { labels: { app: d } }
    spec: { containers: [{ name: c, image: nginx }] }
`);
  t.equal(only(one.objects, 'Deployment').resolved.replicas, 1);
});

t.test('Deployment selectors: matchLabels only, and they must match the template', async (t) => {
  const deployment = (selector: string, labels: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: d }
spec:
  selector:
${selector}
  template:
    metadata:
      labels: ${labels}
    spec:
      containers: [{ name: c, image: nginx }]
`;
  t.same(errorsOf(deployment('    matchLabels: { app: d }\n    matchExpressions: [{ key: tier, operator: In, values: [web] }]', '{ app: d }')), [
    'm.yaml:7:5  error  spec.selector.matchExpressions is not supported: knetlab selects pods by matchLabels only\n  hint: write the selector as matchLabels (equal labels)',
  ]);
  t.same(errorsOf(deployment('    matchLabels: { app: d, tier: web }', '{ app: d }')), [
    'm.yaml:9:15  error  spec.template.metadata.labels: `selector` does not match template `labels`\n  hint: the template needs tier: web (every matchLabels pair)',
  ]);
  t.match(errorsOf(deployment('    matchLabels: {}', '{ app: d }'))[0], /^m\.yaml:6:5  error  spec\.selector: empty selector is invalid for deployment/);
  t.match(
    errorsOf(deployment('    matchLabels: { app: d }', '{ app: d }').replace('kind: Deployment', 'kind: Deployment\nspec2: 1'))[0],
    /unknown field "spec2"/,
  );
  t.match(
    errorsOf(deployment('    matchLabels: { app: d }', '{ app: d }').replace('apps/v1', 'extensions/v1beta1'))[0],
    /^m\.yaml:1:13  error  no matches for kind "Deployment" in version "extensions\/v1beta1"\n  hint: Deployment is served by apiVersion apps\/v1/,
  );
});

t.test('pods: containers, ports and readiness probes are checked', async (t) => {
  const pod = (containers: string) => `apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n${containers}`;
  t.same(
    errorsOf(
      pod(`  - name: web
    image: nginx
    ports: [{ name: http, containerPort: 80 }, { name: http, containerPort: 0 }]
    readinessProbe:
      exec: { command: [cat, /tmp/ready] }
  - name: web
    image: nginx
    readinessProbe:
      httpGet: { port: 80, scheme: HTTPS }
      tcpSocket: { port: 80 }
      periodSeconds: -1
  - image: nginx
`),
    ).map((e) => e.split('\n')[0]),
    [
      'm.yaml:8:56  error  spec.containers[0].ports[1].name "http" is used twice in this container',
      'm.yaml:8:77  error  spec.containers[0].ports[1].containerPort 0 is not a valid port number',
      'm.yaml:10:7  error  spec.containers[0].readinessProbe.exec probes are not supported',
      'm.yaml:11:11  error  spec.containers[1].name "web" is used by another container of this pod',
      'm.yaml:14:36  error  spec.containers[1].readinessProbe.httpGet.scheme HTTPS is not supported',
      'm.yaml:15:7  error  spec.containers[1].readinessProbe may not specify more than 1 handler type',
      'm.yaml:16:22  error  spec.containers[1].readinessProbe.periodSeconds -1 must be greater than or equal to 0',
      'm.yaml:17:5  error  spec.containers[2].name is required',
    ],
  );
  t.match(
    warningsOf(pod('  - name: web\n    image: nginx\n    readinessProbe: { tcpSocket: { port: http } }\n'))[0],
    /readinessProbe\.tcpSocket\.port names "http", which is not a port of this container: the probe will fail/,
  );
  t.match(errorsOf(pod('    []\n'))[0], /spec\.containers must have at least one container/);
});

t.test('documents, files and lists: positions are per document, duplicates are errors at the second', async (t) => {
  const a = service('  ports: [{ port: 80 }]', 'a');
  const text = `${a}\n---\n# a comment between documents\n\n${service('  ports: [{ port: 80 }]', 'b')}\n---\n${service('  ports: [{ port: 0 }]', 'c')}\n---\n`;
  t.same(errorsOf(text), ['m.yaml:22:19  error  spec.ports[0].port 0 is not a valid port number\n  hint: ports are numbers from 1 to 65535']);
  const r = readManifests([
    { file: 'one.yaml', text: a },
    { file: 'two.yaml', text: `# again\n${a}` },
  ]);
  t.same(r.diagnostics.map(formatDiagnostic), [
    'two.yaml:5:9  error  Service default/a is defined twice\n  hint: the first definition is at one.yaml:1:1; rename one or delete it',
  ]);
  t.same(
    r.objects.map((o) => o.file),
    ['one.yaml'],
  );
  const list = read(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: { name: x, namespace: lab }
  spec: { ports: [{ port: 80 }] }
- apiVersion: v1
  kind: Service
  metadata: { name: y }
  spec: { ports: [{ port: 80, nodePort: 1 }] }
`);
  t.same(
    list.objects.map((o) => [o.namespace, o.name, o.pos]),
    [['lab', 'x', { line: 4, col: 3 }]],
  );
  t.match(formatDiagnostic(list.diagnostics[0]!), /^m\.yaml:11:31  error  spec\.ports\[0\]\.nodePort may not be used when type is 'ClusterIP'/);
  t.same(positionIn(list.objects[0]!, ['metadata', 'namespace']), { line: 6, col: 35 }, 'item positions are relative to the item');
});

t.test('unknown kinds and wrong apiVersions name what is supported', async (t) => {
  t.same(errorsOf('apiVersion: apps/v1\nkind: StatefulSet\nmetadata: { name: s }\n'), [
    'm.yaml:2:7  error  kind "StatefulSet" is not supported\n  hint: knetlab reads Pod, Deployment, Service, Endpoints, EndpointSlice, Ingress, IngressClass, Secret, KubeProxyConfiguration (and List)',
  ]);
  t.match(errorsOf('apiVersion: v1\nkind: Servcie\nmetadata: { name: s }\n')[0], /did you mean "Service"\?/);
  t.match(
    errorsOf(service('  ports: [{ port: 80 }]').replace('apiVersion: v1', 'apiVersion: apps/v1'))[0],
    /no matches for kind "Service" in version "apps\/v1"/,
  );
  t.same(warningsOf('# nothing yet\n---\n'), [
    'm.yaml:1:1  warning  there are no Kubernetes objects in this file\n  hint: kubectl apply refuses it: "no objects passed to apply"',
  ]);
  t.match(errorsOf('- a\n- b\n')[0], /^m\.yaml:1:1  error  a manifest must be a map with apiVersion, kind and metadata, not a list/);
});

t.test('labels must be strings and valid label values', async (t) => {
  const errs = errorsOf(service('  ports: [{ port: 80 }]').replace('  name: web', '  name: web\n  labels: { version: 1.0, tier: "front end", "a/b/c": x }'));
  t.same(
    errs.map((e) => e.split('\n')[0]),
    [
      'm.yaml:5:22  error  metadata.labels.version must be a string, not the number 1',
      'm.yaml:5:33  error  metadata.labels.tier "front end" is not a valid label value',
      'm.yaml:5:46  error  metadata.labels key "a/b/c" has more than one "/"',
    ],
  );
});

t.test("Endpoints: seed 004's hand-written endpoints, and the API server's address rules", async (t) => {
  const { objects } = readManifests([fixture('seed004-elasticsearch.yaml')]);
  t.same(only(objects, 'Endpoints').resolved, {
    subsets: [
      {
        addresses: ['192.168.24.14', '192.168.24.15', '192.168.24.16'].map((ip) => ({ ip, nodeName: null, hostname: null, pod: null })),
        notReadyAddresses: [],
        ports: [{ name: '', port: 9200, protocol: 'TCP' }],
      },
    ],
  });
  const errs = errorsOf(`apiVersion: v1
kind: Endpoints
metadata: { name: e }
subsets:
- addresses: [{ ip: 127.0.0.1 }, { ip: 169.254.1.1 }, { ip: 10.0.0.1, targetRef: { kind: Pod, name: p, uid: x } }]
  ports: [{ port: 80 }, { port: 81 }]
- ports: [{ port: 80 }]
`);
  t.same(
    errs.map((e) => e.split('\n')[0]),
    [
      'm.yaml:5:21  error  subsets[0].addresses[0].ip "127.0.0.1" may not be in the loopback range (127.0.0.0/8)',
      'm.yaml:5:40  error  subsets[0].addresses[1].ip "169.254.1.1" may not be in the link-local range (169.254.0.0/16)',
      'm.yaml:6:11  error  subsets[0].ports[0].name is required when there is more than one port',
      'm.yaml:6:25  error  subsets[0].ports[1].name is required when there is more than one port',
      'm.yaml:7:3  error  subsets[1] must specify addresses or notReadyAddresses',
    ],
  );
});

t.test('EndpointSlices: IPv4 only, the service-name label required, conditions defaulted as kube-proxy reads them', async (t) => {
  const slice = (labels: string, addressType = 'IPv4') => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext-1
  labels: ${labels}
addressType: ${addressType}
endpoints:
- addresses: [192.0.2.10]
- addresses: [192.0.2.11]
  conditions: { ready: false }
  nodeName: node1
  targetRef: { kind: Pod, name: p }
ports:
- port: 8080
`;
  const r = read(slice('{ kubernetes.io/service-name: ext }'));
  t.same(r.diagnostics, []);
  t.same(only(r.objects, 'EndpointSlice').resolved, {
    service: 'ext',
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
    endpoints: [
      { address: '192.0.2.10', conditions: { ready: true, serving: true, terminating: false }, nodeName: null, pod: null },
      { address: '192.0.2.11', conditions: { ready: false, serving: true, terminating: false }, nodeName: 'node1', pod: 'p' },
    ],
  });
  t.match(errorsOf(slice('{ app: x }'))[0], /^m\.yaml:5:11  error  an EndpointSlice needs the label kubernetes\.io\/service-name/);
  t.match(
    errorsOf(slice('{ kubernetes.io/service-name: ext }', 'IPv6'))[0],
    /^m\.yaml:6:14  error  addressType "IPv6" is not supported\n  hint: knetlab clusters are IPv4 single-stack/,
  );
});
