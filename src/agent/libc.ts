// The C library, loaded once for every agent that talks to the kernel below what Node.js offers
// (a TUN device, an AF_PACKET socket, sendto(2) on a UDP socket's fd, recvmmsg(2)/sendmmsg(2)).
// Plain libc calls through koffi, so there is nothing to compile. Each caller declares the
// functions it needs on `libc`; the ones several share are declared here.

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
