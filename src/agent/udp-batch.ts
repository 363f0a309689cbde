// A UDP server socket that reads and answers datagrams many at a time, for an agent that answers
// small datagrams at a high rate (the cluster DNS server).
//
// node:dgram costs more CPU per datagram than the kernel does: each read allocates 64 KiB and a
// Buffer, formats the sender's address into a string (with snprintf) for an rinfo object and
// emits an event; each send parses that string back and makes a request object. On one core, a
// dgram server that only sends every datagram back answers fewer queries per second than
// dnsmasq does real ones (scripts/bench-dns.mjs --echo measures it). So here the kernel's own
// batching interfaces do the per-datagram work: the socket is made with socket(2) and bind(2)
// through koffi; node:dgram wraps its fd (socket.bind({ fd }), public API) only so that libuv's
// epoll says when datagrams are waiting, and reads the first one of each wake-up itself; the rest
// of the queue is drained with recvmmsg(2), BATCH datagrams a call, into memory allocated once,
// and each batch's replies leave in one sendmmsg(2), each to the sender's address exactly as the
// kernel gave it (no string in between). Unbound and Knot DNS read and write the same way.
//
// koffi and libc load only when the first batched socket is made: where they cannot (or on a
// platform whose structs are not laid out as assumed) the same interface runs on node:dgram
// alone, one datagram per event, and the DNS server still answers.

import dgram from 'node:dgram';
import { constants as osConstants, endianness } from 'node:os';
import { parseIPv4 } from '../labfile/net.js';

type Koffi = typeof import('koffi').default;

/** Datagrams per recvmmsg(2)/sendmmsg(2) call. */
const BATCH = 64;
/** Room per received datagram: any UDP payload over IPv4 (at most 65,507 bytes) fits whole. */
const RECV_SLOT = 65536;
/** Room per reply in a batch; a larger reply is sent on its own with sendto(2). */
const SEND_SLOT = 4096;
/**
 * recvmmsg calls per wake-up. Under a flood the queue never empties: this bounds how long the
 * socket keeps the event loop (timers, TCP, the state watch) waiting. libuv comes back at once
 * while datagrams are waiting.
 */
const BATCHES_PER_WAKEUP = 4;

/** Where a datagram came from. Valid during the handler's call only: keep() it to answer later. */
export interface Peer {
  keep(): Peer;
  toString(): string;
}

/** Called once per datagram; `msg` (like `from`) is only valid until it returns. */
export type OnDatagram = (msg: Buffer, from: Peer) => void;

export interface UdpServer {
  readonly port: number;
  /** Whether datagrams are read and written in batches (false: node:dgram alone). */
  readonly batched: boolean;
  /** Send `reply` to `to`. The bytes are copied or sent before it returns: `reply` may be reused. */
  send(reply: Buffer, to: Peer): void;
  /** Datagrams read by recvmmsg (not through node:dgram's event), and replies that could not be sent. */
  stats(): { drained: number; sendErrors: number };
  close(): Promise<void>;
}

export interface UdpOptions {
  host: string;
  port: number;
  onDatagram: OnDatagram;
  /** A send that failed (the first of each kind; the rest are only counted). */
  warn(msg: string): void;
  /** false: node:dgram alone, as on a platform without koffi. */
  batch?: boolean;
}

class RinfoPeer implements Peer {
  constructor(
    readonly address: string,
    readonly port: number,
  ) {}
  keep(): Peer {
    return this;
  }
  toString(): string {
    return `${this.address}:${this.port}`;
  }
}

const identityLookup = (address: string, _opts: unknown, cb: (e: null, address: string, family: number) => void) => cb(null, address, 4);

/** Bind `host:port` (port 0: any free one) and call `onDatagram` for every datagram. */
export async function listenUdp(opts: UdpOptions): Promise<UdpServer> {
  let native: Native | null = null;
  if (opts.batch !== false) {
    try {
      native = await loadNative();
    } catch (e) {
      opts.warn(`datagrams one at a time through node:dgram: ${(e as Error).message}`);
    }
  }
  return native ? BatchSocket.listen(native, opts) : DgramSocket.listen(opts);
}

