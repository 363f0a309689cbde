// ARP frames, pure. Frames as mdlayher/arp and mdlayher/ethernet build them: Ethernet II, EtherType
// 0x0806, then hardware type 1, protocol 0x0800, lengths 6 and 4, the operation, sender MAC and
// IP, target MAC and IP; zero-padded to the 60-byte Ethernet minimum.
// Which requests the speaker answers, and the replies and gratuitous announcements it sends.

import { parseIPv4 } from '../../labfile/net.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ETH_P_ARP = 0x0806;
const ETH_P_IP = 0x0800;
const ETH_HLEN = 14;
const ARP_LEN = 28;
const ETH_ZLEN = 60;

export interface ArpFrame {
  ethDst: string;
  ethSrc: string;
  op: number;
  senderMac: string;
  senderIP: string;
  targetMac: string;
  targetIP: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
export const isIPv4 = (s: string): boolean => parseIPv4(s) !== undefined;

function putMac(b: Buffer, off: number, mac: string): void {
  if (!MAC.test(mac)) throw new Error(`bad MAC address "${mac}"`);
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(b, off);
}

function putIPv4(b: Buffer, off: number, ip: string): void {
  if (!isIPv4(ip)) throw new Error(`bad IPv4 address "${ip}"`);
  ip.split('.').forEach((o, i) => (b[off + i] = Number(o)));
}

const getMac = (b: Buffer, off: number) => [...b.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const getIPv4 = (b: Buffer, off: number) => [...b.subarray(off, off + 4)].join('.');

/** The 60-byte Ethernet frame carrying `f`. */
export function buildArp(f: ArpFrame): Buffer {
  const b = Buffer.alloc(ETH_ZLEN);
  putMac(b, 0, f.ethDst);
  putMac(b, 6, f.ethSrc);
  b.writeUInt16BE(ETH_P_ARP, 12);
  b.writeUInt16BE(1, 14); // hardware type: Ethernet
  b.writeUInt16BE(ETH_P_IP, 16);
  b[18] = 6;
  b[19] = 4;
  b.writeUInt16BE(f.op, 20);
  putMac(b, 22, f.senderMac);
  putIPv4(b, 28, f.senderIP);
  putMac(b, 32, f.targetMac);
  putIPv4(b, 38, f.targetIP);
  return b;
}

/** An Ethernet/IPv4 ARP frame, or null for anything else (including a truncated one). */
export function parseArp(frame: Buffer, len = frame.length): ArpFrame | null {
  if (len < ETH_HLEN + ARP_LEN || frame.readUInt16BE(12) !== ETH_P_ARP) return null;
  if (frame.readUInt16BE(14) !== 1 || frame.readUInt16BE(16) !== ETH_P_IP || frame[18] !== 6 || frame[19] !== 4) return null;
  return {
    ethDst: getMac(frame, 0),
    ethSrc: getMac(frame, 6),
    op: frame.readUInt16BE(20),
    senderMac: getMac(frame, 22),
    senderIP: getIPv4(frame, 28),
    targetMac: getMac(frame, 32),
    targetIP: getIPv4(frame, 38),
  };
}

/**
 * arpResponder.processRequest: answer only requests (not replies), only those broadcast or
 * sent to our own MAC, and only for an IP we announce.
 */
export function shouldReply(f: ArpFrame, ourMac: string, announced: ReadonlySet<string>): boolean {
  return f.op === ARP_REQUEST && (f.ethDst === BROADCAST_MAC || f.ethDst === ourMac) && announced.has(f.targetIP);
}

/**
 * arp.Client.Reply: from our MAC, the requested IP as sender, back to the requester's sender
 * MAC and IP; the Ethernet destination is the requester's ARP sender MAC too.
 */
export function arpReply(req: ArpFrame, ourMac: string): ArpFrame {
  return {
    ethDst: req.senderMac,
    ethSrc: ourMac,
    op: ARP_REPLY,
    senderMac: ourMac,
    senderIP: req.targetIP,
    targetMac: req.senderMac,
    targetIP: req.senderIP,
  };
}

/** arpResponder.Gratuitous: broadcast, sender IP = target IP = the VIP, target MAC broadcast. */
export function gratuitousArp(op: typeof ARP_REQUEST | typeof ARP_REPLY, ourMac: string, ip: string): ArpFrame {
  return { ethDst: BROADCAST_MAC, ethSrc: ourMac, op, senderMac: ourMac, senderIP: ip, targetMac: BROADCAST_MAC, targetIP: ip };
}
