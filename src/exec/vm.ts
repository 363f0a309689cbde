// The kernel VM runner (`knetlab vm -- COMMAND...`): runs a command under a stock Debian kernel in
// qemu, for labs that need a module this machine's kernel lacks (ip_vs, ipip, dummy). The guest
// sees this machine's root filesystem read-only over 9p with a tmpfs overlay on top, so the
// command runs with the same programs, the same project folder and the same PATH, and whatever it
// writes (/run/knetlab, /etc/netns, /tmp) is gone at power-off. The VM has no network device: no
// packet leaves it. Its stdout, stderr and exit status come back through a second, writable 9p
// share (the io folder), as if the command had run here.
//
// The kernel comes from Debian's linux-image package, unpacked into a cache folder by
// scripts/vm/fetch-kernel.sh (run by scripts/setup.sh); the initramfs (busybox and the virtio/9p
// modules) is built here into the same cache and rebuilt when its inputs change.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { argvToShell, quote } from '../kernel/command.js';
import { KnetlabError } from '../labfile/diagnostics.js';
import type { Host } from './host.js';
import { packageRoot } from './install.js';

export const DEFAULT_CACHE = '/var/cache/knetlab/vm';
export const cacheDir = (): string => process.env.KNETLAB_VM_CACHE || DEFAULT_CACHE;

/** Set in the guest's environment: a knetlab inside the VM knows it is there. */
export const IN_VM_ENV = 'KNETLAB_IN_VM';

/**
 * Modules the initramfs loads before it can mount anything: virtio's PCI transport, 9p over
 * virtio, overlayfs. Their dependencies come from modules.dep.
 */
export const BOOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

export type Accel = 'kvm' | 'tcg';

export interface VmOptions {
  memoryMiB: number;
  cpus: number;
  accel: Accel;
}

export interface Kernel {
  version: string;
  /** The cache folder of this kernel: vmlinux, boot/, lib/modules/VERSION. */
  dir: string;
  vmlinux: string;
  modules: string;
}

/** The kernels in the cache, newest first: a folder per version with a vmlinux and an indexed modules tree. */
export function cachedKernels(cache = cacheDir()): Kernel[] {
  let names: string[];
  try {
    names = readdirSync(cache);
  } catch {
    return [];
  }
  return names
    .filter((v) => /^\d+\.\d+\.\d+-\d+-amd64$/.test(v))
    .map((version) => {
      const dir = join(cache, version);
      return { version, dir, vmlinux: join(dir, 'vmlinux'), modules: join(dir, 'lib', 'modules', version) };
    })
    .filter((k) => existsSync(k.vmlinux) && existsSync(join(k.modules, 'modules.dep')))
    .sort((a, b) => compareVersions(b.version, a.version));
}

function compareVersions(a: string, b: string): number {
  const na = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const nb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(na.length, nb.length); i++) if ((na[i] ?? 0) !== (nb[i] ?? 0)) return (na[i] ?? 0) - (nb[i] ?? 0);
  return 0;
}

/**
 * The module files to load, in order, for the named modules: modules.dep lists a module's
 * dependencies with the ones loaded last first, so each list is walked from its end, depth first.
 * Names match as modprobe matches them (dashes and underscores alike).
 */
