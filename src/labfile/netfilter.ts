// A namespace's own netfilter rules (iptables:, per table and chain) and ipsets (ipsets:).
// What is checked is what the kernel would refuse later with a bare "Invalid argument" or "No
// chain/target/match by that name": a chain the table does not have (raw has no INPUT), a target
// outside the tables and hooks its kernel module registers for (MASQUERADE only in nat
// POSTROUTING), a jump to a chain that does not exist, a set that was never created.

import type { RawIpSet, RawIptables } from './schema.js';
import { formatIPv4, parseCidr, parseIPv4 } from './net.js';
import { closest } from './suggest.js';
import type { Context, Path } from './context.js';
import type { IpSet, IptablesChain, NetfilterTable } from './types.js';

/** The tables in the order their chains meet a packet at one hook (priorities -300, -150, -100, 0, 50). */
export const TABLES: NetfilterTable[] = ['raw', 'mangle', 'nat', 'filter', 'security'];

/** The built-in chains the kernel gives each table (iptable_raw, iptable_mangle, iptable_nat, iptable_filter, iptable_security). */
export const BUILTIN_CHAINS: Record<NetfilterTable, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};
const ALL_BUILTIN = [...new Set(Object.values(BUILTIN_CHAINS).flat())];

/**
 * Where each target may be used: the tables and built-in chains its xt_ module registers for
 * (null: any). In a chain of the lab's own the hook is only known once something jumps to it;
 * the table is checked there, the kernel checks the hook.
 */
const TARGETS: Record<string, { tables: NetfilterTable[] | null; chains: string[] | null }> = {
  ACCEPT: { tables: null, chains: null },
  // nf_nat's chains may not drop: a NAT decision is accept, or a translation.
  DROP: { tables: ['raw', 'mangle', 'filter', 'security'], chains: null },
  RETURN: { tables: null, chains: null },
  LOG: { tables: null, chains: null },
  NFLOG: { tables: null, chains: null },
  MARK: { tables: null, chains: null },
  CONNMARK: { tables: null, chains: null },
  NOTRACK: { tables: ['raw'], chains: null },
  CT: { tables: ['raw'], chains: null },
  TRACE: { tables: ['raw'], chains: null },
  TTL: { tables: ['mangle'], chains: null },
  TOS: { tables: ['mangle'], chains: null },
  DSCP: { tables: ['mangle'], chains: null },
  TPROXY: { tables: ['mangle'], chains: ['PREROUTING'] },
  TCPMSS: { tables: ['mangle', 'filter'], chains: ['FORWARD', 'OUTPUT', 'POSTROUTING'] },
  SECMARK: { tables: ['mangle', 'security'], chains: null },
  CONNSECMARK: { tables: ['mangle', 'security'], chains: null },
  MASQUERADE: { tables: ['nat'], chains: ['POSTROUTING'] },
  SNAT: { tables: ['nat'], chains: ['POSTROUTING', 'INPUT'] },
  DNAT: { tables: ['nat'], chains: ['PREROUTING', 'OUTPUT'] },
  REDIRECT: { tables: ['nat'], chains: ['PREROUTING', 'OUTPUT'] },
  REJECT: { tables: ['filter'], chains: ['INPUT', 'FORWARD', 'OUTPUT'] },
};

