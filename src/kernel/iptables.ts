// iptables-restore payloads. One payload per namespace, applied atomically, as kube-proxy does.

import type { IpSet, IptablesChain, NatRule } from '../labfile/types.js';

export function natRule(r: NatRule): string {
  const parts = ['-A', r.chain];
  if (r.inInterface) parts.push('-i', r.inInterface);
  if (r.notInInterface) parts.push('!', '-i', r.notInInterface);
  if (r.source) parts.push('-s', r.source);
  if (r.destination) parts.push('-d', r.destination);
  if (r.outInterface) parts.push('-o', r.outInterface);
  if (r.notOutInterface) parts.push('!', '-o', r.notOutInterface);
  if (r.protocol) parts.push('-p', r.protocol);
  if (r.dport !== null) parts.push('-m', r.protocol!, '--dport', String(r.dport));
  if (r.comment) parts.push('-m', 'comment', '--comment', `"${r.comment}"`);
  parts.push('-j', r.jump);
  if (r.toSource) parts.push('--to-source', r.toSource);
  if (r.toDestination) parts.push('--to-destination', r.toDestination);
  return parts.join(' ');
}

export function natPayload(rules: NatRule[]): string {
  return ['*nat', ...rules.map(natRule), 'COMMIT', ''].join('\n');
}

/**
 * A namespace's own chains as one iptables-restore --noflush payload: a section per table, in
 * raw → security order, the chains of the lab's own declared (":NAME - [0:0]") before any rule
 * jumps to them, rules appended after whatever is there already.
 */
export function tablesPayload(chains: IptablesChain[]): string {
  const tables = [...new Set(chains.map((c) => c.table))];
  return (
    tables
      .flatMap((t) => {
        const mine = chains.filter((c) => c.table === t);
        return [
          `*${t}`,
          ...mine.filter((c) => !c.builtin).map((c) => `:${c.chain} - [0:0]`),
          ...mine.flatMap((c) => c.rules.map((r) => `-A ${c.chain}${r ? ` ${r}` : ''}`)),
          'COMMIT',
        ];
      })
      .join('\n') + '\n'
  );
}

/**
 * ipset restore's input: each set created, then its members; a range as one "add SET A-B" line,
 * which ipset expands into one entry per address itself (a hash:ip set of 10,000 entries in one line).
 */
export function ipsetPayload(sets: IpSet[]): string {
  return (
    sets
      .flatMap((s) => [
        `create ${s.name} ${s.type} family inet`,
        ...(s.range ? [`add ${s.name} ${s.range.from}-${s.range.to}`] : []),
        ...s.members.map((m) => `add ${s.name} ${m}`),
      ])
      .join('\n') + '\n'
  );
}
