// IPv4 addresses and prefixes, as numbers. Small and exact; the one parser for the lab file,
// the planners, kube-proxy's rule generation and the agents.

export interface Cidr {
  /** The address as written (host bits kept), e.g. 172.17.0.1 in 172.17.0.1/16. */
  address: number;
  prefix: number;
}

/** A dotted-quad address; an octet with a leading zero ("010") is refused, as Go's net.ParseIP does. */
export function parseIPv4(text: string): number | undefined {
  return octets(text, false);
}

/**
 * An address as kube-proxy reads it (netutils.ParseIPSloppy): an octet may have leading zeros and is
 * read as decimal ("010" is 10).
 */
export function parseIPv4Sloppy(text: string): number | undefined {
  return octets(text, true);
}

function octets(text: string, leadingZeros: boolean): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255) || (!leadingZeros && m.slice(1).some((p) => p.length > 1 && p.startsWith('0')))) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(text: string): Cidr | undefined {
  return cidr(text, parseIPv4);
}

/** A prefix as kube-proxy reads it (netutils.ParseCIDRSloppy): the address as parseIPv4Sloppy reads it. */
export function parseCidrSloppy(text: string): Cidr | undefined {
  return cidr(text, parseIPv4Sloppy);
}

function cidr(text: string, parseAddress: (text: string) => number | undefined): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const address = parseAddress(m[1]!);
  const prefix = Number(m[2]);
  if (address === undefined || prefix > 32) return undefined;
  return { address, prefix };
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function network(c: Cidr): number {
  return (c.address & mask(c.prefix)) >>> 0;
}

export function contains(c: Cidr, address: number): boolean {
  return (address & mask(c.prefix)) >>> 0 === network(c);
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.address)}/${c.prefix}`;
}

/** The network written canonically, e.g. 172.17.0.0/16 for 172.17.0.1/16. */
export function formatNetwork(c: Cidr): string {
  return `${formatIPv4(network(c))}/${c.prefix}`;
}
