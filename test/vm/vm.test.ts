// The kernel VM runner, for real: one boot of the stock Debian kernel under qemu proves that the
// command's exit status, stdout and stderr come back, that the modules this machine may lack
// (dummy, ipip, ip_vs) autoload in a fresh namespace, that br_netfilter is loaded, and that
// nothing is left here afterwards. A second, one-second run proves --timeout stops the VM.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, vmAvailability } from '../../src/exec/vm.js';
import { cliAsync, isRoot, netnsWithPrefix, rootSnapshot, stateDir, type CliResult } from '../integration/helpers.js';

const missing = vmAvailability().missing;
if (!isRoot) t.skip('integration tests need root (run: sudo npm test)');
else if (missing.length) t.skip(`the kernel VM runner cannot start here (${missing.join('; ')}); sudo bash scripts/setup.sh sets it up`);
else {
  const state = stateDir('vm');
  const before = rootSnapshot();
  // Other runs of the VM runner may be going on beside this test: only the ones it started count,
  // known by their runner's PID (an io folder is runs/PID-RANDOM, qemu's arguments name it).
  const pids: number[] = [];
  const vm = (args: string[], timeoutMs: number): Promise<CliResult> =>
    new Promise((resolve) => {
      const child = cliAsync(state, ['vm', ...args]);
      pids.push(child.pid!);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c));
      child.stderr!.on('data', (c: Buffer) => (stderr += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  const ours = (name: string) => pids.some((p) => name.startsWith(`${p}-`));
  const runs = () => (existsSync(join(cacheDir(), 'runs')) ? readdirSync(join(cacheDir(), 'runs')).filter(ours) : []);
  const qemus = () =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          const m = /\/runs\/(\d+-[0-9a-f]+)\//.exec(readFileSync(`/proc/${d}/cmdline`, 'utf8'));
          return m !== null && ours(m[1]!);
        } catch {
          return false;
        }
      });

  t.test('missing prerequisites fail the test in CI instead of skipping it', async (t) => {
    t.same(missing, [], 'qemu, a static busybox and the cached kernel are there (scripts/setup.sh)');
  });

  t.test('one boot: exit status and output come back; dummy, ipip and ip_vs autoload; br_netfilter is loaded', async (t) => {
    const script = [
      'set -e',
      'echo "to stderr" >&2',
      'echo "kernel $(uname -r)"',
      'echo "cwd $(pwd)"',
      'ip netns add vmcheck',
      'ip -n vmcheck link add kd0 type dummy && echo "dummy ok"',
      'ip -n vmcheck link add kip0 type ipip local 10.255.0.1 remote 10.255.0.2 && echo "ipip ok"',
      'ip netns exec vmcheck ipvsadm -A -t 10.0.0.1:80 -s rr && echo "ipvs ok"',
      'ip netns exec vmcheck ipvsadm -Ln | grep -q "TCP  10.0.0.1:80 rr" && echo "ipvs listed"',
      'test -d /sys/module/br_netfilter && echo "br_netfilter loaded"',
      'echo "bridge-nf-call-iptables $(cat /proc/sys/net/bridge/bridge-nf-call-iptables)"',
      // A network card has a device behind it in sysfs; loopback and tunnels' fallback devices do not.
      'for d in /sys/class/net/*; do if [ -e "$d/device" ]; then echo "nic ${d##*/}"; fi; done',
      'echo "in vm ${KNETLAB_IN_VM:-no}"',
      // Written into the tmpfs overlay: gone with the VM.
      'touch /etc/knetlab-vm-test-marker /tmp/knetlab-vm-test-marker',
      'exit 7',
    ].join('\n');
    const r = await vm(['--timeout', '300', '--', 'bash', '-c', script], 330_000);
    t.equal(r.code, 7, `the command's exit status\n${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    t.match(lines[0], /^kernel 6\.1\.\d+-\d+-amd64$/, "Debian's kernel, not this machine's");
    t.equal(lines[1], `cwd ${process.cwd()}`, 'the same folder');
    for (const l of ['dummy ok', 'ipip ok', 'ipvs ok', 'ipvs listed', 'br_netfilter loaded', 'bridge-nf-call-iptables 1', 'in vm 1'])
      t.ok(lines.includes(l), l);
    t.same(
      lines.filter((l) => l.startsWith('nic ')),
      [],
      'no network card in the VM: nothing can leave it',
    );
    t.equal(r.stderr.trim(), 'to stderr', 'stderr comes back apart from stdout');
  });

  t.test('--timeout stops the VM with exit 124', async (t) => {
    const t0 = Date.now();
    const r = await vm(['--timeout', '1', '--', 'sleep', '100'], 60_000);
    t.equal(r.code, 124, r.stderr);
    t.match(r.stderr, /stopped after/);
    t.ok(Date.now() - t0 < 30_000, 'stopped at once');
  });

  t.test('nothing is left on this machine', async (t) => {
    t.same(netnsWithPrefix('vmcheck'), [], "the VM's namespace was the VM's");
    t.notOk(existsSync('/etc/knetlab-vm-test-marker') || existsSync('/tmp/knetlab-vm-test-marker'), 'writes stayed in the overlay');
    t.equal(pids.length, 2, 'both runs were watched');
    t.same(runs(), [], 'no io folder of ours left in the cache');
    t.same(qemus(), [], 'no qemu left running');
    t.same(rootSnapshot(), before, "the root namespace's addresses, routes and rulesets are unchanged");
  });
}
