// knetlab trace on running labs, with real packets and the kernel's own trace events: the
// KUBE-SEP chain the trace names is the one whose pod answered; a pod-to-pod trace in
// flannel-vxlan shows the VXLAN hop on the underlay; a trace killed with SIGTERM in the middle
// removes its tables and leaves no monitor running.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceReport } from '../../src/run/trace.js';
import { cli, cliAsync, isRoot, netnsWithPrefix, processesUnder, stateDir } from './helpers.js';

/** What `knetlab trace --json` prints. */
type Report = TraceReport;

/** Every namespace of ours that still holds a trace table. */
function traceTablesLeft(prefix: string): string[] {
  return netnsWithPrefix(prefix).filter((ns) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables'], { encoding: 'utf8' });
    return r.stdout.includes('knetlab-trace');
  });
}

/** `nft monitor trace` processes inside our namespaces. */
function monitorsLeft(prefix: string): string[] {
  const out: string[] = [];
  for (const ns of netnsWithPrefix(prefix)) {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        const cmd = execFileSync('cat', [`/proc/${pid}/cmdline`], { encoding: 'utf8' }).replace(/\0/g, ' ');
        if (cmd.includes('monitor trace')) out.push(`${ns}: ${pid} ${cmd}`);
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('trace');

  t.test('service-clusterip: the KUBE-SEP chain chosen and the pod that answered agree', async (t) => {
    const prefix = 'trc';
    const up = cli(state, ['up', 'service-clusterip', '--prefix', prefix]);
    t.equal(up.code, 0, up.stderr);
    t.teardown(() => void cli(state, ['down', 'service-clusterip', '--prefix', prefix]));
    const seps = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = cli(state, ['trace', 'service-clusterip', '--prefix', prefix, '--from', 'client', '--to', 'http://10.98.254.54:8080/', '--json']);
      t.equal(r.code, 0, r.stderr);
      const rep = JSON.parse(r.stdout) as Report;
      t.ok(rep.probe.ok, rep.probe.saw);
      const k = rep.kubeProxy!;
      t.match(k.service, /^KUBE-SVC-[A-Z0-9]{16}$/);
      t.match(k.endpointChain, /^KUBE-SEP-[A-Z0-9]{16}$/);
      t.match(k.dnatTo, /^10\.244\.\d+\.\d+:80$/);
      t.equal(k.agree, true, `${k.endpointChain} DNAT to ${k.dnatTo}, delivered to ${k.deliveredTo}, answered by ${k.answeredBy}`);
      t.ok(k.answeredBy?.startsWith(k.deliveredTo!), 'the pod that answered is the namespace the request was delivered in');
      t.ok(k.answeredBy?.includes(`(${k.dnatTo!.split(':')[0]})`), 'and its address is the DNAT target');
      t.equal(rep.request[0]!.namespace, 'client');
      t.equal(rep.request.at(-1)!.fate, 'delivered');
      t.equal(rep.request.at(-1)!.arrived.dst, k.dnatTo!.split(':')[0]);
      t.ok(
        rep.conntrack.some((c) => c.dnat === `10.98.254.54:8080 → ${k.dnatTo}`),
        'conntrack on the client node holds the DNAT',
      );
      t.equal(rep.reply.at(-1)?.namespace, 'client', 'the reply is delivered back in the client');
      seps.add(k.endpointChain!);
      t.same(traceTablesLeft(prefix), [], 'no trace table left');
    }
    t.comment(`endpoint chains chosen in 4 traces: ${[...seps].join(', ')}`);
    const text = cli(state, ['trace', 'service-clusterip', '--prefix', prefix, '--from', 'client', '--to', 'http://10.98.254.54:8080/']);
    t.match(text.stdout, /KUBE-SERVICES → KUBE-SVC-\S+ → KUBE-SEP-\S+ → DNAT to 10\.244\.\d+\.\d+:80/);
    t.match(text.stdout, /they agree/);
  });

  t.test('service-nodeport: a NodePort request masqueraded with --random-fully is followed to the pod and back', async (t) => {
    const prefix = 'trn';
    const up = cli(state, ['up', 'service-nodeport', '--prefix', prefix]);
    t.equal(up.code, 0, up.stderr);
    t.teardown(() => void cli(state, ['down', 'service-nodeport', '--prefix', prefix]));
    // node3 has no web pod: it DNATs to a pod on node1 or node2 and masquerades, which picks a
    // new source port: the trace follows the request past that by its DSCP mark.
    const r = cli(state, ['trace', 'service-nodeport', '--prefix', prefix, '--from', 'client', '--to', 'http://192.168.56.13:31234/', '--json']);
    t.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    t.ok(rep.probe.ok, rep.probe.saw);
    const snat = rep.conntrack.find((c) => c.namespace === 'node3' && c.snat !== null);
    t.ok(snat, 'node3 masqueraded the request (SNAT in its conntrack entry)');
    const last = rep.request.at(-1)!;
    t.equal(last.fate, 'delivered', `delivered in ${last.namespace}`);
    t.match(last.namespace, /^web-[12]$/);
    t.equal(last.arrived.src, '10.244.3.0', "the pod sees node3's flannel.1 address");
    t.equal(rep.reply.at(-1)?.namespace, 'client', 'the reply is followed back to the client');
    t.same(rep.notes, [], 'nothing was lost from view');
    t.same(traceTablesLeft(prefix), [], 'no trace table left');
  });

  t.test('flannel-vxlan: pod to pod across nodes shows the VXLAN hop', async (t) => {
    const prefix = 'trv';
    const up = cli(state, ['up', 'flannel-vxlan', '--prefix', prefix]);
    t.equal(up.code, 0, up.stderr);
    t.teardown(() => void cli(state, ['down', 'flannel-vxlan', '--prefix', prefix]));
    const r = cli(state, ['trace', 'flannel-vxlan', '--prefix', prefix, '--from', 'pod1', '--ping', '10.244.2.2', '--json']);
    t.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    t.same(
      rep.request.map((h) => [h.namespace, h.fate]),
      [
        ['pod1', 'sent'],
        ['node1', 'forwarded'],
        ['node2', 'forwarded'],
        ['pod3', 'delivered'],
      ],
    );
    const vx = rep.request[1]!;
    t.equal(vx.out, 'flannel.1');
    t.match(vx.device, { kind: 'vxlan', vni: 1 });
    t.match(vx.encapsulation, { kind: 'vxlan', vni: 1, outer: /^192\.168\.56\.11:\d+ > 192\.168\.56\.12:8472$/ });
    t.same(
      rep.reply.map((h) => h.namespace),
      ['pod3', 'node2', 'node1', 'pod1'],
    );
    t.same(traceTablesLeft(prefix), []);
  });

  t.test('SIGTERM in the middle of a trace: tables removed, monitors gone, record clean, exit 143', async (t) => {
    const prefix = 'trk';
    const up = cli(state, ['up', 'flannel-vxlan', '--prefix', prefix]);
    t.equal(up.code, 0, up.stderr);
    t.teardown(() => void cli(state, ['down', 'flannel-vxlan', '--prefix', prefix]));
    // A ping that is never answered keeps the trace busy for its 3 s wait.
    const child = cliAsync(state, ['trace', 'flannel-vxlan', '--prefix', prefix, '--from', 'pod1', '--ping', '10.244.99.99']);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const t0 = Date.now();
    while (traceTablesLeft(prefix).length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    t.ok(traceTablesLeft(prefix).length > 0, 'the trace tables existed');
    await new Promise((r) => setTimeout(r, 600));
    child.kill('SIGTERM');
    const code = await exited;
    t.equal(code, 143, stderr);
    t.match(stderr, /trace interrupted \(SIGTERM\)/);
    t.same(traceTablesLeft(prefix), [], 'no trace table left');
    t.same(monitorsLeft(prefix), [], 'no nft monitor left');
    const rec = JSON.parse(execFileSync('cat', [`${state}/records/${prefix}-flannel-vxlan.json`], { encoding: 'utf8' })) as { cleanups?: { args: string[] }[] };
    t.same(rec.cleanups ?? [], [], 'the record names no trace table any more');
    // The lab is still there and traces again.
    const again = cli(state, ['trace', 'flannel-vxlan', '--prefix', prefix, '--from', 'pod1', '--ping', '10.244.2.2', '--json']);
    t.equal(again.code, 0, again.stderr);
  });

  t.test('SIGKILL: the record still names the tables, and down removes everything', async (t) => {
    const prefix = 'trz';
    const up = cli(state, ['up', 'flannel-vxlan', '--prefix', prefix]);
    t.equal(up.code, 0, up.stderr);
    const child = cliAsync(state, ['trace', 'flannel-vxlan', '--prefix', prefix, '--from', 'pod1', '--ping', '10.244.99.99']);
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    const t0 = Date.now();
    while (traceTablesLeft(prefix).length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await exited;
    const rec = JSON.parse(execFileSync('cat', [`${state}/records/${prefix}-flannel-vxlan.json`], { encoding: 'utf8' })) as { cleanups?: { input?: string }[] };
    t.ok(
      (rec.cleanups ?? []).some((c) => c.input?.includes('delete table ip knetlab-trace')),
      'the record names the trace tables',
    );
    const down = cli(state, ['down', 'flannel-vxlan', '--prefix', prefix]);
    t.equal(down.code, 0, down.stderr);
    t.same(netnsWithPrefix(`${prefix}-`), []);
    t.same(processesUnder(state), []);
  });

  t.test("netfilter-hooks: a trace check expecting the seed's order at INPUT fails, naming the step", async (t) => {
    // The kernel's order at INPUT (iptables' nf_tables backend) is mangle, filter, nat, security;
    // the same lab expecting security before nat must fail, with the walk and a diff.
    const dir = mkdtempSync(join(tmpdir(), 'knetlab-hooks-'));
    const text = readFileSync('labs/netfilter-hooks/lab.yaml', 'utf8').replace(
      'INPUT mangle, INPUT filter, INPUT nat, INPUT security]',
      'INPUT mangle, INPUT filter, INPUT security, INPUT nat]',
    );
    writeFileSync(join(dir, 'lab.yaml'), text.replace('$schema=../../schema/lab.schema.json', ''));
    const prefix = 'trh';
    t.teardown(() => {
      cli(state, ['down', 'netfilter-hooks', '--prefix', prefix]);
      rmSync(dir, { recursive: true, force: true });
    });
    const r = cli(state, ['run', join(dir, 'lab.yaml'), '--prefix', prefix]);
    t.equal(r.code, 1, r.stdout + r.stderr);
    t.match(r.stdout, /FAIL netfilter-hooks: a packet for the router itself meets PREROUTING then INPUT there/);
    t.match(r.stdout, /router: the walk differs from step 6\n\s+expected\s+met\n(.*\n){5}\s+6 INPUT security\s+≠ INPUT nat\n\s+7 INPUT nat\s+≠ INPUT security/);
    t.match(r.stdout, /\n6 passed, 1 failed\n/, 'only the changed check fails');
    t.same(traceTablesLeft(`${prefix}-`), [], 'no trace table left');
    t.same(netnsWithPrefix(`${prefix}-`), []);
  });
}
