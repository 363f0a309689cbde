// Judging checks on recorded outputs. The host is a fake machine that answers every command
// verify runs with what the real tool printed (ping, nc -z -v, curl with knetlab's status
// write-out, ip -j, bridge -j, birdc, tcpdump -x), so each check kind is traced from the tool's
// output to its verdict, passing and failing, and a failure to the explanation a person reads:
// where it ran, what it expected, what it saw, and the state of the namespaces involved.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { runCheck, runChecks, type CheckResult } from '../../src/run/verify.js';
import type { Host, RunResult, Running } from '../../src/exec/host.js';
import { loadLabFile } from '../../src/plan/load.js';
import { DEFAULT_KUBE_PROXY_CONFIGURATION } from '../../src/api/objects.js';

type Lab = Parameters<typeof runCheck>[0];
type Instance = Parameters<typeof runCheck>[1];
type Check = Parameters<typeof runCheck>[3];
type Command = Parameters<Host['run']>[0];
type Reply = Partial<RunResult>;

/** What `ip -br addr`, `ip route`, `ip neigh` and `iptables-save -c` print in one namespace. */
interface NamespaceState {
  addresses?: string;
  routes?: string;
  neighbours?: string;
  iptables?: string;
}

const EVIDENCE: Record<string, keyof NamespaceState> = { '-br addr': 'addresses', route: 'routes', neigh: 'neighbours', 'iptables-save -c': 'iptables' };

/** True when every word of `key` appears in `argv`, in order. */
function inOrder(key: string[], argv: string[]): boolean {
  let i = 0;
  for (const word of argv) if (word === key[i]) i++;
  return i === key.length;
}

/**
 * The machine a lab runs on, as its tools report it. A probe is answered from `replies`, keyed by
 * words of its command line in order (the key with most words wins); a key given several replies
 * answers them in turn and repeats the last (state that settles). The commands verify runs for
 * evidence read `namespaces`, by real namespace name: one not listed is fresh (only lo, down),
 * one in `deleted` is gone. `files` are what the running lab's folder holds (its state file, the
 * speakers' status files), by path.
 */
class FakeMachine implements Host {
  /** Every command line run or started, in order. */
  readonly ran: string[] = [];
  private readonly served = new Map<string, number>();

  constructor(
    private readonly replies: Record<string, Reply | Reply[]>,
    private readonly namespaces: Record<string, NamespaceState> = {},
    private readonly deleted: string[] = [],
    private readonly files: Record<string, string> = {},
  ) {}

  async run(cmd: Command): Promise<RunResult> {
    this.ran.push([cmd.file, ...cmd.args].join(' '));
    return this.evidence(cmd) ?? this.reply(cmd);
  }

  async start(cmd: Command): Promise<Running> {
    this.ran.push([cmd.file, ...cmd.args].join(' '));
    const output = this.reply(cmd);
    return { stop: async () => output };
  }

  private evidence(cmd: Command): RunResult | undefined {
    const a = cmd.args;
    const [ns, shape] = a[0] === '-n' ? [a[1], a.slice(2)] : a[0] === 'netns' && a[1] === 'exec' ? [a[2], a.slice(3)] : [undefined, []];
    const field = EVIDENCE[shape.join(' ')];
    if (cmd.file !== 'ip' || !ns || !field) return undefined;
    if (this.deleted.includes(ns))
      return { exitCode: 1, stdout: '', stderr: `Cannot open network namespace "${ns}": No such file or directory\n`, timedOut: false };
    const fresh: NamespaceState = { addresses: 'lo               DOWN           \n' };
    return { exitCode: 0, stdout: (this.namespaces[ns] ?? fresh)[field] ?? '', stderr: '', timedOut: false };
  }

  private reply(cmd: Command): RunResult {
    const argv = [cmd.file, ...cmd.args];
    const keys = Object.keys(this.replies).filter((k) => inOrder(k.split(' '), argv));
    const most = Math.max(...keys.map((k) => k.split(' ').length));
    const best = keys.filter((k) => k.split(' ').length === most);
    if (best.length !== 1) throw new Error(`${best.length ? 'ambiguous' : 'no'} recorded output for: ${argv.join(' ')}`);
    const key = best[0]!;
    const replies = [this.replies[key]!].flat();
    const n = this.served.get(key) ?? 0;
    this.served.set(key, n + 1);
    return { exitCode: 0, stdout: '', stderr: '', timedOut: false, ...replies[Math.min(n, replies.length - 1)] };
  }

  netnsId(): string | null {
    return null;
  }
  process(): null {
    return null;
  }
  pidsInNetns(): number[] {
    return [];
  }
  kill(): boolean {
    return false;
  }
  readFile(path: string): string | null {
    return this.files[path] ?? null;
  }
  hasCommand(): boolean {
    return true;
  }
  hasFile(): boolean {
    return true;
  }
  async interactive(): Promise<number> {
    throw new Error('checks never run interactive commands');
  }
}

// ---- What the real tools print ----

/** iputils `ping -n -c 1 -W N`: one echo request, answered or not. */
const ping = {
  answered: (to: string, ttl = 64): Reply => ({
    stdout: `PING ${to} (${to}) 56(84) bytes of data.\n64 bytes from ${to}: icmp_seq=1 ttl=${ttl} time=0.071 ms\n\n--- ${to} ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\nrtt min/avg/max/mdev = 0.071/0.071/0.071/0.000 ms\n`,
  }),
  lost: (to: string): Reply => ({
    exitCode: 1,
    stdout: `PING ${to} (${to}) 56(84) bytes of data.\n\n--- ${to} ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n`,
  }),
  noRoute: { exitCode: 2, stderr: 'ping: connect: Network is unreachable\n' } as Reply,
};

/** netcat-openbsd `nc -z -v`: the verdict goes to stderr. */
const nc = {
  accepted: (to: string, port: number, service: string): Reply => ({ stderr: `Connection to ${to} ${port} port [tcp/${service}] succeeded!\n` }),
  refused: (to: string, port: number): Reply => ({ exitCode: 1, stderr: `nc: connect to ${to} port ${port} (tcp) failed: Connection refused\n` }),
  timedOut: (to: string, port: number): Reply => ({ exitCode: 1, stderr: `nc: connect to ${to} port ${port} (tcp) timed out: Operation now in progress\n` }),
  noRouteToHost: (to: string, port: number): Reply => ({ exitCode: 1, stderr: `nc: connect to ${to} port ${port} (tcp) failed: No route to host\n` }),
};

/** `curl -sS -w '\nstatus=%{http_code}\n'`: each transfer's body then the write-out; 000 when nothing answered. */
const curl = {
  answers: (...replies: [number, string][]): Reply => ({ stdout: replies.map(([status, body]) => `${body}\nstatus=${status}\n`).join('') }),
  refused: (host: string, port = 80): Reply => ({
    exitCode: 7,
    stdout: '\nstatus=000\n',
    stderr: `curl: (7) Failed to connect to ${host} port ${port} after 0 ms: Couldn't connect to server\n`,
  }),
  timedOut: (ms: number): Reply => ({ exitCode: 28, stdout: '\nstatus=000\n', stderr: `curl: (28) Connection timed out after ${ms} milliseconds\n` }),
};

/** The lab's echo server (nginx): the pod that answered, its node, the address it answered on and the client it saw. */
const echo = (pod: string, node: string, ip: string, client: string) => `{"pod":"${pod}","node":"${node}","ip":"${ip}","client":"${client}"}\n`;

/** Many requests answered by pods in turn, this many each. */
function shares(counts: Record<string, number>, body: (pod: string) => string): Reply {
  const left = { ...counts };
  const replies: [number, string][] = [];
  while (Object.values(left).some((n) => n > 0))
    for (const pod of Object.keys(left))
      if (left[pod]! > 0) {
        left[pod] = left[pod]! - 1;
        replies.push([200, body(pod)]);
      }
  return curl.answers(...replies);
}

/** `ip -j …` and `bridge -j …`: one JSON array on a line. */
const json = (entries: object[]): Reply => ({ stdout: `${JSON.stringify(entries)}\n` });

/** `birdc show protocols` from BIRD 2.0.12 on a Calico node, with these BGP lines. */
const birdc = (...bgp: string[]): Reply => ({
  stdout: [
    'BIRD 2.0.12 ready.',
    'Name       Proto      Table      State  Since         Info',
    'static1    Static     master4    up     01:44:29.053  ',
    'kernel1    Kernel     master4    up     01:44:29.053  ',
    'device1    Device     ---        up     01:44:29.053  ',
    'direct1    Direct     ---        up     01:44:29.053  ',
    ...bgp,
    '',
  ].join('\n'),
});

/** `tcpdump -l -x` stopped by SIGINT: packets on stdout; its banner and counts on stderr. */
const tcpdump = (iface: string, packets: string, n: number): Reply => ({
  stdout: packets,
  stderr: `tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\nlistening on ${iface}, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n${n} packets captured\n${n} packets received by filter\n0 packets dropped by kernel\n`,
});
const fixture = (path: string) => readFileSync(`test/fixtures/${path}`, 'utf8');

// ---- Labs and running ----

const labs = new Map<string, Lab>();
function shipped(name: string): Lab {
  if (!labs.has(name)) labs.set(name, loadLabFile(`labs/${name}/lab.yaml`).lab);
  return labs.get(name)!;
}

function checkNamed(lab: Lab, name: string): Check {
  const c = lab.checks.find((x) => x.name === name);
  if (!c) throw new Error(`${lab.name} has no check "${name}"`);
  return c;
}

/**
 * The same check with a 100ms timeout. A must-pass check that fails is retried every 200ms until
 * its timeout (5s by default, up to 20s in the shipped labs); 100ms leaves room for one attempt.
 * Retries are traced in their own tests.
 */
const once = (c: Check): Check => ({ ...c, timeoutMs: 100 });

/** A copy of the lab started with --prefix ci1: its namespaces are ci1-<name>. */
function instanceOf(lab: Lab): Instance {
  return { lab: lab.name, name: `ci1-${lab.name}`, prefix: 'ci1', dir: `/run/knetlab/labs/ci1-${lab.name}`, netns: (ns) => `ci1-${ns}` };
}

const judge = (lab: Lab, check: Check, machine: Host) => runCheck(lab, instanceOf(lab), machine, check);

/** The explanation as printed, with the one measured number (elapsed seconds) masked. */
const explained = (r: CheckResult) => r.details.map((l) => l.replace(/ over \d+\.\ds /, ' over …s '));

