// The loader under hostile input: the shipped labs and their manifests, mutated the way a careless
// or hostile user would (values and keys swapped for bad ones, lines dropped or doubled, tabs,
// truncation, CR line breaks, aliases, files that are devices, FIFOs, symlinks out of the lab),
// must never throw anything but a LabFileError, hang, grow without bound or point outside the lab;
// every error has a position inside the lab and a hint; what loads must plan without throwing.
// Seeded and bounded, so a CI run takes seconds and a failure names its seed and path to replay.
import t from 'tap';
import fc from 'fast-check';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, unlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { loadLabFile } from '../../src/plan/load.js';
import { InputError, LabFileError } from '../../src/labfile/diagnostics.js';
import { checkNetnsNames, makeInstance } from '../../src/kernel/instance.js';
import { planLab } from '../../src/plan/topology.js';
import { lowerPlan } from '../../src/kernel/lower.js';
import { shippedLabs } from '../../src/run/labs.js';

const SEED = 1616;
const RUNS = Number(process.env.KNETLAB_FUZZ_RUNS ?? 300);
const MAX_MS = 3000;
const MAX_RSS = 600 * 1024 * 1024;

const labs = shippedLabs();
const root = mkdtempSync(join(tmpdir(), 'knetlab-fuzz-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

/** A fresh copy of a shipped lab folder, for one case to mutate. */
let copies = 0;
function copyLab(lab: string): string {
  const dir = join(root, `${copies++}`, basename(dirname(lab)));
  cpSync(dirname(lab), dir, { recursive: true });
  return dir;
}

/** Values that a kernel, a tool or the API server would refuse, or that attack the reader. */
const BAD_VALUES = [
  '*nope',
  '10.244.0.0/33',
  'banana',
  '1000000000000',
  '4294967296',
  '-1',
  '0',
  '"0s"',
  '99999',
  '0.0.0.0/0',
  '255.255.255.255/32',
  '224.0.0.1/32',
  '10.1.2.3/8',
  '01:00:5e:00:00:01',
  'all',
  'default',
  'Node3',
  '"\\e[2J\\e[H"',
  '/etc/passwd',
  '../../../../etc/shadow',
  '{',
  '[',
  '~',
  '{}',
  '[]',
  '"' + 'x'.repeat(100_000) + '"',
  'a'.repeat(300),
];
const BAD_KEYS = ['Node3', '"\\e[2J"', 'all', 'default', 'x'.repeat(2000), 'UPPER', '"a b"', '"../x"'];
const LAUGHS = [
  'a: &a [x, x, x, x, x, x, x, x, x, x]',
  ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`),
].join('\n');

type Mutation =
  | { op: 'value'; line: number; value: string }
  | { op: 'key'; line: number; key: string }
  | { op: 'drop' | 'double' | 'tab'; line: number }
  | { op: 'truncate'; at: number }
  | { op: 'cr' | 'laughs' | 'aliases' | 'fifo' | 'zero' | 'dir' | 'outside' };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('value' as const), line: fc.nat(), value: fc.constantFrom(...BAD_VALUES) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('key' as const), line: fc.nat(), key: fc.constantFrom(...BAD_KEYS) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('drop' as const, 'double' as const, 'tab' as const), line: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom('cr' as const, 'laughs' as const, 'aliases' as const, 'fifo' as const, 'zero' as const, 'dir' as const, 'outside' as const),
    }),
  },
);

/** Lines of the form "key: value" (in a block map or after "- "), where a value or key can be swapped. */
const KEY_VALUE = /^(\s*(?:- )?)([A-Za-z0-9_.$"-]+)(:\s+)(\S.*)$/;

function mutateText(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const pick = (n: number, re?: RegExp) => {
    const idx = lines.map((l, i) => (re ? (re.test(l) ? i : -1) : i)).filter((i) => i >= 0);
    return idx.length ? idx[n % idx.length]! : undefined;
  };
  switch (m.op) {
    case 'value': {
      const i = pick(m.line, KEY_VALUE);
      if (i !== undefined) lines[i] = lines[i]!.replace(KEY_VALUE, (_, ind: string, k: string, sep: string) => `${ind}${k}${sep}${m.value}`);
      return lines.join('\n');
    }
    case 'key': {
      const i = pick(m.line, KEY_VALUE);
      if (i !== undefined) lines[i] = lines[i]!.replace(KEY_VALUE, (_, ind: string, _k: string, sep: string, v: string) => `${ind}${m.key}${sep}${v}`);
      return lines.join('\n');
    }
    case 'drop':
    case 'double':
    case 'tab': {
      const i = pick(m.line);
      if (i === undefined) return text;
      if (m.op === 'drop') lines.splice(i, 1);
      else if (m.op === 'double') lines.splice(i, 0, lines[i]!);
      else lines[i] = '\t' + lines[i]!;
      return lines.join('\n');
    }
    case 'truncate':
      return text.slice(0, m.at % (text.length + 1));
    case 'cr':
      return text.replace(/\n/g, '\r');
    case 'laughs':
      return text.replace(/^title: .*$/m, (l) => `${l}\nx-laughs:\n${LAUGHS.replace(/^/gm, '  ')}`);
    case 'aliases':
      return text.replace(/^title: .*$/m, (l) => `${l}\nx-anchor: &t ok\nx-aliases: [${Array(3000).fill('*t').join(', ')}]`);
    default:
      return text;
  }
}

/** Apply a mutation to one file of the lab folder: its lab.yaml or one of its manifests. */
function apply(dir: string, target: string, m: Mutation): void {
  const file = join(dir, target);
  switch (m.op) {
    case 'fifo':
      unlinkSync(file);
      execFileSync('mkfifo', [file]);
      return;
    case 'zero':
      unlinkSync(file);
      symlinkSync('/dev/zero', file);
      return;
    case 'dir':
      unlinkSync(file);
      mkdirSync(file);
      return;
    case 'outside':
      unlinkSync(file);
      symlinkSync('/etc/hostname', file);
      return;
    default:
      writeFileSync(file, mutateText(readFileSync(file, 'utf8'), m));
  }
}

/** The files of a lab that a mutation may hit: lab.yaml and its YAML manifests. */
const targets = (lab: string) => ['lab.yaml', ...readdirSync(dirname(lab)).filter((f) => f.endsWith('.yaml') && f !== 'lab.yaml')];

t.test('mutated shipped labs and manifests: a LabFileError with positions and hints inside the lab, or a lab that plans', async (t) => {
  const caseArb = fc
    .constantFrom(...labs)
    .chain((lab) =>
      fc.record({ lab: fc.constant(lab), target: fc.constantFrom(...targets(lab)), mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }) }),
    );
  const outcomes = { valid: 0, refused: 0 };
  fc.assert(
    fc.property(caseArb, ({ lab, target, mutations }) => {
      const dir = copyLab(lab);
      // Text first; then at most one special file (a FIFO must not be read by the harness itself).
      const special = (m: Mutation) => ['fifo', 'zero', 'dir', 'outside'].includes(m.op);
      for (const m of [...mutations.filter((m) => !special(m)), ...mutations.filter(special).slice(0, 1)]) apply(dir, target, m);
      const started = Date.now();
      let result: unknown;
      try {
        const { lab: loaded } = loadLabFile(join(dir, 'lab.yaml'), undefined, '2024-01-01T00:00:00Z');
        // What validates must plan: a plan that throws would fail in `up` after creating namespaces.
        lowerPlan(planLab(loaded, makeInstance(loaded.name, 'f1', join(root, 'state'))));
        outcomes.valid++;
      } catch (e) {
        result = e;
      }
      const ms = Date.now() - started;
      if (ms > MAX_MS) throw new Error(`took ${ms} ms`);
      if (process.memoryUsage().rss > MAX_RSS) throw new Error(`rss ${process.memoryUsage().rss} bytes`);
      if (result === undefined) return;
      if (!(result instanceof LabFileError)) throw result; // a stack trace for the user
      outcomes.refused++;
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      if (!errors.length) throw new Error('a LabFileError without errors');
      for (const d of result.diagnostics) {
        const where = resolve(d.file);
        if (relative(dir, where).startsWith('..')) throw new Error(`${d.file}: outside the lab folder ${dir}`);
        if (!(d.pos.line >= 1 && d.pos.col >= 1)) throw new Error(`${d.file}:${d.pos.line}:${d.pos.col}: not a position`);
        if (d.severity === 'error' && !d.hint) throw new Error(`no hint: ${d.message}`);
      }
      const printed = [result.message, ...result.details].join('\n');
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(printed)) throw new Error('control characters in the output');
      if (printed.length > 60_000) throw new Error(`${printed.length} characters of errors`);
      if (/\bat .+:\d+:\d+\)/.test(printed)) throw new Error('a stack trace in the output');
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  t.ok(outcomes.refused > RUNS / 2, `most mutations are refused (${outcomes.refused} refused, ${outcomes.valid} valid)`);
});

/** Inputs that are plainly invalid and must be refused by validation, before anything reaches the kernel. */
// `prefix`: refused where the prefix is known (up, run), before anything is created.
const MUST_REFUSE: { name: string; lab: string; from: RegExp; to: string; prefix?: string }[] = [
  { name: 'an undefined alias', lab: 'netns-veth', from: /^title: .*$/m, to: 'title: *nope' },
  { name: 'a /33 pod network', lab: 'flannel-vxlan', from: /podNetwork: \S+/, to: 'podNetwork: 10.244.0.0/33' },
  { name: 'a pod network that is not a CIDR', lab: 'flannel-vxlan', from: /podNetwork: \S+/, to: 'podNetwork: banana' },
  { name: 'an unknown flannel backend', lab: 'flannel-vxlan', from: /backend: vxlan/, to: 'backend: ipip' },
  { name: 'more nodes than the underlay subnet holds', lab: 'flannel-vxlan', from: /^cluster:$/m, to: 'cluster:\n  underlay: { subnets: [192.168.56.0/29] }' },
  { name: 'a trillion replicas', lab: 'service-clusterip', from: /replicas: \d+/, to: 'replicas: 1000000000000' },
  { name: 'a thousand replicas', lab: 'service-clusterip', from: /replicas: \d+/, to: 'replicas: 1000' },
  { name: 'a manifest outside the lab', lab: 'service-clusterip', from: /manifests: \[/, to: 'manifests: [/etc/passwd, ' },
  { name: 'a manifest above the lab', lab: 'service-clusterip', from: /manifests: \[/, to: 'manifests: [../../../../etc/shadow, ' },
  {
    name: 'a route metric above 32 bits',
    lab: 'docker-bridge',
    from: /to: default, via: 203\.0\.113\.1/,
    to: 'to: default, via: 203.0.113.1, metric: 4294967296',
  },
  { name: 'an unknown route protocol', lab: 'docker-bridge', from: /to: default, via: 203\.0\.113\.1/, to: 'to: default, via: 203.0.113.1, proto: foo' },
  { name: 'a route prefix with host bits', lab: 'docker-bridge', from: /to: default, via: 203\.0\.113\.1/, to: 'to: 10.1.2.3/8, via: 203.0.113.1' },
  { name: 'a route check with host bits', lab: 'flannel-host-gw', from: /route: 10\.244\.(\d+)\.0\/24/, to: 'route: 10.244.$1.7/24' },
  { name: 'a NAT source with host bits', lab: 'docker-bridge', from: /source: 172\.17\.0\.0\/16/, to: 'source: 172.17.0.1/16' },
  { name: 'an input interface in POSTROUTING', lab: 'docker-bridge', from: /notOutInterface: docker0/, to: 'inInterface: docker0' },
  {
    name: 'MASQUERADE in PREROUTING',
    lab: 'docker-bridge',
    from: /chain: POSTROUTING, source: 172\.17\.0\.0\/16, notOutInterface: docker0/,
    to: 'chain: PREROUTING',
  },
  { name: 'a multicast MAC', lab: 'docker-bridge', from: /mac: "02:42:ac:11:00:02"/, to: 'mac: "01:00:5e:00:00:01"' },
  {
    name: 'a DNAT port above 65535',
    lab: 'docker-bridge',
    from: /jump: MASQUERADE }/,
    to: 'jump: MASQUERADE }\n        - { chain: PREROUTING, protocol: tcp, dport: 8080, jump: DNAT, toDestination: "172.17.0.2:99999" }',
  },
  { name: 'a sysctl that does not exist', lab: 'docker-bridge', from: /net\.ipv4\.ip_forward:/, to: 'net.ipv4.ip_forwarding:' },
  { name: 'an interface named all', lab: 'netns-veth', from: /veth-test1/g, to: 'all' },
  { name: 'an interface named default', lab: 'netns-veth', from: /veth-test2/g, to: 'default' },
  { name: 'the unspecified address on an interface', lab: 'netns-veth', from: /192\.168\.1\.1\/24/, to: '0.0.0.0/0' },
  { name: 'the broadcast address on an interface', lab: 'netns-veth', from: /192\.168\.1\.1\/24/, to: '255.255.255.255/32' },
  { name: 'a multicast address on an interface', lab: 'netns-veth', from: /192\.168\.1\.1\/24/, to: '224.0.0.1/32' },
  { name: 'a node key that breaks the name pattern', lab: 'flannel-vxlan', from: /^ {4}node2:/m, to: '    Node3:' },
  {
    name: 'a loadBalancerIP outside the pool',
    lab: 'service-loadbalancer',
    from: /type: LoadBalancer/,
    to: 'type: LoadBalancer\n  loadBalancerIP: 192.168.56.10',
  },
  { name: 'a timeout of "0s"', lab: 'calico-bgp', from: /timeout: 20s/, to: 'timeout: "0s"' },
  { name: 'a wait of "0ms"', lab: 'calico-bgp', from: /timeout: 20s/, to: 'wait: 0ms' },
  {
    name: 'a pod name too long for a namespace with --prefix',
    lab: 'service-clusterip',
    from: /^( {2}name| {4}from): client$/gm,
    to: '$1: ' + ['c'.repeat(63), 'c'.repeat(63), 'c'.repeat(63), 'c'.repeat(61)].join('.'),
    prefix: 'v1',
  },
];

t.test('plainly invalid inputs are refused with a position and a hint', async (t) => {
  const byName = new Map(labs.map((l) => [basename(dirname(l)), l]));
  fc.assert(
    fc.property(fc.constantFrom(...MUST_REFUSE), (c) => {
      const lab = byName.get(c.lab)!;
      const dir = copyLab(lab);
      const file = join(dir, 'lab.yaml');
      // test() of a /g pattern moves its lastIndex: ask a copy without the flag.
      const has = (f: string) => new RegExp(c.from.source, c.from.flags.replace('g', '')).test(readFileSync(f, 'utf8'));
      // The field lives in lab.yaml or a manifest of the lab; a /g pattern (a name) is replaced in every file.
      const files = targets(lab)
        .map((f) => join(dir, f))
        .filter(has);
      for (const f of c.from.global ? files : files.slice(0, 1)) writeFileSync(f, readFileSync(f, 'utf8').replace(c.from, c.to));
      if (c.prefix !== undefined) {
        // Valid as a lab: only the prefix makes a namespace name too long.
        const { lab: loaded } = loadLabFile(file, undefined, '2024-01-01T00:00:00Z');
        try {
          checkNetnsNames(loaded, makeInstance(loaded.name, c.prefix, join(root, 'state')));
        } catch (e) {
          if (!(e instanceof InputError) || !e.details.some((d) => d.includes('hint:'))) throw e;
          t.doesNotThrow(() => checkNetnsNames(loaded, makeInstance(loaded.name, '', join(root, 'state'))), `${c.name}: fits without a prefix`);
          return;
        }
        throw new Error(`${c.name}: passes with --prefix ${c.prefix}`);
      }
      try {
        loadLabFile(file, undefined, '2024-01-01T00:00:00Z');
      } catch (e) {
        if (!(e instanceof LabFileError)) throw e;
        if (e.diagnostics.some((d) => d.severity === 'error' && !d.hint)) throw new Error(`${c.name}: an error without a hint`);
        return;
      }
      throw new Error(`${c.name}: passes validation`);
    }),
    { seed: SEED, numRuns: MUST_REFUSE.length * 3, endOnFailure: true },
  );
  t.pass('every one refused');
});
