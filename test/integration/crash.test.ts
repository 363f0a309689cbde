// Kill the CLI with SIGKILL in the middle of `up`, then show that `down` restores a clean
// machine from the record the killed process left behind.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliAsync, isRoot, netnsWithPrefix, processesUnder, rootSnapshot, stateDir } from './helpers.js';

interface Rec {
  status: string;
  namespaces: { id: string | null }[];
  processes: { pid: number | null }[];
}

async function killWhen(state: string, prefix: string, when: (r: Rec) => boolean): Promise<Rec | null> {
  const child = cliAsync(state, ['up', 'docker-bridge', '--prefix', prefix]);
  const file = join(state, 'records', `${prefix}-docker-bridge.json`);
  const deadline = Date.now() + 20_000;
  let seen: Rec | null = null;
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      try {
        seen = JSON.parse(readFileSync(file, 'utf8')) as Rec;
      } catch {
        seen = null;
      }
      if (seen && when(seen)) break;
    }
    await new Promise((r) => setImmediate(r));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return seen;
}

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('crash');
  const before = rootSnapshot();

  const points: [string, (r: Rec) => boolean][] = [
    ['right after the namespaces exist', (r) => r.namespaces.length > 0 && r.namespaces.every((n) => n.id !== null)],
    ['after the first server started', (r) => r.processes.some((p) => p.pid !== null)],
  ];
  points.forEach(([label, when], i) => {
    t.test(`SIGKILL ${label}, then down`, async (t) => {
      const prefix = `itk${i}`;
      const seen = await killWhen(state, prefix, when);
      t.ok(seen, 'the record existed while up was running');
      t.equal(seen!.status, 'creating', 'killed mid-up');
      t.ok(netnsWithPrefix(`${prefix}-`).length > 0, 'the kill left namespaces behind');
      const r = cli(state, ['down', 'docker-bridge', '--prefix', prefix]);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stderr, new RegExp(`${prefix}-docker-bridge is down`));
      t.same(netnsWithPrefix(`${prefix}-`), [], 'no namespaces left');
      t.same(processesUnder(state), [], 'no processes left');
      t.notOk(existsSync(join(state, 'locks', `${prefix}-docker-bridge.lock`)), 'the stale lock is gone');
      t.equal(cli(state, ['up', 'docker-bridge', '--prefix', prefix]).code, 0, 'the lab comes up again afterwards');
      t.equal(cli(state, ['down', 'docker-bridge', '--prefix', prefix]).code, 0);
    });
  });

  t.test('two commands on one lab at once: one runs, the other is told why not', async (t) => {
    const a = cliAsync(state, ['up', 'docker-bridge', '--prefix', 'itc']);
    const b = cliAsync(state, ['up', 'docker-bridge', '--prefix', 'itc']);
    const result = (c: ReturnType<typeof cliAsync>) =>
      new Promise<{ code: number; err: string }>((res) => {
        let err = '';
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.on('exit', (code) => res({ code: code ?? -1, err }));
      });
    const [ra, rb] = await Promise.all([result(a), result(b)]);
    t.same([ra.code, rb.code].sort(), [0, 1], 'exactly one succeeded');
    const loser = ra.code === 1 ? ra : rb;
    t.match(loser.err, /is busy: "knetlab up docker-bridge"|is already up/);
    t.equal(cli(state, ['down', 'docker-bridge', '--prefix', 'itc']).code, 0);
    t.same(netnsWithPrefix('itc-'), []);
  });

  t.test("the machine's own namespace is unchanged", async (t) => {
    const after = rootSnapshot();
    for (const k of Object.keys(before)) t.equal(after[k], before[k], k);
  });
}
