// Ownership rules, traced on the recording host: what is created is recorded before the next
// step; a failed up rolls back exactly what it created; down after a crash cleans up; nothing
// that is not ours is ever touched.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingHost } from '../../src/exec/recording-host.js';
import { loadLabFile } from '../../src/plan/load.js';
import { makeInstance } from '../../src/kernel/instance.js';
import { RecordStore } from '../../src/run/record.js';
import { down, up } from '../../src/run/apply.js';
import { KnetlabError } from '../../src/labfile/diagnostics.js';
import { Lock } from '../../src/run/lock.js';

const { lab } = loadLabFile('labs/docker-bridge/lab.yaml');

const roots: string[] = [];
process.on('exit', () => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function setup(prefix = '', name = lab.name) {
  const root = mkdtempSync(join(tmpdir(), 'knetlab-test-'));
  roots.push(root);
  return { host: new RecordingHost(), store: new RecordStore(root), inst: makeInstance(name, prefix, root), root };
}

t.test('up records every namespace and process; down removes exactly those', async (t) => {
  const { host, store, inst } = setup();
  const rec = await up(lab, inst, { host, store });
  t.equal(rec.status, 'up');
  t.same(
    rec.namespaces.map((n) => n.name),
    ['host', 'container1', 'container2', 'outside'],
  );
  t.ok(
    rec.namespaces.every((n) => n.id === host.netnsId(n.name)),
    'namespace identities recorded',
  );
  t.equal(rec.processes.length, 3);
  t.ok(
    rec.processes.every((p) => p.pid !== null && host.processes.has(p.pid)),
    'server PIDs recorded',
  );
  t.equal(statSync(store.path(inst.name)).mode & 0o777, 0o600, 'record is root-only');
  host.namespaces.set('bystander', '4:1');
  const report = await down(inst.name, { host, store });
  t.equal(report?.namespaces, 4);
  t.same([...host.namespaces.keys()], ['bystander'], "only the lab's namespaces were deleted");
  t.equal(host.processes.size, 0, 'servers stopped');
  t.equal(store.load(inst.name), null, 'record removed');
  t.equal(await down(inst.name, { host, store }), null, 'down is idempotent');
});

t.test('a failing step rolls back everything created so far', async (t) => {
  const { host, store, inst } = setup();
  host.failWhen = (cmd) =>
    cmd.input?.includes('route add default via 203.0.113.1')
      ? { exitCode: 2, stdout: '', stderr: 'Error: Nexthop has invalid gateway.\nCommand failed -:8', timedOut: false }
      : undefined;
  const e = await up(lab, inst, { host, store }).catch((x: unknown) => x);
  t.type(e, KnetlabError);
  t.match((e as KnetlabError).message, /step failed: 8 ip changes in host/);
  t.match((e as KnetlabError).details.join('\n'), /Nexthop has invalid gateway/);
  t.match((e as KnetlabError).details.join('\n'), />\s+8  route add default via 203\.0\.113\.1/);
  t.equal(host.namespaces.size, 0, 'namespaces rolled back');
  t.equal(store.load(inst.name), null, 'no record left');
});

t.test('a batch failure shows the payload lines around the failing one', async (t) => {
  const { host, store, inst } = setup();
  host.failWhen = (cmd) =>
    cmd.args.join(' ') === '-n container1 -batch -' ? { exitCode: 1, stdout: '', stderr: 'Error: ...\nCommand failed -:3', timedOut: false } : undefined;
  const e = (await up(lab, inst, { host, store }).catch((x: unknown) => x)) as KnetlabError;
  t.match(e.details.join('\n'), />\s+3  addr add 172\.17\.0\.2\/16 dev eth0/);
});

t.test('up refuses a namespace that exists and is not ours, before changing anything', async (t) => {
  const { host, store, inst } = setup();
  host.namespaces.set('container2', '4:99');
  const e = (await up(lab, inst, { host, store }).catch((x: unknown) => x)) as KnetlabError;
  t.match(e.message, /namespace container2 already exists and was not created by knetlab/);
  t.equal(e.exitCode, 1);
  t.same(host.commands, [], 'no command ran');
  t.same([...host.namespaces.keys()], ['container2']);
  t.equal(store.load(inst.name), null);
});

t.test('a second copy with --prefix runs beside the first; a second up of the same copy is refused', async (t) => {
  const { host, store, inst, root } = setup();
  await up(lab, inst, { host, store });
  const again = (await up(lab, inst, { host, store }).catch((x: unknown) => x)) as KnetlabError;
  t.match(again.message, /lab docker-bridge is already up/);
  const other = makeInstance(lab.name, 'ci1', root);
  await up(lab, other, { host, store });
  t.ok(host.namespaces.has('ci1-container1'));
  await down(inst.name, { host, store });
  t.same([...host.namespaces.keys()].sort(), ['ci1-container1', 'ci1-container2', 'ci1-host', 'ci1-outside']);
  await down(other.name, { host, store });
  t.equal(host.namespaces.size, 0);
});

// A plain topology, and a cluster with Services (CNI wiring, kube-proxy, the prober, MetalLB).
for (const killed of [lab, loadLabFile('labs/service-loadbalancer/lab.yaml').lab])
  t.test(`${killed.name}: the record is written before each next step: a kill at any point leaves a record that down can finish`, async (t) => {
    // Count the commands of a full up, then "kill" the CLI just before each one in turn: freeze the
    // machine and the record as they are at that instant, and let down clean up from there.
    const probe = setup('', killed.name);
    await up(killed, probe.inst, { host: probe.host, store: probe.store });
    const total = probe.host.commands.length;
    for (let killAt = 0; killAt < total; killAt++) {
      const { host, store, inst } = setup('', killed.name);
      let n = 0;
      let frozen: { record: string | null; namespaces: Map<string, string>; processes: typeof host.processes; files: Map<string, string> } | null = null;
      host.beforeRun = () => {
        if (n++ !== killAt) return;
        frozen = {
          record: existsSync(store.path(inst.name)) ? readFileSync(store.path(inst.name), 'utf8') : null,
          namespaces: new Map(host.namespaces),
          processes: new Map(host.processes),
          files: new Map(host.files),
        };
        throw new Error('killed');
      };
      await up(killed, inst, { host, store }).catch(() => {});
      host.beforeRun = () => {};
      const f = frozen!;
      for (const [k, m] of [
        [host.namespaces, f.namespaces],
        [host.processes, f.processes],
        [host.files, f.files],
      ] as const) {
        (k as Map<unknown, unknown>).clear();
        for (const [a, b] of m as Map<unknown, unknown>) (k as Map<unknown, unknown>).set(a, b);
      }
      if (f.record !== null) writeFileSync(store.path(inst.name), f.record);
      t.ok(f.record !== null, `the record exists before command ${killAt} runs`);
      await down(inst.name, { host, store });
      t.equal(host.namespaces.size, 0, `no namespaces left after a kill before command ${killAt}`);
      t.equal(host.processes.size, 0, `no processes left after a kill before command ${killAt}`);
      t.equal(store.load(inst.name), null);
    }
  });

t.test('down after a SIGKILL: a stale lock is taken over, recorded namespaces and PIDs are removed', async (t) => {
  const { host, store, inst, root } = setup();
  await up(lab, inst, { host, store });
  const rec = store.load(inst.name)!;
  rec.status = 'creating';
  store.save(rec);
  // A lock left by a process that no longer exists.
  writeFileSync(join(root, 'locks', `${inst.name}.lock`), JSON.stringify({ pid: 999999, start: 'x', command: 'up docker-bridge' }));
  const report = await down(inst.name, { host, store });
  t.equal(report?.namespaces, 4);
  t.equal(host.namespaces.size, 0);
  t.equal(host.processes.size, 0);
  t.notOk(existsSync(join(root, 'locks', `${inst.name}.lock`)));
});

t.test('a live lock makes the second command fail with a clear message', async (t) => {
  const { host, store, inst, root } = setup();
  store.ensure();
  const lock = Lock.acquire(root, inst.name, host, 'up docker-bridge');
  const e = (await down(inst.name, { host, store }).catch((x: unknown) => x)) as KnetlabError;
  t.match(e.message, /lab docker-bridge is busy: "knetlab up docker-bridge" \(pid \d+\) is changing it/);
  lock.release();
});

t.test('a PID that now belongs to another process is left alone', async (t) => {
  const { host, store, inst } = setup();
  const rec = await up(lab, inst, { host, store });
  const p = rec.processes[0]!;
  // The server died and its PID was reused by something else.
  host.processes.set(p.pid!, { netns: 'elsewhere', start: 'other' });
  const report = await down(inst.name, { host, store });
  t.match(report!.skipped.join('\n'), new RegExp(`pid ${p.pid} is no longer the nginx knetlab started`));
  t.ok(host.processes.has(p.pid!), 'the stranger still runs');
});

t.test('a namespace replaced by someone else since up is left alone', async (t) => {
  const { host, store, inst } = setup();
  await up(lab, inst, { host, store });
  host.namespaces.set('outside', '4:424242');
  const report = await down(inst.name, { host, store });
  t.match(report!.skipped.join('\n'), /namespace outside was replaced/);
  t.ok(host.namespaces.has('outside'));
});

t.test('missing tools are named with their package before anything runs', async (t) => {
  const { store, inst } = setup();
  const host = new RecordingHost(['nginx', 'curl']);
  const e = (await up(lab, inst, { host, store }).catch((x: unknown) => x)) as KnetlabError;
  t.match(e.message, /missing nginx, curl/);
  t.match(e.details.join('\n'), /apt-get install nginx-light curl/);
  t.same(host.commands, []);
});

t.test("UDP echo servers need nginx's stream module, a file Debian packages apart; sctp checks need socat", async (t) => {
  const udp = loadLabFile('labs/service-udp/lab.yaml').lab;
  const { store, inst } = setup('', udp.name);
  const host = new RecordingHost(['/usr/lib/nginx/modules/ngx_stream_module.so', 'socat']);
  const e = (await up(udp, inst, { host, store }).catch((x: unknown) => x)) as KnetlabError;
  t.match(e.message, /missing \/usr\/lib\/nginx\/modules\/ngx_stream_module\.so, socat/);
  t.match(e.details.join('\n'), /apt-get install libnginx-mod-stream socat/);
  t.same(host.commands, []);
  // A lab without UDP ports or sctp checks needs neither.
  const other = setup();
  const rec = await up(lab, other.inst, { host, store: other.store });
  t.equal(rec.status, 'up');
});

t.test('CNI ADDs are recorded as DELs to run on down, before the namespaces go; daemons are recorded like servers', async (t) => {
  const cni = loadLabFile('labs/cni-plugins/lab.yaml').lab;
  const root = mkdtempSync(join(tmpdir(), 'knetlab-test-'));
  roots.push(root);
  const host = new RecordingHost();
  const store = new RecordStore(root);
  const inst = makeInstance(cni.name, '', root);
  const rec = await up(cni, inst, { host, store });
  t.equal(rec.cleanups?.length, 4, 'one DEL per ADD (loopback and bridge, two pods)');
  host.commands.length = 0;
  await down(inst.name, { host, store });
  const dels = host.commands.findIndex((c) => c.args.includes('CNI_COMMAND=DEL'));
  const netnsDel = host.commands.findIndex((c) => c.file === 'ip' && c.args.includes('-force'));
  t.ok(dels >= 0 && dels < netnsDel, 'DEL runs before the namespaces are deleted');
  t.same(
    host.commands.filter((c) => c.args.includes('CNI_COMMAND=DEL')).map((c) => `${c.args.at(-1)} ${c.args.find((a) => a.startsWith('CNI_NETNS'))}`),
    [
      '/usr/lib/cni/bridge CNI_NETNS=/run/netns/pod2',
      '/usr/lib/cni/loopback CNI_NETNS=/run/netns/pod2',
      '/usr/lib/cni/bridge CNI_NETNS=/run/netns/pod1',
      '/usr/lib/cni/loopback CNI_NETNS=/run/netns/pod1',
    ],
    'newest first',
  );

  const bgp = loadLabFile('labs/calico-bgp/lab.yaml').lab;
  const inst2 = makeInstance(bgp.name, '', root);
  const rec2 = await up(bgp, inst2, { host, store });
  t.same(
    rec2.processes.filter((p) => p.name === 'bird').map((p) => [p.netns, p.pid !== null]),
    [
      ['node1', true],
      ['node2', true],
      ['node3', true],
    ],
    'every BIRD is recorded with its PID',
  );
  await down(inst2.name, { host, store });
  t.equal(host.processes.size, 0, 'and stopped on down');
});
