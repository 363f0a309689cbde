// Planner output: phases in kernel order, batched per namespace, and nothing ever aimed at the
// machine's own namespace.
import t from 'tap';
import { loadLabFile } from '../../src/plan/load.js';
import { makeInstance } from '../../src/kernel/instance.js';
import { planLab } from '../../src/plan/topology.js';
import { lowerPlan } from '../../src/kernel/lower.js';
import { shippedLabs } from '../../src/run/labs.js';
import { renderCommand } from '../../src/kernel/command.js';
import { flannelRules } from '../../src/components/flannel/plan.js';

const { lab } = loadLabFile('labs/docker-bridge/lab.yaml');
const inst = makeInstance(lab.name, '', '/run/knetlab');

t.test('phases come in the order the kernel needs them, each with a reason', async (t) => {
  const plan = planLab(lab, inst);
  t.same(
    plan.phases.map((p) => p.title),
    [
      'Create the network namespaces',
      'Set per-namespace kernel parameters',
      'Create the bridges',
      'Create the veth pairs',
      'Configure the interfaces and routes',
      'Program NAT',
      'Write the server configuration',
      'Start the servers',
      'Look around',
    ],
  );
  t.ok(
    plan.phases.every((p) => p.why.length > 40),
    'every phase explains itself',
  );
  t.same(
    plan.phases.filter((p) => p.readOnly).map((p) => p.title),
    ['Look around'],
  );
});

for (const file of shippedLabs()) {
  const l = loadLabFile(file).lab;
  const li = makeInstance(l.name, '', '/run/knetlab');
  t.test(`${l.name}: every kernel write names a lab namespace, the root namespace is never the target`, async (t) => {
    const labNs = new Set(l.namespaces.map((n) => li.netns(n.name)));
    for (const phase of lowerPlan(planLab(l, li))) {
      for (const { command: c } of phase.actions) {
        const a = c.args;
        if (phase.readOnly) {
          t.ok(a[0] === '-n' ? labNs.has(a[1]!) : labNs.has(a[2]!), `read-only ${c.file} ${a.join(' ')} looks inside the lab`);
        } else if (c.file === 'ip' || c.file === 'bridge') {
          const target = a[0] === '-n' ? a[1] : a[0] === 'netns' && a[1] === 'exec' ? a[2] : null;
          if (target) t.ok(labNs.has(target), `${c.file} ${a.join(' ')} targets a lab namespace`);
          else {
            // Only namespace creation runs without -n: "netns add" lines and nothing else.
            const lines = c.input ? c.input.trim().split('\n') : [a.join(' ')];
            t.ok(c.file === 'ip' && lines.every((x) => /^netns add \S+$/.test(x)), `root-level ip only adds namespaces: ${lines.join('; ')}`);
          }
        } else if (c.file === 'xargs') {
          const lines = c.input!.trim().split('\n');
          t.ok(
            lines.every((x) => labNs.has(x.split(' ')[0]!)),
            'each line xargs runs starts with a lab namespace',
          );
        } else {
          // openssl makes a lab's CA and certificates (ingress-tls); its -subj values are names, not paths.
          t.ok(['tee', 'mkdir', 'openssl'].includes(c.file), `${c.file} writes only lab files`);
          const paths = c.file === 'openssl' ? a.filter((_, i) => a[i - 1] !== '-subj') : a;
          // Or a lab namespace's own folder under /etc/netns (its resolv.conf, which ip netns exec mounts).
          const netnsEtc = (x: string) => [...labNs].some((ns) => x === `/etc/netns/${ns}` || x.startsWith(`/etc/netns/${ns}/`));
          t.ok(
            paths.every((x) => !x.startsWith('/') || x.startsWith(li.dir) || netnsEtc(x)),
            "inside the instance folder or a lab namespace's /etc/netns folder",
          );
        }
      }
    }
  });
}

