// Small questions about a resolved lab that several layers ask.

import type { Namespace, Route } from './types.js';

/** Every address (as CIDR) assigned in a namespace, on bridges and interfaces alike. */
export function cidrsOf(ns: Pick<Namespace, 'bridges' | 'interfaces'>): string[] {
  return [...ns.bridges, ...ns.interfaces].flatMap((d) => d.addresses);
}

/** A route with every field at its default (a unicast route, no gateway), then the given ones. */
export function route(to: string, fields: Partial<Route> = {}): Route {
  return { to, via: null, dev: null, onlink: false, src: null, metric: null, type: 'unicast', proto: null, nexthops: [], ...fields };
}
