// Golden tutorials: `knetlab steps LAB` for every shipped lab, byte for byte. A change to a
// planner shows up here as a readable diff of shell commands. Refresh on purpose with
//   KNETLAB_UPDATE_GOLDEN=1 npx tap test/unit/golden.test.ts
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadLabFile } from '../../src/plan/load.js';
import { makeInstance, DEFAULT_STATE_ROOT } from '../../src/kernel/instance.js';
import { shippedLabs } from '../../src/run/labs.js';
import { renderMarkdown, renderScript } from '../../src/run/tutorial.js';
import { agentEntry, knetlabEntry } from '../../src/exec/install.js';

/** Kubernetes objects are stamped with this time, so their uids and timestamps repeat. */
const NOW = '2026-01-01T00:00:00Z';

const update = process.env.KNETLAB_UPDATE_GOLDEN === '1';

for (const file of shippedLabs()) {
  const name = basename(dirname(file));
  t.test(name, async (t) => {
    const { lab } = loadLabFile(file, undefined, NOW);
    const inst = makeInstance(lab.name, '', DEFAULT_STATE_ROOT);
    // The agents' path depends on where knetlab is installed; golden files show a placeholder.
    const portable = (text: string) => text.replaceAll(agentEntry(), '<knetlab>/dist/agent.js').replaceAll(knetlabEntry(), '<knetlab>/bin/knetlab.js');
    for (const [ext, text] of [
      ['sh', portable(renderScript(lab, inst))],
      ['md', portable(renderMarkdown(lab, inst))],
    ] as const) {
      const golden = join('test/golden', `${name}.${ext}`);
      if (update) writeFileSync(golden, text);
      t.ok(existsSync(golden), `${golden} exists (create it with KNETLAB_UPDATE_GOLDEN=1)`);
      t.equal(text, existsSync(golden) ? readFileSync(golden, 'utf8') : '', `${golden} is current`);
    }
  });
}

t.test("netns-veth prints essentially the seed's commands (004 §3)", async (t) => {
  const { lab } = loadLabFile('labs/netns-veth/lab.yaml');
  const script = renderScript(lab, makeInstance(lab.name, '', DEFAULT_STATE_ROOT));
  // Seed: ip netns add test1 / test2; a veth pair veth-test1/veth-test2; addresses; up; ping.
  for (const line of [
    'ip netns add test1',
    'ip netns add test2',
    'ip -n test1 link add veth-test1 type veth peer name veth-test2 netns test2',
    'addr add 192.168.1.1/24 dev veth-test1',
    'addr add 192.168.1.2/24 dev veth-test2',
    'link set veth-test1 up',
    'link set veth-test2 up',
    'ip netns exec test1 ping -n -c 1 -W 1 192.168.1.2',
  ]) {
    t.ok(script.split('\n').includes(line), line);
  }
  t.ok(
    script.indexOf('ip netns add test1') < script.indexOf('link add veth-test1') &&
      script.indexOf('link add veth-test1') < script.indexOf('addr add 192.168.1.1/24'),
    "in the seed's order",
  );
});

t.test('--prefix renames namespaces only, never interfaces', async (t) => {
  const { lab } = loadLabFile('labs/netns-veth/lab.yaml');
  const script = renderScript(lab, makeInstance(lab.name, 'ci1', DEFAULT_STATE_ROOT));
  t.ok(script.includes('ip -n ci1-test1 link add veth-test1 type veth peer name veth-test2 netns ci1-test2'));
  t.notOk(/ip netns add test1$/m.test(script));
});
