// The cluster DNS server as a daemon, in the kube-system/coredns pod's network namespace: UDP and
// TCP on port 53, the answers of CoreDNS's kubernetes plugin (answer.ts) from the state file it
// follows as CoreDNS follows the API server, and every other name forwarded to the upstream
// resolver (kubeadm's `forward . /etc/resolv.conf`: the node's resolver, here the lab's upstream).
//
// Config (JSON): { "stateFile", "domain": "cluster.local", "ttl": 30, "port": 53,
//   "upstream": "192.168.56.53", "pidfile", "log" } (paths absolute).
//
// Differences from CoreDNS, on purpose: no cache (kubeadm's cache plugin keeps forwarded answers
// 30 s; every forwarded query here goes upstream), no loadbalance shuffle (answers come in a fixed
// order; resolvers and checks must not depend on it either way), no health/ready/metrics ports.

import dgram from 'node:dgram';
import net from 'node:net';
import type { StateFile } from '../../api/objects.js';
import { readConfig } from '../../agent/config.js';
import { logger, type Agent, type AgentFiles } from '../../agent/runtime.js';
import { watchState, type StateWatch } from '../../agent/watch.js';
import { answer, indexState, type DnsIndex } from './answer.js';
import { listenUdp } from '../../agent/udp-batch.js';
import { answersOf, encodeQuery, encodeReply, parseQuery, replyId, servfail, withId, type Query } from './wire.js';

const PROG = 'coredns';
const log = logger(PROG);
/** How long forward waits for the upstream before answering SERVFAIL (CoreDNS: 5 s per try). */
const UPSTREAM_TIMEOUT_MS = 2000;
/** Encoded replies kept per generation (see `memo` below); cleared whole when full. */
const MEMO_MAX = 10_000;

export interface Config extends AgentFiles {
  stateFile: string;
  domain: string;
  ttl: number;
  port: number;
  upstream: string;
}

function load(file: string): Config {
  const c = readConfig(file, {
    stateFile: 'path',
    domain: 'name',
    ttl: 'json',
    port: 'port',
    upstream: 'ipv4',
    pidfile: 'path',
    log: 'path',
  }) as unknown as Config;
  if (!Number.isInteger(c.ttl) || c.ttl < 0 || c.ttl > 3600) throw new Error(`${file}: "ttl" must be an integer 0-3600`);
  return c;
}

/** The kube-dns Service's ClusterIP (ns.dns.<zone>), if it exists. */
function nameserverOf(s: StateFile): string | null {
  const svc = s.state.services.find((x) => x.meta.namespace === 'kube-system' && x.meta.name === 'kube-dns');
  return svc?.clusterIP && svc.clusterIP !== 'None' ? svc.clusterIP : null;
}

export interface DnsServer {
  readonly udpPort: number;
  readonly tcpPort: number;
  /** Replace the data answered from (a new generation). */
  update(s: StateFile): void;
  /** drained: UDP queries read in batches (udp-batch.ts); sendErrors: UDP replies the kernel refused. */
  counters(): { queries: number; forwarded: number; dropped: number; formerr: number; drained: number; sendErrors: number };
  close(): Promise<void>;
}

type Respond = (b: Buffer) => void;
/** A reply that needs the upstream: called with where to send it once it is there. */
type Later = (respond: Respond) => void;