/** node:dgram alone: one event and one send request per datagram. */
class DgramSocket implements UdpServer {
  readonly batched = false;
  private sendErrors = 0;
  private constructor(
    private readonly sock: dgram.Socket,
    readonly port: number,
  ) {}

  static async listen(opts: UdpOptions): Promise<DgramSocket> {
    // Replies go to an IP: an identity lookup sends at once, where the default (dns.lookup)
    // defers every send to the next tick.
    const sock = dgram.createSocket({ type: 'udp4', lookup: identityLookup });
    await bindDgram(sock, { address: opts.host, port: opts.port, exclusive: true }, opts);
    const s = new DgramSocket(sock, sock.address().port);
    sock.on('message', (msg, rinfo) => opts.onDatagram(msg, new RinfoPeer(rinfo.address, rinfo.port)));
    return s;
  }

  send(reply: Buffer, to: Peer): void {
    const p = to as RinfoPeer;
    // dgram keeps the buffer if the send has to wait for room: give it its own copy.
    this.sock.send(Buffer.from(reply), p.port, p.address, (e) => {
      if (e) this.sendErrors++;
    });
  }

  stats() {
    return { drained: 0, sendErrors: this.sendErrors };
  }

  close(): Promise<void> {
    return new Promise((res) => this.sock.close(() => res()));
  }
}

function bindDgram(sock: dgram.Socket, how: dgram.BindOptions, opts: UdpOptions): Promise<void> {
  return new Promise<void>((res, rej) => {
    sock.once('error', (e) => rej(new Error(`cannot listen on ${opts.host}:${opts.port}/udp: ${e.message}`)));
    sock.bind(how, () => {
      sock.removeAllListeners('error');
      sock.on('error', (e) => opts.warn(`udp: ${e.message}`));
      res();
    });
  });
}

// ---- the batched socket ----------------------------------------------------------------------

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const SIZEOF_SOCKADDR_IN = 16;
const { EAGAIN, EINTR } = osConstants.errno;

interface Native {
  koffi: Koffi;
  close(fd: number): number;
  errname(errno: number): string;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  recvmmsg(fd: number, vec: Buffer, vlen: number, flags: number, timeout: null): number;
  sendmmsg(fd: number, vec: Buffer, vlen: number, flags: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  /** Byte offsets in struct mmsghdr (msghdr inside it) and struct iovec, as the C compiler lays them out. */
  mmsghdr: { size: number; name: number; namelen: number; iov: number; iovlen: number; len: number };
  iovec: { size: number; base: number; len: number };
}

let loaded: Native | null = null;

/** koffi, the libc functions and the struct layouts; throws when this platform cannot have them. */
async function loadNative(): Promise<Native> {
  if (loaded) return loaded;
  const koffi = (await import('koffi')).default;
  const { c_close, errname, libc } = await import('./libc.js');
  // Pointers are written into the structs as two little-endian 32-bit halves.
  if (koffi.sizeof('void *') !== 8 || endianness() !== 'LE') throw new Error('not a 64-bit little-endian platform');
  const iovec = koffi.struct('knetlab_iovec', { iov_base: 'void *', iov_len: 'size_t' });
  const msghdr = koffi.struct('knetlab_msghdr', {
    msg_name: 'void *',
    msg_namelen: 'uint32_t',
    msg_iov: 'void *',
    msg_iovlen: 'size_t',
    msg_control: 'void *',
    msg_controllen: 'size_t',
    msg_flags: 'int',
  });
  const mmsghdr = koffi.struct('knetlab_mmsghdr', { msg_hdr: msghdr, msg_len: 'unsigned int' });
  const hdr = (field: string) => koffi.offsetof(msghdr, field);
  loaded = {
    koffi,
    close: c_close,
    errname,
    socket: libc.func('int socket(int domain, int type, int protocol)'),
    bind: libc.func('int bind(int fd, const void *addr, uint32_t addrlen)'),
    recvmmsg: libc.func('int recvmmsg(int fd, void *msgvec, unsigned int vlen, int flags, void *timeout)'),
    sendmmsg: libc.func('int sendmmsg(int fd, void *msgvec, unsigned int vlen, int flags)'),
    sendto: libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)'),
    mmsghdr: {
      size: koffi.sizeof(mmsghdr),
      name: hdr('msg_name'),
      namelen: hdr('msg_namelen'),
      iov: hdr('msg_iov'),
      iovlen: hdr('msg_iovlen'),
      len: koffi.offsetof(mmsghdr, 'msg_len'),
    },
    iovec: { size: koffi.sizeof(iovec), base: koffi.offsetof(iovec, 'iov_base'), len: koffi.offsetof(iovec, 'iov_len') },
  } as Native;
  return loaded;
}