/** The lines of one evidence section of one namespace. */
function section(r: CheckResult, ns: string, title: string): string[] {
  const from = r.details.indexOf(`    evidence from ${ns}:`);
  const start = r.details.indexOf(`      ${title}:`, from);
  if (from < 0 || start < 0) return [];
  const end = r.details.findIndex((l, i) => i > start && !l.startsWith('        '));
  return r.details.slice(start + 1, end < 0 ? undefined : end);
}

// ---- ping ----

t.test('a lab whose checks all pass: one result per check, in order, and no evidence gathered', async (t) => {
  const lab = shipped('netns-veth');
  const machine = new FakeMachine({
    'ip netns exec ci1-test1 ping 192.168.1.2': ping.answered('192.168.1.2'),
    'ip netns exec ci1-test2 ping 192.168.1.1': ping.answered('192.168.1.1'),
    'ip -n ci1-test1 -j link show dev veth-test1': json([
      {
        ifindex: 2,
        link_index: 2,
        ifname: 'veth-test1',
        flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
        mtu: 1500,
        qdisc: 'noqueue',
        operstate: 'UP',
        linkmode: 'DEFAULT',
        group: 'default',
        txqlen: 1000,
        link_type: 'ether',
        address: '5a:9e:2b:3c:11:01',
        broadcast: 'ff:ff:ff:ff:ff:ff',
        link_netnsid: 0,
      },
    ]),
    'ip netns exec ci1-test1 ping 192.168.2.1': ping.noRoute,
  });
  const reported: CheckResult[] = [];
  const results = await runChecks(lab, instanceOf(lab), machine, (r) => reported.push(r));
  t.same(
    results.map((r) => [r.check.name, r.passed, r.saw, r.attempts, r.details]),
    [
      ['test1 pings test2 over the veth pair', true, 'reachable: 64 bytes from 192.168.1.2: icmp_seq=1 ttl=64 time=0.071 ms', 1, []],
      ['test2 pings test1 over the veth pair', true, 'reachable: 64 bytes from 192.168.1.1: icmp_seq=1 ttl=64 time=0.071 ms', 1, []],
      ['veth-test1 is up in test1', true, 'state UP, master none, mtu 1500', 1, []],
      [
        'nothing outside 192.168.1.0/24 is reachable (no default route in a fresh namespace)',
        true,
        'unreachable: ping: connect: Network is unreachable',
        1,
        [],
      ],
    ],
  );
  t.same(reported, results, 'each result is reported as it is judged');
  t.same(
    machine.ran,
    [
      'ip netns exec ci1-test1 ping -n -c 1 -W 1 192.168.1.2',
      'ip netns exec ci1-test2 ping -n -c 1 -W 1 192.168.1.1',
      'ip -n ci1-test1 -j link show dev veth-test1',
      'ip netns exec ci1-test1 ping -n -c 1 -W 2 192.168.2.1',
    ],
    "each probe runs once in the instance's namespaces; the must-fail ping waits its whole 2s timeout once",
  );
});

t.test('a ping without reply explains itself with evidence from both ends', async (t) => {
  const lab = shipped('netns-veth');
  const c = checkNamed(lab, 'test1 pings test2 over the veth pair');
  // test2's end of the cable was left down: test1's route is linkdown and ARP never completes.
  const machine = new FakeMachine(
    { 'ip netns exec ci1-test1 ping 192.168.1.2': ping.lost('192.168.1.2') },
    {
      'ci1-test1': {
        addresses: 'lo               DOWN           \nveth-test1@if2   LOWERLAYERDOWN 192.168.1.1/24 \n',
        routes: '192.168.1.0/24 dev veth-test1 proto kernel scope link src 192.168.1.1 linkdown \n',
        neighbours: '192.168.1.2 dev veth-test1 INCOMPLETE \n',
      },
      'ci1-test2': { addresses: 'lo               DOWN           \nveth-test2@if2   DOWN           192.168.1.2/24 \n' },
    },
  );
  const r = await judge(lab, once(c), machine);
  t.equal(r.passed, false);
  t.equal(r.saw, 'unreachable: 1 packets transmitted, 0 received, 100% packet loss, time 0ms');
  t.equal(r.attempts, 1);
  t.same(explained(r), [
    '    from:     test1 (namespace ci1-test1)',
    '    to:       192.168.1.2 (in test2)',
    '    ran:      ip netns exec ci1-test1 ping -n -c 1 -W 1 192.168.1.2',
    '    expected: a reply',
    '    saw:      unreachable: 1 packets transmitted, 0 received, 100% packet loss, time 0ms',
    `    tried:    1 time(s) over …s (lab.yaml line ${c.line})`,
    '    evidence from test1:',
    '      addresses:',
    '        lo               DOWN           ',
    '        veth-test1@if2   LOWERLAYERDOWN 192.168.1.1/24',
    '      routes:',
    '        192.168.1.0/24 dev veth-test1 proto kernel scope link src 192.168.1.1 linkdown',
    '      neighbours:',
    '        192.168.1.2 dev veth-test1 INCOMPLETE',
    '      iptables (with counters):',
    '        (none)',
    '    evidence from test2:',
    '      addresses:',
    '        lo               DOWN           ',
    '        veth-test2@if2   DOWN           192.168.1.2/24',
    '      routes:',
    '        (none)',
    '      neighbours:',
    '        (none)',
    '      iptables (with counters):',
    '        (none)',
  ]);
  t.same(machine.ran.slice(1), [
    'ip -n ci1-test1 -br addr',
    'ip -n ci1-test1 route',
    'ip -n ci1-test1 neigh',
    'ip netns exec ci1-test1 iptables-save -c',
    'ip -n ci1-test2 -br addr',
    'ip -n ci1-test2 route',
    'ip -n ci1-test2 neigh',
    'ip netns exec ci1-test2 iptables-save -c',
  ]);
});

t.test('a must-fail ping that gets a reply fails at once; the address belongs to no namespace', async (t) => {
  const lab = shipped('netns-veth');
  const c = checkNamed(lab, 'nothing outside 192.168.1.0/24 is reachable (no default route in a fresh namespace)');
  // Someone added a default route through test2, which forwards.
  const machine = new FakeMachine(
    { 'ip netns exec ci1-test1 ping 192.168.2.1': ping.answered('192.168.2.1', 63) },
    { 'ci1-test1': { routes: 'default via 192.168.1.2 dev veth-test1 \n192.168.1.0/24 dev veth-test1 proto kernel scope link src 192.168.1.1 \n' } },
  );
  const r = await judge(lab, c, machine);
  t.equal(r.passed, false);
  t.equal(r.saw, 'reachable: 64 bytes from 192.168.2.1: icmp_seq=1 ttl=63 time=0.071 ms');
  t.equal(r.attempts, 1, 'a must-fail check is never retried');
  t.same(explained(r).slice(0, 6), [
    '    from:     test1 (namespace ci1-test1)',
    '    to:       192.168.2.1 (no namespace in this lab has it)',
    '    ran:      ip netns exec ci1-test1 ping -n -c 1 -W 2 192.168.2.1',
    '    expected: no reply',
    '    saw:      reachable: 64 bytes from 192.168.2.1: icmp_seq=1 ttl=63 time=0.071 ms',
    `    tried:    1 time(s) over …s (lab.yaml line ${c.line})`,
  ]);
  t.same(
    r.details.filter((l) => l.includes('evidence from')),
    ['    evidence from test1:'],
    'evidence only from where the check ran',
  );
  t.same(section(r, 'test1', 'routes'), [
    '        default via 192.168.1.2 dev veth-test1 ',
    '        192.168.1.0/24 dev veth-test1 proto kernel scope link src 192.168.1.1',
  ]);
});

t.test('an address on a bridge belongs to the namespace that owns the bridge', async (t) => {
  const lab = shipped('docker-bridge');
  const r = await judge(
    lab,
    once(checkNamed(lab, 'container1 reaches the gateway address on docker0')),
    new FakeMachine({ 'ip netns exec ci1-container1 ping 172.17.0.1': ping.noRoute }),
  );
  t.equal(r.saw, 'unreachable: ping: connect: Network is unreachable');
  t.equal(r.details[1], '    to:       172.17.0.1 (in host)');
  t.same(
    r.details.filter((l) => l.includes('evidence from')),
    ['    evidence from container1:', '    evidence from host:'],
  );
});

// ---- tcp ----

t.test("tcp: an accepted connection passes; a refused one fails with nc's reason", async (t) => {
  const lab = shipped('docker-bridge');
  const c = checkNamed(lab, "container1 opens a TCP connection to container2's nginx");
  const ok = await judge(lab, c, new FakeMachine({ 'ip netns exec ci1-container1 nc 172.17.0.3 80': nc.accepted('172.17.0.3', 80, 'http') }));
  t.equal(ok.passed, true);
  t.equal(ok.saw, 'reachable: the connection was accepted');

  const refused = await judge(lab, once(c), new FakeMachine({ 'ip netns exec ci1-container1 nc 172.17.0.3 80': nc.refused('172.17.0.3', 80) }));
  t.equal(refused.passed, false);
  t.equal(refused.saw, 'unreachable: nc: connect to 172.17.0.3 port 80 (tcp) failed: Connection refused');
  t.same(explained(refused).slice(0, 5), [
    '    from:     container1 (namespace ci1-container1)',
    '    to:       172.17.0.3 (in container2)',
    '    ran:      ip netns exec ci1-container1 nc -z -v -w 1 172.17.0.3 80',
    '    expected: a reply',
    '    saw:      unreachable: nc: connect to 172.17.0.3 port 80 (tcp) failed: Connection refused',
  ]);
});

t.test('tcp must-fail without a failure mode: refused or timed out both pass, a connection fails', async (t) => {
  const lab = shipped('docker-bridge');
  const c = checkNamed(lab, "nothing listens on container2's port 81 (connection refused)");
  const key = 'ip netns exec ci1-container1 nc -w 2 172.17.0.3 81';
  const refused = await judge(lab, c, new FakeMachine({ [key]: nc.refused('172.17.0.3', 81) }));
  t.same([refused.passed, refused.saw], [true, 'unreachable: nc: connect to 172.17.0.3 port 81 (tcp) failed: Connection refused']);
  const timedOut = await judge(lab, c, new FakeMachine({ [key]: nc.timedOut('172.17.0.3', 81) }));
  t.same([timedOut.passed, timedOut.saw], [true, 'unreachable: nc: connect to 172.17.0.3 port 81 (tcp) timed out: Operation now in progress']);
  const accepted = await judge(lab, c, new FakeMachine({ [key]: nc.accepted('172.17.0.3', 81, '*') }));
  t.same([accepted.passed, accepted.saw, accepted.attempts], [false, 'reachable: the connection was accepted', 1]);
  t.equal(accepted.details[3], '    expected: no reply');
});

