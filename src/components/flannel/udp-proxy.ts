// flannel's "udp" backend, the userspace proxy that flanneld ran in C (backend/udp/proxy_amd64.c),
// as a small daemon.
//
// The kernel side is one TUN device, flannel0 (MTU = NIC MTU - 28 for the outer IP + UDP headers),
// carrying this node's lease address as a /32 and ONE route for the whole pod network. There are no
// per-node routes, neighbours or FDB entries: the subnet -> node map lives here, in the daemon.
//
//   TUN -> UDP: read an IP packet from flannel0, find the node that holds the lease for its
//               destination, and send the packet as the payload of one UDP datagram from
//               <our public IP>:8285 to <that node>:8285. No header of our own.
//   UDP -> TUN: the reverse: the datagram's payload goes back into flannel0 and the kernel
//               routes it to the pod.
//
// Like a router, and like flanneld, the proxy decrements the inner TTL on each crossing. A
// destination with no lease gets an ICMP "net unreachable" back through flannel0.
//
// Usage (the lab engine's contract):
//   node dist/agent.js flannel-udp --config FILE
//                                         start in the background; exit 0 once attached to the
//                                         TUN, bound to UDP and the pidfile is written; else
//                                         exit 1 with a one-line reason on stderr
//   node dist/agent.js flannel-udp --config FILE --foreground
//                                         run in this process, logging to stderr
import koffi from 'koffi';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { errname, libc } from '../../agent/libc.js';
import { Tun } from './tun.js';
import { readConfig } from '../../agent/config.js';
import { logger, type Agent } from '../../agent/runtime.js';
import { formatNetwork, mask, network, parseCidr, parseIPv4 } from '../../labfile/net.js';

const PROG = 'flannel-udp';

// ---------------------------------------------------------------------------------------------
// Configuration

interface Net {
  text: string;
  addr: number; // network address, host order, unsigned
  mask: number;
}

interface Config {
  tun: string;
  publicIP: string;
  port: number;
  network: Net;
  subnet: Net;
  leases: { subnet: Net; publicIP: string }[];
  pidfile: string;
  log: string;
}

function parseNet(s: unknown, what: string): Net {
  const c = typeof s === 'string' ? parseCidr(s) : undefined;
  if (c === undefined || c.prefix < 1) throw new Error(`${what} must be an IPv4 prefix like 10.244.1.0/24, got ${JSON.stringify(s)}`);
  if (c.address !== network(c)) throw new Error(`${what} ${s} has host bits set (did you mean ${formatNetwork(c)}?)`);
  return { text: s as string, addr: c.address, mask: mask(c.prefix) };
}

const within = (inner: Net, outer: Net) => inner.mask >= outer.mask && (inner.addr & outer.mask) >>> 0 === outer.addr;
const overlap = (a: Net, b: Net) => within(a, b) || within(b, a);

function loadConfig(file: string): Config {
  const c = readConfig(file, { tun: 'ifname', publicIP: 'ipv4', port: 'port', network: 'json', subnet: 'json', leases: 'json', pidfile: 'path', log: 'path' });
  const where = (k: string) => `${file}: "${k}"`;
  const network = parseNet(c.network, where('network'));
  const subnet = parseNet(c.subnet, where('subnet'));
  if (!within(subnet, network)) throw new Error(`${where('subnet')} ${subnet.text} is not inside the network ${network.text}`);
  if (!Array.isArray(c.leases)) throw new Error(`${where('leases')} must be an array of { "subnet", "publicIP" }`);
  const leases = c.leases.map((l: unknown, i: number) => {
    const at = `${where('leases')}[${i}]`;
    if (typeof l !== 'object' || l === null) throw new Error(`${at} must be an object { "subnet", "publicIP" }`);
    const { subnet: s, publicIP: ip, ...rest } = l as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw new Error(`${at}: unknown key "${extra}"`);
    const n = parseNet(s, `${at}.subnet`);
    if (!within(n, network)) throw new Error(`${at}.subnet ${n.text} is not inside the network ${network.text}`);
    if (overlap(n, subnet)) throw new Error(`${at}.subnet ${n.text} overlaps this node's own subnet ${subnet.text}`);
    if (typeof ip !== 'string' || parseIPv4(ip) === undefined) throw new Error(`${at}.publicIP must be an IPv4 address, got ${JSON.stringify(ip)}`);
    return { subnet: n, publicIP: ip as string };
  });
  leases.forEach((a, i) =>
    leases.slice(i + 1).forEach((b) => {
      if (overlap(a.subnet, b.subnet)) throw new Error(`${where('leases')}: ${a.subnet.text} and ${b.subnet.text} overlap`);
    }),
  );
  return {
    tun: c.tun as string,
    publicIP: c.publicIP as string,
    port: c.port as number,
    network,
    subnet,
    leases,
    pidfile: c.pidfile as string,
    log: c.log as string,
  };
}