/** A batch slot's sender: the sockaddr the kernel wrote, until the next batch overwrites it. */
class SlotPeer implements Peer {
  constructor(
    private readonly owner: BatchSocket,
    readonly slot: number,
  ) {}
  keep(): Peer {
    return new AddrPeer(Buffer.from(this.owner.addrOf(this.slot)));
  }
  toString(): string {
    return sockaddrText(this.owner.addrOf(this.slot));
  }
}

/** A sender kept for a later reply: its own copy of the sockaddr. */
class AddrPeer implements Peer {
  constructor(readonly sockaddr: Buffer) {}
  keep(): Peer {
    return this;
  }
  toString(): string {
    return sockaddrText(this.sockaddr);
  }
}

const sockaddrText = (sa: Buffer) => `${sa[4]}.${sa[5]}.${sa[6]}.${sa[7]}:${sa.readUInt16BE(2)}`;

/**
 * One allocation holds, for BATCH slots: the receive and the send arrays of struct mmsghdr, an
 * iovec for each, the senders' sockaddrs, the send buffers, and the receive buffers. The arrays
 * point into the same block, so the pointers are written once, here; per batch only lengths
 * change (and each reply's msg_name, which points at its query's sockaddr).
 */
class BatchSocket implements UdpServer {
  readonly batched = true;
  port = 0;
  private readonly mem: Buffer;
  private readonly recvHdr: number;
  private readonly sendHdr: number;
  private readonly addrs: number;
  private readonly sendBufs: number;
  private readonly recvBufs: number;
  private readonly sendIov: number;
  private readonly recvVec: Buffer;
  private readonly sendVec: Buffer;
  /** Each slot's sockaddr address, as the two halves written into msg_name. */
  private readonly addrLo = new Uint32Array(BATCH);
  private readonly addrHi = new Uint32Array(BATCH);
  private readonly recvViews: Buffer[] = [];
  private readonly addrViews: Buffer[] = [];
  private readonly peers: SlotPeer[] = [];
  /** The slot whose datagram the handler has now (-1: none), and the replies queued so far. */
  private current = -1;
  /** Slots the last recvmmsg filled: their msg_namelen was overwritten. */
  private filled = BATCH;
  private queued = 0;
  private closed = false;
  private drained = 0;
  private sendErrors = 0;
  private readonly complained = new Set<string>();
  private sock: dgram.Socket | null = null;

