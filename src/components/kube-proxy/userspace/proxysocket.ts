// The userspace proxier's sockets (pkg/proxy/userspace/proxysocket.go): per service port one
// listener on a free local port (the "proxy port" the portals send traffic to), and for each
// client a connection to an endpoint the round robin picks. TCP: accept, dial an endpoint
// (tryConnect: when one refuses or does not answer within 250 ms, 500 ms, 1 s, 2 s, the next one,
// with the client's affinity reset), then copy bytes both ways until both sides closed theirs.
// UDP: one socket per client address towards its endpoint, replies written back from the
// listener, the session dropped after udpIdleTimeout without traffic. Every byte crosses the
// kernel twice more than with iptables DNAT: that is the cost this mode was left for.

import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { ProxiedPort } from './rules.js';
import { ENDPOINT_DIAL_TIMEOUTS_MS, RoundRobin } from './roundrobin.js';

/** The old --udp-timeout (KubeProxyConfiguration udpIdleTimeout) default. */
export const UDP_IDLE_TIMEOUT_MS = 250;

type Log = (level: 'I' | 'W' | 'E', msg: string) => void;

interface Listener {
  port: number;
  protocol: 'TCP' | 'UDP';
  close(): void;
}

/** Local ports in use in this network namespace (/proc/net/{tcp,udp}: the 2nd column is local "ADDR:PORT" in hex). */
function portsInUse(protocol: 'TCP' | 'UDP'): Set<number> {
  const used = new Set<number>();
  try {
    for (const line of readFileSync(protocol === 'TCP' ? '/proc/net/tcp' : '/proc/net/udp', 'utf8')
      .split('\n')
      .slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local) used.add(parseInt(local.split(':')[1]!, 16));
    }
  } catch {
    // Not Linux: the bind's own EADDRINUSE picks another.
  }
  return used;
}

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo < hi) return [lo, hi];
  } catch {
    // fall through
  }
  return [32768, 60999];
}

/**
 * The proxy of one node: listeners per service port and the round robin behind them. update()
 * is synchronous, as the rules written right after it need the ports: a free port is chosen here
 * (what listen on port 0 does in the kernel) and bound at once; if the bind still loses a race,
 * another is chosen and `changed` asks for a resync.
 */
export class UserspaceProxy {
  readonly lb = new RoundRobin();
  private readonly listeners = new Map<string, Listener>();
  private readonly held = new Set<number>();

  constructor(
    private readonly log: Log,
    private readonly changed: () => void,
    private readonly udpIdleTimeoutMs = UDP_IDLE_TIMEOUT_MS,
  ) {}

  /** Bring listeners and endpoints in step with the service ports; returns key → proxy port. */
  update(ports: ProxiedPort[]): ReadonlyMap<string, number> {
    const wanted = new Map(ports.map((p) => [p.key, p]));
    for (const [key, l] of this.listeners)
      if (!wanted.has(key)) {
        l.close();
        this.held.delete(l.port);
        this.listeners.delete(key);
        this.lb.remove(key);
        this.log('I', `closed proxy port ${l.port} for ${key}`);
      }
    for (const p of ports) {
      this.lb.update(p.key, p.endpoints, p.affinity);
      if (!this.listeners.has(p.key)) this.open(p);
    }
    return new Map([...this.listeners].map(([k, l]) => [k, l.port]));
  }

  stop(): void {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }

  private freePort(protocol: 'TCP' | 'UDP'): number {
    const [lo, hi] = ephemeralRange();
    const used = portsInUse(protocol);
    for (;;) {
      const port = lo + Math.floor(Math.random() * (hi - lo + 1));
      if (!used.has(port) && !this.held.has(port)) return port;
    }
  }

  private open(p: ProxiedPort): void {
    const port = this.freePort(p.protocol as 'TCP' | 'UDP');
    this.held.add(port);
    const onError = (e: NodeJS.ErrnoException) => {
      if (this.listeners.get(p.key)?.port !== port) return;
      this.log('W', `proxy port ${port} for ${p.key}: ${e.code ?? e.message}; choosing another`);
      this.listeners.get(p.key)?.close();
      this.listeners.delete(p.key);
      this.held.delete(port);
      this.open(p);
      this.changed();
    };
    const listener = p.protocol === 'TCP' ? this.tcp(p.key, port, onError) : this.udp(p.key, port, onError);
    this.listeners.set(p.key, listener);
    this.log('I', `opened proxy port ${port} for ${p.key} (${p.name})`);
  }

