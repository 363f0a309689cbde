#!/usr/bin/env node
// Benchmark: TCP throughput pod -> pod across two nodes (iperf3, median of several runs) through
//   - flannel's udp backend: flannel0 TUN + our userspace daemon (dist/agent.js flannel-udp),
//   - flannel's vxlan backend: the kernel's VXLAN device flannel.1, set up as flanneld does it,
//   - for reference, where a C compiler exists: a minimal C proxy with flanneld's own loop
//     (poll, then read/sendto/recv/write one packet at a time, TTL patched), to show what the
//     per-packet userspace design costs whatever the language.
// Runs are interleaved (vxlan, udp, c, vxlan, udp, c, ...) so that background load hits every
// mode alike. Everything happens in namespaces named fu-b*; they are removed at the end, and on
// failure or Ctrl-C.
//
//   sudo node scripts/bench-flannel-udp.mjs [--runs 3] [--seconds 5] [--no-c]
//
// Needs root, iproute2, bridge, iperf3, and `npm run build` done.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : dflt;
};
const RUNS = opt('runs', 3);
const SECONDS = opt('seconds', 5);
const WITH_C = !args.includes('--no-c');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DAEMON = join(ROOT, 'dist', 'agent.js');
const LOCK = '/run/fu-netns.lock'; // shared with test/integration/flannel-udp-daemon.test.ts
const SW = 'fu-bsw';
const NODES = [
  { ns: 'fu-bn1', pod: 'fu-bp1', ip: '192.168.56.11', i: 1 },
  { ns: 'fu-bn2', pod: 'fu-bp2', ip: '192.168.56.12', i: 2 },
];

if (process.getuid?.() !== 0) {
  console.error('bench-flannel-udp: run as root (sudo node scripts/bench-flannel-udp.mjs)');
  process.exit(2);
}
if (!existsSync(DAEMON)) {
  console.error(`bench-flannel-udp: ${DAEMON} is missing: run npm run build first`);
  process.exit(2);
}

const ip = (...a) => execFileSync('ip', a, { encoding: 'utf8' });
const inNs = (ns, cmd) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// ---- the shared lock: the integration test uses fu- namespaces too -------------------------

async function takeTurn() {
  for (let waited = 0; ; waited += 200) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = Number(readFileSync(LOCK, { encoding: 'utf8', flag: 'a+' }));
    if (holder > 0 && !alive(holder)) {
      unlinkSync(LOCK);
      continue;
    }
    if (waited === 0) console.error(`waiting for pid ${holder} (${LOCK}) to finish with its fu- namespaces...`);
    await sleep(200);
  }
}

// ---- topology -------------------------------------------------------------------------------

const work = mkdtempSync('/run/fu-bench-');
let locked = false;

