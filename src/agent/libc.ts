// The C library, loaded once for every agent that talks to the kernel below what Node.js offers
// (a TUN device, an AF_PACKET socket, sendto(2) on a UDP socket's fd). Plain libc calls through
// koffi, so there is nothing to compile. Each caller declares the functions it needs on `libc`;
// the ones several share are declared here.

import koffi from 'koffi';
import { constants as osConstants } from 'node:os';

export const libc = koffi.load('libc.so.6');
export const c_read = libc.func('intptr_t read(int fd, void *buf, size_t count)');
export const c_write = libc.func('intptr_t write(int fd, const void *buf, size_t count)');
export const c_close = libc.func('int close(int fd)');
export const c_if_nametoindex = libc.func('unsigned int if_nametoindex(const char *name)');

export const EBADFD = 77; // not in os.constants.errno
const errnoName = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** "ENODEV" for 19: name the errno a C programmer would grep for. */
export function errname(errno: number): string {
  return errnoName.get(errno) ?? (errno === EBADFD ? 'EBADFD' : `errno ${errno}`);
}

export interface PipeHandle {
  open(fd: number): number;
}
interface PipeWrap {
  Pipe: new (type: number) => PipeHandle;
  constants: { SOCKET: number };
}
// process.binding() is deprecated (DEP0111, documentation-only, no warning), but short of a
// native addon it is the only way to give libuv an fd that node:net will not take.
const pipeWrap = (process as unknown as { binding(name: string): PipeWrap }).binding('pipe_wrap');

/** A libuv handle for a non-blocking fd (TUN, AF_PACKET) that node:net can read from; 0 or a uv error. */
export function pipeHandle(fd: number): { handle: PipeHandle; err: number } {
  const handle = new pipeWrap.Pipe(pipeWrap.constants.SOCKET);
  return { handle, err: handle.open(fd) };
}