/** Two namespaces on a veth pair; b runs the echo server. Short timeouts: failing checks are not retried. */
const TWO = `name: verify-two
title: Two namespaces for judging checks
topology:
  namespaces:
    a:
      interfaces:
        e0: { addresses: [10.0.0.1/24] }
    b:
      interfaces:
        e0: { addresses: [10.0.0.2/24] }
      server: {}
  links:
    - endpoints: [a:e0, b:e0]
checks:
  - name: port 81 is rejected
    from: a
    tcp: 10.0.0.2:81
    expect: { reachable: false, failure: refused }
    timeout: 1s
  - name: port 82 is dropped
    from: a
    tcp: 10.0.0.2:82
    expect: { reachable: false, failure: timeout }
    timeout: 1s
  - name: b's page names it
    from: a
    http: http://10.0.0.2/
    expect: { status: 200, bodyContains: '"pod":"b"' }
    timeout: 100ms
  - name: b's page is JSON naming it
    from: a
    http: http://10.0.0.2/
    expect: { json: { pod: b } }
    timeout: 100ms
  - name: b answers after a pause
    from: a
    ping: 10.0.0.2
    wait: 150ms
`;
const two = loadLabFile('verify-two.yaml', TWO).lab;

t.test('tcp must-fail with a failure mode tells a REJECT (refused) from a DROP (timed out)', async (t) => {
  const rejected = checkNamed(two, 'port 81 is rejected');
  const dropped = checkNamed(two, 'port 82 is dropped');
  const verdict = async (c: Check, reply: Reply) => {
    const r = await judge(two, c, new FakeMachine({ 'ip netns exec ci1-a nc -w 1 10.0.0.2': reply }));
    return [r.passed, r.saw];
  };
  t.same(await verdict(rejected, nc.refused('10.0.0.2', 81)), [true, 'nc: connect to 10.0.0.2 port 81 (tcp) failed: Connection refused (refused)']);
  t.same(await verdict(rejected, nc.timedOut('10.0.0.2', 81)), [
    false,
    'nc: connect to 10.0.0.2 port 81 (tcp) timed out: Operation now in progress (timed out)',
  ]);
  t.same(await verdict(dropped, nc.timedOut('10.0.0.2', 82)), [true, 'nc: connect to 10.0.0.2 port 82 (tcp) timed out: Operation now in progress (timed out)']);
  t.same(await verdict(dropped, nc.refused('10.0.0.2', 82)), [false, 'nc: connect to 10.0.0.2 port 82 (tcp) failed: Connection refused (refused)']);
  t.same(await verdict(dropped, nc.noRouteToHost('10.0.0.2', 82)), [
    false,
    'nc: connect to 10.0.0.2 port 82 (tcp) failed: No route to host (neither refused nor timed out)',
  ]);
  t.same(await verdict(rejected, nc.accepted('10.0.0.2', 81, '*')), [false, 'reachable: the connection was accepted']);
  // The explanation says which failure the check wanted.
  const wrong = await judge(two, dropped, new FakeMachine({ 'ip netns exec ci1-a nc -w 1 10.0.0.2': nc.refused('10.0.0.2', 82) }));
  t.ok(wrong.details.includes('    expected: no reply: a timeout (a DROP)'), 'expected names the DROP');
  const wrongReject = await judge(two, rejected, new FakeMachine({ 'ip netns exec ci1-a nc -w 1 10.0.0.2': nc.timedOut('10.0.0.2', 81) }));
  t.ok(wrongReject.details.includes('    expected: no reply: connection refused (a REJECT)'), 'expected names the REJECT');
});

// ---- http ----

t.test('http: the JSON body names who answered and the client it saw', async (t) => {
  const lab = shipped('docker-bridge');
  const direct = checkNamed(lab, 'container1 reaches container2 over HTTP and is seen with its own address (no NAT on the bridge)');
  const key = 'ip netns exec ci1-container1 curl http://172.17.0.3/';
  const seen = await judge(lab, direct, new FakeMachine({ [key]: curl.answers([200, echo('container2', 'container2', '172.17.0.3', '172.17.0.2')]) }));
  t.equal(seen.passed, true);
  t.equal(seen.saw, 'HTTP 200: {"pod":"container2","node":"container2","ip":"172.17.0.3","client":"172.17.0.2"}');

  // A MASQUERADE rule that also matches bridged traffic: container2 sees the gateway.
  const natted = await judge(lab, once(direct), new FakeMachine({ [key]: curl.answers([200, echo('container2', 'container2', '172.17.0.3', '172.17.0.1')]) }));
  t.equal(natted.passed, false);
  t.equal(natted.saw, 'client="172.17.0.1" (expected "172.17.0.2") in {"pod":"container2","node":"container2","ip":"172.17.0.3","client":"172.17.0.1"}');
  t.same(explained(natted).slice(0, 5), [
    '    from:     container1 (namespace ci1-container1)',
    '    to:       172.17.0.3 (in container2)',
    "    ran:      ip netns exec ci1-container1 curl -sS --max-time 2 -w '\\nstatus=%{http_code}\\n' http://172.17.0.3/",
    '    expected: HTTP 200; JSON with pod="container2", client="172.17.0.2"',
    '    saw:      client="172.17.0.1" (expected "172.17.0.2") in {"pod":"container2","node":"container2","ip":"172.17.0.3","client":"172.17.0.1"}',
  ]);

  // Without MASQUERADE the outside server sees the container's own address.
  const outside = checkNamed(lab, "the outside server sees the host's address, not the container's (MASQUERADE)");
  const leaked = await judge(
    lab,
    once(outside),
    new FakeMachine({ 'ip netns exec ci1-container1 curl http://203.0.113.1/': curl.answers([200, echo('outside', 'outside', '203.0.113.1', '172.17.0.2')]) }),
  );
  t.equal(leaked.saw, 'client="172.17.0.2" (expected "203.0.113.10") in {"pod":"outside","node":"outside","ip":"203.0.113.1","client":"172.17.0.2"}');
  t.equal(leaked.details[1], '    to:       203.0.113.1 (in outside)');
});

t.test('http: a status other than the expected one fails, with the body', async (t) => {
  const lab = shipped('service-traffic-policy');
  const c = checkNamed(lab, 'the health check node port on node3 says 503 (no local endpoint)');
  const key = 'ip netns exec ci1-client curl http://192.168.56.13:32000/';
  const none = '{"service":{"namespace":"default","name":"web-local"},"localEndpoints":0,"serviceProxyHealthy":true}';
  const one = '{"service":{"namespace":"default","name":"web-local"},"localEndpoints":1,"serviceProxyHealthy":true}';
  const ok = await judge(lab, c, new FakeMachine({ [key]: curl.answers([503, none]) }));
  t.same([ok.passed, ok.saw], [true, `HTTP 503: ${none}`]);
  const wrong = await judge(lab, once(c), new FakeMachine({ [key]: curl.answers([200, one]) }));
  t.same([wrong.passed, wrong.saw], [false, `HTTP 200 (expected 503): ${one}`]);
  t.equal(wrong.details[1], '    to:       192.168.56.13 (in node3)');
  t.equal(wrong.details[3], '    expected: HTTP 503; JSON with localEndpoints=0');
});

t.test('http: bodyContains, and a body that is not JSON', async (t) => {
  const key = 'ip netns exec ci1-a curl http://10.0.0.2/';
  const page = await judge(two, checkNamed(two, "b's page names it"), new FakeMachine({ [key]: curl.answers([200, echo('b', 'b', '10.0.0.2', '10.0.0.1')]) }));
  t.same([page.passed, page.saw], [true, 'HTTP 200: {"pod":"b","node":"b","ip":"10.0.0.2","client":"10.0.0.1"}']);

  // A stock nginx answers instead of the lab's echo server.
  const welcome = '<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n</body>\n</html>\n';
  const stock = await judge(two, checkNamed(two, "b's page names it"), new FakeMachine({ [key]: curl.answers([200, welcome]) }));
  t.same([stock.passed, stock.saw], [false, `body without ""pod":"b"": ${welcome.trim()}`]);
  t.equal(stock.details[3], '    expected: HTTP 200; a body containing ""pod":"b""');
  const notJson = await judge(two, checkNamed(two, "b's page is JSON naming it"), new FakeMachine({ [key]: curl.answers([200, welcome]) }));
  t.same([notJson.passed, notJson.saw], [false, `body is not JSON: ${welcome.trim()}`]);
  t.equal(notJson.details[3], '    expected: JSON with pod="b"');
  // JSON that is not an object (a proxy answering "null") fails the check instead of crashing it.
  const nullBody = await judge(two, checkNamed(two, "b's page is JSON naming it"), new FakeMachine({ [key]: curl.answers([200, 'null']) }));
  t.same([nullBody.passed, nullBody.saw], [false, 'body is not a JSON object: null']);
});

t.test('http backends: every listed pod answers its share of the requests', async (t) => {
  const lab = shipped('service-readiness');
  const c = checkNamed(lab, 'all three ready pods serve web');
  const key = 'ip netns exec ci1-client curl http://10.96.50.1/';
  const ip = { 'web-1': '10.244.1.2', 'web-2': '10.244.2.2', 'web-3': '10.244.2.3' } as Record<string, string>;
  const body = (pod: string) => echo(pod, pod === 'web-1' ? 'node1' : 'node2', ip[pod]!, '10.244.1.3');

  const even = await judge(lab, c, new FakeMachine({ [key]: shares({ 'web-1': 10, 'web-2': 10, 'web-3': 10 }, body) }));
  t.same([even.passed, even.saw], [true, 'answers: web-1 10/30, web-2 10/30, web-3 10/30']);

  const thin = await judge(lab, once(c), new FakeMachine({ [key]: shares({ 'web-1': 14, 'web-2': 14, 'web-3': 2 }, body) }));
  t.same([thin.passed, thin.saw], [false, 'answers: web-1 14/30, web-2 14/30, web-3 2/30 (under 10%: web-3)']);
  t.same(explained(thin).slice(0, 5), [
    '    from:     client (namespace ci1-client)',
    '    to:       10.96.50.1 (ClusterIP of service default/web; no interface holds it: kube-proxy DNATs it on every node)',
    `    ran:      ip netns exec ci1-client curl -sS --max-time 2 -H 'Connection: close' -w '\\nstatus=%{http_code}\\n'${' http://10.96.50.1/'.repeat(30)}`,
    '    expected: HTTP 200; answers from web-1, web-2, web-3, each at least 10%',
    '    saw:      answers: web-1 14/30, web-2 14/30, web-3 2/30 (under 10%: web-3)',
  ]);

  const missing = await judge(lab, once(c), new FakeMachine({ [key]: shares({ 'web-1': 15, 'web-3': 15 }, body) }));
  t.same([missing.passed, missing.saw], [false, 'answers: web-1 15/30, web-3 15/30 (never answered: web-2; under 10%: web-2)']);

  // One request hit a pod whose server had stopped: 29 answers for 30 requests.
  const answered = shares({ 'web-1': 10, 'web-2': 10, 'web-3': 9 }, body).stdout!;
  const refused = curl.refused('10.96.50.1');
  const short = await judge(lab, once(c), new FakeMachine({ [key]: { ...refused, stdout: answered + refused.stdout } }));
  t.same(
    [short.passed, short.saw],
    [false, "29/30 requests answered; curl said: curl: (7) Failed to connect to 10.96.50.1 port 80 after 0 ms: Couldn't connect to server"],
  );
});

