// Cluster DNS on a running lab: pods that `apply` adds get the resolv.conf the kubelet writes
// (nameserver kube-dns, their namespace's search path, ndots:5), so a short Service name resolves
// from them through CoreDNS, and the new records (a headless Service's endpoints) answer at once.
// `down` removes their /etc/netns folders with the rest.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, isRoot, netnsEtcWithPrefix, netnsWithPrefix, processesUnder, rootSnapshot, stateDir } from './helpers.js';

const P = 'itdns';
const LAB = 'dns-service';

const dig = (pod: string, ...args: string[]) =>
  execFileSync('ip', ['netns', 'exec', `${P}-${pod}`, 'dig', '+short', '+search', '+time=2', '+tries=2', ...args], { encoding: 'utf8' }).trim();

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('dns');
  const before = rootSnapshot();
  const files = mkdtempSync(join(tmpdir(), 'knetlab-dns-'));
  t.teardown(() => {
    cli(state, ['down', LAB, '--prefix', P]);
    rmSync(files, { recursive: true, force: true });
  });
  const run = (...args: string[]) => cli(state, [...args, '--prefix', P]);
  const kubia = readFileSync(`labs/${LAB}/kubia.yaml`, 'utf8');

  t.test('pods added by apply get the kubelet resolv.conf and resolve Service names', async (t) => {
    const up = run('up', LAB);
    t.equal(up.code, 0, up.stderr);
    const podsBefore = new Set(netnsWithPrefix(`${P}-kubia-`));
    t.equal(podsBefore.size, 3);
    const file = join(files, 'five.yaml');
    writeFileSync(file, kubia.replace('replicas: 3', 'replicas: 5'));
    const r = run('apply', LAB, '-f', file);
    t.equal(r.code, 0, r.stderr);
    const added = netnsWithPrefix(`${P}-kubia-`).filter((n) => !podsBefore.has(n));
    t.equal(added.length, 2, 'two new pods');
    for (const ns of added) {
      const conf = `/etc/netns/${ns}/resolv.conf`;
      t.ok(existsSync(conf), `${conf} written`);
      t.equal(
        readFileSync(conf, 'utf8'),
        'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
        'ClusterFirst: kube-dns, the pod namespace first in the search path',
      );
      t.equal(dig(ns.slice(P.length + 1), 'kubia'), '10.99.166.60', `${ns}: the short name resolves through CoreDNS`);
    }
  });

  t.test('down removes the new pods’ /etc/netns folders too', async (t) => {
    t.equal(run('down', LAB).code, 0);
    t.same(netnsWithPrefix(`${P}-`), []);
    t.same(netnsEtcWithPrefix(`${P}-`), []);
    t.same(processesUnder(state), []);
    t.same(rootSnapshot(), before);
  });
}
