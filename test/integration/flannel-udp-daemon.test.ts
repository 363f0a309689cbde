// flannel's udp backend daemon (dist/agent.js flannel-udp), for real: two nodes on one switch,
// a pod behind each node's cni0, a flannel0 TUN in each node with only the /32 lease address and
// one route for the pod network, and the daemon started exactly as the lab engine starts it.
// Then real packets: ping across, the bare inner packet as UDP payload on the underlay, the TTL
// the proxy takes off, ICMP net unreachable for an address nobody leases, every startup failure
// reported in one line with nothing left running, and a clean SIGTERM.
//
// Needs `npm run build` first (npm test does it).
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, netnsWithPrefix, processesUnder, stateDir } from './helpers.js';

const DAEMON = join(process.cwd(), 'dist', 'agent.js');
const SW = 'fu-sw';
const LOCK = '/run/fu-netns.lock'; // shared with scripts/bench-flannel-udp.mjs
const NODES = [
  { ns: 'fu-n1', pod: 'fu-p1', ip: '192.168.56.11', subnet: '10.244.1.0/24', lease: '10.244.1.0', gw: '10.244.1.1', podIP: '10.244.1.2' },
  { ns: 'fu-n2', pod: 'fu-p2', ip: '192.168.56.12', subnet: '10.244.2.0/24', lease: '10.244.2.0', gw: '10.244.2.1', podIP: '10.244.2.2' },
] as const;
const [N1, N2] = NODES;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const inNs = (ns: string, cmd: string[], timeout = 20_000) => spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout });

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function removeTopology(): void {
  for (const ns of netnsWithPrefix('fu-')) {
    // Whatever still runs in there (a daemon, tcpdump) goes first; then the namespace.
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .forEach((pid) => spawnSync('kill', ['-9', pid]));
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

function buildTopology(): void {
  ip('netns', 'add', SW);
  ip('-n', SW, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', SW, 'link', 'set', 'br0', 'up');
  NODES.forEach((n, i) => {
    ip('netns', 'add', n.ns);
    ip('netns', 'add', n.pod);
    ip('-n', n.ns, 'link', 'set', 'lo', 'up');
    ip('-n', n.pod, 'link', 'set', 'lo', 'up');
    // The underlay: eth0 on the switch.
    ip('link', 'add', 'eth0', 'netns', n.ns, 'type', 'veth', 'peer', 'name', `port${i + 1}`, 'netns', SW);
    ip('-n', SW, 'link', 'set', `port${i + 1}`, 'master', 'br0', 'up');
    ip('-n', n.ns, 'addr', 'add', `${n.ip}/24`, 'dev', 'eth0');
    ip('-n', n.ns, 'link', 'set', 'eth0', 'up');
    // The pod behind cni0, with flannel's MTU (the CNI plugin reads it from subnet.env).
    ip('-n', n.ns, 'link', 'add', 'cni0', 'type', 'bridge');
    ip('-n', n.ns, 'addr', 'add', `${n.gw}/24`, 'dev', 'cni0');
    ip('-n', n.ns, 'link', 'set', 'cni0', 'up');
    ip('link', 'add', 'veth0', 'netns', n.ns, 'mtu', '1472', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.pod, 'mtu', '1472');
    ip('-n', n.ns, 'link', 'set', 'veth0', 'master', 'cni0', 'up');
    ip('-n', n.pod, 'addr', 'add', `${n.podIP}/24`, 'dev', 'eth0');
    ip('-n', n.pod, 'link', 'set', 'eth0', 'up');
    ip('-n', n.pod, 'route', 'add', 'default', 'via', n.gw);
    inNs(n.ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    // flannel0 exactly as the lab engine makes it: persistent TUN, the lease address as /32,
    // one route for the whole network, nothing per node.
    ip('-n', n.ns, 'tuntap', 'add', 'dev', 'flannel0', 'mode', 'tun');
    ip('-n', n.ns, 'link', 'set', 'flannel0', 'mtu', '1472');
    ip('-n', n.ns, 'addr', 'add', `${n.lease}/32`, 'dev', 'flannel0');
    ip('-n', n.ns, 'link', 'set', 'flannel0', 'up');
    ip('-n', n.ns, 'route', 'add', '10.244.0.0/16', 'dev', 'flannel0');
  });
}

interface Started {
  code: number | null;
  stderr: string;
}

/** The engine's exact command line. */
function start(ns: string, config: string): Started {
  const r = inNs(ns, ['node', DAEMON, 'flannel-udp', '--config', config]);
  return { code: r.status, stderr: r.stderr };
}

/** Run tcpdump in `ns` until it has `count` packets (or `ms` passed) while `traffic` runs. */
async function capture(ns: string, args: string[], count: number, traffic: () => void, ms = 10_000): Promise<string> {
  const p = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-nn', '-l', '-t', '-c', String(count), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => p.once('exit', () => res()));
  await new Promise<void>((res) => {
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) res();
    });
    void exited.then(() => res());
  });
  traffic();
  const timer = setTimeout(() => p.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
  return out;
}

/** tcpdump -x output: one { line, bytes } per packet; the bytes start at the IP header. */
function packets(dump: string): { line: string; bytes: Buffer }[] {
  const out: { line: string; bytes: Buffer }[] = [];
  for (const l of dump.split('\n')) {
    const hex = /^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)/.exec(l);
    if (hex) out.at(-1)!.bytes = Buffer.concat([out.at(-1)!.bytes, Buffer.from(hex[1]!.replace(/\s/g, ''), 'hex')]);
    else if (l.trim()) out.push({ line: l, bytes: Buffer.alloc(0) });
  }
  return out;
}

const ipv4 = (b: Buffer, off: number) => [...b.subarray(off, off + 4)].join('.');

function headerChecksumOk(b: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < (b[0]! & 15) * 4; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/**
 * The fu- names are fixed, so two runs at once (two terminals, or this and the bench script)
 * would tear down each other's namespaces: take turns on a lock file holding the owner's PID.
 */
async function takeTurn(lock: string, ms: number): Promise<() => void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => {
        if (existsSync(lock) && readFileSync(lock, 'utf8') === String(process.pid)) unlinkSync(lock);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number(readFileSync(lock, { encoding: 'utf8', flag: 'a+' }));
    // An empty file is an owner between open and write: wait. A dead owner's lock is stale.
    if (holder > 0 && !alive(holder)) {
      unlinkSync(lock);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${lock} is still held by pid ${holder}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitFor(what: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (what()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return what();
}

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else if (!existsSync(DAEMON)) {
  t.fail(`${DAEMON} is missing: run npm run build first`);
} else {
  const state = stateDir('flannel-udp');
  const conf = (n: (typeof NODES)[number], over: Record<string, unknown> = {}, name: string = n.ns) => {
    const peer = n === N1 ? N2 : N1;
    const file = join(state, `${name}.json`);
    const c = {
      tun: 'flannel0',
      publicIP: n.ip,
      port: 8285,
      network: '10.244.0.0/16',
      subnet: n.subnet,
      leases: [{ subnet: peer.subnet, publicIP: peer.ip }],
      pidfile: join(state, `${name}.flanneld.pid`),
      log: join(state, `${name}.flanneld.log`),
      ...over,
    };
    writeFileSync(file, JSON.stringify(c, null, 2));
    return { file, pidfile: c.pidfile as string, log: c.log as string };
  };
  const c1 = conf(N1);
  const c2 = conf(N2);
  const pidOf = (pidfile: string) => Number(readFileSync(pidfile, 'utf8').trim());

  let release: (() => void) | null = null;
  t.before(async () => {
    release = await takeTurn(LOCK, 600_000);
    removeTopology(); // leftovers of an earlier run killed half-way
    buildTopology();
  });
  t.teardown(() => {
    for (const pid of processesUnder(state)) spawnSync('kill', ['-9', String(pid)]);
    // Never the namespaces of a run that still holds the lock.
    if (!release) return;
    removeTopology();
    release();
  });

  t.test('starts like a classic daemon: exit 0 once attached, bound and the pidfile written', async (t) => {
    for (const [n, c] of [
      [N1, c1],
      [N2, c2],
    ] as const) {
      const r = start(n.ns, c.file);
      t.equal(r.code, 0, `started in ${n.ns}: ${r.stderr}`);
      t.equal(r.stderr, '', 'nothing on stderr');
      t.ok(existsSync(c.pidfile), 'pidfile written');
      const pid = pidOf(c.pidfile);
      t.ok(alive(pid), `pid ${pid} runs after the command returned`);
      t.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /agent\.js\0flannel-udp\0/);
      const ss = inNs(n.ns, ['ss', '-ulpn']).stdout;
      t.match(ss, new RegExp(`${n.ip.replace(/\./g, '\\.')}:8285 .*pid=${pid},`), `ss -ulpn shows it on ${n.ip}:8285`);
      t.match(
        readFileSync(c.log, 'utf8'),
        new RegExp(`lease ${n.subnet} .*peers: ${(n === N1 ? N2 : N1).subnet} via`),
        'one start line naming lease and peers',
      );
    }
  });

  t.test('ping pod to pod across the nodes', async (t) => {
    const r = inNs(N1.pod, ['ping', '-c', '3', '-W', '2', N2.podIP]);
    t.equal(r.status, 0, r.stdout + r.stderr);
    t.match(r.stdout, /3 received/);
  });

  t.test('underlay: one UDP datagram 8285 -> 8285 per packet, the bare inner IP packet as payload', async (t) => {
    const dump = await capture(N1.ns, ['-i', 'eth0', '-x', 'udp port 8285'], 2, () => inNs(N1.pod, ['ping', '-c', '1', '-W', '2', N2.podIP]));
    const [req, rep] = packets(dump);
    t.ok(req && rep, `two packets captured:\n${dump}`);
    if (!req || !rep) return;
    t.match(req.line, /^IP 192\.168\.56\.11\.8285 > 192\.168\.56\.12\.8285: UDP, length 84$/);
    t.match(rep.line, /^IP 192\.168\.56\.12\.8285 > 192\.168\.56\.11\.8285: UDP, length 84$/);
    const outer = (req.bytes[0]! & 15) * 4;
    const inner = req.bytes.subarray(outer + 8);
    t.equal(inner.length, 84, 'payload = the 84-byte ICMP echo packet, no extra header');
    t.equal(inner[0], 0x45, 'payload starts with an IPv4 header');
    t.equal(ipv4(inner, 12), N1.podIP, 'inner source is the pod');
    t.equal(ipv4(inner, 16), N2.podIP, 'inner destination is the other pod');
    t.equal(inner[9], 1, 'inner protocol ICMP');
    // Sent with 64, less fu-n1's forwarding and the proxy's decrement.
    t.equal(inner[8], 62, 'inner TTL 62 on the wire');
    t.ok(headerChecksumOk(inner), 'inner header checksum still right after the TTL change');
  });

  t.test('TTL: the kernel forwards in each node and the proxy decrements on each crossing', async (t) => {
    const dump = await capture(N2.pod, ['-i', 'eth0', '-v', 'icmp[icmptype] == icmp-echo'], 1, () => inNs(N1.pod, ['ping', '-c', '1', '-W', '2', N2.podIP]));
    const ttl = Number(/\bttl (\d+)\b/.exec(dump)?.[1]);
    // fu-n1 forward, proxy TUN->UDP, proxy UDP->TUN, fu-n2 forward.
    t.equal(ttl, 64 - 4, `the pod sees TTL 60:\n${dump}`);
    t.notMatch(dump, /bad cksum/);
    // And the reply the other way.
    t.match(inNs(N1.pod, ['ping', '-c', '1', '-W', '2', N2.podIP]).stdout, /ttl=60 /);
    // TTL 3 dies in the proxy on fu-n2 (62 -> ... -> 1): no reply, and the drop is counted.
    t.not(inNs(N1.pod, ['ping', '-c', '1', '-W', '1', '-t', '3', N2.podIP]).status, 0, 'TTL 3 does not arrive');
  });

  t.test('bursts and sizes: every packet stays one packet', async (t) => {
    // -l: 16 echo requests at once, so several wait in the TUN queue together and are
    // drained in one go; any merge or reuse of a buffer would lose replies.
    const burst = inNs(N1.pod, ['ping', '-q', '-c', '200', '-l', '16', '-i', '0.005', '-W', '2', N2.podIP]);
    t.match(burst.stdout, /200 packets transmitted, 200 received/, burst.stdout);
    for (const size of ['0', '1', '1000', '1444']) {
      const r = inNs(N1.pod, ['ping', '-c', '2', '-s', size, '-M', 'do', '-W', '2', N2.podIP]);
      t.equal(r.status, 0, `ping -s ${size} (${Number(size) + 28} bytes): ${r.stdout}`);
    }
  });

  t.test('no lease for the destination: ICMP net unreachable from the lease address', async (t) => {
    const r = inNs(N1.pod, ['ping', '-c', '1', '-W', '2', '10.244.9.9']);
    t.not(r.status, 0);
    t.match(r.stdout, new RegExp(`From ${N1.lease.replace(/\./g, '\\.')} icmp_seq=1 Destination Net Unreachable`), r.stdout);
    // Checked by the pod's own kernel too: a bad ICMP checksum would never reach ping.
  });

  t.test('startup failures: one line on stderr, exit non-zero, nothing left running', async (t) => {
    const before = processesUnder(state).sort();
    const broken = { file: join(state, 'broken.json'), pidfile: '', log: '' };
    writeFileSync(broken.file, '{ "tun": ');
    const cases: [string, { file: string }, RegExp][] = [
      ['invalid JSON', broken, /is not valid JSON/],
      [
        'subnet outside the network',
        conf(N1, { subnet: '10.245.1.0/24' }, 'bad-subnet'),
        /"subnet" 10\.245\.1\.0\/24 is not inside the network 10\.244\.0\.0\/16/,
      ],
      ['missing key', conf(N1, { port: undefined }, 'no-port'), /missing "port"/],
      ['no such TUN', conf(N1, { tun: 'nosuch0' }, 'no-tun'), /no device nosuch0 in this network namespace/],
      ['TUN already attached', conf(N1, {}, 'second'), /flannel0 is already attached to another process/],
      [
        'address not in this namespace',
        conf(N1, { tun: 'spare0', publicIP: '192.168.56.99' }, 'bad-ip'),
        /192\.168\.56\.99 is not an address in this network namespace/,
      ],
      ['port in use', conf(N1, { tun: 'spare0' }, 'port-used'), /port 8285 is already in use on 192\.168\.56\.11/],
    ];
    ip('-n', N1.ns, 'tuntap', 'add', 'dev', 'spare0', 'mode', 'tun');
    for (const [what, c, message] of cases) {
      const r = start(N1.ns, c.file);
      t.not(r.code, 0, `${what}: exit non-zero`);
      t.match(r.stderr, message, `${what}: says why`);
      t.match(r.stderr, /^flannel-udp: [^\n]+\n$/, `${what}: in one line`);
      t.same(processesUnder(state).sort(), before, `${what}: no process left behind`);
    }
    t.ok(alive(pidOf(c1.pidfile)), 'the running daemon was not disturbed');
    t.equal(inNs(N1.pod, ['ping', '-c', '1', '-W', '2', N2.podIP]).status, 0, 'and still forwards');
  });

  t.test('SIGTERM: prompt exit, pidfile removed, counters logged', async (t) => {
    for (const c of [c1, c2]) {
      const pid = pidOf(c.pidfile);
      process.kill(pid, 'SIGTERM');
      t.ok(await waitFor(() => !alive(pid), 3000), `pid ${pid} gone within 3 s`);
      t.notOk(existsSync(c.pidfile), 'pidfile removed');
    }
    const log = readFileSync(c1.log, 'utf8');
    const m = /exiting on SIGTERM; packets: tx (\d+), rx (\d+), dropped-ttl (\d+), unreachable (\d+)/.exec(log);
    t.ok(m, `counters in the log:\n${log}`);
    t.ok(Number(m?.[1]) >= 200 && Number(m?.[2]) >= 200, 'tx and rx counted the pings');
    t.ok(Number(m?.[4]) >= 1, 'the unreachable counted');
    const log2 = readFileSync(c2.log, 'utf8');
    t.match(log2, /dropped-ttl [1-9]/, 'fu-n2 counted the TTL drop');
    t.same(processesUnder(state), [], 'no daemon left');
  });
}
