// What node agents share (src/agent) and how they run commands (src/exec/process.ts), tested
// without root: a state file in a scratch folder, a health endpoint on a loopback port, real
// short-lived processes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_KUBE_PROXY_CONFIGURATION, type StateFile } from '../../src/api/objects.js';
import { readConfig } from '../../src/agent/config.js';
import { serveJson } from '../../src/agent/health.js';
import { watchState } from '../../src/agent/watch.js';
import { runAsync, runSync } from '../../src/exec/process.js';

const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-agent-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

const state = (generation: number): StateFile => ({
  generation,
  clusterCIDR: '10.244.0.0/16',
  serviceCIDR: '10.96.0.0/12',
  nodes: [{ name: 'node1', address: '192.168.56.11', netns: 'node1', podCIDR: '10.244.1.0/24' }],
  lbPool: [],
  kubeProxy: DEFAULT_KUBE_PROXY_CONFIGURATION,
  state: { pods: [], deployments: [], services: [], slices: [] } as unknown as StateFile['state'],
});
/** Written the way the control plane writes it: a new file renamed over the old. */
const publish = (file: string, s: StateFile) => {
  writeFileSync(`${file}.tmp`, JSON.stringify(s));
  renameSync(`${file}.tmp`, file);
};
const until = async (ok: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return ok();
};

t.test('readConfig: every key known and checked, each problem one line naming file and key', async (t) => {
  const dir = scratch();
  const file = join(dir, 'c.json');
  const fields = { node: 'name', stateFile: 'path', port: 'port', address: 'ipv4', tun: 'ifname' } as const;
  const good = { node: 'node1', stateFile: '/run/x/state.json', port: 7946, address: '192.168.56.11', tun: 'flannel0' };
  const read = (c: unknown) => {
    writeFileSync(file, typeof c === 'string' ? c : JSON.stringify(c));
    return () => readConfig(file, fields);
  };
  t.same(read(good)(), good);
  t.throws(read({ ...good, extra: 1 }), { message: `${file}: unknown key "extra" (expected node, stateFile, port, address, tun)` });
  t.throws(read({ ...good, port: undefined }), { message: `${file}: missing "port"` });
  t.throws(read({ ...good, stateFile: 'state.json' }), { message: `${file}: "stateFile" must be an absolute path` });
  t.throws(read({ ...good, port: 70000 }), { message: `${file}: "port" must be an integer 1-65535` });
  t.throws(read({ ...good, address: '192.168.56.300' }), { message: `${file}: "address" must be an IPv4 address, got "192.168.56.300"` });
  t.throws(read({ ...good, tun: 'a/b' }), { message: `${file}: "tun" must be an interface name of 1-15 characters` });
  t.throws(read({ ...good, node: '' }), { message: `${file}: "node" must be a non-empty name` });
  t.throws(read('[1]'), { message: `${file}: expected a JSON object` });
  t.throws(read('{'), /is not valid JSON/);
  t.throws(() => readConfig(join(dir, 'none.json'), fields), { message: `cannot read ${join(dir, 'none.json')}: ENOENT` });
});

t.test('watchState: syncs at once, then each new generation once; reports the synced generation', async (t) => {
  const dir = scratch();
  const file = join(dir, 'state.json');
  const syncedFile = join(dir, 'synced');
  publish(file, state(1));
  const seen: number[] = [];
  const warnings: string[] = [];
  const w = watchState({ stateFile: file, syncedFile, sync: (s) => (seen.push(s.generation), true), warn: (m) => warnings.push(m), pollMs: 50 });
  t.teardown(() => w.stop());
  t.same(seen, [1], 'the first sync happens before watchState returns');
  t.equal(w.synced(), 1);
  t.equal(readFileSync(syncedFile, 'utf8'), '1\n');
  t.ok(w.lastSynced instanceof Date);
  t.equal(w.pendingSince, null);
  publish(file, state(1)); // rewritten, same generation: nothing to do
  publish(file, state(2));
  t.ok(await until(() => w.synced() === 2), 'generation 2 synced');
  await new Promise((r) => setTimeout(r, 200));
  t.same(seen, [1, 2], 'each generation once, however many events and polls');
  t.equal(readFileSync(syncedFile, 'utf8'), '2\n');
  t.same(warnings, []);
});

