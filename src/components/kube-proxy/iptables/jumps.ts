// The jump rules that link the built-in chains (INPUT, FORWARD, OUTPUT, PREROUTING, POSTROUTING)
// to kube-proxy's, which kube-proxy ensures outside its restore: as the rules, as the commands it
// runs on a clean node, and as an idempotent restore input.

import {
  CANARY_CHAIN,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  chainLine,
  parseSave,
} from './chains.js';

export type Table = 'filter' | 'nat';

export interface JumpRule {
  table: Table;
  /** The built-in chain the jump is inserted into. */
  chain: string;
  /** Match arguments as argv words (a comment is one word, unquoted). */
  args: string[];
  target: string;
}

const jump = (table: Table, chain: string, target: string, comment: string, ctstateNew: boolean): JumpRule => ({
  table,
  chain,
  args: [...(ctstateNew ? ['-m', 'conntrack', '--ctstate', 'NEW'] : []), ...(comment ? ['-m', 'comment', '--comment', comment] : [])],
  target,
});

/**
 * The rules that link the built-in chains to kube-proxy's, in the order kube-proxy ensures them
 * (iptablesJumpChains, then iptablesKubeletJumpChains). They cannot be part of the restore: that
 * would have to rewrite all of INPUT, PREROUTING, … which other programs share.
 */
export function jumpRules(): JumpRule[] {
  const externallyVisible = 'kubernetes externally-visible service portals';
  const portals = 'kubernetes service portals';
  const lbFirewall = 'kubernetes load balancer firewall';
  return [
    jump('filter', 'INPUT', KUBE_EXTERNAL_SERVICES, externallyVisible, true),
    jump('filter', 'FORWARD', KUBE_EXTERNAL_SERVICES, externallyVisible, true),
    jump('filter', 'INPUT', KUBE_NODEPORTS, 'kubernetes health check service ports', false),
    jump('filter', 'FORWARD', KUBE_SERVICES, portals, true),
    jump('filter', 'OUTPUT', KUBE_SERVICES, portals, true),
    jump('filter', 'FORWARD', KUBE_FORWARD, 'kubernetes forwarding rules', false),
    jump('filter', 'INPUT', KUBE_PROXY_FIREWALL, lbFirewall, true),
    jump('filter', 'OUTPUT', KUBE_PROXY_FIREWALL, lbFirewall, true),
    jump('filter', 'FORWARD', KUBE_PROXY_FIREWALL, lbFirewall, true),
    jump('nat', 'OUTPUT', KUBE_SERVICES, portals, false),
    jump('nat', 'PREROUTING', KUBE_SERVICES, portals, false),
    jump('nat', 'POSTROUTING', KUBE_POSTROUTING, 'kubernetes postrouting rules', false),
    // Always ensured, so the chain exists even when the payload does not fill it.
    jump('filter', 'INPUT', KUBE_FIREWALL, '', false),
    jump('filter', 'OUTPUT', KUBE_FIREWALL, '', false),
  ];
}

/**
 * What kube-proxy runs on a clean node before its first restore, as argv arrays: the iptables
 * monitor's canary chains, then for each jump rule EnsureChain (`-N`, once per chain) and
 * EnsureRule(Prepend) (`-I <chain> 1`). Each insert goes on top, so the final order within a
 * built-in chain is the reverse of jumpRules().
 */
export function jumpCommands(): string[][] {
  const commands: string[][] = (['mangle', 'nat', 'filter'] as const).map((table) => ['iptables', '-t', table, '-N', CANARY_CHAIN]);
  const created = new Set<string>();
  for (const rule of jumpRules()) {
    if (!created.has(`${rule.table} ${rule.target}`)) {
      created.add(`${rule.table} ${rule.target}`);
      commands.push(['iptables', '-t', rule.table, '-N', rule.target]);
    }
    commands.push(['iptables', '-t', rule.table, '-I', rule.chain, '1', ...rule.args, '-j', rule.target]);
  }
  return commands;
}

/** A jump rule's match and target as iptables-save prints them (and iptables-restore reads them). */
export function jumpText(rule: JumpRule): string {
  return [...rule.args.map((word) => (word.includes(' ') ? `"${word}"` : word)), '-j', rule.target].join(' ');
}

/**
 * jumpCommands() as one `iptables-restore --noflush` input, made idempotent against the node's
 * current `iptables-save` output the way EnsureChain/EnsureRule are: only missing chains are
 * declared (declaring an existing one would flush it) and only missing jumps are inserted, so a
 * restarted proxy neither wipes its chains nor stacks duplicate jumps. Like EnsureRule, a jump that
 * exists is left where it is.
 */
export function jumpRulesPayload(save: string): string {
  const tables = parseSave(save);
  const lines: string[] = [];
  for (const table of ['mangle', 'nat', 'filter'] as const) {
    const saved = tables.get(table);
    const jumps = jumpRules().filter((rule) => rule.table === table);
    const wanted = new Set([CANARY_CHAIN, ...jumps.map((rule) => rule.target)]);
    const missing = [...wanted].filter((chain) => !saved?.chains.includes(chain));
    const inserts = jumps.filter((rule) => !saved?.rules.has(`-A ${rule.chain} ${jumpText(rule)}`)).map((rule) => `-I ${rule.chain} 1 ${jumpText(rule)}`);
    lines.push(`*${table}`, ...missing.map(chainLine), ...inserts, 'COMMIT');
  }
  return `${lines.join('\n')}\n`;
}
