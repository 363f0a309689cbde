// The agent runtime's start and stop, the classic daemon way, with a stand-in agent
// (test/fixtures/agent/fake-agent.ts, compiled for the run): the start command returns once the
// agent is ready and its pidfile holds the PID that serves; a failure is one line and leaves no
// process; SIGTERM stops it cleanly and it removes only its own pidfile.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const dir = mkdtempSync(join(tmpdir(), 'knetlab-runtime-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const entry = join(dir, 'fake-agent.mjs');
await build({
  entryPoints: [resolve('test/fixtures/agent/fake-agent.ts')],
  bundle: true,
  format: 'esm',
  platform: 'node',
  outfile: entry,
  logLevel: 'warning',
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = async (ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  return ok();
};
const start = (behave: string) => {
  const files = { behave, pidfile: join(dir, `${behave}.pid`), log: join(dir, `${behave}.log`) };
  const config = join(dir, `${behave}.json`);
  writeFileSync(config, JSON.stringify(files));
  const r = spawnSync(process.execPath, [entry, 'kube-proxy', '--config', config], { encoding: 'utf8', timeout: 30_000 });
  return { ...r, ...files };
};

t.test('ready: exit 0 once the pidfile names the serving process; SIGTERM stops it and removes the pidfile', async (t) => {
  const r = start('ok');
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr, '');
  const pid = Number(readFileSync(r.pidfile, 'utf8'));
  t.ok(alive(pid), `pid ${pid} runs after the start command returned`);
  t.ok(await until(() => existsSync(`${r.pidfile}.ran`)), 'run() was called once ready');
  t.same(
    readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1, -1),
    [entry, 'kube-proxy', '--config', join(dir, 'ok.json'), '--foreground', '--ready-fd', '3'],
    'relaunched from the same entry, in the foreground',
  );
  process.kill(pid, 'SIGTERM');
  t.ok(await until(() => !alive(pid)), 'gone after SIGTERM');
  t.equal(readFileSync(`${r.pidfile}.stopped`, 'utf8'), 'exiting on SIGTERM\n', 'stop() was told why');
  t.notOk(existsSync(r.pidfile), 'its own pidfile removed');
});

t.test("a start failure is the agent's own one-line reason, exit 1, and nothing left running", async (t) => {
  const r = start('fail');
  t.equal(r.status, 1);
  t.equal(r.stderr, 'fake-agent: cannot bind UDP 192.0.2.1:7946: EADDRNOTAVAIL\n');
  t.notOk(existsSync(r.pidfile), 'no pidfile');
  t.match(readFileSync(r.log, 'utf8'), /^E\d{4} [\d:.]+ +\d+ fake-agent\] cannot bind UDP 192\.0\.2\.1:7946: EADDRNOTAVAIL$/m, 'klog line in the log');
});

t.test('an agent that dies before it is ready is reported with where to look', async (t) => {
  const r = start('exit');
  t.equal(r.status, 1);
  t.equal(r.stderr, `fake-agent: the daemon exited before it was ready (see ${r.log})\n`);
  t.notOk(existsSync(r.pidfile));
});

t.test('a bad config is refused before any process exists', async (t) => {
  const config = join(dir, 'bad.json');
  writeFileSync(config, JSON.stringify({ behave: 'ok', pidfile: 'relative.pid', log: join(dir, 'bad.log') }));
  const r = spawnSync(process.execPath, [entry, 'kube-proxy', '--config', config], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.equal(r.stderr, `fake-agent: ${config}: "pidfile" must be an absolute path\n`);
  t.notOk(existsSync(join(dir, 'bad.log')), 'not even a log was opened');
  const usage = spawnSync(process.execPath, [entry, 'kube-proxy', '--bogus'], { encoding: 'utf8' });
  t.equal(usage.status, 2);
  t.equal(usage.stderr, 'usage: agent.js kube-proxy --config FILE [--foreground]\n');
});