export function moduleLoadOrder(modulesDep: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of modulesDep.split('\n')) {
    const m = /^([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    deps.set(m[1]!, m[2]!.split(/\s+/).filter(Boolean));
    byName.set(moduleName(m[1]!), m[1]!);
  }
  const order: string[] = [];
  const visit = (path: string) => {
    if (order.includes(path)) return;
    for (const d of [...(deps.get(path) ?? [])].reverse()) visit(d);
    order.push(path);
  };
  for (const name of wanted) {
    const path = byName.get(name.replace(/-/g, '_'));
    if (!path) throw new Error(`module ${name} is not in modules.dep`);
    visit(path);
  }
  return order;
}

const moduleName = (path: string): string =>
  path
    .replace(/^.*\//, '')
    .replace(/\.ko(\.[a-z]+)?$/, '')
    .replace(/-/g, '_');

/** One file of a newc ("070701") cpio archive, the format the kernel unpacks an initramfs from. */
export interface CpioEntry {
  name: string;
  mode: number;
  data?: Buffer;
  /** A symlink's target. */
  target?: string;
}

/** A newc cpio archive (what `cpio -o -H newc` writes). Uncompressed: the kernel then has nothing to inflate. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const add = (name: string, mode: number, data: Buffer, ino: number) => {
    const nameBuf = Buffer.from(name + '\0');
    const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBuf.length, 0];
    const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0').toUpperCase()).join(''));
    parts.push(header, nameBuf, pad4(header.length + nameBuf.length), data, pad4(data.length));
  };
  entries.forEach((e, i) => add(e.name, e.mode, e.target !== undefined ? Buffer.from(e.target) : (e.data ?? Buffer.alloc(0)), i + 1));
  add('TRAILER!!!', 0, Buffer.alloc(0), 0);
  return Buffer.concat(parts);
}

const DIR = 0o040755;
const FILE = 0o100644;
const EXEC = 0o100755;

/** Where the initramfs's scripts live (shipped in the package's scripts/vm/). */
export const assetsDir = (): string => join(packageRoot(), 'scripts', 'vm');

/**
 * The initramfs for a kernel, built into its cache folder on first use and whenever an input
 * changes (the init scripts, busybox, the modules): its name carries a hash of all of them.
 */
export function ensureInitramfs(kernel: Kernel, busybox: string, assets = assetsDir()): string {
  const init = readFileSync(join(assets, 'init'));
  const stage2 = readFileSync(join(assets, 'stage2'));
  const order = moduleLoadOrder(readFileSync(join(kernel.modules, 'modules.dep'), 'utf8'), BOOT_MODULES);
  const bb = statSync(busybox);
  const conf = `KERNEL_VERSION=${quote(kernel.version)}\nMODULES=${quote(kernel.modules)}\n`;
  const key = createHash('sha256')
    .update(init)
    .update(stage2)
    .update(conf)
    .update(order.join('\n'))
    .update(`${busybox} ${bb.size} ${bb.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  const file = join(kernel.dir, `initramfs-${key}.cpio`);
  if (existsSync(file)) return file;
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'etc', 'modules', 'proc', 'sys'].map((name) => ({ name, mode: DIR })),
    { name: 'bin/busybox', mode: EXEC, data: readFileSync(busybox) },
    { name: 'init', mode: EXEC, data: init },
    { name: 'stage2', mode: FILE, data: stage2 },
    { name: 'etc/knetlab-vm.conf', mode: FILE, data: Buffer.from(conf) },
    ...order.map((path) => ({ name: `modules/${path.replace(/^.*\//, '')}`, mode: FILE, data: readFileSync(join(kernel.modules, path)) })),
    { name: 'modules/order', mode: FILE, data: Buffer.from(order.map((p) => p.replace(/^.*\//, '') + '\n').join('')) },
  ];
  // Older builds of this kernel's initramfs are of no further use.
  for (const old of readdirSync(kernel.dir)) if (/^initramfs-[0-9a-f]+\.cpio$/.test(old)) rmSync(join(kernel.dir, old), { force: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, cpioArchive(entries));
  renameSync(tmp, file);
  return file;
}

/**
 * The kernel's command line. quiet: only errors reach the console log; panic=-1 with qemu's
 * -no-reboot ends qemu if anything goes wrong this early; mitigations=off: the guest runs only
 * this machine's own programs, and the speculation barriers cost TCG dearly.
 */
export function kernelCmdline(project?: string): string {
  const base = 'console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init mitigations=off i8042.noaux i8042.nokbd 8250.nr_uarts=1';
  // Where /init mounts the project share; a path with blanks cannot be a kernel parameter.
  return project && !/\s/.test(project) ? `${base} knetlab.project=${project}` : base;
}

/** A path inside qemu's -fsdev option list, where a comma is written twice. */
const fsdevPath = (path: string): string => path.replaceAll(',', ',,');

/**
 * qemu's argv. Fidelity to the prototype's measurements on a 2-core machine: with TCG,
 * thread=multi with 2 vCPUs beat one vCPU by about 30%, and the qemu64 CPU model started Node
 * about 25% faster than "max". qemu64 with SSSE3 and SSE4.1/4.2 added: V8 compiles WebAssembly
 * SIMD only with SSE4.1, and the Graphviz that `knetlab graph` runs is such a module. No network
 * device at all (-nic none): nothing leaves the VM.
 */
const QEMU_CPU = 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt';

export function qemuArgv(o: VmOptions & { kernel: string; initrd: string; io: string; console: string; root?: string; project?: string }): string[] {
  const accel = o.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', QEMU_CPU];
  return [
    '-nodefaults',
    '-no-user-config',
    '-no-reboot',
    '-display',
    'none',
    ...accel,
    '-smp',
    String(o.cpus),
    '-m',
    String(o.memoryMiB),
    '-nic',
    'none',
    '-serial',
    `file:${o.console}`,
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    kernelCmdline(o.project),
    '-fsdev',
    `local,id=hostroot,path=${fsdevPath(o.root ?? '/')},security_model=none,readonly=on,multidevs=remap`,
    '-device',
    'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev',
    `local,id=io,path=${fsdevPath(o.io)},security_model=none,multidevs=remap`,
    '-device',
    'virtio-9p-pci,fsdev=io,mount_tag=io',
    // The command's folder on a share of its own: under /tmp or /run (a CI checkout) the guest's
    // own tmpfs there would hide it.
    ...(o.project
      ? [
          '-fsdev',
          `local,id=project,path=${fsdevPath(o.project)},security_model=none,readonly=on,multidevs=remap`,
          '-device',
          'virtio-9p-pci,fsdev=project,mount_tag=project',
        ]
      : []),
  ];
}

/** Environment variables the command gets from here: PATH, the locale, CI and knetlab's own. */
export function guestEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { HOME: '/root', [IN_VM_ENV]: '1' };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (['PATH', 'LANG', 'LC_ALL', 'CI', 'TERM', 'NO_COLOR', 'FORCE_COLOR'].includes(k) || /^KNETLAB_/.test(k) || /^TAP/.test(k)) out[k] = v;
  }
  out[IN_VM_ENV] = '1';
  return out;
}

/** The job the guest runs (stage2 redirects its output to the io folder): the same folder, environment and argv. */
export function jobScript(argv: readonly string[], cwd: string, env: Record<string, string>): string {
  const names = Object.keys(env).filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k));
  return [
    '# written by knetlab vm: the command to run, where, with what environment',
    ...names.map((k) => `export ${k}=${quote(env[k]!)}`),
    `cd ${quote(cwd)} || exit 126`,
    `exec ${argvToShell(argv)}`,
    '',
  ].join('\n');
}

/** Where a program is on PATH, or null. */
export function which(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of [...path.split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

export const QEMU = 'qemu-system-x86_64';
/** busybox-static's binary: a static busybox runs in the initramfs without any library. */
export const BUSYBOX_STATIC = ['/usr/bin/busybox', '/bin/busybox'];

export interface VmAvailability {
  qemu: string | null;
  busybox: string | null;
  kernel: Kernel | null;
  cache: string;
  /** What is missing, each with how to get it; empty when the runner can run. */
  missing: string[];
}

function staticBusybox(): string | null {
  for (const p of BUSYBOX_STATIC) {
    try {
      // A dynamically linked busybox (package busybox) names its interpreter: not usable in the initramfs.
      if (statSync(p).isFile() && !readFileSync(p).subarray(0, 4096).includes('/lib64/ld-linux')) return p;
    } catch {
      /* absent */
    }
  }
  return null;
}

export function vmAvailability(): VmAvailability {
  const qemu = which(QEMU);
  const busybox = staticBusybox();
  const cache = cacheDir();
  const kernel = cachedKernels(cache)[0] ?? null;
  const missing: string[] = [];
  if (!qemu) missing.push(`${QEMU} is not installed (apt-get install --no-install-recommends qemu-system-x86)`);
  if (!busybox) missing.push('a static busybox is not installed (apt-get install busybox-static)');
  if (!kernel) missing.push(`no kernel in ${cache} (bash scripts/vm/fetch-kernel.sh fetches Debian's linux-image-amd64 there)`);
  return { qemu, busybox, kernel, cache, missing };
}

/** The runner's prerequisites or an error that says what to install; "bash scripts/setup.sh" does it all. */
export function requireVm(): Required<{ [K in keyof VmAvailability]: NonNullable<VmAvailability[K]> }> {
  const a = vmAvailability();
  if (a.missing.length)
    throw new KnetlabError('the kernel VM runner cannot start', 2, [
      ...a.missing.map((m) => `  missing: ${m}`),
      '  hint: sudo bash scripts/setup.sh installs qemu and busybox and fetches the kernel',
    ]);
  return a as ReturnType<typeof requireVm>;
}

let accelProbe: Promise<Accel> | undefined;

/**
 * KVM when this machine really offers it, TCG otherwise (KNETLAB_VM_ACCEL=kvm|tcg decides). /dev/kvm
 * may exist and still be unusable (nested, no permission, a CPU qemu cannot pass through), so qemu
 * itself is asked to set up a KVM machine of the kind a run uses, stopped before its first
 * instruction, and to quit; a hang counts as no.
 */
export function detectAccel(host: Host, qemu: string): Promise<Accel> {
  const forced = process.env.KNETLAB_VM_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return Promise.resolve(forced);
  return (accelProbe ??= (async () => {
    if (!existsSync('/dev/kvm')) return 'tcg';
    const r = await host.run(
      { file: qemu, args: ['-accel', 'kvm', '-cpu', 'host', '-M', 'pc', '-nodefaults', '-display', 'none', '-monitor', 'stdio', '-S'], input: 'quit\n' },
      { timeoutMs: 5000 },
    );
    return r.exitCode === 0 ? 'kvm' : 'tcg';
  })());
}

export interface VmRunOptions {
  memoryMiB?: number;
  cpus?: number;
  /** qemu is killed after this long; the result then says timedOut. */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the command's output goes as it comes (the CLI passes its own stdout and stderr). */
  stdout?: (chunk: Buffer) => void;
  stderr?: (chunk: Buffer) => void;
}

export interface VmRunResult {
  /** The command's exit status; 124 when the runner's timeout ended it. */
  exitCode: number;
  timedOut: boolean;
  accel: Accel;
  /** From qemu's start to its exit. */
  ms: number;
  /** From qemu's start to the command's start (the boot). */
  bootMs: number | null;
}

/** A stale io folder is one whose runner (the PID in its name) is gone, e.g. killed with SIGKILL. */
function removeStaleRuns(runs: string): void {
  let names: string[];
  try {
    names = readdirSync(runs);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(/^(\d+)-/.exec(n)?.[1]);
    if (pid && !existsSync(`/proc/${pid}`)) rmSync(join(runs, n), { recursive: true, force: true });
  }
}

/** Reads what a growing file gained since the last call. */
class Tail {
  private offset = 0;
  constructor(
    private readonly file: string,
    private readonly sink: (chunk: Buffer) => void,
  ) {}
  poll(): void {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(1 << 16);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.sink(Buffer.from(buf.subarray(0, n)));
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** Default size: 2 vCPUs (or fewer if the machine has fewer), 2 GiB: room for a lab's dozens of processes. */
export const DEFAULT_MEMORY_MIB = 2048;

export async function runInVm(host: Host, argv: readonly string[], opts: VmRunOptions = {}): Promise<VmRunResult> {
  if (argv.length === 0) throw new KnetlabError('name the command to run in the VM: knetlab vm -- COMMAND ARGS...', 2);
  const vm = requireVm();
  const { availableParallelism } = await import('node:os');
  const accel = await detectAccel(host, vm.qemu);
  const initrd = ensureInitramfs(vm.kernel, vm.busybox);
  const runs = join(vm.cache, 'runs');
  mkdirSync(runs, { recursive: true, mode: 0o700 });
  removeStaleRuns(runs);
  const dir = join(runs, `${process.pid}-${randomBytes(4).toString('hex')}`);
  const io = join(dir, 'io');
  mkdirSync(io, { recursive: true, mode: 0o700 });
  const consoleLog = join(dir, 'console.log');
  const cwd = opts.cwd ?? process.cwd();
  writeFileSync(join(io, 'job.sh'), jobScript(argv, cwd, guestEnv(opts.env ?? process.env)));
  const args = qemuArgv({
    memoryMiB: opts.memoryMiB ?? DEFAULT_MEMORY_MIB,
    cpus: opts.cpus ?? Math.min(2, availableParallelism()),
    accel,
    kernel: vm.kernel.vmlinux,
    initrd,
    io,
    console: consoleLog,
    project: cwd,
  });
  const stdout = new Tail(join(io, 'stdout'), opts.stdout ?? ((c) => process.stdout.write(c)));
  const stderr = new Tail(join(io, 'stderr'), opts.stderr ?? ((c) => process.stderr.write(c)));
  const t0 = Date.now();
  let bootMs: number | null = null;
  const poll = () => {
    if (bootMs === null && existsSync(join(io, 'stdout'))) bootMs = Date.now() - t0;
    stdout.poll();
    stderr.poll();
  };
  const timer = setInterval(poll, 100);
  try {
    const r = await host.run({ file: vm.qemu, args }, { timeoutMs: opts.timeoutMs });
    poll();
    const ms = Date.now() - t0;
    // stage2's own steps (br_netfilter, lo) say nothing when they work.
    const bootLog = (readIfExists(join(io, 'boot.log')) ?? '').trim();
    if (bootLog)
      (opts.stderr ?? ((c) => process.stderr.write(c)))(
        Buffer.from(
          bootLog
            .split('\n')
            .map((l) => `knetlab vm: ${l}\n`)
            .join(''),
        ),
      );
    if (r.timedOut) return { exitCode: 124, timedOut: true, accel, ms, bootMs };
    const status = readIfExists(join(io, 'status'));
    if (status === null || !/^\d+\s*$/.test(status)) {
      const tail = (readIfExists(consoleLog) ?? '').trim().split('\n').slice(-20);
      throw new KnetlabError(`the VM stopped before the command finished (qemu exit ${r.exitCode})`, 1, [
        ...(r.stderr.trim() ? [`  qemu: ${r.stderr.trim()}`] : []),
        ...(tail.length && tail[0] ? ['  console (last lines):', ...tail.map((l) => `    ${l}`)] : []),
      ]);
    }
    return { exitCode: Number(status.trim()), timedOut: false, accel, ms, bootMs };
  } finally {
    clearInterval(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

function readIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
