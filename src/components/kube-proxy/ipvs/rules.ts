// The few iptables rules kube-proxy keeps in IPVS mode (reference kube-proxy.md §2.3): the jumps
// from the built-in chains (iptablesJumpChain, prepended, no ctstate), and the restore payload of
// writeIptablesRules, whose rules match kube-proxy's ipsets instead of listing Services one by
// one. Rule text is kube-proxy's, argument for argument. Pure.

import type { Command } from '../../../kernel/command.js';
import type { LocalDetector } from '../config.js';
import { chainLine, parseSave } from '../iptables/chains.js';
import { masqueradeMark } from '../iptables/sync.js';
import { SET, type SetInfo, type SetName } from './sets.js';

type Table = 'nat' | 'filter';

/** kube-proxy's chains in IPVS mode (iptablesChains): KUBE-NODE-PORT is singular here, unlike iptables mode's KUBE-NODEPORTS. */
export const IPVS_CHAINS: Record<Table, readonly string[]> = {
  nat: ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'],
  filter: ['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER'],
};

interface Jump {
  table: Table;
  chain: string;
  target: string;
  comment: string;
}

/** iptablesJumpChain, in order; each is prepended, so a built-in chain lists them in reverse. */
export const IPVS_JUMPS: readonly Jump[] = [
  { table: 'nat', chain: 'OUTPUT', target: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', chain: 'PREROUTING', target: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', chain: 'POSTROUTING', target: 'KUBE-POSTROUTING', comment: 'kubernetes postrouting rules' },
  { table: 'filter', chain: 'FORWARD', target: 'KUBE-FORWARD', comment: 'kubernetes forwarding rules' },
  { table: 'filter', chain: 'INPUT', target: 'KUBE-NODE-PORT', comment: 'kubernetes health check rules' },
  { table: 'filter', chain: 'INPUT', target: 'KUBE-PROXY-FIREWALL', comment: 'kube-proxy firewall rules' },
  { table: 'filter', chain: 'FORWARD', target: 'KUBE-PROXY-FIREWALL', comment: 'kube-proxy firewall rules' },
  { table: 'filter', chain: 'INPUT', target: 'KUBE-IPVS-FILTER', comment: 'kubernetes ipvs access filter' },
  { table: 'filter', chain: 'OUTPUT', target: 'KUBE-IPVS-OUT-FILTER', comment: 'kubernetes ipvs access filter' },
];

const jumpText = (j: Jump): string => `-A ${j.chain} -m comment --comment "${j.comment}" -j ${j.target}`;

/** The jumps missing from `save` (null: all of them), as `-I chain 1 …` lines per table, in prepend order. */
function missingJumps(save: string | null): Record<Table, string[]> {
  const tables = save === null ? null : parseSave(save);
  const out: Record<Table, string[]> = { nat: [], filter: [] };
  for (const j of IPVS_JUMPS) {
    if (tables?.get(j.table)?.rules.has(jumpText(j))) continue;
    out[j.table].push(`-I ${j.chain} 1 -m comment --comment "${j.comment}" -j ${j.target}`);
  }
  return out;
}

export interface IpvsRulesConfig {
  localDetector: LocalDetector | null;
  masqueradeAll: boolean;
  masqueradeBit: number;
  randomFully: boolean;
}

