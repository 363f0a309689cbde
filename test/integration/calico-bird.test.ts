// Calico's BIRD configuration (src/components/calico/bird.ts) proven with the real BIRD 2 daemon, in throwaway
// namespaces named cb-*: a three-node full mesh on one L2 segment, then a route reflector on a
// routed underlay. Each case checks the BGP sessions, the kernel routes BIRD programs and a ping
// between pods on different nodes wired the Calico way (/32, 169.254.1.1, proxy ARP, cali* veth).
// Nothing is added to the machine's own namespace; every bird started here is killed and every
// namespace deleted, also on failure.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CALI_MAC,
  NORMAL_ROUTE_PRIORITY,
  POD_GATEWAY,
  birdConfig,
  birdProtocolState,
  caliName,
  hostSideSysctls,
  type BirdOptions,
} from '../../src/components/calico/bird.js';
import { isRoot, netnsWithPrefix, processesUnder, rootSnapshot } from './helpers.js';

/** The subtest type (the callback argument of t.test). */
type T = Parameters<Parameters<typeof t.test>[0]>[0];

const BIRD = '/usr/sbin/bird';
const BIRDC = '/usr/sbin/birdc';
const NAMESPACES = ['cb-p1', 'cb-p2', 'cb-p3', 'cb-n1', 'cb-n2', 'cb-n3', 'cb-sw', 'cb-rt'];
const POOL = '10.244.0.0/16';

function sh(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
const ip = (...args: string[]) => sh('ip', args);
const inNs = (ns: string, file: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, file, ...args]);

async function waitFor<T>(what: () => T, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = what();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 250));
    v = what();
  }
  return v;
}

