// iptables-restore payloads. One payload per namespace, applied atomically, as kube-proxy does.

import type { NatRule } from '../labfile/types.js';

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
