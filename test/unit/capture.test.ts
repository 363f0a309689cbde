// Decoding tcpdump -x output: the outer headers, VXLAN, flannel's bare UDP encapsulation, and
// plain packets, from bytes (tcpdump itself calls port 8472 "OTV").
import t from 'tap';
import { readFileSync } from 'node:fs';
import { describePacket, parseCapture } from '../../src/kernel/capture.js';

/** tcpdump -x layout for a buffer: 16 bytes a line, in groups of two. */
function hexdump(b: Buffer, summary: string): string {
  const lines = [`01:02:03.000001 ${summary}`];
  for (let i = 0; i < b.length; i += 16) {
    const chunk = b.subarray(i, i + 16).toString('hex');
    lines.push(`\t0x${i.toString(16).padStart(4, '0')}:  ${chunk.match(/.{1,4}/g)!.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

function ipv4(src: number[], dst: number[], proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(src).copy(h, 12);
  Buffer.from(dst).copy(h, 16);
  return Buffer.concat([h, payload]);
}

function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

const icmp = Buffer.from('0800f7ff00010001', 'hex');

t.test('a real flannel.1 capture: VXLAN VNI 1 on 8472 with the pod addresses inside', async (t) => {
  const packets = parseCapture(readFileSync('test/fixtures/capture/flannel-vxlan.txt', 'utf8'));
  t.equal(packets.length, 2);
  const [req, reply] = packets;
  t.same(req!.outer, { src: '192.168.56.11', dst: '192.168.56.12', proto: 17, sport: 60696, dport: 8472 });
  t.equal(req!.encap, 'vxlan');
  t.equal(req!.vni, 1);
  t.same(req!.inner, { src: '10.244.1.2', dst: '10.244.2.2', proto: 1 });
  t.same(reply!.inner, { src: '10.244.2.2', dst: '10.244.1.2', proto: 1 });
  t.match(req!.text, /OTV, flags \[I\]/, "tcpdump's own summary is kept for failure reports");
  t.equal(describePacket(req!), '192.168.56.11:60696 > 192.168.56.12:8472 VXLAN vni 1 carrying 10.244.1.2 > 10.244.2.2 ICMP');
});

t.test("flannel's udp backend: the datagram is the inner IP packet", async (t) => {
  const inner = ipv4([10, 244, 1, 2], [10, 244, 2, 2], 1, icmp);
  const outer = ipv4([192, 168, 56, 11], [192, 168, 56, 12], 17, udp(8285, 8285, inner));
  const [p] = parseCapture(hexdump(outer, 'IP 192.168.56.11.8285 > 192.168.56.12.8285: UDP, length 28'));
  t.equal(p!.encap, 'udp');
  t.same(p!.inner, { src: '10.244.1.2', dst: '10.244.2.2', proto: 1 });
  t.equal(p!.outer.dport, 8285);
});

t.test('plain routed packets and UDP that carries no packet are not encapsulated', async (t) => {
  const plain = ipv4([10, 244, 1, 2], [10, 244, 2, 2], 1, icmp);
  const dns = ipv4([10, 244, 1, 2], [10, 96, 0, 10], 17, udp(40000, 53, Buffer.from('abcdabcdabcdabcdabcdabcdabcdabcd')));
  const packets = parseCapture(hexdump(plain, 'IP 10.244.1.2 > 10.244.2.2: ICMP echo request') + hexdump(dns, 'IP 10.244.1.2.40000 > 10.96.0.10.53: UDP'));
  t.same(
    packets.map((p) => [p.encap, p.inner.src, p.inner.dst]),
    [
      ['none', '10.244.1.2', '10.244.2.2'],
      ['none', '10.244.1.2', '10.96.0.10'],
    ],
  );
});

t.test('no packets, or truncated garbage, decode to nothing', async (t) => {
  t.same(parseCapture(''), []);
  t.same(parseCapture('01:02:03.000001 IP truncated\n\t0x0000:  4500\n'), []);
});
