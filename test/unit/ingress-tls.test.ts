// Certificates knetlab makes at up (Secrets annotated knetlab.dev/generate-certificate): read
// without openssl, made by openssl steps in the plan, and checked by curl against the lab's CA.
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readManifests } from '../../src/k8s/manifest.js';
import { formatDiagnostic } from '../../src/labfile/diagnostics.js';
import { loadLabFile } from '../../src/plan/load.js';
import { makeInstance, DEFAULT_STATE_ROOT } from '../../src/kernel/instance.js';
import { probeCommand } from '../../src/kernel/probe.js';
import { renderScript } from '../../src/run/tutorial.js';

const secret = (annotations: string, extra = '') =>
  `apiVersion: v1\nkind: Secret\nmetadata: { name: s, annotations: { ${annotations} } }\ntype: kubernetes.io/tls\n${extra}`;
const read = (text: string) => {
  const r = readManifests([{ file: 'm.yaml', text }]);
  return { objects: r.objects, errors: r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic) };
};

t.test('a Secret annotated knetlab.dev/generate-certificate needs no data, and names valid hosts', async (t) => {
  const ok = read(secret('knetlab.dev/generate-certificate: "foo.bar.com, *.foo.com"'));
  t.same(ok.errors, []);
  t.same((ok.objects[0] as { resolved: unknown }).resolved, { cert: '', key: '', generate: { hosts: ['foo.bar.com', '*.foo.com'] } });
  t.match(read(secret('knetlab.dev/generate-certificate: ""')).errors[0], /names no host/);
  t.match(read(secret('knetlab.dev/generate-certificate: "*"')).errors[0], /"\*" is not a valid host/);
  t.match(
    read(secret('knetlab.dev/generate-certificate: foo.bar.com', 'stringData: { tls.crt: x, tls.key: y }\n')).errors[0],
    /has data of its own[\s\S]*hint: keep one/,
  );
  t.match(read(secret('a: b')).errors.join('\n'), /data\[tls\.crt\]: Required value/, 'without the annotation the data is required as before');
});

t.test('ingress-tls: openssl makes the CA and the certificates at up; checks trust only that CA', async (t) => {
  const { lab } = loadLabFile('labs/ingress-tls/lab.yaml', undefined, '2026-01-01T00:00:00Z');
  const inst = makeInstance(lab.name, 'x', DEFAULT_STATE_ROOT);
  const script = renderScript(lab, inst);
  const pki = '/run/knetlab/labs/x-ingress-tls/cluster/pki';
  t.match(script, `openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj '/O=knetlab/CN=ingress-tls CA'`);
  t.match(script, `openssl req -x509 -CA ${pki}/ca.crt -CAkey ${pki}/ca.key`);
  t.match(script, `-subj '/CN=*.foo.com' -addext 'subjectAltName=DNS:*.foo.com'`);
  t.ok(script.indexOf('openssl req -x509 -newkey') < script.indexOf('ingress-nginx --config'), 'before the controller starts');
  const [trusted, untrusted, plain] = [0, 6, 3].map((i) => lab.checks[i]!);
  t.same(
    probeCommand(trusted, 'c', undefined, inst.dir).args.filter((a) => a === '-k' || a.endsWith('ca.crt')),
    [`${pki}/ca.crt`],
    'curl --cacert, never -k',
  );
  t.equal(untrusted.expect.failure, 'untrusted');
  t.ok(probeCommand(plain, 'c', undefined, inst.dir).args.includes('-k'), 'a check without cacert judges the certificate, not the trust');
});

t.test('cacert and failure untrusted: where they apply', async (t) => {
  const base = readFileSync('labs/ingress-tls/lab.yaml', 'utf8');
  const dir = mkdtempSync('/tmp/knetlab-tls-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync('labs/ingress-tls', dir, { recursive: true });
  const errors = (text: string) => {
    writeFileSync(`${dir}/lab.yaml`, text);
    try {
      loadLabFile(`${dir}/lab.yaml`);
      return '';
    } catch (e) {
      return String((e as Error & { diagnostics?: unknown[] }).message) + JSON.stringify((e as { diagnostics?: unknown }).diagnostics ?? '');
    }
  };
  t.match(errors(base.replace('http: https://foo.bar.com/\n', 'http: http://foo.bar.com/\n')), /cacert needs an https:\/\/ URL/);
  t.match(
    errors(
      base.replace(
        'cacert: "{labdir}/cluster/pki/ca.crt"\n    expect: { reachable: false, failure: untrusted }',
        'expect: { reachable: false, failure: untrusted }',
      ),
    ),
    /failure untrusted needs an https check with cacert/,
  );
});