  private constructor(
    private readonly n: Native,
    private readonly fd: number,
    private readonly ptr: unknown,
    size: number,
    private readonly opts: UdpOptions,
  ) {
    const { mmsghdr: mh, iovec: iv } = n;
    this.mem = Buffer.from(n.koffi.view(ptr, size));
    this.mem.fill(0, 0, size - BATCH * RECV_SLOT);
    this.recvHdr = 0;
    this.sendHdr = BATCH * mh.size;
    const recvIov = 2 * BATCH * mh.size;
    const sendIov = recvIov + BATCH * iv.size;
    this.sendIov = sendIov;
    this.addrs = sendIov + BATCH * iv.size;
    this.sendBufs = this.addrs + BATCH * SIZEOF_SOCKADDR_IN;
    this.recvBufs = this.sendBufs + BATCH * SEND_SLOT;
    this.recvVec = this.mem.subarray(this.recvHdr, this.recvHdr + BATCH * mh.size);
    this.sendVec = this.mem.subarray(this.sendHdr, this.sendHdr + BATCH * mh.size);
    const base = n.koffi.address(ptr);
    const pointer = (at: number, off: number) => {
      const p = base + BigInt(off);
      this.mem.writeUInt32LE(Number(p & 0xffffffffn), at);
      this.mem.writeUInt32LE(Number(p >> 32n), at + 4);
    };
    for (let i = 0; i < BATCH; i++) {
      const r = this.recvHdr + i * mh.size;
      const s = this.sendHdr + i * mh.size;
      const addr = this.addrs + i * SIZEOF_SOCKADDR_IN;
      pointer(recvIov + i * iv.size + iv.base, this.recvBufs + i * RECV_SLOT);
      this.mem.writeUInt32LE(RECV_SLOT, recvIov + i * iv.size + iv.len);
      pointer(sendIov + i * iv.size + iv.base, this.sendBufs + i * SEND_SLOT);
      pointer(r + mh.name, addr);
      pointer(r + mh.iov, recvIov + i * iv.size);
      this.mem.writeUInt32LE(1, r + mh.iovlen);
      pointer(s + mh.iov, sendIov + i * iv.size);
      this.mem.writeUInt32LE(1, s + mh.iovlen);
      const p = base + BigInt(addr);
      this.addrLo[i] = Number(p & 0xffffffffn);
      this.addrHi[i] = Number(p >> 32n);
      this.recvViews.push(this.mem.subarray(this.recvBufs + i * RECV_SLOT, this.recvBufs + (i + 1) * RECV_SLOT));
      this.addrViews.push(this.mem.subarray(addr, addr + SIZEOF_SOCKADDR_IN));
      this.peers.push(new SlotPeer(this, i));
    }
  }