if (!isRoot || !existsSync(BIRD)) {
  t.plan(0, 'needs root and BIRD 2 (/usr/sbin/bird)');
} else {
  const dir = mkdtempSync('/tmp/knetlab-cb-');
  const before = rootSnapshot();

  /** PIDs to stop: birds started with a config in `dir`, and anything still running inside our namespaces. */
  const ours = () => {
    const pids = new Set(processesUnder(dir));
    for (const ns of NAMESPACES.filter((n) => netnsWithPrefix(n).includes(n))) {
      const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
      for (const p of (r.stdout ?? '').split(/\s+/).filter(Boolean)) pids.add(Number(p));
    }
    return [...pids];
  };
  /** Stop our birds (SIGTERM, then SIGKILL after 3 s), then delete our namespaces. */
  const cleanup = () => {
    const signal = (sig: NodeJS.Signals) => {
      for (const pid of ours()) {
        try {
          process.kill(pid, sig);
        } catch {}
      }
    };
    signal('SIGTERM');
    const end = Date.now() + 3000;
    while (ours().length > 0 && Date.now() < end) spawnSync('sleep', ['0.1']);
    signal('SIGKILL');
    for (const ns of NAMESPACES) if (netnsWithPrefix(ns).includes(ns)) spawnSync('ip', ['netns', 'del', ns]);
  };
  cleanup(); // leftovers of an earlier crashed run
  t.teardown(() => {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  process.on('exit', cleanup);

  const node = (ns: string, sw: string, swPort: string, bridge: string, cidr: string, gw: string) => {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', sw, 'link', 'add', swPort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', sw, 'link', 'set', swPort, 'master', bridge, 'up');
    ip('-n', ns, 'addr', 'add', cidr, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', gw);
    inNs(ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  };

  /** A pod the Calico CNI way; the host route has Felix's (v3.32+) metric, see the report in calico.ts. */
  const pod = (nodeNs: string, podNs: string, podName: string, podIP: string) => {
    const cali = caliName('default', podName);
    ip('netns', 'add', podNs);
    ip('-n', podNs, 'link', 'set', 'lo', 'up');
    ip('-n', nodeNs, 'link', 'add', cali, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs);
    ip('-n', nodeNs, 'link', 'set', cali, 'address', CALI_MAC);
    inNs(nodeNs, 'sysctl', '-qw', ...hostSideSysctls(cali).map(([k, v]) => `${k}=${v}`));
    ip('-n', nodeNs, 'link', 'set', cali, 'up');
    ip('-n', podNs, 'addr', 'add', `${podIP}/32`, 'dev', 'eth0');
    ip('-n', podNs, 'link', 'set', 'eth0', 'up');
    ip('-n', podNs, 'route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link');
    ip('-n', podNs, 'route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0');
    ip('-n', nodeNs, 'route', 'add', podIP, 'dev', cali, 'scope', 'link', 'metric', String(NORMAL_ROUTE_PRIORITY));
    return cali;
  };

  const sock = (ns: string) => join(dir, `${ns}.ctl`);
  const startBird = (t: T, ns: string, opts: BirdOptions) => {
    const conf = join(dir, `${ns}.conf`);
    writeFileSync(conf, birdConfig({ ...opts, socketHint: sock(ns), logFile: join(dir, `${ns}.log`) }));
    const check = spawnSync(BIRD, ['-p', '-c', conf], { encoding: 'utf8' });
    t.equal(check.status, 0, `bird -p accepts ${ns}.conf`);
    if (check.status !== 0) t.comment(check.stdout + check.stderr);
    // bird forks into the background; -P writes its PID, -s is the control socket birdc talks to.
    inNs(ns, BIRD, '-c', conf, '-s', sock(ns), '-P', join(dir, `${ns}.pid`));
  };
  const protocols = (ns: string) => {
    const r = spawnSync(BIRDC, ['-s', sock(ns), 'show', 'protocols'], { encoding: 'utf8' });
    return birdProtocolState(r.stdout ?? '');
  };
  const bgpUp = async (t: T, ns: string, expected: string[]) => {
    const started = Date.now();
    const ps = await waitFor(
      () => protocols(ns).filter((p) => p.proto === 'BGP'),
      (ps) => expected.every((n) => ps.some((p) => p.name === n && p.info === 'Established')),
    );
    t.same(
      ps.map((p) => `${p.name} ${p.state} ${p.info}`),
      expected.map((n) => `${n} up Established`),
      `${ns}: BGP sessions Established after ${Date.now() - started} ms`,
    );
  };
  const routes = (ns: string) => ip('-n', ns, 'route', 'show');
  const hasRoutes = async (t: T, ns: string, lines: RegExp[]) => {
    const got = await waitFor(
      () => routes(ns),
      (r) => lines.every((l) => l.test(r)),
    );
    for (const l of lines) t.match(got, l, `${ns}: ip route has ${l.source}`);
    t.comment(`${ns} ip route:\n${got}`);
    return got;
  };
  const ping = (t: T, from: string, to: string) => {
    const r = spawnSync('ip', ['netns', 'exec', from, 'ping', '-c', '2', '-i', '0.2', '-W', '2', to], { encoding: 'utf8' });
    t.equal(r.status, 0, `${from} pings ${to}`);
    if (r.status !== 0) t.comment(r.stdout + r.stderr);
  };

  t.test('full mesh: three nodes on one L2 segment', async (t) => {
    t.teardown(cleanup); // also when an assertion throws, so the next case starts clean
    ip('netns', 'add', 'cb-sw');
    ip('-n', 'cb-sw', 'link', 'set', 'lo', 'up');
    ip('-n', 'cb-sw', 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', 'cb-sw', 'addr', 'add', '192.168.56.1/24', 'dev', 'br0');
    ip('-n', 'cb-sw', 'link', 'set', 'br0', 'up');
    const nodes = [
      { ns: 'cb-n1', ip: '192.168.56.11', block: '10.244.36.64/26', pod: 'cb-p1', podIP: '10.244.36.65' },
      { ns: 'cb-n2', ip: '192.168.56.12', block: '10.244.104.0/26', pod: 'cb-p2', podIP: '10.244.104.1' },
      { ns: 'cb-n3', ip: '192.168.56.13', block: '10.244.171.128/26', pod: 'cb-p3', podIP: '10.244.171.129' },
    ];
    nodes.forEach((n, i) => {
      node(n.ns, 'cb-sw', `n${i + 1}`, 'br0', `${n.ip}/24`, '192.168.56.1');
      pod(n.ns, n.pod, `web-${i}`, n.podIP);
    });
    t.equal(caliName('default', 'web-0'), 'cali0d7763386da', 'pod web-0 gets the documented veth name');
    for (const n of nodes) {
      startBird(t, n.ns, {
        routerId: n.ip,
        nodeIP: n.ip,
        blocks: [n.block],
        pools: [POOL],
        peers: nodes.map((p) => ({ ip: p.ip, kind: 'mesh' as const })),
      });
    }
    for (const n of nodes) {
      await bgpUp(
        t,
        n.ns,
        nodes.filter((p) => p !== n).map((p) => `Mesh_${p.ip.replaceAll('.', '_')}`),
      );
    }
    const n1 = await hasRoutes(t, 'cb-n1', [
      /^blackhole 10\.244\.36\.64\/26 proto bird $/m,
      /^10\.244\.104\.0\/26 via 192\.168\.56\.12 dev eth0 proto bird metric 1024 $/m,
      /^10\.244\.171\.128\/26 via 192\.168\.56\.13 dev eth0 proto bird metric 1024 $/m,
      /^10\.244\.36\.65 dev cali0d7763386da scope link metric 1024 $/m,
    ]);
    t.notMatch(n1, /192\.168\.56\.0\/24 .*proto bird/, 'connected subnet is not re-installed by BIRD');
    await hasRoutes(t, 'cb-n2', [/^10\.244\.36\.64\/26 via 192\.168\.56\.11 dev eth0 proto bird metric 1024 $/m]);
    t.notMatch(routes('cb-n2'), /10\.244\.36\.65 via/, 'the pod /32 is aggregated into its block, not exported');
    t.comment(`cb-n1 birdc show protocols:\n${spawnSync(BIRDC, ['-s', sock('cb-n1'), 'show', 'protocols'], { encoding: 'utf8' }).stdout}`);
    ping(t, 'cb-p1', '10.244.104.1');
    ping(t, 'cb-p1', '10.244.171.129');
    t.match(ip('-n', 'cb-p1', 'neigh', 'show'), /^169\.254\.1\.1 dev eth0 lladdr ee:ee:ee:ee:ee:ee /m, 'gateway answered by proxy ARP');
    const log = readFileSync(join(dir, 'cb-n1.log'), 'utf8');
    t.notMatch(log, /Netlink: File exists|<ERR>/, 'bird log has no netlink errors');
  });

  t.test('route reflector on a routed underlay', async (t) => {
    t.teardown(cleanup);
    ip('netns', 'add', 'cb-rt');
    ip('-n', 'cb-rt', 'link', 'set', 'lo', 'up');
    inNs('cb-rt', 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    for (const [br, cidr] of [
      ['br0', '192.168.56.1/24'],
      ['br1', '192.168.57.1/24'],
    ] as const) {
      ip('-n', 'cb-rt', 'link', 'add', br, 'type', 'bridge');
      ip('-n', 'cb-rt', 'addr', 'add', cidr, 'dev', br);
      ip('-n', 'cb-rt', 'link', 'set', br, 'up');
    }
    node('cb-n1', 'cb-rt', 'n1', 'br0', '192.168.56.11/24', '192.168.56.1');
    node('cb-n2', 'cb-rt', 'n2', 'br1', '192.168.57.12/24', '192.168.57.1');
    pod('cb-n1', 'cb-p1', 'web-0', '10.244.36.65');
    pod('cb-n2', 'cb-p2', 'web-1', '10.244.104.1');
    startBird(t, 'cb-rt', {
      routerId: '192.168.56.1',
      nodeIP: '192.168.56.1',
      blocks: [],
      pools: [POOL],
      routeReflector: true,
      clusterId: '244.0.0.1',
      peers: [
        { ip: '192.168.56.11', kind: 'rr-client' },
        { ip: '192.168.57.12', kind: 'rr-client' },
      ],
    });
    startBird(t, 'cb-n1', {
      routerId: '192.168.56.11',
      nodeIP: '192.168.56.11',
      blocks: ['10.244.36.64/26'],
      pools: [POOL],
      peers: [{ ip: '192.168.56.1', kind: 'rr' }],
    });
    startBird(t, 'cb-n2', {
      routerId: '192.168.57.12',
      nodeIP: '192.168.57.12',
      blocks: ['10.244.104.0/26'],
      pools: [POOL],
      peers: [{ ip: '192.168.56.1', kind: 'rr' }],
    });
    await bgpUp(t, 'cb-rt', ['Node_192_168_56_11', 'Node_192_168_57_12']);
    await bgpUp(t, 'cb-n1', ['Node_192_168_56_1']);
    await bgpUp(t, 'cb-n2', ['Node_192_168_56_1']);
    await hasRoutes(t, 'cb-rt', [
      /^10\.244\.36\.64\/26 via 192\.168\.56\.11 dev br0 proto bird metric 1024 $/m,
      /^10\.244\.104\.0\/26 via 192\.168\.57\.12 dev br1 proto bird metric 1024 $/m,
    ]);
    // The reflected route keeps node2 as BGP next hop; 192.168.57.12 is not on-link for node1, so
    // "gateway recursive" resolves it through node1's default route (learned from the kernel).
    await hasRoutes(t, 'cb-n1', [
      /^blackhole 10\.244\.36\.64\/26 proto bird $/m,
      /^10\.244\.104\.0\/26 via 192\.168\.56\.1 dev eth0 proto bird metric 1024 $/m,
    ]);
    await hasRoutes(t, 'cb-n2', [/^10\.244\.36\.64\/26 via 192\.168\.57\.1 dev eth0 proto bird metric 1024 $/m]);
    const shown = spawnSync(BIRDC, ['-s', sock('cb-n1'), 'show', 'route', 'all', '10.244.104.0/26'], { encoding: 'utf8' }).stdout;
    t.match(shown, /\[Node_192_168_56_1 /, 'learned from the route reflector');
    t.match(shown, /BGP\.next_hop: 192\.168\.57\.12/, 'originating node stays the BGP next hop');
    t.match(shown, /BGP\.cluster_list: 244\.0\.0\.1/, 'reflected by cluster 244.0.0.1');
    t.match(shown, /BGP\.originator_id: 192\.168\.57\.12/, 'originator id is node2');
    t.comment(`cb-n1 birdc show route all 10.244.104.0/26:\n${shown}`);
    ping(t, 'cb-p1', '10.244.104.1');
    ping(t, 'cb-p2', '10.244.36.65');
    t.notMatch(readFileSync(join(dir, 'cb-rt.log'), 'utf8'), /Netlink: File exists|<ERR>/, 'bird log has no netlink errors');
  });

  t.test('nothing left behind', async (t) => {
    cleanup();
    t.same(
      netnsWithPrefix('cb-').filter((n) => NAMESPACES.includes(n)),
      [],
      'no cb- namespaces',
    );
    t.same(processesUnder(dir), [], 'no bird processes');
    const after = rootSnapshot();
    t.equal(after['ip route'], before['ip route'], 'root namespace routes unchanged');
    t.equal(after['ip -6 route'], before['ip -6 route'], 'root namespace IPv6 routes unchanged');
  });
}
