// Ingress end to end without a kernel: manifests read with their errors where they are written,
// checked against the Services and Secrets by the control plane, and nginx.conf rendered the way
// ingress-nginx's template renders it (the reference's §5.2), from the resulting state.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifests } from '../../src/k8s/manifest.js';
import { reconcile } from '../../src/k8s/controlplane.js';
import type { ControlPlaneConfig } from '../../src/k8s/controlplane/context.js';
import { formatDiagnostic } from '../../src/labfile/diagnostics.js';
import { renderNginx, serverName, servedIngresses } from '../../src/components/ingress-nginx/template.js';

const config: ControlPlaneConfig = {
  serviceCIDR: '10.96.0.0/12',
  nodePortRange: [30000, 32767],
  nodes: [{ name: 'node1', podCIDR: '10.244.1.0/24', firstHost: 2, reserved: [] }],
  lbPool: [],
  now: '2025-01-01T00:00:00Z',
};

const CLASS = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: nginx, annotations: { ingressclass.kubernetes.io/is-default-class: "true" } }
spec: { controller: k8s.io/ingress-nginx }
`;
const app = (name: string, replicas = 1) => `---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { nodeName: node1, containers: [{ name: c, image: nginx, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { selector: { app: ${name} }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
`;
const ingress = (rules: string, annotations = '{}', extra = '') => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ing, annotations: ${annotations} }
spec:
${extra}  rules:
${rules}`;
const rule = (host: string, ...paths: [string, string, string][]) =>
  `  - host: "${host}"\n    http:\n      paths:\n` +
  paths.map(([path, type, svc]) => `      - { path: "${path}", pathType: ${type}, backend: { service: { name: ${svc}, port: { number: 80 } } } }\n`).join('');

function build(text: string) {
  const read = readManifests([{ file: 'm.yaml', text }]);
  const errors = read.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map(formatDiagnostic).join('\n'));
  const r = reconcile(read.objects, config, null);
  return { state: r.state, diagnostics: [...read.diagnostics, ...r.diagnostics].map(formatDiagnostic) };
}
const FILES = { dir: '/run/ic', fakeCert: '/run/ic/ssl/default-fake-certificate.pem' };
const conf = (text: string) => renderNginx(build(text).state, FILES).conf;
/** One server block's text. */
const server = (c: string, host: string) => c.slice(c.indexOf(`## start server ${host}\n`), c.indexOf(`## end server ${host}\n`));
const locations = (block: string) => [...block.matchAll(/^ {8}location (.*) \{$/gm)].map((m) => m[1]);

t.test('manifest errors are where they are written, with a hint', async (t) => {
  const errs = (text: string) =>
    readManifests([{ file: 'm.yaml', text }])
      .diagnostics.filter((d) => d.severity === 'error')
      .map((d) => formatDiagnostic(d).split('\n')[0]);
  t.same(errs(ingress(rule('*', ['/a', 'Prefix', 'web']))), ['m.yaml:7:11  error  spec.rules[0].host "*" is not a valid host']);
  t.same(errs(ingress(rule('foo.com', ['a', 'Prefix', 'web']))), ['m.yaml:10:17  error  spec.rules[0].http.paths[0].path "a" must be an absolute path']);
  t.same(errs(ingress(`  - http:\n      paths:\n      - { path: /a, backend: { service: { name: web, port: { number: 80 } } } }\n`)), [
    'm.yaml:9:9  error  spec.rules[0].http.paths[0].pathType must be specified',
  ]);
  t.same(errs(ingress(rule('192.168.1.1', ['/', 'Prefix', 'web']))), [
    'm.yaml:7:11  error  spec.rules[0].host "192.168.1.1" must be a DNS name, not an IP address',
  ]);
  t.same(errs(ingress(rule('a.*.com', ['/', 'Prefix', 'web']))).length, 1);
  t.same(errs(ingress(rule('foo.com', ['/a//b', 'Exact', 'web']))), ['m.yaml:10:17  error  spec.rules[0].http.paths[0].path "/a//b" must not contain "//"']);
  t.same(errs(ingress(rule('foo.com', ['/a', 'Prefix', 'web']), '{ nginx.ingress.kubernetes.io/proxy-body-size: "8 MB" }')), [
    'm.yaml:4:84  error  annotation nginx.ingress.kubernetes.io/proxy-body-size "8 MB" is not an nginx size',
  ]);
  const warned = readManifests([
    { file: 'm.yaml', text: ingress(rule('foo.com', ['/a', 'Prefix', 'web']), '{ nginx.ingress.kubernetes.io/enable-cors: "true" }') },
  ]);
  t.same(
    warned.diagnostics.map((d) => formatDiagnostic(d).split('\n')[0]),
    ['m.yaml:4:39  warning  annotation nginx.ingress.kubernetes.io/enable-cors is not modelled by knetlab and is ignored'],
    'annotations not modelled are warned about by name',
  );
  t.same(errs('apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ntype: kubernetes.io/tls\nstringData: { tls.crt: x }\n'), [
    'm.yaml:5:1  error  data[tls.key]: Required value',
  ]);
  t.match(errs('apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ntype: kubernetes.io/tls\nstringData: { tls.crt: x, tls.key: y }\n'), [
    /^m\.yaml:5:24  error  tls\.crt is not a PEM certificate/,
    /^m\.yaml:5:36  error  tls\.key holds no private key/,
  ]);
});

t.test('the control plane refuses a backend Service or port that does not exist, and a missing TLS Secret', async (t) => {
  const diags = (text: string) => {
    const read = readManifests([{ file: 'm.yaml', text }]);
    return reconcile(read.objects, config, null).diagnostics.map((d) => formatDiagnostic(d).split('\n')[0]);
  };
  t.same(diags(CLASS + app('web') + ingress(rule('foo.com', ['/a', 'Prefix', 'nope']))), ['m.yaml:29:69  error  Service "default/nope" not found']);
  t.same(diags(CLASS + app('web') + ingress(rule('foo.com', ['/a', 'Prefix', 'web'])).replace('number: 80', 'number: 81')), [
    'm.yaml:29:90  error  Service "default/web" has no port 81',
  ]);
  t.same(diags(CLASS + app('web') + ingress(rule('foo.com', ['/a', 'Prefix', 'web']), '{}', '  tls: [{ hosts: [foo.com], secretName: cert }]\n')), [
    'm.yaml:25:41  error  Secret "default/cert" not found',
  ]);
  t.same(diags(app('web') + ingress(rule('foo.com', ['/a', 'Prefix', 'web']))), [
    'm.yaml:20:1  warning  this Ingress names no class and no IngressClass is the default: no controller serves it',
  ]);
});

t.test('hosts: one server per host, the wildcard as a one-label regex, a catch-all server with the default backend', async (t) => {
  const c = conf(
    CLASS +
      app('service1', 2) +
      app('service2') +
      ingress(rule('foo.bar.com', ['/bar', 'Prefix', 'service1']) + rule('*.foo.com', ['/foo', 'Prefix', 'service2'])),
  );
  t.equal(serverName('*.foo.com'), '~^(?<subdomain>[\\w-]+)\\.foo\\.com$');
  t.same(
    [...c.matchAll(/server_name (.*) ;/g)].map((m) => m[1]),
    ['_', '~^(?<subdomain>[\\w-]+)\\.foo\\.com$', 'foo.bar.com'],
  );
  t.match(server(c, '_'), /listen 80 default_server;/);
  t.same(locations(server(c, '_')), ['/', '/healthz']);
  t.same(locations(server(c, 'foo.bar.com')), ['/bar/', '= /bar', '/'], 'Prefix /bar is two locations, and / goes to the default backend');
  t.match(
    c,
    /upstream default-service1-80 \{\n {8}server 10\.244\.1\.2:8080 max_fails=0;\n {8}server 10\.244\.1\.3:8080 max_fails=0;\n {4}\}/,
    "upstreams are the pods' addresses and target port",
  );
  t.match(c, /listen 127\.0\.0\.1:8181 default_server;\n {8}location \/ \{\n {12}return 404;/);
  t.match(c, /proxy_set_header X-Forwarded-For {3}\$remote_addr;/);
});

t.test('paths: Exact as location =, an Exact path keeps its place against a Prefix, longest first', async (t) => {
  const c = conf(
    CLASS +
      app('a') +
      app('b') +
      ingress(rule('foo.com', ['/foo', 'Prefix', 'a'], ['/foo', 'Exact', 'b'], ['/foo/bar/baz', 'Prefix', 'b'], ['/x', 'ImplementationSpecific', 'a'])),
  );
  const block = server(c, 'foo.com');
  t.same(locations(block), ['/foo/bar/baz/', '= /foo/bar/baz', '/foo/', '= /foo', '/x', '/']);
  t.match(block, /location = \/foo \{\n(?:.*\n)*? {12}set \$service_name {3}"b";/, 'the Exact /foo goes to b: Prefix /foo made no second = /foo');
  t.equal((block.match(/location = \/foo \{/g) ?? []).length, 1);
});

t.test('regex mode is per host and contagious; rewrite-target replaces the whole URI', async (t) => {
  const text =
    CLASS +
    app('web') +
    ingress(rule('rewrite.bar.com', ['/something(/|$)(.*)', 'ImplementationSpecific', 'web']), '{ nginx.ingress.kubernetes.io/rewrite-target: /$2 }') +
    ingress(rule('rewrite.bar.com', ['/Exact', 'Exact', 'web']) + rule('plain.bar.com', ['/p', 'Prefix', 'web'])).replace('name: ing,', 'name: other,');
  const c = conf(text);
  t.same(locations(server(c, 'rewrite.bar.com')), ['~* "^/something(/|$)(.*)"', '~* "^/Exact"', '~* "^/"']);
  t.match(server(c, 'rewrite.bar.com'), /rewrite "\(\?i\)\/something\(\/\|\$\)\(\.\*\)" \/\$2 break;/);
  t.same(locations(server(c, 'plain.bar.com')), ['/p/', '= /p', '/'], 'another host keeps plain locations');
  // nginx would read "$)" in a `set` as a variable and refuse the file: escapeLiteralDollar.
  t.match(server(c, 'rewrite.bar.com'), 'set $location_path  "/something(/|${literal_dollar})(.*)";');
  t.match(c, /geo \$literal_dollar \{\n {8}default "\$";/);
});

t.test('annotations: app-root, proxy-body-size, ssl redirects; TLS by host with HSTS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-ingress-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=foo.bar.com', '-keyout', join(dir, 'k'), '-out', join(dir, 'c')],
    {
      stdio: 'ignore',
    },
  );
  const indent = (s: string) => s.trim().split('\n').join('\n    ');
  const secret = `---\napiVersion: v1\nkind: Secret\nmetadata: { name: tls }\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n    ${indent(readFileSync(join(dir, 'c'), 'utf8'))}\n  tls.key: |\n    ${indent(readFileSync(join(dir, 'k'), 'utf8'))}\n`;
  const c = conf(
    CLASS +
      app('web') +
      secret +
      ingress(
        rule('foo.bar.com', ['/', 'Prefix', 'web']) + rule('approot.bar.com', ['/', 'Prefix', 'web']),
        '{ nginx.ingress.kubernetes.io/app-root: /app1, nginx.ingress.kubernetes.io/proxy-body-size: 8m }',
        '  tls: [{ hosts: [foo.bar.com], secretName: tls }]\n',
      ),
  );
  const tls = server(c, 'foo.bar.com');
  t.match(tls, /ssl_certificate {5}\/run\/ic\/ssl\/default-tls\.pem;/);
  t.match(tls, /add_header Strict-Transport-Security \$hsts_header always;/);
  t.match(tls, /if \(\$scheme = http\) \{\n {16}return 308 https:\/\/\$host\$redirect_uri;/);
  t.match(tls, /client_max_body_size 8m;/);
  const plain = server(c, 'approot.bar.com');
  t.match(plain, /ssl_certificate {5}\/run\/ic\/ssl\/default-fake-certificate\.pem;/, 'a host without tls gets the fake certificate');
  t.notMatch(plain, /return 308/, 'and no redirect to https');
  t.notMatch(plain, /Strict-Transport-Security/);
  t.match(plain, /if \(\$uri = \/\) \{\n {12}return 302 \$scheme:\/\/\$http_host\/app1;/);
  t.match(c, /map \$request_uri \$redirect_uri \{\n {8}~\^\(\?<stripped>\.\*\)\/\$ \$stripped;/);
  const r = renderNginx(
    build(CLASS + app('web') + secret + ingress(rule('foo.bar.com', ['/', 'Prefix', 'web']), '{}', '  tls: [{ hosts: ["*.bar.com"], secretName: tls }]\n'))
      .state,
    FILES,
  );
  t.match(server(r.conf, 'foo.bar.com'), /default-tls\.pem/, 'a *.parent entry covers the host');
  t.equal(r.certs.length, 1);
  t.match(r.certs[0]!.pem, /-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----/);
});

t.test('a Service without ready endpoints answers 503; Ingresses of another class are not served', async (t) => {
  const text = CLASS + app('web').replace('replicas: 1', 'replicas: 0') + ingress(rule('foo.com', ['/', 'Prefix', 'web']));
  t.match(server(conf(text), 'foo.com'), /location \/ \{\n(?:.*\n)*? {12}return 503;/);
  const other = build(CLASS + app('web') + ingress(rule('foo.com', ['/', 'Prefix', 'web']), '{}', '  ingressClassName: traefik\n'));
  t.same(servedIngresses(other.state.ingress!), []);
  t.match(other.diagnostics.join('\n'), /IngressClass "traefik" not found: no controller serves this Ingress/);
});
