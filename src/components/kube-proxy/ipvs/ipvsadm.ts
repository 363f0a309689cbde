// The IPVS table in ipvsadm's words: what `ipvsadm -Ln` lists, and the `ipvsadm -R` input that
// brings it to one sync's virtual servers. kube-proxy talks netlink (pkg/proxy/ipvs/util); the
// operations are the same: AddVirtualServer/UpdateVirtualServer (-A/-E), AddRealServer (-a),
// UpdateRealServer (-e), DeleteRealServer (-d), DeleteVirtualServer (-D). Real servers are
// masqueraded (-m, the zero forwarding method) with weight 1.
//
// Graceful termination (graceful_termination.go): a real server nobody wants any more is deleted
// at once if it has no connections (or its protocol is UDP/SCTP, whose flows
// expire_nodest_conn ends), otherwise it gets weight 0, so it takes no new connections, and is
// deleted by a later sync once its connections are gone.

import { contains, parseCidrSloppy, parseIPv4Sloppy } from '../../../labfile/net.js';
import { vsKey, type VirtualServer } from './state.js';

export interface ListedRealServer {
  address: string;
  weight: number;
  connections: number;
}

export interface ListedVirtualServer {
  protocol: VirtualServer['protocol'];
  address: string;
  port: number;
  scheduler: string;
  persistence: number | null;
  realServers: ListedRealServer[];
}

const PROTOCOLS: Record<string, VirtualServer['protocol']> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/** `ipvsadm -Ln` output, parsed (FWM services, which kube-proxy does not create, are skipped). */
export function parseIpvsadmList(list: string): ListedVirtualServer[] {
  const out: ListedVirtualServer[] = [];
  let current: ListedVirtualServer | null = null;
  for (const line of list.split('\n')) {
    const vs = /^(TCP|UDP|SCTP)\s+(\d+\.\d+\.\d+\.\d+):(\d+)\s+(\S+)(.*)$/.exec(line);
    if (vs) {
      const persistent = /persistent (\d+)/.exec(vs[5]!);
      current = {
        protocol: PROTOCOLS[vs[1]!]!,
        address: vs[2]!,
        port: Number(vs[3]),
        scheduler: vs[4]!,
        persistence: persistent ? Number(persistent[1]) : null,
        realServers: [],
      };
      out.push(current);
      continue;
    }
    if (/^\S/.test(line)) current = null;
    const rs = /^\s+->\s+(\d+\.\d+\.\d+\.\d+:\d+)\s+\S+\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
    if (rs && current) current.realServers.push({ address: rs[1]!, weight: Number(rs[2]), connections: Number(rs[3]) + Number(rs[4]) });
  }
  return out;
}

const serviceFlag = (vs: Pick<VirtualServer, 'protocol' | 'address' | 'port'>): string =>
  `${vs.protocol === 'tcp' ? '-t' : vs.protocol === 'udp' ? '-u' : '--sctp-service'} ${vs.address}:${vs.port}`;

/** `-s sched [-b flag-2] [-p timeout]`: mh hashes the source port too (kube-proxy's FlagSourceHash). */
const serviceOptions = (vs: Pick<VirtualServer, 'scheduler' | 'persistence'>): string =>
  `-s ${vs.scheduler}${vs.scheduler === 'mh' ? ' -b flag-2' : ''}${vs.persistence !== null ? ` -p ${vs.persistence}` : ''}`;

/** Real servers are masqueraded with weight 1; a draining one gets weight 0. */
const realServerLine = (verb: '-a' | '-e', vs: VirtualServer | ListedVirtualServer, rs: string, weight: number): string =>
  `${verb} ${serviceFlag(vs)} -r ${rs} -m -w ${weight}`;

/**
 * The `ipvsadm -R` input from the listed table (null: a fresh node, nothing listed) to `wanted`.
 * Virtual servers inside ipvs.excludeCIDRs are never deleted (kube-proxy leaves them to whoever
 * made them). Empty when nothing changes.
 */
export function ipvsadmRestorePayload(wanted: readonly VirtualServer[], list: string | null, excludeCIDRs: readonly string[] = []): string {
  const listed = new Map((list === null ? [] : parseIpvsadmList(list)).map((vs) => [vsKey(vs), vs]));
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const vs of wanted) {
    const key = vsKey(vs);
    if (seen.has(key)) continue;
    seen.add(key);
    const have = listed.get(key);
    if (!have) {
      lines.push(`-A ${serviceFlag(vs)} ${serviceOptions(vs)}`);
      for (const rs of vs.realServers) lines.push(realServerLine('-a', vs, rs, 1));
      continue;
    }
    if (have.scheduler !== vs.scheduler || have.persistence !== vs.persistence) lines.push(`-E ${serviceFlag(vs)} ${serviceOptions(vs)}`);
    const listedRs = new Map(have.realServers.map((rs) => [rs.address, rs]));
    for (const rs of vs.realServers) {
      const cur = listedRs.get(rs);
      if (!cur) lines.push(realServerLine('-a', vs, rs, 1));
      // Back from draining (or edited by someone): weight 1 again.
      else if (cur.weight !== 1) lines.push(realServerLine('-e', vs, rs, 1));
    }
    const keep = new Set(vs.realServers);
    for (const rs of have.realServers) {
      if (keep.has(rs.address)) continue;
      if (vs.protocol === 'tcp' && rs.connections > 0) {
        if (rs.weight !== 0) lines.push(realServerLine('-e', vs, rs.address, 0));
      } else lines.push(`-d ${serviceFlag(vs)} -r ${rs.address}`);
    }
  }
  const excluded = excludeCIDRs.map((c) => parseCidrSloppy(c)).filter((c) => c !== undefined);
  for (const [key, vs] of listed) {
    if (seen.has(key)) continue;
    const ip = parseIPv4Sloppy(vs.address);
    if (ip !== undefined && excluded.some((c) => contains(c, ip))) continue;
    lines.push(`-D ${serviceFlag(vs)}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
