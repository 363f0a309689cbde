// ingress-nginx on a running lab: a controller pod that `apply` adds (the controller Deployment
// scaled to 2) runs the controller and serves the lab's Ingresses; and a changed Ingress reloads
// nginx gracefully, so requests sent through the LoadBalancer while it reloads all succeed.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, cliAsync, isRoot, netnsEtcWithPrefix, netnsWithPrefix, processesUnder, rootSnapshot, stateDir } from './helpers.js';

const P = 'iting';
const LAB = 'ingress-hosts';
const CONTROLLER = `${P}-ingress-nginx-controller-`;

const podIP = (netns: string) => /inet (\S+)\//.exec(execFileSync('ip', ['-n', netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }))![1]!;

/** curl from a namespace: the status code, or 0 when nothing answered. */
function status(from: string, url: string, host: string): number {
  try {
    return Number(
      execFileSync(
        'ip',
        ['netns', 'exec', `${P}-${from}`, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', '-H', `Host: ${host}`, url],
        {
          encoding: 'utf8',
        },
      ),
    );
  } catch {
    return 0;
  }
}

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('ingress');
  const before = rootSnapshot();
  const files = mkdtempSync(join(tmpdir(), 'knetlab-ingress-'));
  t.teardown(() => {
    cli(state, ['down', LAB, '--prefix', P]);
    rmSync(files, { recursive: true, force: true });
  });
  const run = (...args: string[]) => cli(state, [...args, '--prefix', P]);
  const write = (name: string, text: string) => {
    writeFileSync(join(files, name), text);
    return join(files, name);
  };

  t.test('a controller pod added by apply runs the controller and serves the Ingresses', async (t) => {
    const up = run('up', LAB);
    t.equal(up.code, 0, up.stderr);
    const first = netnsWithPrefix(CONTROLLER);
    t.equal(first.length, 1);
    const r = run('apply', LAB, '-f', write('two.yaml', readFileSync(`labs/${LAB}/ingress-nginx.yaml`, 'utf8').replace('replicas: 1', 'replicas: 2')));
    t.equal(r.code, 0, r.stderr);
    const added = netnsWithPrefix(CONTROLLER).filter((n) => !first.includes(n));
    t.equal(added.length, 1, 'one new controller pod');
    const ip = podIP(added[0]!);
    // The controller makes its fake certificate and tests its first nginx.conf before nginx starts.
    let code = 0;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && code !== 200;) {
      code = status('node1', `http://${ip}/bar`, 'foo.bar.com');
      if (code !== 200) await new Promise((res) => setTimeout(res, 300));
    }
    t.equal(code, 200, `the new controller ${ip} routes foo.bar.com/bar to service1`);
    t.equal(status('node1', `http://${ip}/nothing`, 'foo.bar.com'), 404, 'and its default backend answers the rest');
  });

  t.test('a changed Ingress reloads nginx without failing a request', async (t) => {
    const url = 'http://192.168.56.240/bar';
    // Requests, one connection each, from outside the cluster through the LoadBalancer IP, until
    // both changes are live (each re-renders nginx.conf and reloads nginx); at most 2000.
    const stop = join(files, 'stop');
    const load = spawn(
      'ip',
      [
        'netns',
        'exec',
        `${P}-client`,
        'sh',
        '-c',
        `i=0; while [ ! -e ${stop} ] && [ $i -lt 2000 ]; do i=$((i+1)); curl -s -o /dev/null -w '%{http_code}\\n' --max-time 3 -H 'Host: foo.bar.com' ${url}; done`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let codes = '';
    load.stdout.on('data', (d: Buffer) => (codes += d.toString()));
    const done = new Promise<void>((res) => load.on('exit', () => res()));
    const ingress = readFileSync(`labs/${LAB}/ingress.yaml`, 'utf8');
    const reloadsBefore = reloads();
    for (const [i, path] of ['/baz', '/qux'].entries()) {
      await new Promise((res) => setTimeout(res, 1500));
      const changed = ingress.replace(
        'path: "/bar"',
        `path: "/bar"\n        backend: { service: { name: service1, port: { number: 80 } } }\n      - pathType: Prefix\n        path: "${path}"`,
      );
      const p = cliAsync(state, ['apply', LAB, '-f', write(`changed-${i}.yaml`, changed), '--prefix', P]);
      const code = await new Promise<number>((res) => p.on('exit', (c) => res(c ?? -1)));
      t.equal(code, 0, `apply ${path}`);
    }
    await new Promise((res) => setTimeout(res, 1000));
    writeFileSync(stop, '');
    await done;
    const lines = codes.trim().split('\n');
    t.ok(lines.length >= 50, `${lines.length} requests sent across the reloads`);
    t.same(
      lines.filter((c) => c !== '200'),
      [],
      'every request answered 200',
    );
    t.ok(reloads() >= reloadsBefore + 2, 'nginx was reloaded for each change');
    t.equal(status('client', 'http://192.168.56.240/qux', 'foo.bar.com'), 200, 'the last change is live');
  });

  t.test('Secrets applied with knetlab.dev/generate-certificate get certificates signed by one lab CA', async (t) => {
    const secretAndIngress = (name: string, host: string) =>
      [
        `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  annotations:\n    knetlab.dev/generate-certificate: ${host}\ntype: kubernetes.io/tls`,
        `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ${name}\nspec:\n  ingressClassName: nginx\n  tls:\n    - hosts: [${host}]\n      secretName: ${name}\n` +
          `  rules:\n    - host: ${host}\n      http:\n        paths:\n          - { path: /, pathType: Prefix, backend: { service: { name: service1, port: { number: 80 } } } }`,
      ].join('\n---\n');
    /** curl over https with only the lab's CA trusted: the status, or curl's error. */
    const https = (host: string) => {
      try {
        return execFileSync(
          'sh',
          [
            '-c',
            `ip netns exec ${P}-client curl -sS -o /dev/null -w '%{http_code}' --max-time 3 --cacert ${state}/labs/*/cluster/pki/ca.crt --resolve ${host}:443:192.168.56.240 https://${host}/`,
          ],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
        );
      } catch (e) {
        return String((e as { stderr?: string }).stderr ?? e).trim();
      }
    };
    const until200 = async (host: string) => {
      let got = '';
      for (const deadline = Date.now() + 20_000; Date.now() < deadline && got !== '200';) {
        got = https(host);
        if (got !== '200') await new Promise((res) => setTimeout(res, 300));
      }
      return got;
    };
    // The lab made no certificate at up: this apply makes the CA too.
    const first = run('apply', LAB, '-f', write('tls-a.yaml', secretAndIngress('a-tls', 'a.bar.com')));
    t.equal(first.code, 0, first.stderr);
    const ca = () => execFileSync('sh', ['-c', `cat ${state}/labs/*/cluster/pki/ca.crt`], { encoding: 'utf8' });
    const madeFirst = ca();
    t.match(madeFirst, /BEGIN CERTIFICATE/, "the lab's CA is made");
    t.equal(await until200('a.bar.com'), '200', 'a.bar.com verifies against the lab CA');
    const second = run('apply', LAB, '-f', write('tls-b.yaml', secretAndIngress('b-tls', 'b.bar.com')));
    t.equal(second.code, 0, second.stderr);
    t.equal(ca(), madeFirst, 'the second apply keeps the CA');
    t.equal(await until200('b.bar.com'), '200', 'b.bar.com verifies against the same CA');
    t.equal(https('a.bar.com'), '200', 'and a.bar.com still does');
  });

  t.test('down leaves nothing, the root namespace unchanged', async (t) => {
    t.equal(run('down', LAB).code, 0);
    t.same(netnsWithPrefix(`${P}-`), []);
    t.same(netnsEtcWithPrefix(`${P}-`), []);
    t.same(processesUnder(state), []);
    t.same(rootSnapshot(), before);
  });

  /** Reloads the controllers logged so far. */
  function reloads(): number {
    return netnsWithPrefix(CONTROLLER)
      .map((ns) => ns.slice(P.length + 1))
      .reduce((n, pod) => {
        const log = execFileSync('sh', ['-c', `cat ${state}/labs/*/cluster/ingress-nginx-${pod}/controller.log 2>/dev/null || true`], { encoding: 'utf8' });
        return n + (log.match(/reloaded nginx/g)?.length ?? 0);
      }, 0);
  }
}
