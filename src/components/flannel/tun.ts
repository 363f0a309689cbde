// Attach to an existing, persistent TUN device and move packets through it.
//
// The device itself (name, MTU, address, route) is made by whoever runs the daemon, exactly as
// flanneld's udp backend expects its flannel0 to be there. All we do is what tun_alloc() does in
// every userspace tunnel: open /dev/net/tun and TUNSETIFF it onto that name. open/ioctl/read/write
// are plain libc calls through koffi, so there is nothing to compile.
//
// Reads are driven by libuv's epoll. node:net refuses a character-device fd (ERR_INVALID_FD_TYPE),
// but libuv's pipe handle takes any non-blocking fd, and on a TUN every read(2) returns exactly
// one packet (libuv hands each read to us separately; nothing is merged). Once epoll says the
// queue is non-empty we drain it with direct read(2) calls: a koffi call costs ~0.1 µs, a trip
// round the event loop several µs. flanneld's C proxy does the same, bypassing poll() while the
// fds are busy. Writes are one write(2) per packet and never go through a stream: a stream may
// hand several queued chunks to writev(2), which a TUN takes as ONE (merged) packet.
//
// Not the threadpool: fs.read() or a koffi async read(2) on a blocking fd costs a thread hop per
// packet (measured ~0.17 Gbit/s pod to pod, against ~1.4 this way), and a thread blocked in
// read(2) on a quiet TUN keeps the process from ever exiting (node joins its threads at exit).
import koffi from 'koffi';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import { c_close, c_if_nametoindex, c_read, c_write, EBADFD, errname, libc } from '../../agent/libc.js';
import { pipeHandle, type PipeHandle } from '../../agent/pipe-handle.js';

const c_open = libc.func('int open(const char *path, int flags)');
const c_ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');

const O_RDWR = 0o2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
// <linux/if_tun.h>: TUNSETIFF is _IOW('T', 202, int); the flags go in struct ifreq.ifr_flags,
// right after the 16-byte name. IFF_NO_PI: no 4-byte packet-information header, bare IP.
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;
const SIZEOF_IFREQ = 40;

const { EBUSY, EINVAL, EPERM } = osConstants.errno;

/** Called once per packet; `buf` is reused for the next packet as soon as this returns. */
export type PacketHandler = (buf: Buffer, len: number) => void;

export interface TunOptions {
  onPacket: PacketHandler;
  onError: (err: Error) => void;
  /** Packets read per epoll wake-up, NAPI-style, so the UDP side gets its turn too. */
  budget?: number;
}

export class Tun {
  readonly fd: number;
  private readonly handle: PipeHandle;
  private readonly socket: net.Socket;
  private readonly buf: Buffer;
  private readonly onPacket: PacketHandler;
  private readonly budget: number;

  /** TUNSETIFF onto the existing device `name` with IFF_TUN|IFF_NO_PI. Throws a one-line Error. */
  constructor(
    readonly name: string,
    opts: TunOptions,
  ) {
    if (name.length === 0 || name.length >= IFNAMSIZ) throw new Error(`bad interface name "${name}"`);
    // TUNSETIFF on a name that does not exist creates a fresh, non-persistent device and
    // "succeeds". Check first, in this network namespace: if_nametoindex asks the kernel
    // (SIOCGIFINDEX), unlike /sys, which may be mounted from another namespace.
    if (c_if_nametoindex(name) === 0) {
      throw new Error(`no device ${name} in this network namespace (it must exist first: ip tuntap add dev ${name} mode tun)`);
    }
    const fd = c_open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC) as number;
    if (fd < 0) throw new Error(`cannot open /dev/net/tun: ${errname(koffi.errno())}`);
    const ifr = Buffer.alloc(SIZEOF_IFREQ);
    ifr.write(name, 0, 'latin1');
    ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, IFNAMSIZ);
    if ((c_ioctl(fd, TUNSETIFF, 'void *', ifr) as number) < 0) {
      const e = koffi.errno();
      c_close(fd);
      const why =
        e === EBUSY
          ? `${name} is already attached to another process (is a daemon already running?)`
          : e === EINVAL
            ? `${name} is not a TUN device in tun mode`
            : e === EPERM
              ? `not allowed to attach to ${name} (needs CAP_NET_ADMIN or the device's owner)`
              : errname(e);
      throw new Error(`cannot attach to ${name}: ${why}`);
    }
    this.fd = fd;
    this.onPacket = opts.onPacket;
    this.budget = opts.budget ?? 64;
    // Room for the largest IPv4 packet, whatever the MTU: nothing is ever truncated.
    this.buf = Buffer.allocUnsafeSlow(65536);
    const { handle, err } = pipeHandle(fd);
    this.handle = handle;
    if (err) {
      c_close(fd);
      throw new Error(`cannot watch ${name}: uv_pipe_open returned ${err}`);
    }
    // onread.buffer: libuv reads the first packet of each wake-up straight into this.buf, no
    // allocation per read. (`handle` is a real but undocumented option of net.Socket, so it is
    // not in the types.)
    const sockOpts = { handle: this.handle, writable: false, onread: { buffer: this.buf, callback: this.onRead } };
    this.socket = new net.Socket(sockOpts as net.SocketConstructorOpts);
    // The device went away under us (ip link del: EBADFD) or similar: nothing left to do.
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      const errno = -(e.errno ?? 0);
      opts.onError(new Error(`read from ${name} failed: ${errname(errno)}${errno === EBADFD ? ` (${name} was deleted)` : ''}`));
    });
    this.socket.on('end', () => opts.onError(new Error(`${name}: end of file`)));
  }

  private readonly onRead = (nread: number): void => {
    const { buf, fd, onPacket } = this;
    onPacket(buf, nread);
    for (let i = 0; i < this.budget; i++) {
      const n = c_read(fd, buf, buf.length) as number;
      // EAGAIN: the queue is empty, back to epoll. Any other error will come round again
      // through libuv, which turns it into 'error'.
      if (n <= 0) break;
      onPacket(buf, n);
    }
  };

  /** One write(2), one packet. Bytes written, or -errno. */
  write(buf: Buffer, len: number): number {
    const n = c_write(this.fd, buf, len) as number;
    return n < 0 ? -koffi.errno() : n;
  }

  close(): void {
    // The handle owns the fd. The device stays: it is persistent and not ours.
    this.socket.destroy();
  }
}