/** Start answering on `port` (0: any free port, for tests) of `host`. */
export async function startDnsServer(
  opts: {
    host: string;
    port: number;
    domain: string;
    ttl: number;
    upstream: { address: string; port: number };
    /** false: node:dgram alone, one datagram per event (udp-batch.ts). */
    batch?: boolean;
  },
  state: StateFile,
): Promise<DnsServer> {
  let index: DnsIndex = indexState(state, { domain: opts.domain, ttl: opts.ttl, nameserver: nameserverOf(state) });
  // The SOA serial: when the data last changed, in seconds (CoreDNS: the API's last modification).
  let serial = Math.floor(Date.now() / 1000);
  const counts = { queries: 0, forwarded: 0, dropped: 0, formerr: 0 };
  // A reply from the cluster's own data depends only on the query's bytes after its id (flags,
  // question, EDNS), the transport (truncation) and the data, so the same query gets the same
  // bytes until the next generation: keep them, and answer repeats by patching the id. This is
  // not CoreDNS's cache plugin (kubeadm disables it for cluster.local): nothing outlives a change,
  // TTLs are the plugin's fixed ones, and forwarded answers are never kept. It saves decoding,
  // answering and encoding, most of a query's cost in JavaScript.
  const memo = new Map<string, Buffer>();

  // One socket towards the upstream; replies are matched by a fresh id.
  const upstream = dgram.createSocket('udp4');
  const pending = new Map<number, { done(reply: Buffer | null): void; timer: NodeJS.Timeout }>();
  let nextId = Math.floor(Math.random() * 65536);
  upstream.on('message', (msg) => {
    const p = pending.get(replyId(msg));
    if (!p) return;
    pending.delete(replyId(msg));
    clearTimeout(p.timer);
    p.done(msg);
  });
  upstream.on('error', (e) => log('W', `upstream socket: ${e.message}`));
  const ask = (query: Buffer, done: (reply: Buffer | null) => void) => {
    let id = nextId;
    for (let i = 0; i < 65536 && pending.has(id); i++) id = (id + 1) & 0xffff;
    nextId = (id + 1) & 0xffff;
    const timer = setTimeout(() => {
      pending.delete(id);
      done(null);
    }, UPSTREAM_TIMEOUT_MS);
    pending.set(id, { done, timer });
    upstream.send(withId(query, id), opts.upstream.port, opts.upstream.address);
  };

  /**
   * A query's reply: the bytes now, null when it is dropped, or a function that starts the
   * upstream exchange and gives the reply later. The bytes must be sent or copied before the next
   * query is handled: a kept reply is handed out itself, its id patched for each query.
   */
  const handle = (buf: Buffer, udp: boolean): Buffer | null | Later => {
    counts.queries++;
    const key = buf.length >= 12 ? (udp ? 'u' : 't') + buf.toString('latin1', 2) : '';
    const kept = key ? memo.get(key) : undefined;
    if (kept) {
      kept[0] = buf[0]!;
      kept[1] = buf[1]!;
      return kept;
    }
    const parsed = parseQuery(buf);
    if ('reply' in parsed) {
      if (parsed.reply) counts.formerr++;
      else counts.dropped++;
      return parsed.reply;
    }
    const q: Query = parsed.query;
    const r = answer(index, q.name, q.type, serial);
    if ('forward' in r) {
      counts.forwarded++;
      // The query as asked, copied: `buf` may be reused once this returns.
      const query = Buffer.from(buf);
      return (respond) => ask(query, (reply) => respond(reply ? withId(reply, q.id) : servfail(q)));
    }
    if (r.chase) {
      // The CNAME's target is outside the cluster: resolve it upstream and append what comes back.
      const chase = r.chase;
      return (respond) => ask(encodeQuery(0, chase.name, chase.type), (reply) => respond(encodeReply(q, r, reply ? answersOf(reply) : [], udp)));
    }
    const reply = encodeReply(q, r, [], udp);
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(key, reply);
    return reply;
  };

  const udpServer = await listenUdp({
    host: opts.host,
    port: opts.port,
    batch: opts.batch,
    warn: (m) => log('W', `udp: ${m}`),
    onDatagram: (msg, from) => {
      try {
        const r = handle(msg, true);
        if (r === null) return;
        if (typeof r !== 'function') return udpServer.send(r, from);
        const to = from.keep();
        r((b) => udpServer.send(b, to));
      } catch (e) {
        // A query that breaks the server must not stop it: log and answer nothing.
        counts.dropped++;
        log('E', `query from ${from.toString()}: ${(e as Error).message}`);
      }
    },
  });
  const udpPort = udpServer.port;

  // TCP: each message after its two-byte length (RFC 1035 4.2.2); a connection may carry several.
  const conns = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setTimeout(10_000, () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const msg = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        const respond: Respond = (b) => {
          if (sock.destroyed) return;
          const framed = Buffer.allocUnsafe(2 + b.length);
          framed.writeUInt16BE(b.length, 0);
          b.copy(framed, 2);
          sock.write(framed);
        };
        try {
          const r = handle(msg, false);
          if (r === null) continue;
          if (typeof r === 'function') r(respond);
          else respond(r);
        } catch (e) {
          counts.dropped++;
          log('E', `tcp query: ${(e as Error).message}`);
        }
      }
    });
  });
  await new Promise<void>((res, rej) => {
    tcp.once('error', (e) => {
      void udpServer.close();
      rej(new Error(`cannot listen on ${opts.host}:${udpPort}/tcp: ${e.message}`));
    });
    tcp.listen({ host: opts.host, port: udpPort, exclusive: true }, () => {
      tcp.removeAllListeners('error');
      tcp.on('error', (e) => log('W', `tcp: ${e.message}`));
      res();
    });
  });
  return {
    udpPort,
    tcpPort: (tcp.address() as net.AddressInfo).port,
    update(s) {
      index = indexState(s, { domain: opts.domain, ttl: opts.ttl, nameserver: nameserverOf(s) });
      serial = Math.floor(Date.now() / 1000);
      memo.clear();
    },
    counters: () => ({ ...counts, ...udpServer.stats() }),
    async close() {
      for (const p of pending.values()) clearTimeout(p.timer);
      pending.clear();
      for (const c of conns) c.destroy();
      await new Promise<void>((res) => tcp.close(() => res()));
      await udpServer.close();
      upstream.close();
    },
  };
}

async function start(cfg: Config): Promise<{ stop(why: string): Promise<void> }> {
  let server: DnsServer | null = null;
  let watch: StateWatch | null = null;
  let first: StateFile | null = null;
  // The first read happens inside watchState; start the sockets with it, then follow.
  watch = watchState({
    stateFile: cfg.stateFile,
    sync: (s) => {
      if (!server) {
        first = s;
        return true;
      }
      server.update(s);
      log('I', `synced generation ${s.generation}: ${s.state.services.length} services, ${s.state.slices.length} endpoint slices`);
      return true;
    },
    warn: (m) => log('W', m),
  });
  try {
    server = await startDnsServer(
      { host: '0.0.0.0', port: cfg.port, domain: cfg.domain, ttl: cfg.ttl, upstream: { address: cfg.upstream, port: 53 } },
      first ?? watch.state,
    );
  } catch (e) {
    watch.stop();
    throw e;
  }
  log('I', `.:${cfg.port} on udp and tcp; kubernetes ${cfg.domain} in-addr.arpa ip6.arpa (pods insecure, ttl ${cfg.ttl}); forward . ${cfg.upstream}`);
  return {
    async stop(why) {
      const c = server!.counters();
      log(
        'I',
        `${why}; ${c.queries} queries (${c.drained} read in batches), ${c.forwarded} forwarded, ${c.formerr} FORMERR/NOTIMP, ${c.dropped} dropped, ${c.sendErrors} replies not sent`,
      );
      watch!.stop();
      await server!.close();
    },
  };
}

export const corednsAgent: Agent<Config> = { prog: PROG, load, start };
