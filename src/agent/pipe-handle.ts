// A libuv handle for a file descriptor that node:net will not take (a TUN device, an AF_PACKET
// socket), so that libuv's epoll drives reads from it. Its own module: it reaches into Node's
// internal bindings, which only the agents that need it should load.

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