t.test('the bridge namespace gets one batch per phase; the veths are created from the host side', async (t) => {
  const phases = lowerPlan(planLab(lab, inst));
  const veths = phases.find((p) => p.title === 'Create the veth pairs')!;
  t.equal(veths.actions.length, 1);
  t.same(veths.actions[0]!.command.args, ['-n', 'host', '-batch', '-']);
  t.equal(
    veths.actions[0]!.command.input,
    'link add vethbc789f2 type veth peer name eth0 netns container1\nlink add veth5bed0bd type veth peer name eth0 netns container2\nlink add eth0 type veth peer name eth0 netns outside\n',
  );
  const nat = phases.find((p) => p.title === 'Program NAT')!;
  t.same(nat.actions[0]!.command.args, ['netns', 'exec', 'host', 'iptables-restore', '--noflush']);
  t.equal(nat.actions[0]!.command.input, '*nat\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n');
});

t.test('namespace and process creation are claimed so the run layer records them first', async (t) => {
  const claims = lowerPlan(planLab(lab, inst)).flatMap((p) => p.actions.flatMap((a) => (a.claim ? [a.claim] : [])));
  t.same(claims[0], { kind: 'netns', names: ['host', 'container1', 'container2', 'outside'] });
  t.same(
    claims.flatMap((c) => (c.kind === 'process' ? c.processes.map((p) => p.netns) : [])),
    ['container1', 'container2', 'outside'],
  );
});

t.test('flannel-vxlan: neighbour and FDB entries for each remote node, then the onlink route, batched per node', async (t) => {
  const l = loadLabFile('labs/flannel-vxlan/lab.yaml').lab;
  const phases = lowerPlan(planLab(l, makeInstance(l.name, '', '/run/knetlab')));
  const titles = phases.map((p) => p.title);
  const entries = titles.indexOf('flanneld: teach flannel.1 every remote node (neighbour and FDB entries)');
  const routes = titles.indexOf('flanneld: route every remote subnet through flannel.1');
  t.ok(entries > 0 && routes > entries, 'the routes come after the neighbour and FDB entries');
  const node1 = phases[entries]!.actions.filter((x) => x.command.args[1] === 'node1').map((x) => renderCommand(x.command));
  t.equal(node1.length, 2);
  t.match(node1[0], /^ip -n node1 neigh add 10\.244\.2\.0 lladdr ([0-9a-f:]{17}) dev flannel\.1 nud permanent$/);
  const mac = / lladdr (\S+) /.exec(node1[0]!)![1];
  t.equal(node1[1], `bridge -n node1 fdb append ${mac} dev flannel.1 dst 192.168.56.12 self permanent`, "the FDB maps node2's VTEP MAC to node2");
  t.same(phases[routes]!.actions.find((a) => a.command.args[1] === 'node1')!.command.args, [
    '-n',
    'node1',
    'route',
    'add',
    '10.244.2.0/24',
    'via',
    '10.244.2.0',
    'dev',
    'flannel.1',
    'onlink',
  ]);
  const vxlan = phases.find((p) => p.title === 'flanneld: create the VXLAN device flannel.1')!.actions[0]!.command.input!;
  t.match(
    vxlan,
    /^link add flannel\.1 address [0-9a-f:]{17} mtu 1450 type vxlan id 1 local 192\.168\.56\.11 dev eth0 dstport 8472 nolearning\naddr add 10\.244\.1\.0\/32 dev flannel\.1\n/,
  );
});