t.test('http backends: a pod that should not answer', async (t) => {
  const lab = shipped('service-traffic-policy');
  const c = checkNamed(lab, 'internalTrafficPolicy Local: a pod on node1 only reaches web-1');
  const body = (pod: string) => echo(pod, pod === 'web-1' ? 'node1' : 'node2', pod === 'web-1' ? '10.244.1.2' : '10.244.2.2', '10.244.1.3');
  const key = 'ip netns exec ci1-probe-1 curl http://10.96.100.3/';
  const local = await judge(lab, c, new FakeMachine({ [key]: shares({ 'web-1': 10 }, body) }));
  t.same([local.passed, local.saw], [true, 'answers: web-1 10/10']);
  // The policy ignored: kube-proxy spreads over every endpoint.
  const spread = await judge(lab, once(c), new FakeMachine({ [key]: shares({ 'web-1': 7, 'web-2': 3 }, body) }));
  t.same([spread.passed, spread.saw], [false, 'answers: web-1 7/10, web-2 3/10 (unexpected: web-2)']);
  t.equal(spread.details[3], '    expected: HTTP 200; answers from web-1');
});

t.test('http backends as a number: that many different pods, whatever their names', async (t) => {
  const lab = shipped('service-clusterip');
  const c = checkNamed(lab, '60 requests from a pod to the ClusterIP reach all 3 pods, none with less than 10%');
  const key = 'ip netns exec ci1-client curl http://10.98.254.54:8080/';
  const body = (pod: string) => echo(pod, 'node1', '10.244.1.2', '10.244.1.3');
  const [p1, p2, p3] = ['nginx-deploy-79d7d959b7-l2ppr', 'nginx-deploy-79d7d959b7-sc2l6', 'nginx-deploy-79d7d959b7-g5g2s'];
  const three = await judge(lab, c, new FakeMachine({ [key]: shares({ [p1!]: 22, [p2!]: 19, [p3!]: 19 }, body) }));
  t.same([three.passed, three.saw], [true, `answers: ${p3} 19/60, ${p1} 22/60, ${p2} 19/60`], 'counted per pod, sorted by name');
  const pair = await judge(lab, once(c), new FakeMachine({ [key]: shares({ [p1!]: 30, [p2!]: 30 }, body) }));
  t.same([pair.passed, pair.saw], [false, `answers: ${p1} 30/60, ${p2} 30/60 (2 different pods answered, expected 3)`]);
  t.equal(pair.details[3], '    expected: HTTP 200; answers from 3 different pods, each at least 10%');
});

t.test('http must-fail: refused (REJECT) or timed out (DROP), as the check says', async (t) => {
  const readiness = shipped('service-readiness');
  const rejected = checkNamed(readiness, 'lonely has no ready endpoint, and kube-proxy REJECTs (connection refused, not a timeout)');
  const lonely = 'ip netns exec ci1-client curl --max-time 3 http://10.96.50.2/';
  const refused = await judge(readiness, rejected, new FakeMachine({ [lonely]: curl.refused('10.96.50.2') }));
  t.same(
    [refused.passed, refused.saw, refused.attempts],
    [true, "no response: curl: (7) Failed to connect to 10.96.50.2 port 80 after 0 ms: Couldn't connect to server (refused)", 1],
  );
  const timedOut = await judge(readiness, rejected, new FakeMachine({ [lonely]: curl.timedOut(3001) }));
  t.same([timedOut.passed, timedOut.saw], [false, 'no response: curl: (28) Connection timed out after 3001 milliseconds (timed out)']);
  t.same(explained(timedOut).slice(0, 3), [
    '    from:     client (namespace ci1-client)',
    '    to:       10.96.50.2 (ClusterIP of service default/lonely; no interface holds it: kube-proxy DNATs it on every node)',
    "    ran:      ip netns exec ci1-client curl -sS --max-time 3 -w '\\nstatus=%{http_code}\\n' http://10.96.50.2/",
  ]);
  const answered = await judge(readiness, rejected, new FakeMachine({ [lonely]: curl.answers([200, echo('web-2', 'node2', '10.244.2.2', '10.244.1.3')]) }));
  t.same([answered.passed, answered.saw], [false, 'HTTP 200: {"pod":"web-2","node":"node2","ip":"10.244.2.2","client":"10.244.1.3"}']);

  const policy = shipped('service-traffic-policy');
  const dropped = checkNamed(policy, 'Local: node3 has no local endpoint and drops the connection (timeout, not refused)');
  const node3 = 'ip netns exec ci1-client curl http://192.168.56.13:30002/';
  const drop = await judge(policy, dropped, new FakeMachine({ [node3]: curl.timedOut(3002) }));
  t.same([drop.passed, drop.saw], [true, 'no response: curl: (28) Connection timed out after 3002 milliseconds (timed out)']);
  const reject = await judge(policy, dropped, new FakeMachine({ [node3]: curl.refused('192.168.56.13', 30002) }));
  t.same(
    [reject.passed, reject.saw],
    [false, "no response: curl: (7) Failed to connect to 192.168.56.13 port 30002 after 0 ms: Couldn't connect to server (refused)"],
  );

  // Without a failure mode any failure to connect passes.
  const routed = shipped('flannel-host-gw-routed');
  const either = await judge(
    routed,
    checkNamed(routed, 'nor over HTTP'),
    new FakeMachine({ 'ip netns exec ci1-pod1 curl http://10.244.2.2/': curl.timedOut(2002) }),
  );
  t.same([either.passed, either.saw], [true, 'no response: curl: (28) Connection timed out after 2002 milliseconds']);
});

// ---- link ----

t.test('link: state, master and MTU from ip -j link', async (t) => {
  const lab = shipped('docker-bridge');
  const c = checkNamed(lab, 'vethbc789f2 is a port of docker0');
  const key = 'ip -n ci1-host -j link show dev vethbc789f2';
  const veth = {
    ifindex: 5,
    link_index: 2,
    ifname: 'vethbc789f2',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    qdisc: 'noqueue',
    master: 'docker0',
    operstate: 'UP',
    linkmode: 'DEFAULT',
    group: 'default',
    txqlen: 1000,
    link_type: 'ether',
    address: '6e:51:8a:0c:2d:7f',
    broadcast: 'ff:ff:ff:ff:ff:ff',
    link_netnsid: 1,
  };
  const port = await judge(lab, c, new FakeMachine({ [key]: json([veth]) }));
  t.same([port.passed, port.saw], [true, 'state UP, master docker0, mtu 1500']);

  const loose = { ...veth, master: undefined }; // never enslaved to docker0
  const notPort = await judge(lab, once(c), new FakeMachine({ [key]: json([loose]) }));
  t.same([notPort.passed, notPort.saw], [false, 'state UP, master none, mtu 1500']);
  t.same(explained(notPort).slice(0, 6), [
    '    from:     host (namespace ci1-host)',
    '    ran:      ip -n ci1-host -j link show dev vethbc789f2',
    '    expected: state UP, master docker0',
    '    saw:      state UP, master none, mtu 1500',
    `    tried:    1 time(s) over …s (lab.yaml line ${c.line})`,
    '    evidence from host:',
  ]);

  const vxlan = shipped('flannel-vxlan');
  const mtu = checkNamed(vxlan, 'node1 has flannel.1 at MTU 1450');
  const flannel1 = {
    ifindex: 4,
    ifname: 'flannel.1',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1450,
    qdisc: 'noqueue',
    operstate: 'UNKNOWN',
    linkmode: 'DEFAULT',
    group: 'default',
    link_type: 'ether',
    address: 'ae:5c:1b:9f:01:11',
    broadcast: 'ff:ff:ff:ff:ff:ff',
  };
  const dev = 'ip -n ci1-node1 -j link show dev flannel.1';
  const right = await judge(vxlan, mtu, new FakeMachine({ [dev]: json([flannel1]) }));
  t.same([right.passed, right.saw], [true, 'state UNKNOWN, master none, mtu 1450']);
  const wrong = await judge(vxlan, once(mtu), new FakeMachine({ [dev]: json([{ ...flannel1, mtu: 1500 }]) }));
  t.same([wrong.passed, wrong.saw], [false, 'state UNKNOWN, master none, mtu 1500']);
  t.equal(wrong.details[2], '    expected: state UNKNOWN, mtu 1450');
  const absent = await judge(vxlan, once(mtu), new FakeMachine({ [dev]: { exitCode: 1, stderr: 'Device "flannel.1" does not exist.\n' } }));
  t.same([absent.passed, absent.saw], [false, 'Device "flannel.1" does not exist.']);
});

// ---- route ----

