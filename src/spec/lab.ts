// Small questions about a resolved lab that several layers ask.

import type { Namespace } from './types.js';

/** Every address (as CIDR) assigned in a namespace, on bridges and interfaces alike. */
export function cidrsOf(ns: Pick<Namespace, 'bridges' | 'interfaces'>): string[] {
  return [...ns.bridges, ...ns.interfaces].flatMap((d) => d.addresses);
}