t.test("flanneld's iptables rules, exactly as the reference lists them", async (t) => {
  const l = loadLabFile('labs/flannel-vxlan/lab.yaml').lab;
  const rules = flannelRules(l.cluster!, l.cluster!.nodes[0]!);
  t.equal(
    rules,
    [
      '*nat',
      ':FLANNEL-POSTRTG - [0:0]',
      '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
      '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      'COMMIT',
      '*filter',
      ':FLANNEL-FWD - [0:0]',
      '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
      '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
      '-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

t.test("flannel: each pod's cni0 port is put in hairpin mode once enslaved, as the bridge plugin does (hairpinMode: true)", async (t) => {
  for (const name of ['flannel-vxlan', 'flannel-udp', 'flannel-host-gw']) {
    const l = loadLabFile(`labs/${name}/lab.yaml`).lab;
    const phases = lowerPlan(planLab(l, makeInstance(l.name, '', '/run/knetlab')));
    const phase = phases.find((p) => p.title === 'Configure the interfaces and routes')!;
    t.match(phase.why, /hairpin mode/, `${name}: the tutorial says why`);
    const node1 = phase.actions.find((a) => a.command.args[1] === 'node1')!.command.input!.split('\n');
    const veths = l.cluster!.nodes[0]!.pods.map((p) => p.hostIf);
    t.ok(veths.length > 0);
    for (const v of veths) {
      const master = node1.findIndex((x) => x.startsWith(`link set ${v} `) && x.includes(' master cni0'));
      t.ok(master >= 0, `${name}: ${v} is enslaved to cni0`);
      t.equal(node1[master + 1], `link set ${v} type bridge_slave hairpin on`, `${name}: then ${v} gets hairpin on`);
    }
  }
  for (const name of ['calico-vxlan', 'docker-bridge', 'cni-plugins']) {
    const l = loadLabFile(`labs/${name}/lab.yaml`).lab;
    const text = lowerPlan(planLab(l, makeInstance(l.name, '', '/run/knetlab')))
      .flatMap((p) => p.actions.map((a) => renderCommand(a.command)))
      .join('\n');
    t.notMatch(text, /hairpin on/, `${name}: no bridge port of ours in hairpin mode (no bridge, Docker's default, or the plugin's own)`);
  }
});

t.test('host-gw on a routed underlay: the off-link route is attempted and expected to fail', async (t) => {
  const l = loadLabFile('labs/flannel-host-gw-routed/lab.yaml').lab;
  const phases = lowerPlan(planLab(l, makeInstance(l.name, '', '/run/knetlab')));
  const refused = phases.flatMap((p) => p.actions).filter((a) => a.command.mayFail);
  t.equal(refused.length, 2, 'one refused route per node');
  t.equal(
    renderCommand(refused[0]!.command),
    '# expected to fail with "Nexthop has invalid gateway"\nip -n node1 route add 10.244.2.0/24 via 192.168.57.12 dev eth0 || true',
  );
});

t.test('cni-plugins: each ADD runs in the node namespace, one at a time, and claims its DEL', async (t) => {
  const l = loadLabFile('labs/cni-plugins/lab.yaml').lab;
  const phases = lowerPlan(planLab(l, makeInstance(l.name, '', '/run/knetlab')));
  const calls = phases.find((p) => p.title.startsWith('Call the CNI plugins'))!;
  t.ok(calls.sequential);
  const add = calls.actions.find((a) => a.label.includes('bridge eth0 in pod1'))!;
  t.same(add.command.args.slice(0, 9), [
    'netns',
    'exec',
    'node1',
    'env',
    'CNI_COMMAND=ADD',
    'CNI_CONTAINERID=pod1',
    'CNI_NETNS=/run/netns/pod1',
    'CNI_IFNAME=eth0',
    'CNI_PATH=/usr/lib/cni',
  ]);
  t.equal(add.command.stdoutTo, '/run/knetlab/labs/cni-plugins/node1/cni/pod1.result.json');
  t.match(JSON.parse(add.command.input!), {
    type: 'bridge',
    bridge: 'cni0',
    ipam: { type: 'host-local', dataDir: '/run/knetlab/labs/cni-plugins/node1/cni/networks' },
  });
  t.equal(add.claim?.kind, 'cleanup');
  if (add.claim?.kind === 'cleanup') t.ok(add.claim.command.args.includes('CNI_COMMAND=DEL'));
});