t.test('route: gateway, device and onlink of the route to exactly that prefix', async (t) => {
  const lab = shipped('flannel-vxlan');
  const c = checkNamed(lab, "node1 routes node2's lease via flannel.1, onlink");
  const key = 'ip -n ci1-node1 -j route show 10.244.2.0/24';
  const onlink = await judge(lab, c, new FakeMachine({ [key]: json([{ dst: '10.244.2.0/24', gateway: '10.244.2.0', dev: 'flannel.1', flags: ['onlink'] }]) }));
  t.same([onlink.passed, onlink.saw], [true, 'dst 10.244.2.0/24, gateway 10.244.2.0, dev flannel.1, flags onlink']);

  // A host-gw route instead: via node2 on eth0.
  const hostGw = await judge(lab, once(c), new FakeMachine({ [key]: json([{ dst: '10.244.2.0/24', gateway: '192.168.56.12', dev: 'eth0', flags: [] }]) }));
  t.same([hostGw.passed, hostGw.saw], [false, 'dst 10.244.2.0/24, gateway 192.168.56.12, dev eth0']);
  t.same(explained(hostGw).slice(0, 4), [
    '    from:     node1 (namespace ci1-node1)',
    '    ran:      ip -n ci1-node1 -j route show 10.244.2.0/24',
    '    expected: a route entry with via 10.244.2.0, dev flannel.1, onlink true',
    '    saw:      dst 10.244.2.0/24, gateway 192.168.56.12, dev eth0',
  ]);
  const none = await judge(lab, once(c), new FakeMachine({ [key]: json([]) }));
  t.same([none.passed, none.saw], [false, 'no entry']);

  const hg = shipped('flannel-host-gw');
  const plain = checkNamed(hg, "node1 routes node2's lease via node2's IP on eth0");
  const hgKey = 'ip -n ci1-node1 -j route show 10.244.2.0/24';
  const direct = await judge(hg, plain, new FakeMachine({ [hgKey]: json([{ dst: '10.244.2.0/24', gateway: '192.168.56.12', dev: 'eth0', flags: [] }]) }));
  t.same([direct.passed, direct.saw], [true, 'dst 10.244.2.0/24, gateway 192.168.56.12, dev eth0']);
  const forced = await judge(
    hg,
    once(plain),
    new FakeMachine({ [hgKey]: json([{ dst: '10.244.2.0/24', gateway: '192.168.56.12', dev: 'eth0', flags: ['onlink'] }]) }),
  );
  t.same([forced.passed, forced.saw], [false, 'dst 10.244.2.0/24, gateway 192.168.56.12, dev eth0, flags onlink'], 'onlink: false rejects an onlink route');
});

t.test('route: type and protocol; "default" and a bare address are looked up as such', async (t) => {
  const lab = shipped('calico-bgp');
  const blackhole = checkNamed(lab, 'node1 blackholes its own block, originated by BIRD');
  const key = 'ip -n ci1-node1 -j route show 10.244.0.0/26';
  const bird = await judge(lab, blackhole, new FakeMachine({ [key]: json([{ type: 'blackhole', dst: '10.244.0.0/26', protocol: 'bird', flags: [] }]) }));
  t.same([bird.passed, bird.saw], [true, 'type blackhole, dst 10.244.0.0/26, protocol bird']);
  // Felix's blackhole (proto 80), not BIRD's.
  const felix = await judge(lab, once(blackhole), new FakeMachine({ [key]: json([{ type: 'blackhole', dst: '10.244.0.0/26', protocol: '80', flags: [] }]) }));
  t.same([felix.passed, felix.saw], [false, 'type blackhole, dst 10.244.0.0/26, protocol 80']);
  t.equal(felix.details[2], '    expected: a route entry with proto bird, type blackhole');
  const unicast = await judge(lab, once(blackhole), new FakeMachine({ [key]: json([{ dst: '10.244.0.0/26', dev: 'eth0', protocol: 'bird', flags: [] }]) }));
  t.same([unicast.passed, unicast.saw], [false, 'dst 10.244.0.0/26, dev eth0, protocol bird'], 'ip -j leaves out the type of a unicast route');

  const hostRoute = checkNamed(lab, 'node1 has a /32 host route to pod1 on its cali veth');
  const cali = await judge(
    lab,
    hostRoute,
    new FakeMachine({ 'ip -n ci1-node1 -j route show 10.244.0.1/32': json([{ dst: '10.244.0.1', dev: 'calice0906292e2', scope: 'link', flags: [] }]) }),
  );
  t.same([cali.passed, cali.saw], [true, 'dst 10.244.0.1, dev calice0906292e2, scope link']);

  const cni = shipped('cni-plugins');
  const dflt = await judge(
    cni,
    checkNamed(cni, 'pod1 got its default route from the plugin (isDefaultGateway)'),
    new FakeMachine({ 'ip -n ci1-pod1 -j route show default': json([{ dst: 'default', gateway: '10.244.1.1', dev: 'eth0', flags: [] }]) }),
  );
  t.same([dflt.passed, dflt.saw], [true, 'dst default, gateway 10.244.1.1, dev eth0']);
});

t.test('route present: false passes only when there is no such route', async (t) => {
  const lab = shipped('calico-bgp');
  const c = checkNamed(lab, "node2 learned the block only, not pod1's /32 (the host route is at metric 1024, so BIRD aggregates it)");
  const key = 'ip -n ci1-node2 -j route show 10.244.0.1/32';
  const absent = await judge(lab, c, new FakeMachine({ [key]: json([]) }));
  t.same([absent.passed, absent.saw], [true, 'no entry']);
  // BIRD exported pod1's host route as well as the block.
  const leaked = await judge(
    lab,
    once(c),
    new FakeMachine({ [key]: json([{ dst: '10.244.0.1', gateway: '192.168.56.11', dev: 'eth0', protocol: 'bird', metric: 32, flags: [] }]) }),
  );
  t.same([leaked.passed, leaked.saw], [false, 'dst 10.244.0.1, gateway 192.168.56.11, dev eth0, protocol bird, metric 32']);
  t.equal(leaked.details[2], '    expected: no route entry');
});

t.test('state checks are retried until the state appears, and give up at the timeout', async (t) => {
  const lab = shipped('calico-bgp');
  const learned = checkNamed(lab, "node1 learned node2's block from BGP, via node2");
  const key = 'ip -n ci1-node1 -j route show 10.244.0.64/26';
  const route = json([{ dst: '10.244.0.64/26', gateway: '192.168.56.12', dev: 'eth0', protocol: 'bird', metric: 32, flags: [] }]);
  const machine = new FakeMachine({ [key]: [json([]), json([]), route] });
  const r = await judge(lab, learned, machine);
  t.same([r.passed, r.saw, r.attempts], [true, 'dst 10.244.0.64/26, gateway 192.168.56.12, dev eth0, protocol bird, metric 32', 3]);
  t.ok(r.ms >= 390, `two 200ms pauses between three attempts (${r.ms}ms)`);
  t.same(machine.ran, Array(3).fill('ip -n ci1-node1 -j route show 10.244.0.64/26'), 'no evidence gathered for a check that passed');

  const never = new FakeMachine({ [key]: json([]) });
  const late = await judge(lab, { ...learned, timeoutMs: 1000 }, never);
  t.equal(late.passed, false);
  t.ok(late.attempts >= 3 && late.attempts <= 5, `attempts every 200ms within the 1s timeout (${late.attempts})`);
  t.equal(never.ran.filter((l) => l === 'ip -n ci1-node1 -j route show 10.244.0.64/26').length, late.attempts);
  t.match(late.details[4], new RegExp(`^    tried:    ${late.attempts} time\\(s\\) over [01]\\.\\ds \\(lab\\.yaml line ${learned.line}\\)$`));
});

// ---- neigh ----

t.test('neigh: device, state and link-layer address of the entry for an address', async (t) => {
  const lab = shipped('flannel-vxlan');
  const c = checkNamed(lab, "node1 has a permanent neighbour entry for node2's VTEP");
  const key = 'ip -n ci1-node1 -j neigh show 10.244.2.0';
  const vtep = { dst: '10.244.2.0', dev: 'flannel.1', lladdr: 'ae:5c:1b:9f:02:11' };
  const permanent = await judge(lab, c, new FakeMachine({ [key]: json([{ ...vtep, state: ['PERMANENT'] }]) }));
  t.same([permanent.passed, permanent.saw], [true, 'dst 10.244.2.0, dev flannel.1, lladdr ae:5c:1b:9f:02:11, state PERMANENT']);
  // Learned by ARP rather than written by flanneld.
  const learned = await judge(lab, once(c), new FakeMachine({ [key]: json([{ ...vtep, state: ['STALE'] }]) }));
  t.same([learned.passed, learned.saw], [false, 'dst 10.244.2.0, dev flannel.1, lladdr ae:5c:1b:9f:02:11, state STALE']);
  t.same(explained(learned).slice(0, 3), [
    '    from:     node1 (namespace ci1-node1)',
    '    ran:      ip -n ci1-node1 -j neigh show 10.244.2.0',
    '    expected: a neigh entry with dev flannel.1, state PERMANENT',
  ]);

  const calico = shipped('calico-vxlan');
  const proxyArp = checkNamed(calico, 'proxy ARP answered for 169.254.1.1 with the cali MAC');
  const gw = 'ip -n ci1-pod1 -j neigh show 169.254.1.1';
  const answered = await judge(
    calico,
    proxyArp,
    new FakeMachine({ [gw]: json([{ dst: '169.254.1.1', dev: 'eth0', lladdr: 'ee:ee:ee:ee:ee:ee', state: ['REACHABLE'] }]) }),
  );
  t.same([answered.passed, answered.saw], [true, 'dst 169.254.1.1, dev eth0, lladdr ee:ee:ee:ee:ee:ee, state REACHABLE']);
  // proxy_arp off on the cali veth: nobody answers for the fake gateway.
  const unanswered = await judge(calico, once(proxyArp), new FakeMachine({ [gw]: json([{ dst: '169.254.1.1', dev: 'eth0', state: ['FAILED'] }]) }));
  t.same([unanswered.passed, unanswered.saw], [false, 'dst 169.254.1.1, dev eth0, state FAILED']);
  t.equal(unanswered.details[2], '    expected: a neigh entry with lladdr ee:ee:ee:ee:ee:ee');
});

// ---- fdb ----

t.test("fdb: the VXLAN device forwards the remote VTEP's MAC to its node", async (t) => {
  const lab = shipped('flannel-vxlan');
  const c = checkNamed(lab, "node1's FDB sends node2's VTEP MAC to 192.168.56.12");
  const key = 'bridge -n ci1-node1 -j fdb show dev flannel.1';
  const entry = { mac: 'ae:5c:1b:9f:02:11', ifname: 'flannel.1', dst: '192.168.56.12', flags: ['self'], state: 'permanent' };
  const ok = await judge(lab, c, new FakeMachine({ [key]: json([entry]) }));
  t.same([ok.passed, ok.saw], [true, 'mac ae:5c:1b:9f:02:11, ifname flannel.1, dst 192.168.56.12, flags self, state permanent']);
  // Only a stale entry for a node that left: every entry is shown.
  const stale = await judge(lab, once(c), new FakeMachine({ [key]: json([{ ...entry, mac: '5a:10:c3:44:0e:01', dst: '192.168.56.13' }]) }));
  t.same([stale.passed, stale.saw], [false, 'mac 5a:10:c3:44:0e:01, ifname flannel.1, dst 192.168.56.13, flags self, state permanent']);
  t.same(explained(stale).slice(0, 3), [
    '    from:     node1 (namespace ci1-node1)',
    '    ran:      bridge -n ci1-node1 -j fdb show dev flannel.1',
    '    expected: a fdb entry with dst 192.168.56.12, state permanent',
  ]);
  const empty = await judge(lab, once(c), new FakeMachine({ [key]: json([]) }));
  t.same([empty.passed, empty.saw], [false, 'no entry']);
  const noDevice = await judge(lab, once(c), new FakeMachine({ [key]: { exitCode: 1, stderr: 'Cannot find device "flannel.1"\n' } }));
  t.same([noDevice.passed, noDevice.saw], [false, 'Cannot find device "flannel.1"']);
});

