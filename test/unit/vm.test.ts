// The kernel VM runner's pure parts: module load order from modules.dep, the initramfs archive,
// qemu's argv (no network device, the host's root read-only), the job the guest runs.
import t from 'tap';
import { cpioArchive, guestEnv, jobScript, moduleLoadOrder, qemuArgv, BOOT_MODULES } from '../../src/exec/vm.js';

// An excerpt of Debian 6.1's modules.dep: a module's dependencies, the last-loaded first.
const MODULES_DEP = [
  'kernel/fs/overlayfs/overlay.ko:',
  'kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko',
  'kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko',
  'kernel/fs/netfs/netfs.ko:',
  'kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko',
  'kernel/drivers/virtio/virtio_ring.ko:',
  'kernel/drivers/virtio/virtio_pci_legacy_dev.ko:',
  'kernel/drivers/virtio/virtio_pci_modern_dev.ko:',
  'kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
  'kernel/net/9p/9pnet.ko:',
  'kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
  'kernel/net/bridge/br_netfilter.ko: kernel/net/bridge/bridge.ko kernel/net/802/stp.ko kernel/net/llc/llc.ko',
  '',
].join('\n');

t.test('modules load after everything they depend on, each once', async (t) => {
  const order = moduleLoadOrder(MODULES_DEP, BOOT_MODULES).map((p) => p.replace(/^.*\//, '').replace('.ko', ''));
  t.same(order, [
    'virtio_ring',
    'virtio',
    'virtio_pci_modern_dev',
    'virtio_pci_legacy_dev',
    'virtio_pci',
    '9pnet',
    '9pnet_virtio',
    'netfs',
    'fscache',
    '9p',
    'overlay',
  ]);
  const before = (a: string, b: string) => t.ok(order.indexOf(a) < order.indexOf(b), `${a} before ${b}`);
  before('virtio_ring', 'virtio');
  before('virtio', 'virtio_pci');
  before('9pnet', '9pnet_virtio');
  before('netfs', 'fscache');
  before('fscache', '9p');
  t.same(
    moduleLoadOrder(MODULES_DEP, ['br-netfilter']),
    ['kernel/net/llc/llc.ko', 'kernel/net/802/stp.ko', 'kernel/net/bridge/bridge.ko', 'kernel/net/bridge/br_netfilter.ko'],
    'dashes and underscores match alike',
  );
  t.throws(() => moduleLoadOrder(MODULES_DEP, ['ip_vs']), /ip_vs is not in modules.dep/);
});

t.test('the initramfs is a newc cpio archive the kernel can unpack', async (t) => {
  const a = cpioArchive([
    { name: 'bin', mode: 0o040755 },
    { name: 'init', mode: 0o100755, data: Buffer.from('#!/bin/busybox sh\n') },
    { name: 'bin/sh', mode: 0o120777, target: 'busybox' },
  ]);
  // Walk it as the kernel does: 110-byte header, name, padding to 4, data, padding to 4.
  const seen: { name: string; mode: number; data: string }[] = [];
  let off = 0;
  for (;;) {
    t.equal(a.subarray(off, off + 6).toString(), '070701', `magic at ${off}`);
    const field = (i: number) => parseInt(a.subarray(off + 6 + i * 8, off + 14 + i * 8).toString(), 16);
    const [mode, size, namesize] = [field(1), field(6), field(11)];
    const name = a.subarray(off + 110, off + 110 + namesize - 1).toString();
    off += 110 + namesize;
    off += (4 - (off % 4)) % 4;
    const data = a.subarray(off, off + size).toString();
    off += size;
    off += (4 - (off % 4)) % 4;
    if (name === 'TRAILER!!!') break;
    seen.push({ name, mode, data });
  }
  t.equal(off, a.length, 'nothing after the trailer');
  t.same(seen, [
    { name: 'bin', mode: 0o040755, data: '' },
    { name: 'init', mode: 0o100755, data: '#!/bin/busybox sh\n' },
    { name: 'bin/sh', mode: 0o120777, data: 'busybox' },
  ]);
});

const base = { memoryMiB: 2048, cpus: 2, kernel: '/c/vmlinux', initrd: '/c/initramfs.cpio', io: '/c/runs/1-ab/io', console: '/c/runs/1-ab/console.log' };

t.test('qemu: no network device, the host root read-only, the io folder writable', async (t) => {
  const argv = qemuArgv({ ...base, accel: 'tcg' });
  const after = (flag: string) => argv.filter((_, i) => argv[i - 1] === flag);
  t.same(after('-nic'), ['none'], 'no NIC: nothing leaves the VM');
  t.notOk(
    argv.some((a) => /^(-netdev|-net)$/.test(a) || /virtio-net|e1000|user,/.test(a)),
    'no network backend of any kind',
  );
  t.ok(argv.includes('-nodefaults'), 'no default devices (a default NIC among them)');
  t.same(after('-fsdev'), [
    'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    'local,id=io,path=/c/runs/1-ab/io,security_model=none,multidevs=remap',
  ]);
  const inTmp = qemuArgv({ ...base, accel: 'tcg', project: '/tmp/ci,x' });
  t.same(
    inTmp.filter((_, i) => inTmp[i - 1] === '-fsdev').at(-1),
    'local,id=project,path=/tmp/ci,,x,security_model=none,readonly=on,multidevs=remap',
    "the command's folder on a share of its own (a comma doubled, as qemu reads it): the guest's /tmp is a tmpfs",
  );
  t.match(inTmp.filter((_, i) => inTmp[i - 1] === '-append')[0], / knetlab\.project=\/tmp\/ci,x$/);
  t.same(after('-accel'), ['tcg,thread=multi']);
  t.same(after('-cpu'), ['qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt'], 'qemu64, with what WebAssembly SIMD needs');
  t.same(after('-smp'), ['2']);
  t.same(after('-m'), ['2048']);
  t.same(after('-kernel'), ['/c/vmlinux']);
  t.same(after('-initrd'), ['/c/initramfs.cpio']);
  t.ok(argv.includes('-no-reboot'), 'a panic ends qemu instead of rebooting');
  t.match(after('-append')[0], /console=ttyS0/);
  t.match(after('-append')[0], /panic=-1/);
  const kvm = qemuArgv({ ...base, accel: 'kvm', cpus: 4, memoryMiB: 1024 });
  t.same(
    kvm.filter((_, i) => ['-accel', '-cpu', '-smp', '-m'].includes(kvm[i - 1]!)),
    ['kvm', 'host', '4', '1024'],
  );
});

t.test('the job runs the same argv in the same folder with the environment that matters', async (t) => {
  const env = guestEnv({ PATH: '/usr/local/bin:/usr/bin', KNETLAB_STATE_DIR: '/run/x', CI: '1', SSH_AUTH_SOCK: '/tmp/agent', AWS_SECRET_ACCESS_KEY: 'no' });
  t.same(env, { HOME: '/root', KNETLAB_IN_VM: '1', PATH: '/usr/local/bin:/usr/bin', KNETLAB_STATE_DIR: '/run/x', CI: '1' });
  const job = jobScript(['node', 'bin/knetlab.js', 'run', "it's", '--json'], '/work/my project', { PATH: '/usr/bin', X: "a'b" });
  t.match(job, /^export PATH=\/usr\/bin$/m);
  t.match(job, /^export X='a'\\''b'$/m);
  t.match(job, /^cd '\/work\/my project' \|\| exit 126$/m);
  t.match(job, /^exec node bin\/knetlab\.js run 'it'\\''s' --json$/m);
});
