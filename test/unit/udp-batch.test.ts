// The batched UDP server socket (src/agent/udp-batch.ts) on loopback: bursts from several
// clients, so that most datagrams are read by recvmmsg and answered by sendmmsg rather than
// through node:dgram's event; every reply must reach the socket its query came from, with the
// right bytes, whether it is sent at once, later (a kept sender), or alone (too big for a batch
// slot). The same checks run on the node:dgram fallback.
import dgram from 'node:dgram';
import t from 'tap';
import { listenUdp, type Peer, type UdpServer } from '../../src/agent/udp-batch.js';

/** Replies: "R" + the query; a query starting with "L" is answered 20 ms later; "B…" gets 10,000 bytes back. */
async function server(batch: boolean, warnings: string[]): Promise<{ s: UdpServer; stale: () => Peer | null }> {
  let last: Peer | null = null;
  const s: UdpServer = await listenUdp({
    host: '127.0.0.1',
    port: 0,
    batch,
    warn: (m) => warnings.push(m),
    onDatagram: (msg, from) => {
      last = from;
      const reply = Buffer.concat([Buffer.from('R'), msg]);
      if (msg[0] === 0x4c /* L */) {
        const to = from.keep();
        setTimeout(() => s.send(reply, to), 20);
      } else if (msg[0] === 0x42 /* B */) {
        s.send(Buffer.concat([reply, Buffer.alloc(10_000, 0x7e)]), from);
      } else {
        s.send(reply, from);
        reply.fill(0); // the server may reuse its reply buffer at once
      }
    },
  });
  return { s, stale: () => last };
}

/** `perClient` queries from each of `clients` sockets, all sent before any is answered. */
async function burst(port: number, clients: number, perClient: number, shape: (c: number, i: number) => string): Promise<Map<number, string[]>> {
  const socks = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = dgram.createSocket('udp4');
      await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
      return c;
    }),
  );
  const got = new Map<number, string[]>();
  const want = clients * perClient;
  let n = 0;
  await new Promise<void>((res) => {
    const timer = setTimeout(res, 3000);
    socks.forEach((c, ci) => {
      got.set(ci, []);
      c.on('message', (m) => {
        got.get(ci)!.push(m[0] === 0x52 && m[1] === 0x42 ? `R${m.subarray(1, m.indexOf(0x7e)).toString()}+${m.length}` : m.toString());
        if (++n === want) {
          clearTimeout(timer);
          res();
        }
      });
    });
    for (let i = 0; i < perClient; i++) socks.forEach((c, ci) => c.send(shape(ci, i), port, '127.0.0.1'));
  });
  for (const c of socks) c.close();
  return got;
}

for (const batch of [true, false]) {
  t.test(`${batch ? 'recvmmsg/sendmmsg' : 'node:dgram alone'}: every reply goes to its sender`, async (t) => {
    const warnings: string[] = [];
    const { s, stale } = await server(batch, warnings);
    t.teardown(() => s.close());
    t.equal(s.batched, batch);
    // 4 × 40 small datagrams fit the default receive buffer (about 200 queued datagrams).
    const got = await burst(s.port, 4, 40, (c, i) => `q${c}.${i}`);
    for (const [c, replies] of got) t.same(replies.sort(), Array.from({ length: 40 }, (_, i) => `Rq${c}.${i}`).sort(), `client ${c}: its own 40 replies`);
    const mixed = await burst(s.port, 3, 20, (c, i) => (i % 5 === 0 ? `L${c}.${i}` : i % 7 === 0 ? `B${c}.${i}` : `q${c}.${i}`));
    for (const [c, replies] of mixed) {
      const expect = Array.from({ length: 20 }, (_, i) =>
        i % 5 === 0 ? `RL${c}.${i}` : i % 7 === 0 ? `RB${c}.${i}+${`RB${c}.${i}`.length + 10_000}` : `Rq${c}.${i}`,
      ).sort();
      t.same(replies.sort(), expect, `client ${c}: later and oversized replies too`);
    }
    if (batch) {
      t.ok(s.stats().drained > 0, `most of a burst is read in batches (${s.stats().drained} of ${160 + 60})`);
      t.throws(() => s.send(Buffer.from('x'), stale()!), /after its handler returned/, 'a sender not kept cannot be answered later');
    }
    t.equal(s.stats().sendErrors, 0);
    t.same(warnings, []);
  });
}

t.test('a datagram of any size is read whole', async (t) => {
  const s = await listenUdp({ host: '127.0.0.1', port: 0, warn: () => {}, onDatagram: (msg, from) => s.send(Buffer.from(String(msg.length)), from) });
  t.teardown(() => s.close());
  const c = dgram.createSocket('udp4');
  t.teardown(() => c.close());
  const sizes: string[] = [];
  const done = new Promise<void>((res) => c.on('message', (m) => sizes.push(m.toString()) === 3 && res()));
  // Three at once: the second and third wait in the queue and are read by recvmmsg.
  for (const n of [100, 60_000, 65_507]) c.send(Buffer.alloc(n, 0x71), s.port, '127.0.0.1');
  await done;
  t.same(sizes.sort(), ['100', '60000', '65507'], 'the largest UDP payload IPv4 carries, whole');
});

t.test('a port in use: the reason, as bind(2) gave it', async (t) => {
  const { s } = await server(true, []);
  t.teardown(() => s.close());
  await t.rejects(
    listenUdp({ host: '127.0.0.1', port: s.port, warn: () => {}, onDatagram: () => {} }),
    new RegExp(`cannot listen on 127\\.0\\.0\\.1:${s.port}/udp: bind EADDRINUSE`),
  );
});

t.test('where koffi cannot be had, node:dgram alone, with a warning', async (t) => {
  // A koffi whose pointers are 4 bytes: not a platform the batch structs are laid out for.
  const mod = await t.mockImport<typeof import('../../src/agent/udp-batch.js')>('../../src/agent/udp-batch.js', {
    koffi: { default: { sizeof: () => 4 } },
  });
  const warnings: string[] = [];
  const s = await mod.listenUdp({ host: '127.0.0.1', port: 0, warn: (m) => warnings.push(m), onDatagram: (msg, from) => s.send(msg, from) });
  t.teardown(() => s.close());
  t.equal(s.batched, false);
  t.match(warnings, [/one at a time through node:dgram: not a 64-bit little-endian platform/]);
  const got = await burst(s.port, 2, 10, (c, i) => `e${c}.${i}`);
  t.same(
    [...got.values()].map((r) => r.length),
    [10, 10],
    'still answering',
  );
});
