// knetlab tutorial on a real lab: the Markdown holds what the lab's observe commands and checks
// printed here (netns-veth's addresses, route and pings), is the steps Markdown once that output
// is taken out, and nothing is left behind after. A lab whose check fails makes a tutorial that
// says so and a non-zero exit.
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripOutputs } from '../../src/run/tutorial.js';
import { cli, isRoot, netnsEtcWithPrefix, netnsWithPrefix, processesUnder, rootSnapshot, stateDir } from './helpers.js';

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('tutorial');
  const prefix = 'tut';
  const leftovers = () => ({
    netns: netnsWithPrefix(`${prefix}-`),
    etc: netnsEtcWithPrefix(`${prefix}-`),
    records: existsSync(join(state, 'labs')) ? readdirSync(join(state, 'labs')) : [],
    processes: processesUnder(state),
  });

  t.test('netns-veth: real output under each command, the steps without it, nothing left after', async (t) => {
    const before = rootSnapshot();
    const r = cli(state, ['tutorial', 'netns-veth', '--prefix', prefix]);
    t.equal(r.code, 0, r.stderr);
    const md = r.stdout;
    // ip addr of veth-test1 as the kernel printed it: the lab's address, the peer's index, the namespace of the peer.
    t.match(md, /^\d+: veth-test1@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500/m);
    t.match(md, /^ {4}inet 192\.168\.1\.1\/24 scope global veth-test1$/m);
    t.match(md, /link-netns test2\b/, 'the peer namespace under its plain name, not the prefixed one');
    t.notMatch(md, `${prefix}-test`, 'no prefixed name anywhere');
    t.match(md, /^192\.168\.1\.0\/24 dev veth-test1 proto kernel scope link src 192\.168\.1\.1/m, 'the connected route');
    t.match(md, '64 bytes from 192.168.1.2: icmp_seq=1 ttl=64 time=N ms', "the ping's reply, its time normalised");
    t.match(md, 'ping: connect: Network is unreachable', 'the must-fail ping, as it failed');
    t.match(md, 'Checks here: 4 passed, 0 failed.');
    t.notMatch(md, /\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b(?<!ff:ff:ff:ff:ff:ff)/, 'kernel-chosen MAC addresses are normalised');
    const steps = cli(state, ['steps', 'netns-veth', '--format', 'md']);
    t.equal(stripOutputs(md), steps.stdout, 'without the output: knetlab steps netns-veth --format md');
    t.same(leftovers(), { netns: [], etc: [], records: [], processes: [] }, 'nothing left behind');
    t.same(rootSnapshot(), before, "the machine's own namespace is unchanged");
  });

  t.test('a failing check: the tutorial says FAILED, the exit status is 1, and the lab is still taken down', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'knetlab-tutorial-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const text = readFileSync('labs/netns-veth/lab.yaml', 'utf8')
      .replace('$schema=../../schema/lab.schema.json', '')
      .replace('checks:\n', 'checks:\n  - name: an address nobody has answers\n    from: test1\n    ping: 192.168.1.9\n    timeout: 1s\n');
    writeFileSync(join(dir, 'lab.yaml'), text);
    const r = cli(state, ['tutorial', join(dir, 'lab.yaml'), '--prefix', prefix]);
    t.equal(r.code, 1, r.stderr);
    t.match(r.stdout, 'Checks here: 4 passed, 1 failed.');
    t.match(r.stdout, /\*\*FAILED\*\*: unreachable: /);
    t.match(r.stdout, '1 packets transmitted, 0 received', "ping's own account of the failure");
    t.same(leftovers(), { netns: [], etc: [], records: [], processes: [] }, 'nothing left behind');
  });
}