/** Options that name a table or a chain other than the key the rule is under. */
const FORBIDDEN = new Set(['-A', '--append', '-I', '--insert', '-D', '--delete', '-R', '--replace', '-N', '-X', '-F', '-P', '-Z', '-t', '--table', '-E']);
const CHAIN_NAME_RE = /^[A-Za-z0-9_-]{1,28}$/;
export const IPSET_NAME_RE = /^[A-Za-z0-9_-]{1,31}$/;
/** What iptables-restore rules are written with here; no newline, no shell, no second command. */
const RULE_CHARS_RE = /^[A-Za-z0-9 _.,:/!"=+-]*$/;

/** The words of a rule, splitting on blanks outside double quotes; null when a quote is unclosed. */
export function ruleWords(rule: string): string[] | null {
  const words: string[] = [];
  const re = /"[^"]*"|[^\s"]+/g;
  if ((rule.match(/"/g) ?? []).length % 2) return null;
  for (let m = re.exec(rule); m; m = re.exec(rule)) words.push(m[0]);
  return words;
}

export function readIpsets(cx: Context, raw: Record<string, RawIpSet> | undefined, path: Path): IpSet[] {
  return Object.entries(raw ?? {}).map(([name, s]) => {
    const p = [...path, 'ipsets', name];
    if (!IPSET_NAME_RE.test(name)) cx.error(p, `ipset name "${name}" is not a set name`, 'letters, digits, "_" and "-", at most 31 characters', 'key');
    const members = (s.members ?? []).map((m, i) => {
      const ok = s.type === 'hash:ip' ? parseIPv4(m) !== undefined : parseCidr(m) !== undefined || parseIPv4(m) !== undefined;
      if (!ok)
        cx.error(
          [...p, 'members', i],
          `"${m}" is not ${s.type === 'hash:ip' ? 'an IPv4 address' : 'an IPv4 CIDR'}`,
          s.type === 'hash:ip' ? 'e.g. 10.0.1.2' : 'e.g. 10.0.1.0/24',
        );
      return m;
    });
    let range: IpSet['range'] = null;
    if (s.range) {
      const from = parseIPv4(s.range.from);
      if (s.type !== 'hash:ip') cx.error([...p, 'range'], 'range applies to hash:ip sets only', 'list the CIDRs of a hash:net set under members');
      if (from === undefined) cx.error([...p, 'range', 'from'], `"${s.range.from}" is not an IPv4 address`, 'e.g. 10.100.0.1');
      else if (from + s.range.count - 1 > 0xffffffff)
        cx.error([...p, 'range', 'count'], `${s.range.count} addresses from ${s.range.from} run past 255.255.255.255`);
      else range = { from: s.range.from, to: formatIPv4(from + s.range.count - 1), count: s.range.count };
    }
    if (!members.length && !s.range) cx.warn(p, `ipset ${name} is empty`, 'add members or a range');
    if (members.length + (s.range?.count ?? 0) > 65536)
      cx.error(p, `ipset ${name} would hold more than 65536 entries (ipset's default maxelem)`, 'use fewer addresses, or a hash:net set of CIDRs');
    return { name, type: s.type, members, range };
  });
}

/** Rules that make the kernel track connections in the namespace (nf_ct_netns_get): a NAT target, a conntrack match. */
const NEEDS_CONNTRACK_RE = /(-j|--jump|-g|--goto) (MASQUERADE|SNAT|DNAT|REDIRECT|CT|CONNMARK)\b|-m (conntrack|state|connmark|connlimit)\b/;

/** `natRules`: the namespace has rules under nat:, whose NAT targets turn connection tracking on. */
export function readIptables(cx: Context, raw: RawIptables | undefined, path: Path, ipsets: IpSet[], natRules = false): IptablesChain[] {
  const out: IptablesChain[] = [];
  const all = TABLES.flatMap((t) => Object.values(raw?.[t] ?? {}).flat());
  if (raw?.nat && Object.values(raw.nat).some((rules) => rules.length) && !natRules && !all.some((r) => NEEDS_CONNTRACK_RE.test(r)))
    cx.warn(
      [...path, 'iptables', 'nat'],
      'the nat chains will see no packet: nothing here turns connection tracking on in this namespace',
      'nat is consulted for the first packet of each connection, which needs conntrack; a NAT target or a -m conntrack match turns it on',
    );
  for (const table of TABLES) {
    const chains = raw?.[table];
    if (!chains) continue;
    const builtins = BUILTIN_CHAINS[table];
    const own = Object.keys(chains).filter((c) => !builtins.includes(c));
    for (const [chain, rules] of Object.entries(chains)) {
      const p: Path = [...path, 'iptables', table, chain];
      const builtin = builtins.includes(chain);
      if (!builtin && ALL_BUILTIN.includes(chain.toUpperCase())) {
        cx.error(
          p,
          `the ${table} table has no ${chain} chain`,
          `${table} has ${builtins.join(', ')}: the kernel registers no ${chain.toUpperCase()} hook for it`,
          'key',
        );
      } else if (!builtin && !CHAIN_NAME_RE.test(chain)) {
        cx.error(p, `"${chain}" is not a chain name`, 'letters, digits, "_" and "-", at most 28 characters', 'key');
      }
      rules.forEach((rule, i) => checkRule(cx, [...p, i], rule, table, chain, builtin, own, ipsets));
      out.push({ table, chain, builtin, rules: rules.map((r) => (ruleWords(r) ?? []).join(' ')) });
    }
  }
  return out;
}

function checkRule(cx: Context, p: Path, rule: string, table: NetfilterTable, chain: string, builtin: boolean, own: string[], ipsets: IpSet[]): void {
  if (!RULE_CHARS_RE.test(rule)) {
    cx.error(p, 'the rule has characters iptables rules here do not use', 'letters, digits, blanks, double quotes and _.,:/!=+-');
    return;
  }
  const words = ruleWords(rule);
  if (!words) {
    cx.error(p, 'the rule has an unclosed double quote', 'e.g. -m comment --comment "counted here"');
    return;
  }
  const bad = words.find((w) => FORBIDDEN.has(w));
  if (bad) {
    cx.error(p, `"${bad}" does not belong in a rule here`, `write only matches and a target: the table (${table}) and chain (${chain}) are the keys above`);
    return;
  }
  words.forEach((w, j) => {
    if (w !== '--match-set') return;
    const set = words[j + 1] ?? '';
    if (!ipsets.some((s) => s.name === set)) {
      const guess = closest(
        set,
        ipsets.map((s) => s.name),
      );
      cx.error(p, `--match-set names "${set}", which is not an ipset of this namespace`, guess ? `did you mean "${guess}"?` : 'declare it under ipsets');
    } else if (!['src', 'dst'].includes(words[j + 2] ?? '')) cx.error(p, `--match-set ${set} needs src or dst after it`, `e.g. -m set --match-set ${set} src`);
  });
  const jumps = words.flatMap((w, j) => (['-j', '--jump', '-g', '--goto'].includes(w) ? [words[j + 1] ?? ''] : []));
  if (jumps.length > 1) {
    cx.error(p, 'a rule takes one target', 'split it into one rule per target');
    return;
  }
  const target = jumps[0];
  if (target === undefined) return; // A rule without a target only counts the packets it matches.
  if (own.includes(target)) return;
  const where = TARGETS[target];
  if (!where) {
    const guess = closest(target, [...Object.keys(TARGETS), ...own]);
    cx.error(
      p,
      `unknown target "${target}" in the ${table} table`,
      guess ? `did you mean "${guess}"?` : `a target (${Object.keys(TARGETS).join(', ')}) or a chain of this table: ${own.join(', ') || 'none declared'}`,
    );
    return;
  }
  // Restricted by table only: name the tables; by hook too: the chains.
  const valid =
    where.chains === null
      ? (where.tables ?? TABLES).map((t) => `the ${t} table`)
      : (where.tables ?? TABLES).flatMap((t) => where.chains!.filter((c) => BUILTIN_CHAINS[t].includes(c)).map((c) => `${t} ${c}`));
  const tableOk = where.tables === null || where.tables.includes(table);
  const chainOk = !builtin || where.chains === null || where.chains.includes(chain);
  if (!tableOk || !chainOk)
    cx.error(
      p,
      `${target} cannot be used in ${table} ${chain}`,
      `${target} is valid only in ${valid.join(', ')}${target === 'DROP' ? ': nat chains choose a translation, not a fate' : ''}`,
    );
}
