// Every shipped lab, for real: up → checks → down with real packets, then proof that the machine
// is exactly as it was: no lab namespaces or processes, and the root namespace's addresses,
// routes, iptables and nftables rulesets unchanged.
import t from 'tap';
import { basename, dirname } from 'node:path';
import { shippedLabs } from '../../src/run/labs.js';
import { loadLabFile } from '../../src/plan/load.js';
import { cli, isRoot, netnsEtcWithPrefix, netnsWithPrefix, processesUnder, rootSnapshot, stateDir } from './helpers.js';

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('labs');
  const before = rootSnapshot();

  for (const file of shippedLabs()) {
    const name = basename(dirname(file));
    const checks = loadLabFile(file).lab.checks.length;
    t.test(`knetlab run ${name}`, async (t) => {
      const r = cli(state, ['run', name, '--prefix', 'itl']);
      if (r.code === 3) {
        // A lab this kernel cannot run is refused before anything is created; vm-labs.test.ts runs it in the kernel VM.
        t.match(
          r.stderr,
          new RegExp(`^SKIP ${name} needs .+, which this kernel lacks: run it in the kernel VM with "knetlab run --vm ${name} --prefix itl"`, 'm'),
        );
        t.same(netnsWithPrefix('itl-'), [], 'nothing created');
        return;
      }
      t.equal(r.code, 0, `exit 0\n${r.stdout}\n${r.stderr}`);
      const lines = r.stdout.trim().split('\n');
      // A check the kernel cannot run (sctp without SCTP sockets), or whose expectation holds in
      // another kube-proxy mode, is skipped, says why, and is counted apart: never as passed.
      const skips = lines.flatMap((l, i) => (l.startsWith('skip ') ? [lines[i + 1] ?? ''] : []));
      for (const why of skips)
        t.match(
          why,
          /^ {4}skipped: (this kernel has no SCTP sockets \(|this expectation holds in kube-proxy [a-z, ]+ mode; here kube-proxy runs in iptables mode$)/,
          'only a missing kernel feature or another kube-proxy mode skips a check',
        );
      t.equal(lines.at(-1), `${checks - skips.length} passed, 0 failed${skips.length ? `, ${skips.length} skipped` : ''}`);
      t.equal(lines.filter((l) => l.startsWith('ok   ')).length + skips.length, checks, 'one line per check');
      t.same(netnsWithPrefix('itl-'), [], 'no namespaces left');
      t.same(netnsEtcWithPrefix('itl-'), [], 'no /etc/netns files left');
      t.same(processesUnder(state), [], 'no processes left');
    });
  }

  t.test('up, status, verify, exec, down by hand', async (t) => {
    t.equal(cli(state, ['up', 'docker-bridge', '--prefix', 'ith']).code, 0);
    const status = JSON.parse(cli(state, ['status', '--json']).stdout) as {
      labs: { instance: string; namespaces: { name: string; present: boolean }[]; processes: { running: boolean }[] }[];
    };
    const mine = status.labs.find((l) => l.instance === 'ith-docker-bridge')!;
    t.same(
      mine.namespaces.map((n) => n.name),
      ['ith-host', 'ith-container1', 'ith-container2', 'ith-outside'],
    );
    t.ok(mine.namespaces.every((n) => n.present));
    t.equal(mine.processes.filter((p) => p.running).length, 3, 'three servers running');
    const verify = cli(state, ['verify', 'docker-bridge', '--prefix', 'ith']);
    t.equal(verify.code, 0, verify.stdout + verify.stderr);
    // The container really sees its own default route via docker0.
    const route = cli(state, ['exec', 'docker-bridge', 'container1', '--prefix', 'ith', '--', 'ip', 'route']);
    t.equal(route.code, 0);
    t.match(route.stdout, /default via 172\.17\.0\.1 dev eth0/);
    // exec passes the command's own exit code through.
    t.equal(
      cli(state, ['exec', 'docker-bridge', 'outside', '--prefix', 'ith', '--', 'ping', '-c', '1', '-W', '1', '172.17.0.2']).code,
      2,
      'outside cannot reach a container: ping exits 2, "Network is unreachable"',
    );
    const again = cli(state, ['up', 'docker-bridge', '--prefix', 'ith']);
    t.equal(again.code, 1);
    t.match(again.stderr, /lab ith-docker-bridge is already up/);
    t.equal(cli(state, ['down', 'docker-bridge', '--prefix', 'ith']).code, 0);
    t.equal(cli(state, ['down', 'docker-bridge', '--prefix', 'ith']).code, 0, 'down is idempotent');
    t.same(netnsWithPrefix('ith-'), []);
    t.same(processesUnder(state), []);
  });

  t.test('a failing check fails the run, prints its evidence, and the lab still comes down', async (t) => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/knetlab-lab-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      `${dir}/lab.yaml`,
      `name: broken-check
title: A check that must fail
topology:
  namespaces:
    a:
      interfaces:
        e0: { addresses: [10.77.0.1/24] }
    b:
      interfaces:
        e0: { addresses: [10.77.0.2/24] }
      server: {}
  links:
    - endpoints: [a:e0, b:e0]
checks:
  - name: wrong pod name
    from: a
    http: http://10.77.0.2/
    expect: { json: { pod: c } }
    timeout: 1s
  - name: a reaches b
    from: a
    ping: 10.77.0.2
`,
    );
    const r = cli(state, ['run', dir, '--prefix', 'itf']);
    t.equal(r.code, 1);
    t.equal(r.stdout.trim().split('\n').at(-1), '1 passed, 1 failed');
    t.match(r.stdout, /FAIL broken-check: wrong pod name/);
    t.match(r.stdout, /ran: {6}ip netns exec itf-a curl/);
    t.match(r.stdout, /expected: JSON with pod="c"/);
    t.match(r.stdout, /saw: {6}pod="b" \(expected "c"\)/);
    t.match(r.stdout, /evidence from b:/);
    t.match(r.stdout, /10\.77\.0\.2\/24/);
    t.same(netnsWithPrefix('itf-'), []);
  });

  t.test('cluster checks that must fail do fail: a wrong VNI shows the decoded packets, a wrong route shows what is there', async (t) => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/knetlab-lab-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      `${dir}/lab.yaml`,
      `name: broken-cluster
title: Cluster checks with wrong expectations
cluster:
  cni: { type: flannel, backend: vxlan }
  nodes:
    node1: { pods: [pod1] }
    node2: { pods: [pod2] }
checks:
  - name: wrong vni
    from: node1
    capture: eth0
    filter: udp port 8472
    during: { from: pod1, ping: 10.244.2.2 }
    expect: { encap: vxlan, vni: 2 }
  - name: wrong gateway
    from: node1
    route: 10.244.2.0/24
    expect: { via: 10.244.2.1 }
    timeout: 1s
  - name: no such neighbour
    from: node1
    neigh: 10.244.9.0
    timeout: 1s
  - name: right vni
    from: node1
    capture: eth0
    filter: udp port 8472
    during: { from: pod1, ping: 10.244.2.2 }
    expect: { encap: vxlan, vni: 1, inner: { src: 10.244.1.2, dst: 10.244.2.2 } }
`,
    );
    const r = cli(state, ['run', dir, '--prefix', 'itc']);
    t.equal(r.code, 1);
    t.equal(r.stdout.trim().split('\n').at(-1), '1 passed, 3 failed');
    t.match(r.stdout, /FAIL broken-cluster: wrong vni/);
    t.match(r.stdout, /decoded packets \(\d+\):\n {6}192\.168\.56\.11:\d+ > 192\.168\.56\.12:8472 VXLAN vni 1 carrying 10\.244\.1\.2 > 10\.244\.2\.2 ICMP/);
    t.match(r.stdout, /tcpdump said:\n {6}.*OTV/);
    t.match(r.stdout, /FAIL broken-cluster: wrong gateway/);
    t.match(r.stdout, /saw: {6}dst 10\.244\.2\.0\/24, gateway 10\.244\.2\.0, dev flannel\.1, flags onlink/);
    t.match(r.stdout, /FAIL broken-cluster: no such neighbour/);
    t.same(netnsWithPrefix('itc-'), []);
  });

  t.test('ten pods on one bridge: servers started through one xargs, every pod answers as itself', async (t) => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/knetlab-lab-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const pods = Array.from({ length: 10 }, (_, i) => i + 1);
    writeFileSync(
      `${dir}/lab.yaml`,
      [
        'name: ten-pods',
        'title: Ten pods on one bridge',
        'topology:',
        '  namespaces:',
        '    node:',
        '      bridges: { cni0: { addresses: [10.88.0.1/24] } }',
        '      interfaces:',
        ...pods.map((i) => `        veth${i}: { master: cni0 }`),
        ...pods.flatMap((i) => [
          `    pod${i}:`,
          `      interfaces: { eth0: { addresses: [10.88.0.${i + 1}/24] } }`,
          '      routes: [{ to: default, via: 10.88.0.1 }]',
          '      server: { node: node1 }',
        ]),
        '  links:',
        ...pods.map((i) => `    - endpoints: [node:veth${i}, pod${i}:eth0]`),
        'checks:',
        // Five requests in one curl, each on a new connection: every reply is parsed and counted.
        '  - from: pod2',
        '    http: http://10.88.0.2/',
        '    requests: 5',
        '    expect: { backends: [pod1], minShare: 1 }',
        ...pods.flatMap((i) => [
          `  - from: pod${(i % 10) + 1}`,
          `    http: http://10.88.0.${i + 1}/`,
          `    expect: { json: { pod: pod${i}, node: node1, ip: 10.88.0.${i + 1}, client: 10.88.0.${(i % 10) + 2} } }`,
        ]),
        '',
      ].join('\n'),
    );
    const steps = cli(state, ['steps', dir]);
    t.match(steps.stdout, /^xargs -L 1 -P 4 ip netns exec <<'EOF'$/m, 'the tutorial shows the fan-out');
    const r = cli(state, ['run', dir, '--prefix', 'itx']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.equal(r.stdout.trim().split('\n').at(-1), '11 passed, 0 failed');
    t.same(netnsWithPrefix('itx-'), []);
    t.same(processesUnder(state), []);
  });

  t.test('down --all removes every recorded lab and nothing else', async (t) => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('ip', ['netns', 'add', 'ita-bystander']);
    t.teardown(() => execFileSync('ip', ['netns', 'del', 'ita-bystander']));
    const all = stateDir('all');
    t.equal(cli(all, ['up', 'netns-veth', '--prefix', 'ita']).code, 0);
    t.equal(cli(all, ['up', 'netns-veth', '--prefix', 'itb']).code, 0);
    t.same(netnsWithPrefix('ita-').sort(), ['ita-bystander', 'ita-test1', 'ita-test2']);
    const r = cli(all, ['down', '--all']);
    t.equal(r.code, 0, r.stderr);
    t.same(netnsWithPrefix('ita-'), ['ita-bystander'], 'the bystander namespace is untouched');
    t.same(netnsWithPrefix('itb-'), []);
  });

  t.test('a namespace that exists and is not ours stops up before anything changes', async (t) => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('ip', ['netns', 'add', 'ito-test2']);
    t.teardown(() => execFileSync('ip', ['netns', 'del', 'ito-test2']));
    const r = cli(state, ['up', 'netns-veth', '--prefix', 'ito']);
    t.equal(r.code, 1);
    t.match(r.stderr, /namespace ito-test2 already exists and was not created by knetlab; knetlab never touches it/);
    t.same(netnsWithPrefix('ito-'), ['ito-test2']);
    t.equal(
      execFileSync('ip', ['-n', 'ito-test2', 'link'])
        .toString()
        .split('\n')
        .filter((l) => /^\d+:/.test(l)).length,
      1,
      'still just lo',
    );
  });

  t.test("the machine's own namespace is unchanged", async (t) => {
    const after = rootSnapshot();
    for (const k of Object.keys(before)) t.equal(after[k], before[k], k);
  });
}