function teardown() {
  const names = existsSync('/run/netns') ? execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }) : '';
  for (const ns of names.split('\n').map((l) => l.split(' ')[0])) {
    if (!ns?.startsWith('fu-b')) continue;
    // Daemons, iperf3, the C proxy: everything still running in there goes first.
    for (const pid of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
      spawnSync('kill', ['-9', pid]);
    }
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

process.on('exit', () => {
  teardown();
  rmSync(work, { recursive: true, force: true });
  if (locked && existsSync(LOCK) && readFileSync(LOCK, 'utf8') === String(process.pid)) unlinkSync(LOCK);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Switch, two nodes (eth0), a pod behind each node's cni0, with the overlay's MTU. */
function base(mtu) {
  ip('netns', 'add', SW);
  ip('-n', SW, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', SW, 'link', 'set', 'br0', 'up');
  for (const n of NODES) {
    ip('netns', 'add', n.ns);
    ip('netns', 'add', n.pod);
    ip('-n', n.ns, 'link', 'set', 'lo', 'up');
    ip('-n', n.pod, 'link', 'set', 'lo', 'up');
    ip('link', 'add', 'eth0', 'netns', n.ns, 'type', 'veth', 'peer', 'name', `port${n.i}`, 'netns', SW);
    ip('-n', SW, 'link', 'set', `port${n.i}`, 'master', 'br0', 'up');
    ip('-n', n.ns, 'addr', 'add', `${n.ip}/24`, 'dev', 'eth0');
    ip('-n', n.ns, 'link', 'set', 'eth0', 'up');
    ip('-n', n.ns, 'link', 'add', 'cni0', 'type', 'bridge');
    ip('-n', n.ns, 'addr', 'add', `10.244.${n.i}.1/24`, 'dev', 'cni0');
    ip('-n', n.ns, 'link', 'set', 'cni0', 'up');
    ip('link', 'add', 'veth0', 'netns', n.ns, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.pod, 'mtu', String(mtu));
    ip('-n', n.ns, 'link', 'set', 'veth0', 'master', 'cni0', 'up');
    ip('-n', n.pod, 'addr', 'add', `10.244.${n.i}.2/24`, 'dev', 'eth0');
    ip('-n', n.pod, 'link', 'set', 'eth0', 'up');
    ip('-n', n.pod, 'route', 'add', 'default', 'via', `10.244.${n.i}.1`);
    inNs(n.ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }
}

/** flannel0 as the lab engine makes it: TUN, MTU 1500 - 28, lease /32, one route. */
function tunDevices() {
  base(1472);
  for (const n of NODES) {
    ip('-n', n.ns, 'tuntap', 'add', 'dev', 'flannel0', 'mode', 'tun');
    ip('-n', n.ns, 'link', 'set', 'flannel0', 'mtu', '1472');
    ip('-n', n.ns, 'addr', 'add', `10.244.${n.i}.0/32`, 'dev', 'flannel0');
    ip('-n', n.ns, 'link', 'set', 'flannel0', 'up');
    ip('-n', n.ns, 'route', 'add', '10.244.0.0/16', 'dev', 'flannel0');
  }
}

const modes = {
  vxlan: {
    label: 'kernel VXLAN (flannel.1)',
    up() {
      // flanneld's vxlan backend: one VTEP per node, MTU 1500 - 50, and per remote node a
      // permanent neighbour, an FDB entry and an onlink route.
      base(1450);
      const mac = {};
      for (const n of NODES) {
        ip('-n', n.ns, 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'local', n.ip, 'dev', 'eth0', 'dstport', '8472', 'nolearning');
        ip('-n', n.ns, 'link', 'set', 'flannel.1', 'mtu', '1450', 'up');
        ip('-n', n.ns, 'addr', 'add', `10.244.${n.i}.0/32`, 'dev', 'flannel.1');
        mac[n.i] = JSON.parse(ip('-j', '-n', n.ns, 'link', 'show', 'flannel.1'))[0].address;
      }
      for (const n of NODES) {
        const r = NODES.find((x) => x !== n);
        ip('-n', n.ns, 'neigh', 'add', `10.244.${r.i}.0`, 'lladdr', mac[r.i], 'dev', 'flannel.1', 'nud', 'permanent');
        inNs(n.ns, ['bridge', 'fdb', 'append', mac[r.i], 'dev', 'flannel.1', 'dst', r.ip, 'self', 'permanent']);
        ip('-n', n.ns, 'route', 'add', `10.244.${r.i}.0/24`, 'via', `10.244.${r.i}.0`, 'dev', 'flannel.1', 'onlink');
      }
    },
    down() {},
  },
  udp: {
    label: 'flannel-udp daemon (flannel0)',
    up() {
      tunDevices();
      for (const n of NODES) {
        const r = NODES.find((x) => x !== n);
        const cfg = {
          tun: 'flannel0',
          publicIP: n.ip,
          port: 8285,
          network: '10.244.0.0/16',
          subnet: `10.244.${n.i}.0/24`,
          leases: [{ subnet: `10.244.${r.i}.0/24`, publicIP: r.ip }],
          pidfile: join(work, `${n.ns}.pid`),
          log: join(work, `${n.ns}.log`),
        };
        writeFileSync(join(work, `${n.ns}.json`), JSON.stringify(cfg));
        // The lab engine's exact command.
        const s = spawnSync('ip', ['netns', 'exec', n.ns, process.execPath, DAEMON, 'flannel-udp', '--config', join(work, `${n.ns}.json`)], {
          encoding: 'utf8',
        });
        if (s.status !== 0) throw new Error(`daemon in ${n.ns} did not start: ${s.stderr.trim()}`);
      }
    },
    down() {
      for (const n of NODES) {
        const pid = Number(readFileSync(join(work, `${n.ns}.pid`), 'utf8'));
        process.kill(pid, 'SIGTERM');
      }
    },
  },
  c: {
    label: "reference: C proxy, flanneld's loop",
    procs: [],
    up() {
      tunDevices();
      this.procs = NODES.map((n) => {
        const r = NODES.find((x) => x !== n);
        return spawn('ip', ['netns', 'exec', n.ns, join(work, 'cproxy'), 'flannel0', n.ip, r.ip], { stdio: 'ignore' });
      });
    },
    down() {
      for (const p of this.procs) p.kill('SIGKILL');
    },
  },
};

// flanneld's proxy (backend/udp/proxy_amd64.c) boiled down to one peer: the same poll loop, the
// same per-packet system calls. Only for comparison; it does no lease lookup and no ICMP.
const C_PROXY = String.raw`
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
static int dec_ttl(unsigned char *p) {
  if (p[8] <= 1) return 0;
  p[8]--;
  unsigned c = ((p[10] << 8) | p[11]) + 0x100;
  c = (c & 0xffff) + (c >> 16);
  p[10] = c >> 8; p[11] = c;
  return 1;
}
int main(int argc, char **argv) {
  int tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
  struct ifreq ifr = {0};
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (ioctl(tun, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); return 1; }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(8285)}, peer = me;
  inet_pton(AF_INET, argv[2], &me.sin_addr);
  inet_pton(AF_INET, argv[3], &peer.sin_addr);
  if (bind(s, (struct sockaddr *)&me, sizeof me) < 0) { perror("bind"); return 1; }
  static unsigned char buf[65536];
  struct pollfd fds[2] = {{tun, POLLIN}, {s, POLLIN}};
  for (;;) {
    poll(fds, 2, -1);
    int active;
    do {
      active = 0;
      ssize_t n = read(tun, buf, sizeof buf);
      if (n > 0) { active++; if (dec_ttl(buf)) sendto(s, buf, n, 0, (struct sockaddr *)&peer, sizeof peer); }
      n = recv(s, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) { active++; if (dec_ttl(buf)) write(tun, buf, n); }
    } while (active);
  }
}
`;

async function iperf() {
  const [p1, p2] = [NODES[0].pod, NODES[1].pod];
  inNs(p2, ['iperf3', '-s', '-1', '-D']);
  for (let i = 0; i < 50 && !inNs(p2, ['ss', '-Htln', 'sport = :5201']).includes('5201'); i++) await sleep(50);
  const out = JSON.parse(inNs(p1, ['iperf3', '-c', '10.244.2.2', '-t', String(SECONDS), '-J']));
  return out.end.sum_received.bits_per_second;
}

// ---- main -----------------------------------------------------------------------------------

const gbit = (bps) => `${(bps / 1e9).toFixed(2)} Gbit/s`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await takeTurn();
locked = true;
teardown();

const order = ['vxlan', 'udp'];
if (WITH_C) {
  const cc = spawnSync('cc', ['-O2', '-o', join(work, 'cproxy'), '-x', 'c', '-'], { input: C_PROXY, encoding: 'utf8' });
  if (cc.status === 0) order.push('c');
  else console.error(`(no C reference: ${cc.error ? 'no C compiler' : cc.stderr.trim()})`);
}

const load = loadavg()[0];
console.log(
  `iperf3 TCP pod -> pod, ${RUNS} runs x ${SECONDS} s per mode, interleaved; load average at start ${load.toFixed(2)} on this ${execFileSync('nproc', { encoding: 'utf8' }).trim()}-core machine`,
);
const results = Object.fromEntries(order.map((m) => [m, []]));
for (let run = 1; run <= RUNS; run++) {
  const line = [];
  for (const m of order) {
    try {
      modes[m].up();
      const bps = await iperf();
      results[m].push(bps);
      line.push(`${m} ${gbit(bps)}`);
    } finally {
      modes[m].down();
      await sleep(200);
      teardown();
    }
  }
  console.log(`run ${run}: ${line.join(' | ')}`);
}

const vx = median(results.vxlan);
console.log(`\nmedian of ${RUNS}:`);
for (const m of order) {
  const med = median(results[m]);
  const ratio = m === 'vxlan' ? '' : `   ${(med / vx).toFixed(3)} x VXLAN`;
  console.log(`  ${modes[m].label.padEnd(38)} ${gbit(med).padStart(13)}${ratio}`);
}
if (existsSync(join(work, 'fu-bn1.log'))) {
  const last = readFileSync(join(work, 'fu-bn1.log'), 'utf8').trim().split('\n').at(-1);
  console.log(`\nlast daemon exit line on fu-bn1: ${last.replace(/^.*\] /, '')}`);
}
