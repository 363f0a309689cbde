// Decoding what tcpdump -x printed: each packet's own summary line plus its bytes, from which
// the outer IPv4/UDP headers, a VXLAN header and the inner packet are read. tcpdump's own text
// is not enough: it decodes port 8472 as OTV, and it cannot know that a flannel UDP datagram
// carries a whole IP packet.

export interface Addresses {
  src: string;
  dst: string;
  /** IP protocol number: 1 ICMP, 6 TCP, 17 UDP. */
  proto: number;
}

export interface Packet {
  /** tcpdump's summary line(s) for the packet. */
  text: string;
  outer: Addresses & { sport: number | null; dport: number | null };
  /** vxlan: UDP carrying a VXLAN header and an Ethernet frame; udp: UDP carrying a bare IP packet. */
  encap: 'vxlan' | 'udp' | 'none';
  vni: number | null;
  /** The packet inside the encapsulation; the packet itself when there is none. */
  inner: Addresses;
}

const TIMESTAMP = /^\d{2}:\d{2}:\d{2}\.\d+ /;
const HEX = /^\s+0x[0-9a-f]+:\s+([0-9a-f ]+)/;

export function parseCapture(stdout: string): Packet[] {
  const raw: { text: string[]; hex: string[] }[] = [];
  for (const line of stdout.split('\n')) {
    const hex = HEX.exec(line);
    if (hex) raw.at(-1)?.hex.push(hex[1]!.replace(/\s+/g, ''));
    else if (TIMESTAMP.test(line)) raw.push({ text: [line.trim()], hex: [] });
    else if (line.trim()) raw.at(-1)?.text.push(line.trim());
  }
  return raw.flatMap(({ text, hex }) => {
    const p = decode(Buffer.from(hex.join(''), 'hex'));
    return p ? [{ text: text.join(' | '), ...p }] : [];
  });
}

const ip4 = (b: Buffer, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

function ipHeader(b: Buffer, at: number): (Addresses & { length: number }) | null {
  if (b.length < at + 20 || b[at]! >> 4 !== 4) return null;
  const length = (b[at]! & 15) * 4;
  if (length < 20 || b.length < at + length) return null;
  return { src: ip4(b, at + 12), dst: ip4(b, at + 16), proto: b[at + 9]!, length };
}

function decode(b: Buffer): Omit<Packet, 'text'> | null {
  const outer = ipHeader(b, 0);
  if (!outer) return null;
  const { length, ...addrs } = outer;
  const base = { src: addrs.src, dst: addrs.dst, proto: addrs.proto };
  if (outer.proto !== 17 || b.length < length + 8) return { outer: { ...base, sport: null, dport: null }, encap: 'none', vni: null, inner: base };
  const sport = b.readUInt16BE(length);
  const dport = b.readUInt16BE(length + 2);
  const payload = length + 8;
  const out = { ...base, sport, dport };
  // VXLAN (RFC 7348): flags with the I bit, 3 reserved bytes, 24-bit VNI, 1 reserved byte, then
  // an Ethernet frame; the inner IPv4 packet follows the 14-byte Ethernet header (EtherType 0x0800).
  if (b.length >= payload + 8 + 14 + 20 && (b[payload]! & 0x08) !== 0 && b.readUInt16BE(payload + 8 + 12) === 0x0800) {
    const inner = ipHeader(b, payload + 8 + 14);
    if (inner) {
      const vni = (b[payload + 4]! << 16) | (b[payload + 5]! << 8) | b[payload + 6]!;
      return { outer: out, encap: 'vxlan', vni, inner: { src: inner.src, dst: inner.dst, proto: inner.proto } };
    }
  }
  // flannel's udp backend: the datagram is the inner IP packet itself, no header of its own.
  const inner = ipHeader(b, payload);
  if (inner && b.readUInt16BE(payload + 2) === b.length - payload)
    return { outer: out, encap: 'udp', vni: null, inner: { src: inner.src, dst: inner.dst, proto: inner.proto } };
  return { outer: out, encap: 'none', vni: null, inner: base };
}

const PROTO: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP' };

/** One line per packet, the way the checks print what they saw. */
export function describePacket(p: Packet): string {
  const outer = `${p.outer.src}${p.outer.sport !== null ? ':' + p.outer.sport : ''} > ${p.outer.dst}${p.outer.dport !== null ? ':' + p.outer.dport : ''}`;
  const proto = PROTO[p.inner.proto] ?? `proto ${p.inner.proto}`;
  if (p.encap === 'vxlan') return `${outer} VXLAN vni ${p.vni} carrying ${p.inner.src} > ${p.inner.dst} ${proto}`;
  if (p.encap === 'udp') return `${outer} UDP carrying ${p.inner.src} > ${p.inner.dst} ${proto}`;
  return `${outer} ${PROTO[p.outer.proto] ?? `proto ${p.outer.proto}`} (not encapsulated)`;
}
