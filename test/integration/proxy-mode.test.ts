// Switching kube-proxy's mode on a running lab (`knetlab apply LAB --proxy-mode MODE`), through
// the CLI: iptables → userspace → nftables → iptables on service-clusterip, the Service answering
// each time from all three pods, each node's tables holding only the running mode's chains, the
// record naming the running kube-proxies, a mode kube-proxy never had refused with nothing
// changed, and `down` leaving nothing behind.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, isRoot, netnsWithPrefix, processesUnder, rootSnapshot, stateDir } from './helpers.js';

const P = 'usmode';
const LAB = 'service-clusterip';
const NODES = ['node1', 'node2', 'node3'];

const save = (node: string): string => execFileSync('ip', ['netns', 'exec', `${P}-${node}`, 'iptables-save'], { encoding: 'utf8' });
/** nftables mode's table on a node, or '' when there is none. */
const nft = (node: string): string =>
  spawnSync('ip', ['netns', 'exec', `${P}-${node}`, 'nft', 'list', 'table', 'ip', 'kube-proxy'], { encoding: 'utf8' }).stdout;

/** Which pods answer `n` requests to the ClusterIP from the client pod. */
function answering(n: number): Set<string> {
  const urls = Array.from({ length: n }, () => 'http://10.98.254.54:8080/');
  const out = execFileSync('ip', ['netns', 'exec', `${P}-client`, 'curl', '-sS', '--max-time', '3', '-H', 'Connection: close', ...urls], { encoding: 'utf8' });
  return new Set(
    out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { pod: string }).pod),
  );
}

const IPTABLES_CHAINS = /^:KUBE-(SERVICES|SVC-|SEP-|NODEPORTS|POSTROUTING|EXTERNAL-SERVICES|FORWARD|PROXY-FIREWALL)/m;
const USERSPACE_CHAINS = /^:KUBE-(PORTALS-|NODEPORT-)/m;

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('proxy-mode');
  const before = rootSnapshot();
  t.teardown(() => {
    cli(state, ['down', LAB, '--prefix', P]);
  });

  t.test('iptables → userspace → nftables → iptables on a running lab', async (t) => {
    const up = cli(state, ['up', LAB, '--prefix', P]);
    t.equal(up.code, 0, up.stderr);
    t.equal(answering(30).size, 3, 'iptables: all three pods answer');

    const recordDir = join(state, 'records');
    const kubeProxies = () =>
      (JSON.parse(readFileSync(join(recordDir, `${P}-${LAB}.json`), 'utf8')) as { processes: { name: string; pid: number | null }[] }).processes
        .filter((p) => p.name === 'kube-proxy')
        .map((p) => p.pid);
    const first = kubeProxies();

    const toUser = cli(state, ['apply', LAB, '--prefix', P, '--proxy-mode', 'userspace']);
    t.equal(toUser.code, 0, toUser.stderr);
    t.match(
      toUser.stdout,
      /iptables -w -t nat -D PREROUTING -m comment --comment 'kubernetes service portals' -j KUBE-SERVICES/,
      'the cleanup commands are printed',
    );
    t.match(toUser.stdout, /KUBE-PORTALS-CONTAINER/, "and the new mode's setup");
    t.match(toUser.stdout, /switched from iptables to userspace mode/);
    t.equal(answering(30).size, 3, 'userspace: all three pods answer');
    for (const n of NODES) {
      const s = save(n);
      t.match(s, USERSPACE_CHAINS, `${n} has the portals`);
      t.notMatch(s, IPTABLES_CHAINS, `${n} has no iptables-mode chain left`);
      t.match(
        s,
        /-A KUBE-PORTALS-CONTAINER -d 10\.98\.254\.54\/32 -p tcp -m comment --comment "?default\/nginx-deploy"? -m tcp --dport 8080 -j REDIRECT --to-ports \d+/,
      );
    }
    const second = kubeProxies();
    t.equal(second.length, 3, 'the record names three kube-proxies');
    t.notSame(second, first, 'new processes');
    for (const pid of first) t.notOk(pid && processesUnder(state).includes(pid), `the old kube-proxy ${pid} is gone`);

    const toNft = cli(state, ['apply', LAB, '--prefix', P, '--proxy-mode', 'nftables']);
    t.equal(toNft.code, 0, toNft.stderr);
    t.match(toNft.stdout, /-X KUBE-PORTALS-CONTAINER/, "userspace mode's own cleanup");
    t.match(toNft.stdout, /switched from userspace to nftables mode/);
    t.equal(answering(30).size, 3, 'nftables: all three pods answer');
    for (const n of NODES) {
      t.notMatch(save(n), USERSPACE_CHAINS, `${n} has no userspace chain left`);
      t.match(nft(n), /map service-ips/, `${n} has table ip kube-proxy`);
    }
    const third = kubeProxies();

    const refused = cli(state, ['apply', LAB, '--prefix', P, '--proxy-mode', 'kernelspace']);
    t.equal(refused.code, 2, 'a mode kube-proxy never had is refused');
    t.match(refused.stderr, /Invalid values:[\s\S]*proxy-mode/);
    t.same(kubeProxies(), third, 'nothing changed');

    const back = cli(state, ['apply', LAB, '--prefix', P, '--proxy-mode', 'iptables']);
    t.equal(back.code, 0, back.stderr);
    t.match(back.stdout, /nft delete table ip kube-proxy|delete table ip kube-proxy/, "nftables mode's own cleanup");
    t.equal(answering(30).size, 3, 'iptables again: all three pods answer');
    for (const n of NODES) {
      const s = save(n);
      t.match(s, IPTABLES_CHAINS);
      t.notMatch(s, USERSPACE_CHAINS, `${n} has no userspace chain left`);
      t.equal(nft(n), '', `${n} has no kube-proxy table left`);
    }
    const same = cli(state, ['apply', LAB, '--prefix', P, '--proxy-mode', 'iptables']);
    t.match(same.stdout, /already runs in iptables mode/);

    const down = cli(state, ['down', LAB, '--prefix', P]);
    t.equal(down.code, 0, down.stderr);
    t.same(netnsWithPrefix(`${P}-`), [], 'no namespace left');
    t.same(processesUnder(state), [], 'no process left');
    t.same(rootSnapshot(), before, "the machine's own namespace is unchanged");
  });
}