  private tcp(key: string, port: number, onError: (e: NodeJS.ErrnoException) => void): Listener {
    const server: Server = createServer({ allowHalfOpen: true }, (client) => void this.proxyTcp(key, client));
    server.on('error', onError);
    server.listen(port, '0.0.0.0');
    return {
      port,
      protocol: 'TCP',
      close: () => server.close(),
    };
  }

  /** tryConnect, then copyBytes both ways. */
  private async proxyTcp(key: string, client: Socket): Promise<void> {
    client.on('error', () => client.destroy());
    const clientIP = client.remoteAddress ?? '';
    let reset = false;
    for (const timeoutMs of ENDPOINT_DIAL_TIMEOUTS_MS) {
      const endpoint = this.lb.next(key, clientIP, reset, Date.now());
      if (endpoint === null) {
        this.log('E', `couldn't find an endpoint for ${key}: missing endpoints`);
        client.destroy();
        return;
      }
      const backend = await dial(endpoint, timeoutMs);
      if (client.destroyed) {
        if (!(backend instanceof Error)) backend.destroy();
        return;
      }
      if (backend instanceof Error) {
        this.log('W', `dial failed for ${key} to ${endpoint} (timeout ${timeoutMs} ms): ${backend.message}; trying the next endpoint`);
        reset = true;
        continue;
      }
      backend.on('error', () => {
        backend.destroy();
        client.destroy();
      });
      client.on('close', () => backend.destroy());
      backend.on('close', () => client.destroy());
      client.pipe(backend);
      backend.pipe(client);
      return;
    }
    this.log('E', `failed to connect to any endpoint of ${key} after ${ENDPOINT_DIAL_TIMEOUTS_MS.length} attempts`);
    client.destroy();
  }

  private udp(key: string, port: number, onError: (e: NodeJS.ErrnoException) => void): Listener {
    const sock: UdpSocket = createSocket('udp4');
    const sessions = new Map<string, { backend: UdpSocket; timer: NodeJS.Timeout; ready: boolean; queue: Buffer[] }>();
    const drop = (client: string) => {
      const s = sessions.get(client);
      if (!s) return;
      clearTimeout(s.timer);
      s.backend.close();
      sessions.delete(client);
    };
    sock.on('error', onError);
    sock.on('message', (msg, rinfo) => {
      const client = `${rinfo.address}:${rinfo.port}`;
      let s = sessions.get(client);
      if (!s) {
        const endpoint = this.lb.next(key, rinfo.address, false, Date.now());
        if (endpoint === null) {
          this.log('E', `couldn't find an endpoint for ${key}: missing endpoints`);
          return;
        }
        const [host, ep] = splitHostPort(endpoint);
        const backend = createSocket('udp4');
        const session = { backend, timer: setTimeout(() => drop(client), this.udpIdleTimeoutMs), ready: false, queue: [msg] };
        s = session;
        sessions.set(client, session);
        backend.on('error', (e) => {
          this.log('W', `udp session ${client} → ${endpoint} for ${key}: ${e.message}`);
          drop(client);
        });
        backend.on('message', (reply) => {
          session.timer.refresh();
          sock.send(reply, rinfo.port, rinfo.address);
        });
        backend.connect(ep, host, () => {
          session.ready = true;
          for (const m of session.queue.splice(0)) backend.send(m);
        });
        return;
      }
      s.timer.refresh();
      if (s.ready) s.backend.send(msg);
      else s.queue.push(msg);
    });
    sock.bind(port, '0.0.0.0');
    return {
      port,
      protocol: 'UDP',
      close: () => {
        for (const c of [...sessions.keys()]) drop(c);
        sock.close();
      },
    };
  }
}

function splitHostPort(endpoint: string): [string, number] {
  const i = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, i), Number(endpoint.slice(i + 1))];
}

/** net.DialTimeout: a connected socket, or the error (refused, unreachable, or the timeout). */
function dial(endpoint: string, timeoutMs: number): Promise<Socket | Error> {
  const [host, port] = splitHostPort(endpoint);
  return new Promise((resolve) => {
    const s = connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(new Error(`i/o timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      s.destroy();
      resolve(new Error(e.code ?? e.message));
    });
  });
}
