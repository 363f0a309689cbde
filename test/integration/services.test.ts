// Services on a running lab, through the CLI: kubectl-style views, `apply -f` scaling a
// Deployment and adding a Service, `delete -f`, bad manifests refused with nothing changed —
// each step proven by the rules kube-proxy wrote and by real requests.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cli, isRoot, netnsWithPrefix, processesUnder, rootSnapshot, stateDir } from './helpers.js';

const P = 'its';
const LAB = 'service-clusterip';

/** The KUBE-SEP chains a node's nat table declares. */
function sepChains(node: string): string[] {
  const save = execFileSync('ip', ['netns', 'exec', `${P}-${node}`, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
  return save.split('\n').filter((l) => /^:KUBE-SEP-/.test(l));
}

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

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('services');
  const before = rootSnapshot();
  const files = mkdtempSync(join(tmpdir(), 'knetlab-services-'));
  t.teardown(() => {
    cli(state, ['down', LAB, '--prefix', P]);
    rmSync(files, { recursive: true, force: true });
  });
  const deploy = readFileSync(`labs/${LAB}/nginx-deploy.yaml`, 'utf8');
  const write = (name: string, text: string) => {
    writeFileSync(join(files, name), text);
    return join(files, name);
  };
  const run = (...args: string[]) => cli(state, [...args, '--prefix', P]);

  t.test('views of a running lab look like kubectl', async (t) => {
    const up = run('up', LAB);
    t.equal(up.code, 0, up.stderr);
    const pods = run('get', LAB, 'pods', '-o', 'wide');
    t.equal(pods.code, 0, pods.stderr);
    t.match(pods.stdout, /^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES\n/);
    t.equal(pods.stdout.match(/^nginx-deploy-[a-z0-9]{10}-[a-z0-9]{5} +1\/1 +Running +0 /gm)?.length, 3, 'three replicas, ready');
    const svc = run('get', LAB, 'svc');
    t.match(svc.stdout, /nginx-deploy +ClusterIP +10\.98\.254\.54 +<none> +8080\/TCP/);
    const ep = run('get', LAB, 'endpoints');
    t.match(ep.stdout, /nginx-deploy +(10\.244\.\d+\.\d+:80,){2}10\.244\.\d+\.\d+:80 /);
    const yaml = parse(run('get', LAB, 'svc', 'nginx-deploy', '-o', 'yaml').stdout) as { kind: string; spec: { clusterIP: string; ports: { port: number }[] } };
    t.equal(yaml.kind, 'Service');
    t.equal(yaml.spec.clusterIP, '10.98.254.54');
    t.equal(yaml.spec.ports[0]!.port, 8080);
    const described = run('describe', LAB, 'svc', 'nginx-deploy');
    t.match(described.stdout, /^TargetPort: +80\/TCP$/m);
    t.match(described.stdout, /^Endpoints: +(10\.244\.\d+\.\d+:80,){2}10\.244\.\d+\.\d+:80$/m);
    const missing = run('describe', LAB, 'svc', 'nope');
    t.equal(missing.code, 1);
    t.match(missing.stderr, /Error from server \(NotFound\): services "nope" not found/);
    t.equal(run('get', LAB, 'configmaps').code, 2, 'unknown resource type');
    t.match(
      run('get', LAB, 'svc', '-A').stdout,
      /^NAMESPACE +NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE\ndefault +nginx-deploy +ClusterIP +10\.98\.254\.54 /,
    );
    t.equal(run('get', LAB, 'pods', '-n', 'kube-system').stdout, 'No resources found in kube-system namespace.\n');
    t.equal(run('get', LAB, 'pods', 'client', '--all-namespaces').code, 2, 'no names across all namespaces');
  });

  t.test('apply scales a Deployment up: new pods are wired, get endpoints, and every node re-syncs', async (t) => {
    const r = run('apply', LAB, '-f', write('five.yaml', deploy.replace('replicas: 3', 'replicas: 5')));
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /deployment\.apps\/nginx-deploy configured\nservice\/nginx-deploy unchanged\npod\/client unchanged/);
    for (const node of ['node1', 'node2', 'node3']) t.equal(sepChains(node).length, 5, `${node} has five KUBE-SEP chains`);
    t.equal(answering(60).size, 5, 'requests reach all five pods');
    t.match(run('get', LAB, 'ep').stdout, /\+ 2 more\.\.\./);
  });

  t.test('apply adds a Service; delete removes it and kube-proxy deletes its chains', async (t) => {
    const extra = write(
      'extra.yaml',
      'apiVersion: v1\nkind: Service\nmetadata: { name: extra }\nspec:\n  type: NodePort\n  selector: { app: nginx-deploy }\n  ports: [{ port: 80, nodePort: 30555 }]\n',
    );
    t.match(run('apply', LAB, '-f', extra).stdout, /^service\/extra created$/m);
    const nat = () => execFileSync('ip', ['netns', 'exec', `${P}-node2`, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
    t.match(nat(), /-A KUBE-NODEPORTS -p tcp -m comment --comment "?default\/extra"? -m tcp --dport 30555 -j KUBE-EXT-/);
    const code = execFileSync('ip', ['netns', 'exec', `${P}-node1`, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://192.168.56.12:30555/'], {
      encoding: 'utf8',
    });
    t.equal(code, '200', "node2's NodePort answers");
    t.match(run('delete', LAB, '-f', extra).stdout, /^service\/extra deleted$/m);
    t.notMatch(nat(), /default\/extra/, 'no rule mentions the deleted Service');
    t.equal(run('delete', LAB, '-f', extra).code, 1, 'deleting it again: NotFound');
  });

  t.test('apply scales down: the pods go, after no rule points at them', async (t) => {
    const r = run('apply', LAB, '-f', write('two.yaml', deploy.replace('replicas: 3', 'replicas: 2')));
    t.equal(r.code, 0, r.stderr);
    for (const node of ['node1', 'node2', 'node3']) t.equal(sepChains(node).length, 2, `${node} has two KUBE-SEP chains`);
    t.equal(netnsWithPrefix(`${P}-nginx-deploy-`).length, 2, 'three pod namespaces deleted');
    t.equal(answering(30).size, 2);
  });

  t.test("apply scales back up: a pod of the lab's manifests that was scaled away comes back", async (t) => {
    const podAddress = (ns: string) =>
      /inet (\S+)\//.exec(execFileSync('ip', ['-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }))![1]!;
    // A node that still holds a neighbour entry for an address a new pod gets: planted for every
    // address of node N's pod range (10.244.N.2-9) that no pod has now, with a MAC no pod has.
    const STALE = '02:00:00:00:00:01';
    const taken = new Set([...netnsWithPrefix(`${P}-nginx-deploy-`), `${P}-client`].map(podAddress));
    for (const n of [1, 2, 3])
      for (let host = 2; host <= 9; host++) {
        const ip = `10.244.${n}.${host}`;
        if (!taken.has(ip)) execFileSync('ip', ['-n', `${P}-node${n}`, 'neigh', 'replace', ip, 'lladdr', STALE, 'nud', 'reachable', 'dev', 'cni0']);
      }
    // The kernel keeps an entry it changed less than locktime (1 s) ago against an ARP.
    await new Promise((res) => setTimeout(res, 1100));
    const r = run('apply', LAB, '-f', write('three.yaml', deploy));
    t.equal(r.code, 0, r.stderr);
    const pods = netnsWithPrefix(`${P}-nginx-deploy-`);
    t.equal(pods.length, 3, 'three pod namespaces');
    // The new pod's gratuitous ARP has replaced the MAC its node held for its address.
    const added = pods.filter((ns) => !taken.has(podAddress(ns)));
    t.equal(added.length, 1, 'one new pod, on an address that had a stale entry');
    for (const ns of added) {
      const ip = podAddress(ns);
      const mac = /link\/ether (\S+)/.exec(execFileSync('ip', ['-n', ns, 'link', 'show', 'dev', 'eth0'], { encoding: 'utf8' }))![1]!;
      const node = `${P}-node${ip.split('.')[2]}`;
      const entry = execFileSync('ip', ['-n', node, 'neigh', 'show', ip, 'dev', 'cni0'], { encoding: 'utf8' });
      t.match(entry, new RegExp(`lladdr ${mac}`), `${node} holds ${ip} at the new pod's MAC, not ${STALE}`);
    }
    t.equal(answering(30).size, 3, 'the Service answers from three pods again');
  });

  t.test('a bad manifest is refused with its position, and nothing changes', async (t) => {
    const generation = () =>
      (JSON.parse(readFileSync(join(state, 'labs', `${P}-${LAB}`, 'cluster', 'state.json'), 'utf8')) as { generation: number }).generation;
    const g = generation();
    const bad = write(
      'bad.yaml',
      'apiVersion: v1\nkind: Service\nmetadata: { name: bad }\nspec:\n  type: NodePort\n  ports:\n    - port: 80\n      nodePort: 80\n',
    );
    const r = run('apply', LAB, '-f', bad);
    t.equal(r.code, 2);
    t.match(r.stderr, /bad\.yaml:8:17 +error +spec\.ports\[0\]\.nodePort 80 is outside 30000-32767/);
    t.match(r.stderr, /hint: omit nodePort to have one allocated/);
    t.equal(generation(), g, 'the API contents are unchanged');
    const taken = write('taken.yaml', 'apiVersion: v1\nkind: Service\nmetadata: { name: other }\nspec:\n  clusterIP: 10.98.254.54\n  ports: [{ port: 80 }]\n');
    const rc = run('apply', LAB, '-f', taken);
    t.equal(rc.code, 2, 'a ClusterIP already allocated is refused');
    t.match(rc.stderr, /taken\.yaml:5:\d+ +error .*already allocated/);
    t.equal(generation(), g, 'the API contents are unchanged');
    const tabs = write('tabs.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n\tname: myapp\n');
    const rt = run('apply', LAB, '-f', tabs);
    t.equal(rt.code, 2);
    t.match(rt.stderr, /tabs\.yaml:4:1 +error/);
    const ipvs = write('ipvs.yaml', 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n');
    const rm = run('apply', LAB, '-f', ipvs);
    t.equal(rm.code, 2, 'apply -f does not restart kube-proxy in another mode');
    t.match(rm.stderr, /kube-proxy runs in iptables mode on its-service-clusterip; apply -f does not restart it in another mode/);
    t.match(rm.stderr, /hint: restart it in ipvs mode with "knetlab apply service-clusterip --prefix its --proxy-mode ipvs"/);
    t.equal(generation(), g, 'the API contents are unchanged');
  });

  t.test("kube-proxy's configuration applied as it runs is accepted, kubectl-style", async (t) => {
    // The lab's own manifests hold this KubeProxyConfiguration already (labs/service-clusterip/kube-proxy.yaml).
    const same = write('kube-proxy.yaml', 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n');
    const r = run('apply', LAB, '-f', same);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^kubeproxyconfiguration\.kubeproxy\.config\.k8s\.io\/kube-proxy unchanged$/m);
    const byDefault = write('kube-proxy-default.yaml', 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ""\n');
    const d = run('apply', LAB, '-f', byDefault);
    t.equal(d.code, 0, d.stderr);
    t.match(d.stdout, /kube-proxy configured$/m, '"" is the same mode, written differently');
  });

  t.test('down leaves nothing, the root namespace unchanged', async (t) => {
    t.equal(run('down', LAB).code, 0);
    t.same(netnsWithPrefix(`${P}-`), []);
    t.same(processesUnder(state), []);
    t.same(rootSnapshot(), before);
  });

  t.test('a lab whose manifest is invalid is refused before anything is created', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'knetlab-badlab-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'lab.yaml'),
      'name: bad-svc\ntitle: A Service with a clusterIP outside the range\ncluster:\n  cni: { type: flannel }\n  nodes: { node1: {} }\n---\napiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec:\n  clusterIP: 10.0.171.239\n  ports: [{ port: 80 }]\n',
    );
    const r = cli(state, ['up', dir, '--prefix', P]);
    t.equal(r.code, 2);
    t.match(r.stderr, /lab\.yaml:11:\d+ +error .*not in the valid range/);
    t.same(netnsWithPrefix(`${P}-`), []);
  });

  t.test("a cloud provider's load balancer (service-cloud-lb): views, apply keeps its status, its proxy follows the Service", async (t) => {
    const CP = 'itlb';
    const CLB = 'service-cloud-lb';
    const cloud = (...args: string[]) => cli(state, [...args, '--prefix', CP]);
    const curl = (ns: string, url: string) =>
      spawnSync('ip', ['netns', 'exec', `${CP}-${ns}`, 'curl', '-sS', '--max-time', '3', '-H', 'Connection: close', url], { encoding: 'utf8' });
    /** The client address a pod saw. `nginx -s reload` returns once signalled: allow the new workers a moment. */
    const proxied = (url: string, want?: RegExp) => {
      let seen = '';
      for (const until = Date.now() + 3000; Date.now() < until;) {
        const r = curl('client', url);
        seen = r.status === 0 ? (JSON.parse(r.stdout) as { client: string }).client : `curl exit ${r.status}`;
        if (!want || want.test(seen)) break;
        execFileSync('sleep', ['0.1']);
      }
      return seen;
    };
    t.teardown(() => cloud('down', CLB));
    const up = cloud('up', CLB);
    t.equal(up.code, 0, up.stderr);
    t.match(cloud('get', CLB, 'svc', '-o', 'wide').stdout, /^web +LoadBalancer +10\.96\.100\.10 +203\.0\.113\.10,203\.0\.113\.11 +80:30080\/TCP /m);
    const yaml = parse(cloud('get', CLB, 'svc', 'web', '-o', 'yaml').stdout) as { status: unknown };
    t.same(yaml.status, {
      loadBalancer: {
        ingress: [
          { ip: '203.0.113.10', ipMode: 'VIP' },
          { ip: '203.0.113.11', ipMode: 'Proxy' },
        ],
      },
    });
    t.match(cloud('describe', CLB, 'svc', 'web').stdout, /^LoadBalancer Ingress: +203\.0\.113\.10 \(VIP\), 203\.0\.113\.11 \(Proxy\)$/m);
    t.equal(proxied('http://203.0.113.11/'), '192.168.56.1', 'the proxy answers, from its own address');

    // The Service applied again with another node port and no status: kubectl apply leaves status
    // alone, so the cloud's addresses stay; the proxy moves to the new node port.
    const lab = readFileSync(`labs/${CLB}/web.yaml`, 'utf8');
    const service = lab.slice(0, lab.indexOf('status:')).replace('nodePort: 30080', 'nodePort: 30081');
    const r = cloud('apply', CLB, '-f', write('cloud-np.yaml', service));
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^service\/web configured$/m);
    t.match(cloud('get', CLB, 'svc', '-o', 'wide').stdout, /203\.0\.113\.10,203\.0\.113\.11 +80:30081\/TCP/, 'the status is kept');
    const nat = execFileSync('ip', ['netns', 'exec', `${CP}-node1`, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
    t.match(nat, /-A KUBE-SERVICES -d 203\.0\.113\.10\/32 .*"default\/web loadbalancer IP"/, 'kube-proxy still captures the VIP');
    t.notMatch(nat, /203\.0\.113\.11/);
    t.equal(proxied('http://203.0.113.11/', /^192\.168\.56\.1$/), '192.168.56.1', 'the proxy reaches the new node port');
    t.not(spawnSync('ip', ['netns', 'exec', `${CP}-router`, 'curl', '-sS', '--max-time', '2', 'http://192.168.56.11:30080/']).status, 0, 'the old one is gone');
    t.equal(proxied('http://203.0.113.10/'), '198.51.100.100', 'the VIP still reaches a pod, with the client address kept');

    // Deleted: the cloud deletes its load balancer; the router no longer holds the Proxy address.
    t.match(cloud('delete', CLB, '-f', write('cloud-del.yaml', service)).stdout, /^service\/web deleted$/m);
    t.notMatch(execFileSync('ip', ['-n', `${CP}-router`, 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }), /203\.0\.113\.11/);
    t.match(proxied('http://203.0.113.11/', /^curl exit/), /^curl exit [1-9]/, 'nothing answers on the Proxy address any more');

    // Created again, status and all: the proxy starts again.
    t.match(cloud('apply', CLB, '-f', `labs/${CLB}/web.yaml`).stdout, /^service\/web created$/m);
    t.equal(proxied('http://203.0.113.11/', /^192\.168\.56\.1$/), '192.168.56.1', 'the proxy is back');
    t.equal(cloud('down', CLB).code, 0);
    t.same(netnsWithPrefix(`${CP}-`), []);
    t.same(rootSnapshot(), before);
  });
}