// Logging, klog-style like flanneld's: "I1122 01:41:05.123456    4242 flannel-udp] message".
// fd 2 is the log file when daemonized, the terminal with --foreground; writes are synchronous.
const log = logger(PROG);

// ---------------------------------------------------------------------------------------------
// IPv4 header work. Offsets into struct iphdr: 0 version/ihl, 6 frag_off, 8 ttl, 9 protocol,
// 10 check, 12 saddr, 16 daddr.

/** One's-complement sum folded to 16 bits, complemented: the Internet checksum (RFC 1071). */
function checksum(b: Buffer, off: number, len: number): number {
  let sum = 0;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (len & 1) sum += b[off + len - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * What a router does to a packet it forwards: TTL - 1, and no forwarding once that would reach 0.
 * The drop is silent, as in flanneld (whose TODO was a Time Exceeded). The checksum is patched,
 * not recomputed: RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), m being the 16-bit word that holds
 * TTL and protocol.
 */
function decrementTtl(b: Buffer): boolean {
  const ttl = b[8]!;
  if (ttl <= 1) return false;
  b[8] = ttl - 1;
  const m = (ttl << 8) | b[9]!;
  let sum = (~((b[10]! << 8) | b[11]!) & 0xffff) + (~m & 0xffff) + (m - 0x100);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = ~sum & 0xffff;
  b[10] = sum >>> 8;
  b[11] = sum & 0xff;
  return true;
}

// ICMP types that are errors: never answer one with another (RFC 1122 3.2.2). flanneld stays
// silent for every ICMP packet, echo requests included; we answer those, so ping shows
// "Destination Net Unreachable" as it would from any router.
const ICMP_ERRORS = new Set([3, 4, 5, 11, 12]);

// ---------------------------------------------------------------------------------------------
// The proxy

class Counters {
  tx = 0; // TUN -> UDP, packets sent to a peer
  rx = 0; // UDP -> TUN, packets handed back to the kernel
  ttl = 0; // dropped, TTL ran out
  unreachable = 0; // no lease for the destination: ICMP net unreachable sent
  dropped = 0; // not IPv4, malformed, not for our subnet, or the kernel refused it

  toString(): string {
    return `tx ${this.tx}, rx ${this.rx}, dropped-ttl ${this.ttl}, unreachable ${this.unreachable}, dropped-other ${this.dropped}`;
  }
}

// node:dgram owns the UDP socket: it creates and binds it, reports bind errors and closes it.
// But its per-datagram path (argument checks, a request object per send, a 64 KiB allocation per
// receive, an rinfo object, an event) costs more CPU than the kernel's own work per packet, so
// the packets themselves go through sendto(2)/recv(2) on the same fd, from preallocated buffers.
const c_sendto = libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)');
const c_recv = libc.func('intptr_t recv(int fd, void *buf, size_t len, int flags)');
const MSG_DONTWAIT = 0x40;
const AF_INET = 2;
const SIZEOF_SOCKADDR_IN = 16;

/** The fd under a bound node:dgram socket (its handle sits behind an internal symbol). */
function dgramFd(sock: dgram.Socket): number {
  const key = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  const state = key && (sock as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>)[key];
  const fd = state?.handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error(`cannot find the fd of the UDP socket (node ${process.version}: node:dgram internals changed?)`);
  return fd;
}

/** struct sockaddr_in: family in host order, port and address in network order. */
function sockaddrIn(ip: string, port: number): Buffer {
  const sa = Buffer.alloc(SIZEOF_SOCKADDR_IN);
  if (endianness() === 'LE') sa.writeUInt16LE(AF_INET, 0);
  else sa.writeUInt16BE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  sa.writeUInt32BE(parseIPv4(ip)!, 4);
  return sa;
}

// Packets handled per wake-up and direction before giving the other direction its turn.
const BUDGET = 64;

class Proxy {
  readonly stats = new Counters();
  private readonly tun: Tun;
  private readonly sock: dgram.Socket;
  private udpFd = -1;
  // The lease table, flat. flanneld's find_route() is a linear scan too: a cluster has few
  // nodes, and at that size a scan over two typed arrays beats any cleverer structure.
  private readonly leaseAddr: Uint32Array;
  private readonly leaseMask: Uint32Array;
  private readonly leaseSockaddr: Buffer[];
  private readonly ownAddr: number;
  private readonly ownMask: number;
  private readonly rxBuf = Buffer.allocUnsafeSlow(65536);
  // ICMP reply: IP header + ICMP header + the offender's header (up to 60 bytes) + 8 bytes.
  private readonly icmp = Buffer.alloc(20 + 8 + 60 + 8);
  private readonly complained = new Set<string>();