t.test('watchState: a failed sync is retried, and waits are visible; an unreadable file is warned about once', async (t) => {
  const dir = scratch();
  const file = join(dir, 'state.json');
  publish(file, state(1));
  let fail = true;
  const warnings: string[] = [];
  const w = watchState({ stateFile: file, sync: () => !fail, warn: (m) => warnings.push(m), pollMs: 30 });
  t.teardown(() => w.stop());
  t.equal(w.synced(), -1, 'the first sync failed: the caller decides (kube-proxy refuses to start)');
  t.ok(w.pendingSince instanceof Date, 'a generation is waiting');
  fail = false;
  t.ok(await until(() => w.synced() === 1), 'retried on the next poll');
  t.equal(w.pendingSince, null);
  writeFileSync(file, '{ not json');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(warnings.length, 1, `one warning for one problem: ${warnings.join(' | ')}`);
  t.match(warnings[0], /is not valid JSON/);
  t.equal(w.state.generation, 1, 'the last state read is kept');
  writeFileSync(file, JSON.stringify({ generation: 3 }));
  await new Promise((r) => setTimeout(r, 100));
  t.match(warnings[1], /not a state file/, 'a JSON file without the state file shape is refused');
});

t.test('serveJson: JSON with the given status and headers; a taken port is a one-line reason', async (t) => {
  let status = 200;
  const server = await serveJson(
    0,
    (path) => ({ status, headers: { 'X-Load-Balancing-Endpoint-Weight': '1' }, body: { path } }),
    () => {},
  );
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const fetchJson = () =>
    new Promise<{ status: number; type: string; weight: string; body: unknown }>((resolve, reject) =>
      get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            type: String(res.headers['content-type']),
            weight: String(res.headers['x-load-balancing-endpoint-weight']),
            body: JSON.parse(text),
          }),
        );
      }).on('error', reject),
    );
  t.same(await fetchJson(), { status: 200, type: 'application/json', weight: '1', body: { path: '/healthz' } });
  status = 503;
  t.equal((await fetchJson()).status, 503);
  await t.rejects(
    serveJson(
      port,
      () => ({ status: 200, body: {} }),
      () => {},
    ),
    { message: new RegExp(`^cannot listen on 0\\.0\\.0\\.0:${port}: .*EADDRINUSE`) },
  );
});

t.test('exec/process: synchronous and deadline-bound runs report code and output, never throw', async (t) => {
  t.same(runSync({ file: 'sh', args: ['-c', 'cat; echo err >&2; exit 3'], input: 'in\n' }), { code: 3, stdout: 'in\n', stderr: 'err\n' });
  const missing = runSync({ file: '/nonexistent/knetlab-tool', args: [] });
  t.equal(missing.code, -1);
  t.match(missing.stderr, /ENOENT/);
  t.same(await runAsync({ file: 'sh', args: ['-c', 'cat'], input: 'x' }, 5000), { code: 0, stdout: 'x', stderr: '' });
  const t0 = Date.now();
  const slow = await runAsync({ file: 'sleep', args: ['5'] }, 200);
  t.equal(slow.code, -1, 'killed at the deadline');
  t.ok(Date.now() - t0 < 2000, 'did not wait for the command');
  t.equal((await runAsync({ file: '/nonexistent/knetlab-tool', args: [] }, 1000)).code, -1);
  // A program that exits without reading its input: the write fails (EPIPE), the run does not crash.
  t.equal((await runAsync({ file: 'true', args: [], input: 'x'.repeat(1 << 20) }, 5000)).code, 0);
});

t.test('dist/agent.js: names only agents, with a usage line otherwise', { skip: !existsSync('dist/agent.js') && 'dist/ is not built' }, async (t) => {
  for (const name of ['toString', 'nope', '']) {
    const r = spawnSync(process.execPath, ['dist/agent.js', ...(name ? [name] : [])], { encoding: 'utf8' });
    t.equal(r.status, 2, `"${name}"`);
    t.match(r.stderr, /usage: agent\.js NAME --config FILE \[--foreground\]\n  NAME: kube-proxy, controlplane, metallb-speaker, flannel-udp, coredns/);
  }
  const bad = spawnSync(process.execPath, ['dist/agent.js', 'kube-proxy', '--config', '/nonexistent/kp.json'], { encoding: 'utf8' });
  t.equal(bad.status, 1);
  t.equal(bad.stderr, 'kube-proxy: cannot read /nonexistent/kp.json: ENOENT\n', "the launcher's one-line reason, before any process exists");
});
