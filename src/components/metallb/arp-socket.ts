// The ARP socket: socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP)) bound to one interface, as
// mdlayher/packet opens it for arp.Dial. Readability comes from libuv's epoll through a pipe
// handle on the raw fd, as for the TUN in tun.ts; each read(2) returns one frame.
// Also what MetalLB's interface scan looks at, and a check that /sys shows this namespace.

import koffi from 'koffi';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { endianness } from 'node:os';
import { c_close, c_if_nametoindex, errname, libc } from '../../agent/libc.js';
import { pipeHandle } from '../../agent/pipe-handle.js';
import { ETH_P_ARP } from './arp.js';

const c_socket = libc.func('int socket(int domain, int type, int protocol)');
const c_bind = libc.func('int bind(int fd, const void *addr, uint32_t addrlen)');
const c_setsockopt = libc.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)');
const c_send = libc.func('intptr_t send(int fd, const void *buf, size_t len, int flags)');

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_PACKET = 263;
const PACKET_IGNORE_OUTGOING = 23;
const SIZEOF_SOCKADDR_LL = 20;
const ENETDOWN = 100;
const EPERM = 1;
// <linux/if.h>
const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_NOARP = 0x80;

const LE = endianness() === 'LE';
const htons = (x: number) => (LE ? ((x & 0xff) << 8) | (x >>> 8) : x);

export class ArpSocket {
  private readonly fd: number;
  private readonly socket: net.Socket;

  /** Throws a one-line Error. `onError` is called at most once; the socket is closed by then. */
  constructor(
    readonly ifname: string,
    readonly ifindex: number,
    readonly mac: string,
    onFrame: (buf: Buffer, len: number) => void,
    onError: (why: string) => void,
  ) {
    const fd = c_socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP)) as number;
    if (fd < 0) {
      const e = koffi.errno();
      throw new Error(`cannot open an AF_PACKET socket: ${errname(e)}${e === EPERM ? ' (needs CAP_NET_RAW)' : ''}`);
    }
    const fail = (what: string) => {
      const e = koffi.errno();
      c_close(fd);
      return new Error(`cannot ${what} the ARP socket on ${ifname}: ${errname(e)}`);
    };
    // A packet socket also sees every frame this host sends. Our own gratuitous request (a
    // broadcast request for an IP we announce) must not come back as something to answer.
    const one = Buffer.from(Int32Array.of(1).buffer);
    if ((c_setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, one, 4) as number) < 0) throw fail('set PACKET_IGNORE_OUTGOING on');
    // struct sockaddr_ll: family and ifindex in host order, protocol in network order.
    const sll = Buffer.alloc(SIZEOF_SOCKADDR_LL);
    if (LE) {
      sll.writeUInt16LE(AF_PACKET, 0);
      sll.writeInt32LE(ifindex, 4);
    } else {
      sll.writeUInt16BE(AF_PACKET, 0);
      sll.writeInt32BE(ifindex, 4);
    }
    sll.writeUInt16BE(ETH_P_ARP, 2);
    if ((c_bind(fd, sll, SIZEOF_SOCKADDR_LL) as number) < 0) throw fail('bind');
    const { handle, err } = pipeHandle(fd);
    if (err) {
      c_close(fd);
      throw new Error(`cannot watch the ARP socket on ${ifname}: uv_pipe_open returned ${err}`);
    }
    this.fd = fd;
    const buf = Buffer.allocUnsafeSlow(2048);
    const sockOpts = { handle, writable: false, onread: { buffer: buf, callback: (n: number) => onFrame(buf, n) } };
    this.socket = new net.Socket(sockOpts as net.SocketConstructorOpts);
    // The link went down (ENETDOWN) or the device went away: the read ends.
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      const errno = -(e.errno ?? 0);
      this.close();
      onError(errno === ENETDOWN ? `${ifname} went down` : `read failed: ${errname(errno)}`);
    });
    this.socket.on('end', () => {
      this.close();
      onError('end of file');
    });
  }

  /** One frame out of the bound interface. 0, or the errno. */
  send(frame: Buffer): number {
    return (c_send(this.fd, frame, frame.length, 0) as number) === frame.length ? 0 : koffi.errno();
  }

  close(): void {
    // The handle owns the fd.
    this.socket.destroy();
  }
}

/** What MetalLB's interface scan looks at: eligible for ARP, and the MAC to answer with. */
export function interfaceState(name: string): { index: number; eligible: boolean; mac: string } {
  const index = c_if_nametoindex(name) as number;
  if (index === 0) return { index, eligible: false, mac: '' };
  const sys = `/sys/class/net/${name}`;
  try {
    const flags = Number(readFileSync(`${sys}/flags`, 'utf8').trim());
    // announcer.go updateInterfaces: up, not enslaved to a bridge or bond, ARP on, broadcast.
    const eligible = (flags & IFF_UP) !== 0 && (flags & IFF_BROADCAST) !== 0 && (flags & IFF_NOARP) === 0 && !existsSync(`${sys}/master`);
    return { index, eligible, mac: readFileSync(`${sys}/address`, 'utf8').trim() };
  } catch {
    return { index, eligible: false, mac: '' };
  }
}

/**
 * /sys/class/net shows the namespace that mounted /sys, not necessarily ours: `ip netns exec`
 * remounts it, a bare nsenter does not. A wrong MAC in every reply would be hard to spot.
 */
export function checkSysfs(name: string): void {
  const index = c_if_nametoindex(name) as number;
  if (index === 0) throw new Error(`no device ${name} in this network namespace`);
  let sysIndex = '';
  try {
    sysIndex = readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim();
  } catch {}
  if (sysIndex !== String(index)) {
    throw new Error(`/sys/class/net/${name} is not this network namespace's ${name} (start the speaker with ip netns exec, which remounts /sys)`);
  }
}