  constructor(
    private readonly cfg: Config,
    onFatal: (err: Error) => void,
  ) {
    this.leaseAddr = Uint32Array.from(cfg.leases, (l) => l.subnet.addr);
    this.leaseMask = Uint32Array.from(cfg.leases, (l) => l.subnet.mask);
    this.leaseSockaddr = cfg.leases.map((l) => sockaddrIn(l.publicIP, cfg.port));
    this.ownAddr = cfg.subnet.addr;
    this.ownMask = cfg.subnet.mask;
    this.tun = new Tun(cfg.tun, { onPacket: this.fromTun, onError: onFatal, budget: BUDGET });
    // Big socket buffers: a burst from the TUN must not overflow the peer's receive queue
    // while its daemon waits for a CPU (capped by net.core.[rw]mem_max).
    this.sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    // libuv reads the first datagram of each wake-up (into a fresh buffer), we drain the rest.
    this.sock.on('message', (msg: Buffer) => {
      this.fromUdp(msg, msg.length);
      this.drainUdp();
    });
  }

  /** Bind <publicIP>:<port>. Resolves once bound; rejects with a one-line reason. */
  bind(): Promise<void> {
    const { publicIP, port } = this.cfg;
    return new Promise((res, rej) => {
      const onError = (e: NodeJS.ErrnoException) => {
        const why =
          e.code === 'EADDRNOTAVAIL'
            ? `${publicIP} is not an address in this network namespace`
            : e.code === 'EADDRINUSE'
              ? `port ${port} is already in use on ${publicIP}`
              : e.code === 'EACCES'
                ? `not allowed to bind port ${port}`
                : (e.code ?? e.message);
        rej(new Error(`cannot bind UDP ${publicIP}:${port}: ${why}`));
      };
      this.sock.once('error', onError);
      this.sock.bind({ address: publicIP, port, exclusive: true }, () => {
        this.sock.off('error', onError);
        this.sock.on('error', (e) => log('E', `UDP socket: ${e.message}`));
        try {
          this.udpFd = dgramFd(this.sock);
          res();
        } catch (e) {
          rej(e as Error);
        }
      });
    });
  }

  /** Log the first failure of each kind; after that only the counters tell. */
  private complain(what: string, errno: number): void {
    const key = `${what} ${errname(errno)}`;
    if (this.complained.has(key)) return;
    this.complained.add(key);
    log('W', `${key} (further ones are only counted)`);
  }

  /** TUN -> UDP. */
  private readonly fromTun = (buf: Buffer, len: number): void => {
    if (len < 20 || buf[0]! >> 4 !== 4) {
      // IPv6 (router solicitations and MLD from flannel0 itself) or junk: flannel is IPv4 only.
      this.stats.dropped++;
      return;
    }
    const dst = ((buf[16]! << 24) | (buf[17]! << 16) | (buf[18]! << 8) | buf[19]!) >>> 0;
    const { leaseAddr, leaseMask } = this;
    let i = 0;
    while (i < leaseAddr.length && (dst & leaseMask[i]!) >>> 0 !== leaseAddr[i]) i++;
    if (i === leaseAddr.length) return this.netUnreachable(buf, len);
    if (this.udpFd < 0) {
      this.stats.dropped++; // read between attaching and binding: nowhere to send it yet
      return;
    }
    if (!decrementTtl(buf)) {
      this.stats.ttl++;
      return;
    }
    // Non-blocking: a full socket buffer (EAGAIN) drops the packet, as a router's full queue
    // would. TCP sees the loss and slows down.
    if (c_sendto(this.udpFd, buf, len, 0, this.leaseSockaddr[i], SIZEOF_SOCKADDR_IN) === len) {
      this.stats.tx++;
    } else {
      this.stats.dropped++;
      this.complain(`send to ${this.cfg.leases[i]!.publicIP}:${this.cfg.port} failed:`, koffi.errno());
    }
  };

  private drainUdp(): void {
    const { rxBuf, udpFd } = this;
    for (let i = 0; i < BUDGET; i++) {
      const n = c_recv(udpFd, rxBuf, rxBuf.length, MSG_DONTWAIT) as number;
      if (n < 0) break; // EAGAIN: empty, back to epoll
      this.fromUdp(rxBuf, n);
    }
  }

