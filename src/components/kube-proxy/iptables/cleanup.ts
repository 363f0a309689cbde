// What `kube-proxy --cleanup` (and a kube-proxy started in another mode) removes of iptables
// mode, as CleanupLeftovers in pkg/proxy/iptables does it: the jumps from the built-in chains,
// then one restore per table that flushes and deletes kube-proxy's own chains. Only what the mode
// owns goes: KUBE-MARK-MASQ, KUBE-FIREWALL's chain and the canary chains stay (kubelet's, or
// shared with the other modes), as they do there.

import type { Command } from '../../../kernel/command.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  chainLine,
  isServiceChainName,
  parseSave,
} from './chains.js';
import { jumpRules, jumpText } from './jumps.js';

/** The commands that remove iptables mode's rules from a node whose `iptables-save` is `save`. */
export function iptablesCleanup(save: string): Command[] {
  const tables = parseSave(save);
  const commands: Command[] = [];
  // Unlink: DeleteRule of every jump that is there (a missing one is no error in kube-proxy either),
  // except kubelet's jumps to KUBE-FIREWALL (iptablesKubeletJumpChains), which it leaves.
  for (const rule of jumpRules().filter((r) => r.target !== KUBE_FIREWALL)) {
    if (tables.get(rule.table)?.rules.has(`-A ${rule.chain} ${jumpText(rule)}`))
      commands.push({ file: 'iptables', args: ['-w', '-t', rule.table, '-D', rule.chain, ...rule.args, '-j', rule.target] });
  }
  const owned: Record<'nat' | 'filter', string[]> = {
    nat: [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING],
    filter: [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL],
  };
  for (const table of ['nat', 'filter'] as const) {
    const existing = tables.get(table)?.chains ?? [];
    const doomed = [...owned[table].filter((c) => existing.includes(c)), ...(table === 'nat' ? existing.filter(isServiceChainName) : [])];
    if (!doomed.length) continue;
    // Declaring a chain flushes it; only then can the -X of a chain another one jumps to succeed.
    const input = [`*${table}`, ...doomed.map(chainLine), ...doomed.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
    commands.push({ file: 'iptables-restore', args: ['-w', '--noflush', '--counters'], input });
  }
  return commands;
}
