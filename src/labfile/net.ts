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

/**
 * Four dot-separated octets of 1-3 decimal digits, each at most 255. Read character by character:
 * kube-proxy's rule generation parses every endpoint address of the cluster at each sync.
 */
function octets(text: string, leadingZeros: boolean): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // A second digit after a leading "0".
      if (digits === 1 && octet === 0 && !leadingZeros) return undefined;
      if (++digits > 3) return undefined;
      octet = octet * 10 + (c - 48);
    } else if (c === 46 && digits > 0 && dots < 3 && octet <= 255) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else return undefined;
  }
  return dots === 3 && digits > 0 && octet <= 255 ? value * 256 + octet : undefined;
}

export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
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