// ---- bgp ----

t.test('bgp: the session state BIRD reports, retried while the session comes up', async (t) => {
  const lab = shipped('calico-bgp');
  const c = checkNamed(lab, "node1's session with node2 is Established");
  const key = 'ip netns exec ci1-node1 birdc show protocols';
  const up = 'Mesh_192_168_56_12 BGP        ---        up     01:44:30.990  Established   ';
  const connecting = 'Mesh_192_168_56_12 BGP        ---        start  01:44:29.053  Active        Socket: Connection refused';
  const machine = new FakeMachine({ [key]: [birdc(connecting), birdc(connecting), birdc(up)] });
  const r = await judge(lab, c, machine);
  t.same([r.passed, r.saw, r.attempts], [true, 'Mesh_192_168_56_12 BGP up Established', 3]);
  t.equal(machine.ran[0], 'ip netns exec ci1-node1 birdc -s /run/knetlab/labs/ci1-calico-bgp/node1/bird.ctl show protocols', "the node's own control socket");

  const stuck = await judge(lab, once(c), new FakeMachine({ [key]: birdc(connecting) }));
  t.same([stuck.passed, stuck.saw], [false, 'Mesh_192_168_56_12 BGP start Active        Socket: Connection refused']);
  t.same(explained(stuck).slice(0, 4), [
    '    from:     node1 (namespace ci1-node1)',
    '    ran:      ip netns exec ci1-node1 birdc -s /run/knetlab/labs/ci1-calico-bgp/node1/bird.ctl show protocols',
    '    expected: session state Established',
    '    saw:      Mesh_192_168_56_12 BGP start Active        Socket: Connection refused',
  ]);
  const unknown = await judge(lab, once(c), new FakeMachine({ [key]: birdc('Mesh_192_168_56_13 BGP        ---        up     01:44:30.747  Established   ') }));
  t.same([unknown.passed, unknown.saw], [false, 'BIRD has no protocol Mesh_192_168_56_12']);
  const noBird = await judge(
    lab,
    once(c),
    new FakeMachine({
      [key]: {
        exitCode: 1,
        stderr: 'Unable to connect to server control socket (/run/knetlab/labs/ci1-calico-bgp/node1/bird.ctl): No such file or directory\n',
      },
    }),
  );
  t.same(
    [noBird.passed, noBird.saw],
    [false, 'Unable to connect to server control socket (/run/knetlab/labs/ci1-calico-bgp/node1/bird.ctl): No such file or directory'],
  );
});

// ---- capture ----

t.test('capture: VXLAN on the underlay while the ping crosses, decoded from tcpdump -x', async (t) => {
  const lab = shipped('flannel-vxlan');
  const c = checkNamed(lab, 'the ping crosses the underlay as VXLAN VNI 1 on UDP 8472, pod addresses inside');
  const replies = (packets: string) => ({
    'ip netns exec ci1-node1 tcpdump -i eth0': tcpdump('eth0', packets, 2),
    'ip netns exec ci1-pod1 ping 10.244.2.2': ping.answered('10.244.2.2', 62),
  });
  const machine = new FakeMachine(replies(fixture('capture/flannel-vxlan.txt')));
  const r = await judge(lab, c, machine);
  t.equal(r.passed, true);
  t.equal(r.saw, '1/2 packets as expected; first: 192.168.56.11:60696 > 192.168.56.12:8472 VXLAN vni 1 carrying 10.244.1.2 > 10.244.2.2 ICMP');
  t.same(
    machine.ran,
    ['ip netns exec ci1-node1 tcpdump -i eth0 -nn -l -x -c 200 udp port 8472', 'ip netns exec ci1-pod1 ping -n -c 1 -W 1 10.244.2.2'],
    'the capture starts before the traffic is sent',
  );

  // node1 masquerades pod traffic: the inner source is its flannel.1 address, not pod1.
  const masq = await judge(lab, c, new FakeMachine(replies(fixture('verify/flannel-vxlan-masqueraded.txt'))));
  t.equal(masq.passed, false);
  t.same(masq.details, [
    "    captured: ip netns exec ci1-node1 tcpdump -i eth0 -nn -l -x -c 200 'udp port 8472'",
    '    during:   ip netns exec ci1-pod1 ping -n -c 1 -W 1 10.244.2.2 (from pod1: passed)',
    '    expected: vxlan packets to port 8472, vni 1, outer 192.168.56.11 > 192.168.56.12, inner 10.244.1.2 > 10.244.2.2',
    '    saw:      0/2 packets as expected; first: 192.168.56.11:60696 > 192.168.56.12:8472 VXLAN vni 1 carrying 10.244.1.0 > 10.244.2.2 ICMP',
    '    decoded packets (2):',
    '      192.168.56.11:60696 > 192.168.56.12:8472 VXLAN vni 1 carrying 10.244.1.0 > 10.244.2.2 ICMP',
    '      192.168.56.12:60696 > 192.168.56.11:8472 VXLAN vni 1 carrying 10.244.2.2 > 10.244.1.0 ICMP',
    '    tcpdump said:',
    '      01:47:12.380457 IP 192.168.56.11.60696 > 192.168.56.12.8472: OTV, flags [I] (0x08), overlay 0, instance 1 | IP 10.244.1.0 > 10.244.2.2: ICMP echo request, id 23720, seq 1, length 64',
    '      01:47:12.380676 IP 192.168.56.12.60696 > 192.168.56.11.8472: OTV, flags [I] (0x08), overlay 0, instance 1 | IP 10.244.2.2 > 10.244.1.0: ICMP echo reply, id 23720, seq 1, length 64',
  ]);
});

t.test('capture: plain routed packets, and nothing captured at all', async (t) => {
  const lab = shipped('flannel-host-gw');
  const c = checkNamed(lab, 'the ping crosses the underlay as plain IP with pod addresses, no encapsulation');
  const flow = { 'ip netns exec ci1-pod1 ping 10.244.2.2': ping.answered('10.244.2.2', 62) };
  const plain = await judge(
    lab,
    c,
    new FakeMachine({ ...flow, 'ip netns exec ci1-node1 tcpdump icmp': tcpdump('eth0', fixture('verify/host-gw-icmp.txt'), 2) }),
  );
  t.same([plain.passed, plain.saw], [true, '1/2 packets as expected; first: 10.244.1.2 > 10.244.2.2 ICMP (not encapsulated)']);

  // The ping went another way: tcpdump on eth0 saw nothing.
  const nothing = await judge(lab, c, new FakeMachine({ ...flow, 'ip netns exec ci1-node1 tcpdump icmp': tcpdump('eth0', '', 0) }));
  t.same([nothing.passed, nothing.saw], [false, 'no packets matched "icmp" on node1 eth0 (tcpdump: 0 packets dropped by kernel)']);
  t.same(nothing.details.slice(2), [
    '    expected: unencapsulated packets, outer 10.244.1.2 > 10.244.2.2, inner * > *',
    '    saw:      no packets matched "icmp" on node1 eth0 (tcpdump: 0 packets dropped by kernel)',
    '    decoded packets (0):',
    '      (none)',
  ]);
});

t.test('capture present: false passes only while nothing matches the filter', async (t) => {
  const lab = shipped('flannel-vxlan');
  const c = checkNamed(lab, 'same-node traffic never touches the underlay');
  const flow = { 'ip netns exec ci1-pod1 ping 10.244.1.3': ping.answered('10.244.1.3') };
  const quiet = await judge(lab, c, new FakeMachine({ ...flow, 'ip netns exec ci1-node1 tcpdump': tcpdump('eth0', '', 0) }));
  t.same([quiet.passed, quiet.saw], [true, 'no packet matched "udp port 8472" on node1 eth0']);
  const leaked = await judge(lab, c, new FakeMachine({ ...flow, 'ip netns exec ci1-node1 tcpdump': tcpdump('eth0', fixture('capture/flannel-vxlan.txt'), 2) }));
  t.same(
    [leaked.passed, leaked.saw],
    [false, '2 packets matched; first: 192.168.56.11:60696 > 192.168.56.12:8472 VXLAN vni 1 carrying 10.244.1.2 > 10.244.2.2 ICMP'],
  );
  t.equal(leaked.details[2], '    expected: no packet matching the filter while the traffic flows');
});

t.test("capture: when the traffic itself fails, that is the verdict, with the traffic's own evidence", async (t) => {
  const lab = shipped('flannel-vxlan');
  const c = checkNamed(lab, 'the ping crosses the underlay as VXLAN VNI 1 on UDP 8472, pod addresses inside');
  if (c.probe.kind !== 'capture') throw new Error('not a capture check');
  // The loader gives the traffic the default 5s timeout; one attempt is enough here.
  const quick: Check = { ...c, probe: { ...c.probe, during: once(c.probe.during) } };
  const r = await judge(
    lab,
    quick,
    new FakeMachine({ 'ip netns exec ci1-node1 tcpdump': tcpdump('eth0', '', 0), 'ip netns exec ci1-pod1 ping 10.244.2.2': ping.lost('10.244.2.2') }),
  );
  t.equal(r.passed, false);
  t.equal(r.saw, 'the traffic itself failed: unreachable: 1 packets transmitted, 0 received, 100% packet loss, time 0ms');
  t.equal(r.details[1], '    during:   ip netns exec ci1-pod1 ping -n -c 1 -W 1 10.244.2.2 (from pod1: failed)');
  t.same(explained(r).slice(6, 9), [
    '    from:     pod1 (namespace ci1-pod1)',
    '    to:       10.244.2.2 (in pod3)',
    '    ran:      ip netns exec ci1-pod1 ping -n -c 1 -W 1 10.244.2.2',
  ]);
  t.same(
    r.details.filter((l) => l.includes('evidence from')),
    ['    evidence from pod1:', '    evidence from pod3:'],
  );
});

// ---- exec ----

