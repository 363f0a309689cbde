// Invalid input exits 2, says where and why, and creates nothing.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, isRoot, stateDir } from './helpers.js';

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('invalid');
  // Other test files run beside this one with their own prefixes ("it…-", "fu-", "cb-"); ignore theirs.
  const netns = () =>
    existsSync('/run/netns')
      ? readdirSync('/run/netns')
          .filter((n) => !/^(it[a-z0-9]*|fu|cb)-/.test(n))
          .sort()
      : [];
  const netnsBefore = netns();
  const dir = 'test/fixtures/invalid';
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.yaml'))
    .sort()) {
    t.test(`up ${f}`, async (t) => {
      const r = cli(state, ['up', join(dir, f)]);
      t.equal(r.code, 2, r.stderr);
      t.match(r.stderr, new RegExp(`${dir}/${f.replace('.', '\\.')}:\\d+:\\d+  error  `));
      t.equal(r.stdout, '');
      const count = /^# errors: (\d+)$/m.exec(readFileSync(join(dir, f), 'utf8'))?.[1];
      if (count !== undefined) t.equal(r.stderr.match(/:\d+:\d+  error  /g)?.length, Number(count), r.stderr);
    });
  }
  t.test('usage errors exit 2', async (t) => {
    t.equal(cli(state, ['up', 'no-such-lab']).code, 2);
    t.match(cli(state, ['up', 'no-such-lab']).stderr, /no lab named "no-such-lab"/);
    t.equal(cli(state, ['up', 'netns-veth', '--prefix', 'Bad;Prefix']).code, 2);
    t.equal(cli(state, ['frobnicate']).code, 2);
    t.equal(cli(state, ['down']).code, 2);
  });
  t.test('nothing was created', async (t) => {
    t.same(netns(), netnsBefore, 'no namespaces');
    t.same(existsSync(join(state, 'records')) ? readdirSync(join(state, 'records')) : [], [], 'no records');
  });
}
