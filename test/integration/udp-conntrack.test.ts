// kube-proxy's UDP conntrack cleanup, proven by its absence. labs.test.ts runs service-udp as
// shipped: after web-1 leaves the endpoints, the flow from the client's port 40000 is deleted and
// the next datagram reaches web-2. Here the same lab comes up with kube-proxy finding a
// `conntrack` on its PATH that deletes nothing (it answers as conntrack does when nothing
// matched), and the lab's own checks run against it: the flow to web-1 stays, and the client's
// datagrams from port 40000 keep going to web-1, which is no longer an endpoint. No switch in
// knetlab itself: only the environment kube-proxy inherits from `up` differs.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cli, isRoot, netnsWithPrefix, processesUnder, stateDir } from './helpers.js';

const P = 'itu';
const LAB = 'service-udp';

interface Verified {
  checks: { name: string; passed: boolean; skipped: string | null; saw: string }[];
  passed: number;
  failed: number;
  skipped: number;
}

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('udp-conntrack');
  const shim = mkdtempSync(join(tmpdir(), 'knetlab-no-cleanup-'));
  t.teardown(() => {
    cli(state, ['down', LAB, '--prefix', P]);
    rmSync(shim, { recursive: true, force: true });
  });

  t.test('without the cleanup, datagrams from one source port keep going to the endpoint that left', async (t) => {
    // Deletions (kube-proxy's cleanup) do nothing; anything else (knetlab's probe that the kernel
    // has conntrack at all) is the real conntrack.
    const real = execFileSync('sh', ['-c', 'command -v conntrack'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(shim, 'conntrack'),
      `#!/bin/sh\nif [ "$1" = -D ]; then echo "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted." >&2; exit 1; fi\nexec ${real} "$@"\n`,
    );
    chmodSync(join(shim, 'conntrack'), 0o755);
    const up = spawnSync(process.execPath, [BIN, 'up', LAB, '--prefix', P], {
      env: { ...process.env, KNETLAB_STATE_DIR: state, PATH: `${shim}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
      encoding: 'utf8',
      timeout: 120_000,
    });
    t.equal(up.status, 0, up.stderr);

    // The lab's checks, run by a verify with the real conntrack.
    const r = cli(state, ['verify', LAB, '--prefix', P, '--json']);
    t.equal(r.code, 1, 'the run fails');
    const v = JSON.parse(r.stdout) as Verified;
    const failed = v.checks.filter((c) => !c.passed && !c.skipped);
    t.same(
      failed.map((c) => c.name),
      [
        'kube-proxy deleted the flow to web-1 (seconds after its last datagram, so it did not expire)',
        'the next datagram from port 40000 is a new flow, answered by web-2',
        'node3 now tracks the flow from port 40000 DNATed to web-2',
      ],
      'exactly the checks of the cleanup fail',
    );
    t.match(failed[0]!.saw, /^udp 10\.244\.3\.2:40000 → 10\.96\.53\.1:5353, DNATed to 10\.244\.1\.2:5353/, 'the flow to web-1 is still there');
    t.match(failed[1]!.saw, /"pod":"web-1"/, 'and the datagram went to web-1');
    t.comment(`without the cleanup: ${failed.map((c) => `${c.name}: ${c.saw}`).join(' | ')}`);

    // Still so now, well after web-1 left (up to 30 s unanswered, 120 s once assured).
    const sent = execFileSync('ip', ['netns', 'exec', `${P}-client`, 'nc', '-u', '-W', '1', '-w', '1', '-p', '40000', '10.96.53.1', '5353'], {
      input: 'knetlab\n',
      encoding: 'utf8',
    });
    t.match(sent, /"pod":"web-1"/);
    const flows = execFileSync('ip', ['netns', 'exec', `${P}-node3`, 'conntrack', '-L', '-p', 'udp', '--orig-dst', '10.96.53.1'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    t.match(flows, /sport=40000 dport=5353 src=10\.244\.1\.2 /);
    const log = readFileSync(join(state, 'labs', `${P}-${LAB}`, 'cluster', 'kube-proxy-node3.log'), 'utf8');
    t.notMatch(log, /stale flow entries deleted/, 'kube-proxy deleted nothing');
  });

  t.test('down leaves nothing', async (t) => {
    t.equal(cli(state, ['down', LAB, '--prefix', P]).code, 0);
    t.same(netnsWithPrefix(`${P}-`), []);
    t.same(processesUnder(state), []);
  });
}