  /** UDP -> TUN. */
  private fromUdp(msg: Buffer, len: number): void {
    if (len < 20 || msg[0]! >> 4 !== 4) {
      this.stats.dropped++;
      return;
    }
    const dst = ((msg[16]! << 24) | (msg[17]! << 16) | (msg[18]! << 8) | msg[19]!) >>> 0;
    // Only traffic for our own subnet goes into the kernel. flanneld writes anything; but the
    // kernel would route a packet for someone else straight back into flannel0 and here again,
    // bouncing until its TTL runs out.
    if ((dst & this.ownMask) >>> 0 !== this.ownAddr) {
      this.stats.dropped++;
      return;
    }
    if (!decrementTtl(msg)) {
      this.stats.ttl++;
      return;
    }
    // The write runs the kernel's whole receive path (routing, cni0, the pod's veth, often the
    // pod's TCP) before it returns. It fails only when the kernel will not take the packet.
    const n = this.tun.write(msg, len);
    if (n === len) {
      this.stats.rx++;
    } else {
      this.stats.dropped++;
      this.complain(`write to ${this.cfg.tun} failed:`, -n);
    }
  }

  /**
   * ICMP destination unreachable, code 0 (net), back through flannel0 to the sender, as
   * flanneld's send_net_unreachable() does: from the lease address, TTL 8.
   */
  private netUnreachable(pkt: Buffer, len: number): void {
    const ihl = (pkt[0]! & 0x0f) * 4;
    const proto = pkt[9]!;
    const fragOffset = ((pkt[6]! << 8) | pkt[7]!) & 0x1fff;
    // Not for a malformed header, not about an ICMP error, not for a fragment other than the
    // first (RFC 1122 3.2.2).
    if (ihl < 20 || len < ihl || fragOffset !== 0 || (proto === 1 && (len <= ihl || ICMP_ERRORS.has(pkt[ihl]!)))) {
      this.stats.dropped++;
      return;
    }
    const quote = Math.min(len, ihl + 8);
    const total = 28 + quote;
    const o = this.icmp;
    o.fill(0, 0, 28);
    o[0] = 0x45; // IPv4, 20-byte header
    o.writeUInt16BE(total, 2);
    o[8] = 8; // TTL
    o[9] = 1; // ICMP
    o.writeUInt32BE(this.cfg.subnet.addr, 12); // the lease address, the one on flannel0
    pkt.copy(o, 16, 12, 16); // to the offender's source
    o.writeUInt16BE(checksum(o, 0, 20), 10);
    o[20] = 3; // destination unreachable
    o[21] = 0; // net unreachable
    pkt.copy(o, 28, 0, quote);
    o.writeUInt16BE(checksum(o, 20, 8 + quote), 22);
    const n = this.tun.write(o, total);
    if (n === total) {
      this.stats.unreachable++;
    } else {
      this.stats.dropped++;
      this.complain(`write to ${this.cfg.tun} failed:`, -n);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Daemon plumbing

/**
 * Our ICMP errors come from the lease address, which is flannel0's own. The kernel drops a packet
 * that arrives with one of its own addresses as source ("martian source", fib_validate_source())
 * unless accept_local is set on the device it arrives on; flanneld never set it, so its net
 * unreachables never reached anyone. Set it, for our device only.
 */
function acceptLocal(dev: string): void {
  const knob = `/proc/sys/net/ipv4/conf/${dev}/accept_local`;
  try {
    if (readFileSync(knob, 'utf8').trim() === '1') return;
    writeFileSync(knob, '1');
    log('I', `set net.ipv4.conf.${dev}.accept_local=1 so that ICMP from the lease address is not dropped as martian`);
  } catch (e) {
    log('W', `cannot set ${knob} (${(e as NodeJS.ErrnoException).code}): ICMP net unreachable will be dropped as martian`);
  }
}

// The classic daemon start (ready pipe, pidfile, signals) is the agent runtime's.
export const flannelUdpAgent: Agent<Config> = {
  prog: PROG,
  load: loadConfig,
  log,
  async start(cfg, fatal) {
    const proxy = new Proxy(cfg, (e) => fatal(e.message));
    await proxy.bind();
    acceptLocal(cfg.tun);
    return {
      run() {
        const leases = cfg.leases.map((l) => `${l.subnet.text} via ${l.publicIP}`).join(', ') || 'none';
        log('I', `udp backend on ${cfg.tun}: lease ${cfg.subnet.text} of network ${cfg.network.text}, UDP ${cfg.publicIP}:${cfg.port}, peers: ${leases}`);
      },
      stop(why) {
        log('I', `${why}; packets: ${proxy.stats}`);
      },
    };
  },
};