/** ipsetWithIptablesChain: a rule per non-empty set, in this order. */
const SET_RULES: readonly { set: SetInfo; table: Table; from: string; to: string; match: string; protocol?: string }[] = [
  { set: SET.loopBack, table: 'nat', from: 'KUBE-POSTROUTING', to: 'MASQUERADE', match: 'dst,dst,src' },
  { set: SET.loadBalancer, table: 'nat', from: 'KUBE-SERVICES', to: 'KUBE-LOAD-BALANCER', match: 'dst,dst' },
  { set: SET.loadBalancerLocal, table: 'nat', from: 'KUBE-LOAD-BALANCER', to: 'RETURN', match: 'dst,dst' },
  { set: SET.nodePortLocalTCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', protocol: 'tcp' },
  { set: SET.nodePortTCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', protocol: 'tcp' },
  { set: SET.nodePortLocalUDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', protocol: 'udp' },
  { set: SET.nodePortUDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', protocol: 'udp' },
  { set: SET.nodePortLocalSCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst,dst', protocol: 'sctp' },
  { set: SET.nodePortSCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst,dst', protocol: 'sctp' },
  { set: SET.loadBalancerFW, table: 'filter', from: 'KUBE-PROXY-FIREWALL', to: 'KUBE-SOURCE-RANGES-FIREWALL', match: 'dst,dst' },
  { set: SET.loadBalancerSourceCIDR, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
  { set: SET.loadBalancerSourceIP, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
];

/**
 * The `iptables-restore --noflush --counters` input of one sync (writeIptablesRules): every
 * chain of IPVS_CHAINS declared (so flushed) and refilled; with `save` (the node's iptables-save),
 * also the jumps that someone removed, as createAndLinkKubeChain re-ensures them every sync.
 */
export function ipvsIptablesPayload(
  sets: ReadonlyMap<SetName, ReadonlySet<string>>,
  outFilterRules: readonly string[],
  cfg: IpvsRulesConfig,
  save: string | null,
): { payload: string; natRules: number; filterRules: number } {
  const nonEmpty = (s: SetInfo) => (sets.get(s.name as SetName)?.size ?? 0) > 0;
  const comment = (s: SetInfo) => `-m comment --comment "${s.comment}"`;
  const mark = masqueradeMark(cfg.masqueradeBit);
  const nat: string[] = [];
  const filter: string[] = [...outFilterRules];

  // Connections from localhost never reach a Service VIP through NAT here (no 127.0.0.1 NodePorts).
  nat.push('-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN');
  for (const r of SET_RULES) {
    if (!nonEmpty(r.set)) continue;
    const rule = `-A ${r.from}${r.protocol ? ` -p ${r.protocol}` : ''} ${comment(r.set)} -m set --match-set ${r.set.name} ${r.match} -j ${r.to}`;
    (r.table === 'nat' ? nat : filter).push(rule);
  }
  if (nonEmpty(SET.clusterIP)) {
    const head = `-A KUBE-SERVICES ${comment(SET.clusterIP)} -m set --match-set ${SET.clusterIP.name}`;
    // Masquerade ClusterIP traffic that does not come from a pod; without a detector, traffic whose source is a VIP.
    if (cfg.masqueradeAll) nat.push(`${head} dst,dst -j KUBE-MARK-MASQ`);
    else if (cfg.localDetector) nat.push(`${head} dst,dst ${cfg.localDetector.ifNotLocal} -j KUBE-MARK-MASQ`);
    else nat.push(`${head} src,dst -j KUBE-MARK-MASQ`);
  }
  // externalIPs: accepted when they come from outside (not from a bridge port, not from the node) or are local addresses.
  const externalIPRules = (head: string) => {
    nat.push(`${head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    nat.push(`${head} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (nonEmpty(SET.externalIP)) {
    const head = `-A KUBE-SERVICES ${comment(SET.externalIP)} -m set --match-set ${SET.externalIP.name} dst,dst`;
    nat.push(`${head} -j KUBE-MARK-MASQ`);
    externalIPRules(head);
  }
  if (nonEmpty(SET.externalIPLocal)) externalIPRules(`-A KUBE-SERVICES ${comment(SET.externalIPLocal)} -m set --match-set ${SET.externalIPLocal.name} dst,dst`);
  nat.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT');
  nat.push('-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ');
  filter.push('-A KUBE-SOURCE-RANGES-FIREWALL -j DROP');
  // acceptIPVSTraffic: last in KUBE-SERVICES, so that no later rule of someone else's blocks a VIP.
  for (const s of [SET.clusterIP, SET.loadBalancer]) if (nonEmpty(s)) nat.push(`-A KUBE-SERVICES -m set --match-set ${s.name} dst,dst -j ACCEPT`);
  filter.push(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.push(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  filter.push(`-A KUBE-NODE-PORT ${comment(SET.healthCheckNodePort)} -m set --match-set ${SET.healthCheckNodePort.name} dst -j ACCEPT`);
  // KUBE-IPVS-FILTER: VIPs are local addresses, so every other port on them would reach the node's
  // own sockets; only the Service ports (and health check node ports) pass, the rest is refused.
  for (const [s, match] of [
    [SET.loadBalancer, 'dst,dst'],
    [SET.clusterIP, 'dst,dst'],
    [SET.externalIP, 'dst,dst'],
    [SET.externalIPLocal, 'dst,dst'],
    [SET.healthCheckNodePort, 'dst'],
  ] as const)
    filter.push(`-A KUBE-IPVS-FILTER -m set --match-set ${s.name} ${match} -j RETURN`);
  filter.push(`-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${SET.ipvsIPs.name} dst -j REJECT`);
  nat.push(`-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.push(`-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`);
  nat.push(`-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${cfg.randomFully ? ' --random-fully' : ''}`);
  nat.push(`-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`);

  const jumps = save === null ? { nat: [], filter: [] } : missingJumps(save);
  const payload = [
    '*filter',
    ...IPVS_CHAINS.filter.map(chainLine),
    ...filter,
    ...jumps.filter,
    'COMMIT',
    '*nat',
    ...IPVS_CHAINS.nat.map(chainLine),
    ...nat,
    ...jumps.nat,
    'COMMIT',
    '',
  ].join('\n');
  return { payload, natRules: nat.length, filterRules: filter.length };
}

/** What kube-proxy ensures at start: its chains (declared only if missing, so not flushed) and the missing jumps. */
export function ipvsJumpsPayload(save: string | null): string {
  const tables = save === null ? null : parseSave(save);
  const jumps = missingJumps(save);
  const lines: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    const missing = IPVS_CHAINS[table].filter((c) => !tables?.get(table)?.chains.includes(c));
    lines.push(`*${table}`, ...missing.map(chainLine), ...jumps[table], 'COMMIT');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * CleanupLeftovers' iptables part: the jumps removed, then kube-proxy's chains flushed and
 * deleted. KUBE-MARK-MASQ stays (kubelet's too); the iptables mode's own cleanup takes KUBE-SERVICES
 * and KUBE-POSTROUTING only when they are that mode's.
 */
export function ipvsIptablesCleanup(save: string): Command[] {
  const tables = parseSave(save);
  const commands: Command[] = [];
  for (const j of IPVS_JUMPS)
    if (tables.get(j.table)?.rules.has(jumpText(j)))
      commands.push({ file: 'iptables', args: ['-w', '-t', j.table, '-D', j.chain, '-m', 'comment', '--comment', j.comment, '-j', j.target] });
  for (const table of ['nat', 'filter'] as const) {
    const existing = tables.get(table)?.chains ?? [];
    const doomed = IPVS_CHAINS[table].filter((c) => c !== 'KUBE-MARK-MASQ' && existing.includes(c));
    if (!doomed.length) continue;
    const input = [`*${table}`, ...doomed.map(chainLine), ...doomed.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
    commands.push({ file: 'iptables-restore', args: ['-w', '--noflush', '--counters'], input });
  }
  return commands;
}
