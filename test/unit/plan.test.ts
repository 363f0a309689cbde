// Planner output: phases in kernel order, batched per namespace, and nothing ever aimed at the
// machine's own namespace.
import t from 'tap';
import { loadLabFile } from '../../src/spec/validate.js';
import { makeInstance } from '../../src/plan/instance.js';
import { planLab } from '../../src/plan/topology.js';
import { lowerPlan } from '../../src/kernel/lower.js';

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

t.test('every kernel write names a lab namespace: the root namespace is never the target', async (t) => {
  const labNs = new Set(lab.namespaces.map((n) => inst.netns(n.name)));
  for (const phase of lowerPlan(planLab(lab, inst))) {
    for (const { command: c } of phase.actions) {
      if (phase.readOnly) {
        t.ok(c.args[0] === '-n' ? labNs.has(c.args[1]!) : labNs.has(c.args[2]!), `read-only ${c.file} ${c.args.join(' ')} looks inside the lab`);
      } else if (c.file === 'ip') {
        const a = c.args;
        const target = a[0] === '-n' ? a[1] : a[0] === 'netns' && a[1] === 'exec' ? a[2] : null;
        if (target) t.ok(labNs.has(target), `${a.join(' ')} targets a lab namespace`);
        else {
          // Only namespace creation runs without -n: "netns add" lines and nothing else.
          const lines = c.input ? c.input.trim().split('\n') : [a.join(' ')];
          t.ok(
            lines.every((l) => /^netns add \S+$/.test(l)),
            `root-level ip only adds namespaces: ${lines.join('; ')}`,
          );
        }
      } else {
        t.ok(['tee', 'mkdir'].includes(c.file), `${c.file} writes only lab files`);
        t.ok(
          c.args.every((x) => !x.startsWith('/') || x.startsWith('/run/knetlab/labs/docker-bridge')),
          'inside the instance folder',
        );
      }
    }
  }
});

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
