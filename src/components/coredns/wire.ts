// The DNS wire format for the cluster DNS server, through dns-packet: a query's bytes in, the
// reply's bytes out (or nothing, when a DNS server would drop the packet). Pure.
//
// What gets which answer follows CoreDNS's DNS library (miekg/dns server.go, defaultMsgAcceptFunc):
// - fewer than 12 bytes (no whole header), or the QR bit set (a response): dropped, no answer;
// - an opcode other than QUERY: NOTIMP; a question count other than 1, or more than one answer,
//   authority or two additional records: FORMERR;
// - a header that is fine but a body that does not parse (truncated, garbage): FORMERR;
// - everything else goes to the plugin chain (answer.ts) or to the upstream resolver.
// Replies to a FORMERR or NOTIMP carry the request's id and RD bit and no sections.

import * as packet from 'dns-packet';
import type { Rcode, RData, Record as DnsRecord, Reply } from './answer.js';

const RCODES: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

const QR = 0x8000;
const OPCODE_MASK = 0x7800;

export interface Query {
  id: number;
  /** The request's header flags (RD, CD…) as sent. */
  flags: number;
  name: string;
  type: string;
  class: string;
  /** The requester's EDNS0 UDP payload size, or null without an OPT record. */
  edns: number | null;
  /** The DO bit of the OPT record. */
  dnssecOk: boolean;
}

/** The request parsed, or the bytes to answer it with (possibly none: dropped). */
export type Parsed = { query: Query } | { reply: Buffer | null; why: string };

/** A header-only reply: FORMERR/NOTIMP, with the request's id and RD bit, as miekg/dns writes it. */
function headerReply(id: number, flags: number, rcode: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(QR | (flags & 0x0100) | rcode, 2);
  return b;
}

export function parseQuery(buf: Buffer): Parsed {
  if (buf.length < 12) return { reply: null, why: `short packet (${buf.length} bytes)` };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & QR) return { reply: null, why: 'a response, not a query' };
  const opcode = (flags & OPCODE_MASK) >> 11;
  const [qd, an, ns, ar] = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  if (opcode !== 0) return { reply: notImp(id, flags, opcode), why: `opcode ${opcode}` };
  if (qd !== 1 || an > 1 || ns > 1 || ar > 2) return { reply: headerReply(id, flags, RCODES.FORMERR), why: `${qd} questions` };
  let p: packet.DecodedPacket;
  try {
    p = packet.decode(buf);
  } catch (e) {
    return { reply: headerReply(id, flags, RCODES.FORMERR), why: `cannot unpack: ${(e as Error).message}` };
  }
  const q = p.questions?.[0];
  if (!q || typeof q.name !== 'string') return { reply: headerReply(id, flags, RCODES.FORMERR), why: 'no question' };
  const opt = (p.additionals ?? []).find((r) => r.type === 'OPT') as packet.OptAnswer | undefined;
  return {
    query: {
      id,
      flags,
      name: q.name,
      type: q.type,
      class: q.class ?? 'IN',
      edns: opt ? Math.max(512, opt.udpPayloadSize ?? 512) : null,
      dnssecOk: opt ? ((opt.flags ?? 0) & packet.DNSSEC_OK) !== 0 : false,
    },
  };
}

function notImp(id: number, flags: number, opcode: number): Buffer {
  const b = headerReply(id, flags, RCODES.NOTIMP);
  // NOTIMP keeps the request's opcode (MsgRejectNotImplemented).
  b.writeUInt16BE(b.readUInt16BE(2) | (opcode << 11), 2);
  return b;
}