t.test("exec: a step passes on exit status 0, with {labdir} naming the running copy's folder", async (t) => {
  const lab = shipped('service-readiness');
  const c = checkNamed(lab, 'web-2 starts failing its readiness probe (its /healthz answers 503)');
  const key = 'ip netns exec ci1-web-2 touch';
  const machine = new FakeMachine({ [key]: {} });
  const ok = await judge(lab, c, machine);
  t.same([ok.passed, ok.saw], [true, 'exit 0']);
  t.same(machine.ran, ['ip netns exec ci1-web-2 touch /run/knetlab/labs/ci1-service-readiness/unready/web-2']);

  const failed = await judge(
    lab,
    once(c),
    new FakeMachine({
      [key]: { exitCode: 1, stderr: "touch: cannot touch '/run/knetlab/labs/ci1-service-readiness/unready/web-2': No such file or directory\n" },
    }),
  );
  t.equal(failed.passed, false);
  t.equal(failed.saw, "exit 1: touch: cannot touch '/run/knetlab/labs/ci1-service-readiness/unready/web-2': No such file or directory");
  t.same(failed.details.slice(0, 2), [
    '    from:     web-2 (namespace ci1-web-2)',
    '    ran:      ip netns exec ci1-web-2 touch /run/knetlab/labs/ci1-service-readiness/unready/web-2',
  ]);
  t.equal(failed.details[2], '    expected: exit status 0');
  t.equal(failed.details[3], `    saw:      ${failed.saw}`);
});

// ---- evidence ----

t.test('a Service address is named as one: the ClusterIP is on no interface, a MetalLB address leads to the node announcing it', async (t) => {
  const lb = shipped('service-loadbalancer');
  const c = checkNamed(lb, 'client-a (inside loadBalancerSourceRanges) reaches the VIP');
  const vip = 'ip netns exec ci1-client-a curl http://192.168.56.240/';
  const dir = instanceOf(lb).dir;
  const status = (node: string, announcing: string[]) => `${JSON.stringify({ node, alive: ['node1', 'node2', 'node3'], announcing })}\n`;
  // node1 went down; node2's speaker took the address over.
  const files = {
    [`${dir}/cluster/speaker-node1.status.json`]: status('node1', []),
    [`${dir}/cluster/speaker-node2.status.json`]: status('node2', ['192.168.56.240']),
    [`${dir}/cluster/speaker-node3.status.json`]: status('node3', []),
  };
  const failover = await judge(lb, once(c), new FakeMachine({ [vip]: curl.timedOut(2002) }, {}, [], files));
  t.equal(
    failover.details[1],
    '    to:       192.168.56.240 (LoadBalancer IP of service default/web, announced by node2)',
    'not "in switch", whose subnet it is on',
  );
  t.ok(failover.details.includes('    evidence from node2:'), 'evidence from the announcing node');
  t.notOk(failover.details.includes('    evidence from switch:'));
  const silent = await judge(lb, once(c), new FakeMachine({ [vip]: curl.timedOut(2002) }));
  t.equal(silent.details[1], "    to:       192.168.56.240 (LoadBalancer IP of service default/web, announced by no node (no speaker's status lists it))");
  // The NodePort goes to a node's own address: that node.
  const np = checkNamed(lb, 'the NodePort is not subject to the source ranges, so client-b gets in there');
  const nodePort = await judge(lb, once(np), new FakeMachine({ 'ip netns exec ci1-client-b curl http://192.168.56.12:30080/': curl.timedOut(2002) }));
  t.equal(nodePort.details[1], '    to:       192.168.56.12 (in node2)');

  // The running lab's state file has the Services added since up (knetlab apply).
  const clusterip = shipped('service-clusterip');
  const state = clusterip.cluster!.kubernetes!.state;
  const web = state.services[0]!;
  const added = { ...web, meta: { ...web.meta, name: 'extra' }, clusterIP: '10.96.0.99', externalIPs: ['198.51.100.7'] };
  const stateFile = `${instanceOf(clusterip).dir}/cluster/state.json`;
  const running = JSON.stringify({
    generation: 2,
    clusterCIDR: '10.244.0.0/16',
    serviceCIDR: '10.96.0.0/12',
    nodes: [],
    lbPool: [],
    kubeProxy: DEFAULT_KUBE_PROXY_CONFIGURATION,
    state: { ...state, services: [...state.services, added] },
  });
  const base = checkNamed(clusterip, 'a node reaches the ClusterIP too (masqueraded, since its address is outside the pod network)');
  const to = (url: string): Check => once({ ...base, probe: { kind: 'http', url, host: new URL(url).hostname, requests: 1 } });
  const extra = await judge(
    clusterip,
    to('http://10.96.0.99/'),
    new FakeMachine({ 'curl http://10.96.0.99/': curl.timedOut(2002) }, {}, [], { [stateFile]: running }),
  );
  t.equal(extra.details[1], '    to:       10.96.0.99 (ClusterIP of service default/extra; no interface holds it: kube-proxy DNATs it on every node)');
  const external = await judge(
    clusterip,
    to('http://198.51.100.7/'),
    new FakeMachine({ 'curl http://198.51.100.7/': curl.timedOut(2002) }, {}, [], { [stateFile]: running }),
  );
  t.equal(external.details[1], '    to:       198.51.100.7 (external IP of service default/extra; no interface holds it: kube-proxy DNATs it on every node)');
  // A damaged state file: the lab's own manifests still name the ClusterIP; an address no Service has is no one's.
  const damaged = { [stateFile]: '{"generation": 3, "nod' };
  const own = await judge(
    clusterip,
    to('http://10.98.254.54:8080/'),
    new FakeMachine({ 'curl http://10.98.254.54:8080/': curl.timedOut(2002) }, {}, [], damaged),
  );
  t.equal(own.details[1], '    to:       10.98.254.54 (ClusterIP of service default/nginx-deploy; no interface holds it: kube-proxy DNATs it on every node)');
  const gone = await judge(clusterip, to('http://10.96.0.99/'), new FakeMachine({ 'curl http://10.96.0.99/': curl.timedOut(2002) }, {}, [], damaged));
  t.equal(gone.details[1], '    to:       10.96.0.99 (no namespace in this lab has it)');
});

t.test('iptables evidence keeps only tables that hold rules, each rule with its counters', async (t) => {
  const lab = shipped('service-clusterip');
  const c = checkNamed(lab, 'a node reaches the ClusterIP too (masqueraded, since its address is outside the pod network)');
  // The Service's chain lost its endpoints: packets match KUBE-SERVICES and then nothing.
  const iptables = [
    '# Generated by iptables-save v1.8.9 (nf_tables) on Mon May  6 10:00:00 2024',
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    'COMMIT',
    '# Completed on Mon May  6 10:00:00 2024',
    '# Generated by iptables-save v1.8.9 (nf_tables) on Mon May  6 10:00:00 2024',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [4:240]',
    ':POSTROUTING ACCEPT [4:240]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SVC-2CMXP7HKUVJN7L6M - [0:0]',
    '[4:240] -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '[4:240] -A KUBE-SERVICES -d 10.98.254.54/32 -p tcp -m comment --comment "default/nginx-svc cluster IP" -m tcp --dport 8080 -j KUBE-SVC-2CMXP7HKUVJN7L6M',
    'COMMIT',
    '# Completed on Mon May  6 10:00:00 2024',
    '',
  ].join('\n');
  const r = await judge(
    lab,
    once(c),
    new FakeMachine({ 'ip netns exec ci1-node2 curl http://10.98.254.54:8080/': curl.timedOut(2002) }, { 'ci1-node2': { iptables } }),
  );
  t.equal(r.saw, '0/1 requests answered; curl said: curl: (28) Connection timed out after 2002 milliseconds');
  t.equal(r.details[1], '    to:       10.98.254.54 (ClusterIP of service default/nginx-deploy; no interface holds it: kube-proxy DNATs it on every node)');
  t.same(section(r, 'node2', 'iptables (with counters)'), [
    '        *nat',
    '        [4:240] -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '        [4:240] -A KUBE-SERVICES -d 10.98.254.54/32 -p tcp -m comment --comment "default/nginx-svc cluster IP" -m tcp --dport 8080 -j KUBE-SVC-2CMXP7HKUVJN7L6M',
  ]);
});

t.test('evidence from a namespace that is gone shows why it could not be read', async (t) => {
  const lab = shipped('flannel-vxlan');
  const c = checkNamed(lab, 'pod1 reaches pod3 over HTTP and is seen with its own address (no NAT between pods)');
  const r = await judge(lab, once(c), new FakeMachine({ 'ip netns exec ci1-pod1 curl http://10.244.2.2/': curl.timedOut(2001) }, {}, ['ci1-pod3']));
  t.equal(r.saw, '0/1 requests answered; curl said: curl: (28) Connection timed out after 2001 milliseconds');
  const gone = '        Cannot open network namespace "ci1-pod3": No such file or directory';
  const from = r.details.indexOf('    evidence from pod3:');
  t.same(r.details.slice(from, from + 9), [
    '    evidence from pod3:',
    '      addresses:',
    gone,
    '      routes:',
    gone,
    '      neighbours:',
    gone,
    '      iptables (with counters):',
    gone,
  ]);
});

// ---- wait ----

t.test('wait: the check pauses before its probe, outside its own timing', async (t) => {
  const c = checkNamed(two, 'b answers after a pause');
  const t0 = Date.now();
  const r = await judge(two, c, new FakeMachine({ 'ip netns exec ci1-a ping 10.0.0.2': ping.answered('10.0.0.2') }));
  t.equal(r.passed, true);
  t.ok(Date.now() - t0 >= 145, 'waited 150ms');
  t.ok(r.ms < 100, `the probe itself took ${r.ms}ms`);
});

// ---- udp, sctp, conntrack ----

/** `nc -u -W 1`: each answer as it came, one per datagram answered; a datagram that got none prints nothing. */
const datagrams = (...bodies: string[]): Reply => ({ stdout: bodies.map((b) => `${b}\n`).join('') });
/** The same answers, in turn from these pods, this many each. */
const udpShares = (counts: Record<string, number>, body: (pod: string) => string): Reply => ({
  stdout: (shares(counts, body).stdout ?? '').replace(/\nstatus=200\n/g, '\n'),
});

/** conntrack-tools 1.4.7 `conntrack -L`: entries on stdout, the count on stderr. */
const conntrackList = (...entries: string[]): Reply => ({
  stdout: entries.map((e) => `${e}\n`).join(''),
  stderr: `conntrack v1.4.7 (conntrack-tools): ${entries.length} flow entries have been shown.\n`,
});
const flow = (sport: number, pod: string, flags = '') =>
  `udp      17 26 src=10.244.3.2 dst=10.96.53.1 sport=${sport} dport=5353 src=${pod} dst=10.244.3.2 sport=5353 dport=${sport} ${flags}mark=0 use=1`;

