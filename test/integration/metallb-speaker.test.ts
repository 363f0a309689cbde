// MetalLB's layer-2 speaker daemon (dist/agent.js metallb-speaker), for real: two nodes and a
// client on one switch, a StateFile with one LoadBalancer Service that has ready endpoints on
// both nodes, and a speaker started in each node exactly as the lab engine starts it. Then the
// evidence MetalLB L2 mode must give: arping from the client gets exactly one responder, the
// elected node's eth0 MAC; no node carries the VIP; when the leader's link goes down the other
// node announces and the client's neighbour entry flips by gratuitous ARP; when it comes back it
// takes the VIP back; a SIGTERM hands over at once (memberlist leave).
//
// Needs `npm run build` first (npm test does it).
import t from 'tap';
import { createHash } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, netnsWithPrefix, processesUnder, stateDir } from './helpers.js';
import { DEFAULT_KUBE_PROXY_CONFIGURATION } from '../../src/api/objects.js';

const DAEMON = join(process.cwd(), 'dist', 'agent.js');
const SW = 'ml-sw';
const CLIENT = { ns: 'ml-client', ip: '192.168.77.100', mac: '02:77:00:00:01:00' };
const NODES = [
  { ns: 'ml-node1', name: 'node1', ip: '192.168.77.11', mac: '02:77:00:00:00:11' },
  { ns: 'ml-node2', name: 'node2', ip: '192.168.77.12', mac: '02:77:00:00:00:12' },
] as const;
type Node = (typeof NODES)[number];
const VIP = '192.168.77.240';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const inNs = (ns: string, cmd: string[], timeout = 20_000) => spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The leader MetalLB would elect: the smaller sha256("<node>#<ip>").
const score = (n: Node) => createHash('sha256').update(`${n.name}#${VIP}`).digest('hex');
const [LEADER, OTHER] = score(NODES[0]) < score(NODES[1]) ? [NODES[0], NODES[1]] : [NODES[1], NODES[0]];

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function removeTopology(): void {
  for (const ns of netnsWithPrefix('ml-')) {
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
  [...NODES, CLIENT].forEach((n, i) => {
    ip('netns', 'add', n.ns);
    ip('-n', n.ns, 'link', 'set', 'lo', 'up');
    ip('link', 'add', 'eth0', 'netns', n.ns, 'address', n.mac, 'type', 'veth', 'peer', 'name', `port${i + 1}`, 'netns', SW);
    ip('-n', SW, 'link', 'set', `port${i + 1}`, 'master', 'br0', 'up');
    ip('-n', n.ns, 'addr', 'add', `${n.ip}/24`, 'dev', 'eth0');
    ip('-n', n.ns, 'link', 'set', 'eth0', 'up');
  });
}

const meta = (name: string) => ({ name, namespace: 'default', labels: {}, annotations: {}, creationTimestamp: '2025-01-01T00:00:00Z', uid: name });

/** A StateFile (api/objects.ts) with one LoadBalancer Service and an endpoint on each node, ready unless listed. */
function stateFile(generation = 1, externalTrafficPolicy = 'Cluster', unready: string[] = []): object {
  return {
    generation,
    clusterCIDR: '10.244.0.0/16',
    serviceCIDR: '10.96.0.0/12',
    nodes: NODES.map((n, i) => ({ name: n.name, address: n.ip, netns: n.ns, podCIDR: `10.244.${i + 1}.0/24` })),
    lbPool: ['192.168.77.240/28'],
    kubeProxy: DEFAULT_KUBE_PROXY_CONFIGURATION,
    state: {
      pods: [],
      deployments: [],
      services: [
        {
          meta: meta('web'),
          type: 'LoadBalancer',
          clusterIP: '10.96.0.50',
          ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
          selector: { app: 'web' },
          sessionAffinity: 'None',
          affinityTimeoutSeconds: 10800,
          externalTrafficPolicy,
          internalTrafficPolicy: 'Cluster',
          externalIPs: [],
          loadBalancerIP: null,
          loadBalancerSourceRanges: [],
          publishNotReadyAddresses: false,
          healthCheckNodePort: null,
          externalName: null,
          loadBalancerIngress: [{ ip: VIP, ipMode: 'VIP' }],
        },
      ],
      slices: [
        {
          meta: meta('web-x7k2p'),
          service: 'web',
          ports: [{ name: '', port: 8080, protocol: 'TCP' }],
          endpoints: NODES.map((n, i) => ({
            address: `10.244.${i + 1}.2`,
            conditions: { ready: !unready.includes(n.name), serving: !unready.includes(n.name), terminating: false },
            nodeName: n.name,
            pod: `web-${i + 1}`,
          })),
          managedBy: 'endpointslice-controller.k8s.io',
        },
      ],
    },
  };
}

/** The engine's exact command line. */
function start(ns: string, config: string) {
  const r = inNs(ns, ['node', DAEMON, 'metallb-speaker', '--config', config]);
  return { code: r.status, stderr: r.stderr };
}

/** MACs that answered `arping -c 3` from the client, lower case, one per reply. */
function arping(): { macs: string[]; out: string } {
  const r = inNs(CLIENT.ns, ['arping', '-c', '3', '-w', '6', '-I', 'eth0', VIP]);
  const macs = [...r.stdout.matchAll(/reply from 192\.168\.77\.240 \[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1]!.toLowerCase());
  return { macs, out: r.stdout + r.stderr };
}

/** The client's neighbour entry for the VIP: its lladdr, or '' without one. */
const neighbour = () => /lladdr (\S+)/.exec(ip('-n', CLIENT.ns, 'neigh', 'show', VIP))?.[1] ?? '';

async function waitFor(what: () => boolean, ms: number, step = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (what()) return true;
    await sleep(step);
  }
  return what();
}

/** tcpdump in the client until `count` packets or `ms`. Resolves once it listens; `output` once it is done. */
async function listen(filter: string, count: number, ms: number): Promise<{ output: Promise<string> }> {
  const p = spawn('ip', ['netns', 'exec', CLIENT.ns, 'tcpdump', '-nn', '-l', '-t', '-e', '-i', 'eth0', '-c', String(count), filter], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': the last lines may still be in the pipe when the process has exited.
  const exited = new Promise<void>((res) => p.once('close', () => res()));
  await new Promise<void>((res) => {
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) res();
    });
    void exited.then(() => res());
  });
  const timer = setTimeout(() => p.kill('SIGKILL'), ms);
  const output = exited.then(() => {
    clearTimeout(timer);
    return out;
  });
  return { output };
}

