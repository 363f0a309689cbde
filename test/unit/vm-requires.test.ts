// What a lab needs of the kernel, read off its plan: the VM runner's tests and `knetlab run`'s
// refusal depend on it.
import t from 'tap';
import { basename, dirname } from 'node:path';
import { loadLabFile } from '../../src/plan/load.js';
import { commandFeatures, labKernelFeatures } from '../../src/plan/requires.js';
import { shippedLabs } from '../../src/run/labs.js';
import { KERNEL_FEATURES } from '../../src/kernel/features.js';

const needs = (lab: string) => labKernelFeatures(loadLabFile(`labs/${lab}/lab.yaml`).lab);

t.test('a lab needs what its plan creates', async (t) => {
  t.same(needs('netns-veth'), ['veth']);
  t.same(needs('docker-bridge'), ['veth', 'bridge', 'iptables nat']);
  t.ok(needs('flannel-udp').includes('tun'), 'flannel udp: the tun device flanneld reads');
  t.ok(needs('flannel-vxlan').includes('vxlan'));
  t.notOk(needs('flannel-host-gw').includes('vxlan'), 'host-gw: routes, no tunnel');
  t.ok(needs('netfilter-hooks').includes('nftables'));
  t.ok(needs('netfilter-hooks').includes('ipset'));
  // kube-proxy's iptables mode declares what it needs (components/kube-proxy): its NAT and conntrack.
  for (const f of ['iptables nat', 'conntrack'] as const) t.ok(needs('service-clusterip').includes(f), `service-clusterip needs ${f}`);
  t.notOk(needs('service-udp').includes('sctp'), 'an sctp check is skipped without SCTP, not a reason to refuse the lab');
});

t.test('commands name the modules behind them', async (t) => {
  t.same(commandFeatures({ file: 'ip', args: ['netns', 'exec', 'n1', 'ipvsadm', '-R'], input: '-A -t 10.96.0.1:443 -s rr\n' }), ['ip_vs']);
  t.same(commandFeatures({ file: 'ip', args: ['-n', 'n1', 'link', 'add', 'kube-ipvs0', 'type', 'dummy'] }), ['dummy']);
  t.same(commandFeatures({ file: 'ip', args: ['-n', 'n1', '-batch', '-'], input: 'link add tunl0 type ipip remote any\naddr add 10.0.0.1/32 dev tunl0\n' }), [
    'ipip',
  ]);
  t.same(commandFeatures({ file: 'ip', args: ['netns', 'exec', 'n1', 'ipset', 'restore'], input: 'create KUBE-CLUSTER-IP hash:ip,port\n' }), ['ipset']);
  t.same(commandFeatures({ file: 'ip', args: ['netns', 'exec', 'n1', 'iptables-restore', '--noflush'], input: '*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n' }), [
    'iptables nat',
  ]);
  t.same(commandFeatures({ file: 'ip', args: ['netns', 'exec', 'n1', 'iptables-restore', '--noflush'], input: '*filter\nCOMMIT\n' }), []);
  t.same(commandFeatures({ file: 'ip', args: ['-n', 'n1', 'addr', 'add', '10.0.0.1/24', 'dev', 'eth0'] }), []);
});

t.test('every shipped lab has an answer, in features.ts order', async (t) => {
  for (const file of shippedLabs()) {
    const got = labKernelFeatures(loadLabFile(file).lab);
    t.ok(got.includes('veth'), `${basename(dirname(file))} needs veth at least`);
    t.same(
      got,
      KERNEL_FEATURES.filter((f) => got.includes(f)),
      'ordered',
    );
  }
});