/** socat 1.7.4 `-u /dev/null SCTP-CONNECT:…`: its errors on stderr, after the date, its name and the level. */
const socat = {
  noSctp: { exitCode: 1, stderr: '2024/05/06 10:00:00 socat[979] E socket(2, 1, 132): Protocol not supported\n' } as Reply,
  refused: (to: string): Reply => ({ exitCode: 1, stderr: `2024/05/06 10:00:00 socat[980] E connect(5, AF=2 ${to}, 16): Connection refused\n` }),
  timedOut: (to: string): Reply => ({ exitCode: 1, stderr: `2024/05/06 10:00:00 socat[987] E connecting to AF=2 ${to}: Connection timed out\n` }),
};

const udpLab = () => shipped('service-udp');
const echoAt = (pod: string) => echo(pod, pod === 'web-1' ? 'node1' : 'node2', pod === 'web-1' ? '10.244.1.2' : '10.244.2.2', '10.244.3.2');

t.test('udp: one nc per datagram, each from a new source port, and the answers counted per pod', async (t) => {
  const lab = udpLab();
  const c = checkNamed(lab, '40 datagrams from the client, each from a new source port, are spread over both pods');
  const machine = new FakeMachine({ 'ip netns exec ci1-client sh': udpShares({ 'web-1': 18, 'web-2': 22 }, echoAt) });
  const r = await judge(lab, c, machine);
  t.same([r.passed, r.saw], [true, 'answers: web-1 18/40, web-2 22/40']);
  t.same(machine.ran, ['ip netns exec ci1-client sh -c for i in $(seq 40); do echo knetlab | nc -u -W 1 -w 1 10.96.53.1 5353; echo; done']);

  const lopsided = await judge(lab, once(c), new FakeMachine({ 'ip netns exec ci1-client sh': udpShares({ 'web-1': 38, 'web-2': 2 }, echoAt) }));
  t.same([lopsided.passed, lopsided.saw], [false, 'answers: web-1 38/40, web-2 2/40 (under 10%: web-2)']);
  // A datagram that got no answer prints nothing: 39 lines for 40 datagrams.
  const lost = await judge(lab, once(c), new FakeMachine({ 'ip netns exec ci1-client sh': udpShares({ 'web-1': 20, 'web-2': 19 }, echoAt) }));
  t.same([lost.passed, lost.saw.split(';')[0]], [false, '39/40 datagrams answered']);
  t.equal(lost.details[3], '    expected: all 40 datagrams answered; answers from web-1, web-2, each at least 10%');
});

t.test('udp: every answer must match, as every HTTP reply must', async (t) => {
  const lab = udpLab();
  const c = checkNamed(lab, "from outside, node3's NodePort answers from both pods, masqueraded to node3's flannel.1 address");
  const key = 'ip netns exec ci1-outside sh';
  const masqueraded = (pod: string) => echo(pod, 'x', 'y', '10.244.3.0');
  t.equal((await judge(lab, c, new FakeMachine({ [key]: udpShares({ 'web-1': 10, 'web-2': 10 }, masqueraded) }))).passed, true);
  // Without KUBE-MARK-MASQ in KUBE-EXT, the pod sees the outside client itself.
  const leaked = await judge(lab, once(c), new FakeMachine({ [key]: udpShares({ 'web-1': 10, 'web-2': 10 }, (pod) => echo(pod, 'x', 'y', '192.168.56.100')) }));
  t.equal(leaked.saw, 'client="192.168.56.100" (expected "10.244.3.0") in {"pod":"web-1","node":"x","ip":"y","client":"192.168.56.100"}');
});

t.test('udp from a fixed source port: one datagram on stdin, and the pod that answered', async (t) => {
  const lab = udpLab();
  const c = checkNamed(lab, 'the next datagram from port 40000 is a new flow, answered by web-2');
  const key = 'ip netns exec ci1-client nc -p 40000 10.96.53.1 5353';
  const machine = new FakeMachine({ [key]: datagrams(echoAt('web-2')) });
  t.equal((await judge(lab, c, machine)).passed, true);
  // Without the conntrack cleanup the stale flow still goes to web-1, whose server still answers.
  const stale = await judge(lab, once(c), new FakeMachine({ [key]: datagrams(echoAt('web-1')) }));
  t.equal(stale.saw, 'pod="web-1" (expected "web-2") in {"pod":"web-1","node":"node1","ip":"10.244.1.2","client":"10.244.3.2"}');
  t.same(explained(stale).slice(1, 5), [
    '    to:       10.96.53.1 (ClusterIP of service default/echo; no interface holds it: kube-proxy DNATs it on every node)',
    // The datagram is nc's stdin, shown as the heredoc a person would type.
    "    ran:      ip netns exec ci1-client nc -u -W 1 -w 1 -p 40000 10.96.53.1 5353 <<'EOF'\nknetlab\nEOF",
    '    expected: the datagram answered; JSON with pod="web-2"',
    '    saw:      pod="web-1" (expected "web-2") in {"pod":"web-1","node":"node1","ip":"10.244.1.2","client":"10.244.3.2"}',
  ]);
  const silent = await judge(lab, once(c), new FakeMachine({ [key]: datagrams() }));
  t.equal(silent.saw, '0/1 datagrams answered');
});

/** Two namespaces for must-fail udp and sctp checks. */
const QUIET = `name: verify-quiet
title: Datagrams and associations that must get nothing
topology:
  namespaces:
    a:
      interfaces:
        e0: { addresses: [10.0.0.1/24] }
    b:
      interfaces:
        e0: { addresses: [10.0.0.2/24] }
  links:
    - endpoints: [a:e0, b:e0]
checks:
  - name: nothing answers on 5353
    from: a
    udp: 10.0.0.2:5353
    expect: unreachable
    timeout: 1s
  - name: port 9999 refuses associations
    from: a
    sctp: 10.0.0.2:9999
    expect: { reachable: false, failure: refused }
    timeout: 1s
`;
const quiet = loadLabFile('verify-quiet.yaml', QUIET).lab;

t.test('udp must-fail: no answer within the whole timeout passes; an answer fails', async (t) => {
  const c = checkNamed(quiet, 'nothing answers on 5353');
  const machine = new FakeMachine({ 'ip netns exec ci1-a nc 10.0.0.2 5353': datagrams() });
  const r = await judge(quiet, c, machine);
  t.same([r.passed, r.saw, r.attempts], [true, 'no answer to 1 datagram(s)', 1]);
  t.same(machine.ran, ['ip netns exec ci1-a nc -u -W 1 -w 1 10.0.0.2 5353'], 'nc waits the whole timeout for an answer');
  const answered = await judge(quiet, c, new FakeMachine({ 'ip netns exec ci1-a nc 10.0.0.2 5353': datagrams('hello') }));
  t.same([answered.passed, answered.saw], [false, 'answered: hello']);
});

t.test('sctp: on a kernel without SCTP sockets the check is skipped after one attempt, saying why', async (t) => {
  const c = checkNamed(quiet, 'port 9999 refuses associations');
  const machine = new FakeMachine({ 'ip netns exec ci1-a socat': socat.noSctp });
  const r = await judge(quiet, c, machine);
  t.equal(r.passed, false, 'a check that did not run never passes');
  t.equal(
    r.skipped,
    'skipped: this kernel has no SCTP sockets (socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): Protocol not supported; it needs CONFIG_IP_SCTP or the sctp module)',
  );
  t.equal(r.attempts, 1);
  t.same(machine.ran, ['ip netns exec ci1-a socat -u /dev/null SCTP-CONNECT:10.0.0.2:9999,connect-timeout=1']);
  // Where the kernel has SCTP the same check is judged like tcp.
  const refused = await judge(quiet, c, new FakeMachine({ 'ip netns exec ci1-a socat': socat.refused('10.0.0.2:9999') }));
  t.same([refused.passed, refused.skipped, refused.saw], [true, undefined, 'connect(5, AF=2 10.0.0.2:9999, 16): Connection refused (refused)']);
  const dropped = await judge(quiet, c, new FakeMachine({ 'ip netns exec ci1-a socat': socat.timedOut('10.0.0.2:9999') }));
  t.same([dropped.passed, dropped.saw], [false, 'connecting to AF=2 10.0.0.2:9999: Connection timed out (timed out)']);
  const exhausted = await judge(
    quiet,
    c,
    new FakeMachine({ 'ip netns exec ci1-a socat': { exitCode: 1, stderr: '2024/05/06 10:00:00 socat[981] E socket(2, 1, 132): Too many open files\n' } }),
  );
  t.same(
    [exhausted.passed, exhausted.skipped, exhausted.saw],
    [false, undefined, 'socket(2, 1, 132): Too many open files (neither refused nor timed out)'],
    'only a missing protocol skips',
  );
  const accepted = await judge(quiet, c, new FakeMachine({ 'ip netns exec ci1-a socat': {} }));
  t.same([accepted.passed, accepted.saw], [false, 'reachable: the association was established']);
});

t.test('conntrack: the flow by source port and DNAT target, present or deleted', async (t) => {
  const lab = udpLab();
  const tracked = checkNamed(lab, 'node3 tracks that flow, DNATed to web-1');
  const key = 'ip netns exec ci1-node3 conntrack -L -p udp --orig-dst 10.96.53.1 --orig-port-dst 5353';
  const machine = new FakeMachine({ [key]: conntrackList(flow(51234, '10.244.2.2'), flow(40000, '10.244.1.2', '[ASSURED] ')) });
  const r = await judge(lab, tracked, machine);
  t.same([r.passed, r.saw], [true, 'udp 10.244.3.2:40000 → 10.96.53.1:5353, DNATed to 10.244.1.2:5353 [ASSURED]']);
  t.same(machine.ran, [key]);

  const deleted = checkNamed(lab, 'kube-proxy deleted the flow to web-1 (seconds after its last datagram, so it did not expire)');
  const gone = await judge(lab, deleted, new FakeMachine({ [key]: conntrackList(flow(51234, '10.244.2.2')) }));
  t.same([gone.passed, gone.saw], [true, 'no such entry; entries for 10.96.53.1: udp 10.244.3.2:51234 → 10.96.53.1:5353, DNATed to 10.244.2.2:5353']);
  // Without the cleanup the entry stays; the check retries until its timeout, then fails.
  const stale = await judge(lab, once(deleted), new FakeMachine({ [key]: conntrackList(flow(40000, '10.244.1.2', '[ASSURED] ')) }));
  t.same([stale.passed, stale.saw], [false, 'udp 10.244.3.2:40000 → 10.96.53.1:5353, DNATed to 10.244.1.2:5353 [ASSURED]']);
  t.equal(stale.details[2], '    expected: no entry from port 40000, DNATed to 10.244.1.2');
  const none = await judge(lab, once(tracked), new FakeMachine({ [key]: conntrackList() }));
  t.same([none.passed, none.saw], [false, 'no such entry; entries for 10.96.53.1: none']);
});