  static async listen(n: Native, opts: UdpOptions): Promise<BatchSocket> {
    const where = `${opts.host}:${opts.port}/udp`;
    const ip = parseIPv4(opts.host);
    if (ip === undefined) throw new Error(`cannot listen on ${where}: not an IPv4 address`);
    const fd = n.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`cannot listen on ${where}: socket: ${n.errname(n.koffi.errno())}`);
    const sa = Buffer.alloc(SIZEOF_SOCKADDR_IN);
    sa.writeUInt16LE(AF_INET, 0);
    sa.writeUInt16BE(opts.port, 2);
    sa.writeUInt32BE(ip, 4);
    if (n.bind(fd, sa, sa.length) < 0) {
      const e = n.koffi.errno();
      n.close(fd);
      throw new Error(`cannot listen on ${where}: bind ${n.errname(e)}`);
    }
    const size = 2 * BATCH * n.mmsghdr.size + 2 * BATCH * n.iovec.size + BATCH * (SIZEOF_SOCKADDR_IN + SEND_SLOT + RECV_SLOT);
    const ptr = n.koffi.alloc('uint8_t', size);
    const s = new BatchSocket(n, fd, ptr, size, opts);
    // node:dgram takes the fd over (and closes it on close()): libuv's epoll watches it.
    const sock = dgram.createSocket({ type: 'udp4', lookup: identityLookup });
    sock.on('message', (msg, rinfo) => {
      s.handle(msg, new RinfoPeer(rinfo.address, rinfo.port));
      s.drain();
    });
    try {
      await bindDgram(sock, { fd }, opts);
    } catch (e) {
      n.close(fd);
      n.koffi.free(ptr);
      throw e;
    }
    s.sock = sock;
    s.port = sock.address().port;
    return s;
  }

  addrOf(slot: number): Buffer {
    return this.addrViews[slot]!;
  }

  private handle(msg: Buffer, from: Peer): void {
    try {
      this.opts.onDatagram(msg, from);
    } catch (e) {
      this.opts.warn(`datagram from ${from.toString()}: ${(e as Error).message}`);
    }
  }

  /** Read what is waiting, a batch at a time, and answer each batch with one sendmmsg. */
  drain(): void {
    const { n, mem, recvVec } = this;
    const mh = n.mmsghdr;
    for (let round = 0; round < BATCHES_PER_WAKEUP && !this.closed; round++) {
      // The kernel wrote each sender's address length back: room for a sockaddr_in again.
      for (let i = 0; i < this.filled; i++) mem.writeUInt32LE(SIZEOF_SOCKADDR_IN, this.recvHdr + i * mh.size + mh.namelen);
      const got = n.recvmmsg(this.fd, recvVec, BATCH, MSG_DONTWAIT, null);
      this.filled = Math.max(got, 0);
      if (got <= 0) {
        const e = got < 0 ? n.koffi.errno() : EAGAIN;
        if (e !== EAGAIN && e !== EINTR) this.complain('recvmmsg', e);
        return;
      }
      this.drained += got;
      try {
        for (let i = 0; i < got; i++) {
          const len = mem.readUInt32LE(this.recvHdr + i * mh.size + mh.len);
          this.current = i;
          this.handle(this.recvViews[i]!.subarray(0, len), this.peers[i]!);
        }
      } finally {
        this.current = -1;
        this.flush();
      }
      if (got < BATCH) return;
    }
  }

  send(reply: Buffer, to: Peer): void {
    if (this.closed) return;
    if (to instanceof SlotPeer) {
      if (to.slot !== this.current) throw new Error(`a datagram's sender was used after its handler returned (keep() it to answer later)`);
      if (reply.length <= SEND_SLOT) {
        if (this.queued === BATCH) this.flush();
        const { mmsghdr: mh, iovec: iv } = this.n;
        const j = this.queued++;
        const h = this.sendHdr + j * mh.size;
        reply.copy(this.mem, this.sendBufs + j * SEND_SLOT);
        this.mem.writeUInt32LE(reply.length, this.sendIov + j * iv.size + iv.len);
        this.mem.writeUInt32LE(this.addrLo[to.slot]!, h + mh.name);
        this.mem.writeUInt32LE(this.addrHi[to.slot]!, h + mh.name + 4);
        this.mem.writeUInt32LE(this.mem.readUInt32LE(this.recvHdr + to.slot * mh.size + mh.namelen), h + mh.namelen);
        return;
      }
      this.sendTo(reply, this.addrOf(to.slot));
    } else if (to instanceof AddrPeer) {
      this.sendTo(reply, to.sockaddr);
    } else {
      const p = to as RinfoPeer;
      // dgram keeps the buffer if the send has to wait for room: give it its own copy.
      this.sock?.send(Buffer.from(reply), p.port, p.address, (e) => {
        if (e) this.sendErrors++;
      });
    }
  }

  private sendTo(reply: Buffer, sockaddr: Buffer): void {
    if (this.n.sendto(this.fd, reply, reply.length, 0, sockaddr, SIZEOF_SOCKADDR_IN) < 0) {
      this.sendErrors++;
      this.complain('sendto', this.n.koffi.errno());
    }
  }

  /** Send the batch's queued replies; one that the kernel refuses (a full buffer) is dropped. */
  private flush(): void {
    let from = 0;
    while (from < this.queued) {
      const vec = from === 0 ? this.sendVec : this.sendVec.subarray(from * this.n.mmsghdr.size);
      const sent = this.n.sendmmsg(this.fd, vec, this.queued - from, 0);
      if (sent > 0) {
        from += sent;
        continue;
      }
      const e = sent < 0 ? this.n.koffi.errno() : 0;
      if (e === EINTR) continue; // interrupted before the first was sent: again
      this.sendErrors++;
      this.complain('sendmmsg', e);
      from++;
    }
    this.queued = 0;
  }

  private complain(what: string, errno: number): void {
    const key = `${what} ${this.n.errname(errno)}`;
    if (this.complained.has(key)) return;
    this.complained.add(key);
    this.opts.warn(`${key} (further ones are only counted)`);
  }

  stats() {
    return { drained: this.drained, sendErrors: this.sendErrors };
  }

  close(): Promise<void> {
    this.closed = true;
    return new Promise((res) =>
      this.sock!.close(() => {
        this.n.koffi.free(this.ptr);
        res();
      }),
    );
  }
}