function rr(r: DnsRecord): packet.Answer {
  const d: RData = r.data;
  const base = { name: r.name.replace(/\.$/, ''), ttl: r.ttl, class: 'IN' as const };
  switch (d.type) {
    case 'A':
      return { ...base, type: 'A', data: d.address };
    case 'CNAME':
      return { ...base, type: 'CNAME', data: d.target.replace(/\.$/, '') };
    case 'PTR':
      return { ...base, type: 'PTR', data: d.target.replace(/\.$/, '') };
    case 'NS':
      return { ...base, type: 'NS', data: d.target.replace(/\.$/, '') };
    case 'TXT':
      return { ...base, type: 'TXT', data: d.text };
    case 'SRV':
      return { ...base, type: 'SRV', data: { priority: d.priority, weight: d.weight, port: d.port, target: d.target.replace(/\.$/, '') } };
    case 'SOA':
      return {
        ...base,
        type: 'SOA',
        data: {
          mname: d.mname.replace(/\.$/, ''),
          rname: d.rname.replace(/\.$/, ''),
          serial: d.serial,
          refresh: d.refresh,
          retry: d.retry,
          expire: d.expire,
          minimum: d.minimum,
        },
      };
  }
}

/**
 * The reply's bytes. Over UDP a reply larger than the requester takes (512 bytes, or its EDNS0
 * size) is cut to what fits, with TC set, so the resolver retries over TCP. `extra` are records
 * the upstream resolver gave for a CNAME's target, appended to the answer.
 */
export function encodeReply(q: Query, r: Reply, extra: packet.Answer[], udp: boolean): Buffer {
  const opt: packet.Answer[] =
    q.edns !== null
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: Math.min(q.edns, 1232),
            extendedRcode: 0,
            ednsVersion: 0,
            flags: q.dnssecOk ? packet.DNSSEC_OK : 0,
            flag_do: q.dnssecOk,
            options: [],
          } satisfies packet.OptAnswer,
        ]
      : [];
  const flags = (q.flags & (0x0100 | 0x0010)) | (r.authoritative ? packet.AUTHORITATIVE_ANSWER : 0) | RCODES[r.rcode];
  const msg = (answers: packet.Answer[], authorities: packet.Answer[], additionals: packet.Answer[], tc: boolean): packet.Packet => ({
    type: 'response',
    id: q.id,
    flags: flags | (tc ? packet.TRUNCATED_RESPONSE : 0),
    questions: [{ name: q.name, type: q.type as packet.RecordType, class: q.class as packet.RecordClass }],
    answers,
    authorities,
    additionals: [...additionals, ...opt],
  });
  const answers = [...r.answer.map(rr), ...extra];
  const full = packet.encode(msg(answers, r.authority.map(rr), r.additional.map(rr), false));
  const limit = udp ? (q.edns ?? 512) : 65535;
  if (full.length <= limit) return full;
  // Keep as many whole answers as fit, drop the rest and the other sections.
  for (let n = answers.length - 1; n >= 0; n--) {
    const b = packet.encode(msg(answers.slice(0, n), [], [], true));
    if (b.length <= limit) return b;
  }
  return packet.encode(msg([], [], [], true));
}

/** The id of a reply (to match an upstream's reply to the query it answers). */
export const replyId = (buf: Buffer): number => (buf.length >= 2 ? buf.readUInt16BE(0) : -1);

export function withId(buf: Buffer, id: number): Buffer {
  // allocUnsafe + copy: every byte is overwritten, and it is cheaper than Buffer.from's generic
  // path on the server's hottest line (every repeated query goes through here).
  const b = Buffer.allocUnsafe(buf.length);
  buf.copy(b);
  b.writeUInt16BE(id, 0);
  return b;
}

export function encodeQuery(id: number, name: string, type: string): Buffer {
  return packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ name: name.replace(/\.$/, ''), type: type as packet.RecordType }] });
}

/** The answer records of an upstream's reply. */
export function answersOf(buf: Buffer): packet.Answer[] {
  try {
    return packet.decode(buf).answers ?? [];
  } catch {
    return [];
  }
}

/** A SERVFAIL for a query whose upstream did not answer (forward's reply when every upstream failed). */
export function servfail(q: Query): Buffer {
  return packet.encode({
    type: 'response',
    id: q.id,
    flags: (q.flags & 0x0100) | RCODES.SERVFAIL,
    questions: [{ name: q.name, type: q.type as packet.RecordType, class: q.class as packet.RecordClass }],
  });
}