// Gratuitous ARP only: sender IP = target IP = the VIP.
const GARP_FILTER = `arp and arp[14:4] = arp[24:4] and arp[24:4] = 0x${Buffer.from(VIP.split('.').map(Number)).toString('hex')}`;

if (!isRoot) {
  t.plan(0, 'integration tests need root (run: sudo npm test)');
} else if (!existsSync(DAEMON)) {
  t.fail(`${DAEMON} is missing: run npm run build first`);
} else if (spawnSync('arping', ['-V']).error) {
  t.fail('arping is missing: apt-get install -y iputils-arping');
} else {
  const state = stateDir('metallb');
  const stateJson = join(state, 'state.json');
  // Atomically, as the control plane rewrites it.
  const writeState = (s: object) => {
    writeFileSync(`${stateJson}.tmp`, JSON.stringify(s, null, 2));
    renameSync(`${stateJson}.tmp`, stateJson);
  };
  const conf = (n: { name: string; ns: string }, over: Record<string, unknown> = {}, name: string = n.ns) => {
    const file = join(state, `${name}.json`);
    const c = {
      node: n.name,
      interface: 'eth0',
      stateFile: stateJson,
      memberlistPort: 7946,
      pidfile: join(state, `${name}.speaker.pid`),
      log: join(state, `${name}.speaker.log`),
      ...over,
    };
    writeFileSync(file, JSON.stringify(c, null, 2));
    return { file, pidfile: c.pidfile as string, log: c.log as string, status: join(state, `${name}.speaker.status.json`) };
  };
  const cfg = new Map(NODES.map((n) => [n, conf(n)]));
  const c = (n: Node) => cfg.get(n)!;
  const pidOf = (n: Node) => Number(readFileSync(c(n).pidfile, 'utf8').trim());
  const status = (n: Node): { node: string; alive: string[]; announcing: string[] } | null => {
    try {
      return JSON.parse(readFileSync(c(n).status, 'utf8'));
    } catch {
      return null;
    }
  };
  const events = (n: Node) =>
    readFileSync(c(n).log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const announces = (n: Node, ips: string[], aliveNodes: Node[]) => {
    const s = status(n);
    return JSON.stringify(s) === JSON.stringify({ node: n.name, alive: aliveNodes.map((x) => x.name).sort(), announcing: ips });
  };

  t.before(() => {
    removeTopology(); // leftovers of an earlier run killed half-way
    buildTopology();
    writeState(stateFile());
  });
  t.teardown(() => {
    for (const pid of processesUnder(state)) spawnSync('kill', ['-9', String(pid)]);
    removeTopology();
  });

  t.test('starts like a classic daemon: exit 0 once bound, the pidfile and status written', async (t) => {
    for (const n of NODES) {
      const r = start(n.ns, c(n).file);
      t.equal(r.code, 0, `started in ${n.ns}: ${r.stderr}`);
      t.equal(r.stderr, '', 'nothing on stderr');
      const pid = pidOf(n);
      t.ok(alive(pid), `pid ${pid} runs after the command returned`);
      t.match(inNs(n.ns, ['ss', '-ulpn']).stdout, new RegExp(`${n.ip.replace(/\./g, '\\.')}:7946 .*pid=${pid},`), `ss -ulpn shows it on ${n.ip}:7946`);
      t.ok(existsSync(c(n).status), 'status file next to the pidfile');
    }
  });

  t.test(`one leader, the one sha256(node#ip) elects: ${LEADER.name}`, async (t) => {
    const settled = await waitFor(() => announces(LEADER, [VIP], NODES.slice()) && announces(OTHER, [], NODES.slice()), 5000);
    t.ok(settled, `status files agree: ${JSON.stringify([status(LEADER), status(OTHER)])}`);
    const assigned = events(LEADER).find((e) => e.event === 'nodeAssigned');
    t.match(
      assigned,
      { event: 'nodeAssigned', service: 'default/web', ip: VIP, msg: `announcing from node "${LEADER.name}" with protocol "layer2"` },
      'nodeAssigned logged',
    );
    t.match(assigned?.ts, /^\d{4}-\d\d-\d\dT/, 'with a timestamp');
    t.notOk(
      events(OTHER).some((e) => e.event === 'nodeAssigned'),
      `${OTHER.name} never announced`,
    );
  });

  t.test('arping from the client: exactly one responder, the leader eth0 MAC', async (t) => {
    const { macs, out } = arping();
    t.equal(macs.length, 3, `three replies:\n${out}`);
    t.same([...new Set(macs)], [LEADER.mac], 'all from the leader');
  });

  t.test('the VIP is on no interface', async (t) => {
    for (const n of NODES) t.notMatch(ip('-n', n.ns, 'addr'), VIP, `ip -n ${n.ns} addr`);
  });

  t.test('startup failures: one line on stderr, exit non-zero, nothing left running', async (t) => {
    const before = processesUnder(state).sort();
    const stranger = { ...NODES[0], name: 'node9' };
    const cases: [string, { file: string }, RegExp][] = [
      ['unknown node', conf(stranger, {}, 'stranger'), /node "node9" is not in .*state\.json \(nodes: node1, node2\)/],
      ['no such interface', conf(NODES[0], { interface: 'nosuch0' }, 'no-if'), /no device nosuch0 in this network namespace/],
      ['already running', conf(NODES[0], {}, 'second'), /port 7946 is already in use on 192\.168\.77\.11/],
      ['relative path', conf(NODES[0], { stateFile: 'state.json' }, 'relative'), /"stateFile" must be an absolute path/],
    ];
    for (const [what, cf, message] of cases) {
      const r = start(NODES[0].ns, cf.file);
      t.not(r.code, 0, `${what}: exit non-zero`);
      t.match(r.stderr, message, `${what}: says why`);
      t.match(r.stderr, /^metallb-speaker: [^\n]+\n$/, `${what}: in one line`);
      t.same(processesUnder(state).sort(), before, `${what}: no process left behind`);
    }
    t.ok(announces(LEADER, [VIP], NODES.slice()), 'the running speakers were not disturbed');
  });

  t.test(`leader link down: ${OTHER.name} takes over by gratuitous ARP`, async (t) => {
    // Give the client a neighbour entry for the VIP (nothing answers the ping itself).
    inNs(CLIENT.ns, ['ping', '-c', '1', '-W', '1', VIP]);
    t.equal(neighbour(), LEADER.mac, 'the client resolved the VIP to the leader');
    // The new owner's announcements: the leader may still repeat its own as the capture starts.
    const garp = await listen(`${GARP_FILTER} and ether src ${OTHER.mac}`, 2, 10_000);
    const t0 = Date.now();
    ip('-n', LEADER.ns, 'link', 'set', 'eth0', 'down');
    t.ok(await waitFor(() => neighbour() === OTHER.mac, 8000, 20), `neighbour entry now ${neighbour()}`);
    const failover = Date.now() - t0;
    t.comment(`failover: link down to the client's neighbour entry flipping took ${failover} ms`);
    t.ok(failover < 4000, `within 4 s (2 s dead-node timeout + at most one sweep), took ${failover} ms`);
    const dump = await garp.output;
    const vip = VIP.replace(/\./g, '\\.');
    t.match(
      dump,
      new RegExp(
        `^${OTHER.mac} > ff:ff:ff:ff:ff:ff, ethertype ARP \\(0x0806\\), length 60: Request who-has ${vip} \\(ff:ff:ff:ff:ff:ff\\) tell ${vip}, length 46$`,
        'm',
      ),
      `gratuitous request:\n${dump}`,
    );
    t.match(
      dump,
      new RegExp(`^${OTHER.mac} > ff:ff:ff:ff:ff:ff, ethertype ARP \\(0x0806\\), length 60: Reply ${vip} is-at ${OTHER.mac}, length 46$`, 'm'),
      'and gratuitous reply',
    );
    t.ok(await waitFor(() => announces(OTHER, [VIP], [OTHER]), 2000), `status: ${JSON.stringify(status(OTHER))}`);
    t.match(
      events(OTHER).filter((e) => e['node event'] === 'NodeLeave'),
      [{ msg: 'node event - forcing sync', 'node name': LEADER.name, 'node addr': LEADER.ip }],
      'the peer loss is logged',
    );
    t.ok(
      events(OTHER).some((e) => e.event === 'nodeAssigned' && e.msg === `announcing from node "${OTHER.name}" with protocol "layer2"`),
      'nodeAssigned logged',
    );
    const { macs, out } = arping();
    t.same([...new Set(macs)], [OTHER.mac], `arping: only ${OTHER.name} answers now:\n${out}`);
  });

  t.test(`leader link back up: ${LEADER.name} wins the election again and says so by gratuitous ARP`, async (t) => {
    const t0 = Date.now();
    ip('-n', LEADER.ns, 'link', 'set', 'eth0', 'up');
    t.ok(await waitFor(() => neighbour() === LEADER.mac, 8000, 20), `neighbour entry back to the leader: ${neighbour()}`);
    t.comment(`link up to the neighbour entry flipping back took ${Date.now() - t0} ms`);
    t.ok(await waitFor(() => announces(LEADER, [VIP], NODES.slice()) && announces(OTHER, [], NODES.slice()), 3000), 'status files agree');
    t.match(
      events(OTHER).filter((e) => e.event === 'serviceWithdrawn'),
      [{ service: 'default/web', ip: VIP, reason: 'notOwner', msg: 'withdrawing service announcement' }],
    );
    const { macs, out } = arping();
    t.same([...new Set(macs)], [LEADER.mac], `arping: only ${LEADER.name} answers:\n${out}`);
  });

  t.test('state file changes: the election follows the endpoints', async (t) => {
    // externalTrafficPolicy Local with the leader's endpoint unready: only the other node may announce.
    writeState(stateFile(2, 'Local', [LEADER.name]));
    t.ok(await waitFor(() => neighbour() === OTHER.mac, 3000, 20), `Local, ${LEADER.name} unready: ${OTHER.name} announces (${neighbour()})`);
    t.ok(await waitFor(() => announces(OTHER, [VIP], NODES.slice()) && announces(LEADER, [], NODES.slice()), 2000), 'status files agree');
    t.match(
      events(LEADER).filter((e) => e.event === 'serviceWithdrawn'),
      [{ service: 'default/web', reason: 'notOwner' }],
    );
    // No endpoint that can serve: nobody announces, nobody answers.
    writeState(stateFile(3, 'Cluster', [LEADER.name, OTHER.name]));
    t.ok(await waitFor(() => announces(OTHER, [], NODES.slice()) && announces(LEADER, [], NODES.slice()), 3000), 'nobody announces');
    const { macs, out } = arping();
    t.same(macs, [], `arping: no reply:\n${out}`);
    writeState(stateFile(4));
    t.ok(await waitFor(() => announces(LEADER, [VIP], NODES.slice()) && announces(OTHER, [], NODES.slice()), 3000), `ready again: ${LEADER.name} announces`);
    t.ok(await waitFor(() => neighbour() === LEADER.mac, 3000, 20), 'and the client hears it');
  });

  t.test('SIGTERM: prompt exit, pidfile and status removed, the peer takes over at once (memberlist leave)', async (t) => {
    const pid = pidOf(LEADER);
    const t0 = Date.now();
    process.kill(pid, 'SIGTERM');
    t.ok(await waitFor(() => !alive(pid), 3000), `pid ${pid} gone within 3 s`);
    t.notOk(existsSync(c(LEADER).pidfile), 'pidfile removed');
    t.notOk(existsSync(c(LEADER).status), 'status file removed');
    t.ok(await waitFor(() => neighbour() === OTHER.mac, 2000, 20), 'no 2 s wait for a dead peer');
    t.comment(`SIGTERM to the neighbour entry flipping took ${Date.now() - t0} ms`);
    t.match(events(LEADER).at(-1), { op: 'shutdown', msg: 'exiting on SIGTERM' });
    t.ok(Number(events(LEADER).at(-1)?.arpReplies) >= 6, 'the arping replies were counted');
    const other = pidOf(OTHER);
    process.kill(other, 'SIGTERM');
    t.ok(await waitFor(() => !alive(other), 3000), `pid ${other} gone within 3 s`);
    t.notOk(existsSync(c(OTHER).pidfile), 'pidfile removed');
    t.same(processesUnder(state), [], 'no speaker left');
  });
}
