// MetalLB's layer-2 election, pure (speaker/layer2_controller.go): for each LoadBalancer Service,
// which alive nodes may announce it and which one does. Every speaker computes the same answer.

import { createHash } from 'node:crypto';
import type { EndpointConditions, EndpointSlice, Service, StateFile } from '../../api/objects.js';
import { contains, parseCidr, parseIPv4 } from '../../labfile/net.js';

/**
 * epslices.EndpointCanServe: ready, or serving. Kubernetes sets ready = serving && !terminating,
 * so this is "ready, or still serving while terminating".
 */
export function endpointCanServe(c: EndpointConditions): boolean {
  return c.ready || c.serving;
}

export const slicesOf = (svc: Service, slices: readonly EndpointSlice[]) =>
  slices.filter((s) => s.service === svc.meta.name && s.meta.namespace === svc.meta.namespace);

/**
 * The nodes that may announce `svc`, sorted by name: none when no endpoint can serve
 * (activeEndpointExists); under externalTrafficPolicy Local the alive nodes with an endpoint
 * that can serve (nodesWithEndpoint); otherwise every alive node (nodesWithActiveSpeakers).
 * There are no L2Advertisement node selectors or exclusion labels in this model.
 */
export function candidatesFor(svc: Service, slices: readonly EndpointSlice[], alive: Iterable<string>): string[] {
  const speakers = new Set(alive);
  const serving = slicesOf(svc, slices).flatMap((s) => s.endpoints.filter((e) => endpointCanServe(e.conditions)));
  if (serving.length === 0) return [];
  const nodes =
    svc.externalTrafficPolicy === 'Local' ? new Set(serving.flatMap((e) => (e.nodeName !== null && speakers.has(e.nodeName) ? [e.nodeName] : []))) : speakers;
  return [...nodes].sort();
}

const l2Score = (node: string, ip: string) => createHash('sha256').update(`${node}#${ip}`).digest('hex');

/** sortL2Candidates without preference weights: sha256(node + "#" + ip) ascending. */
export function sortL2Candidates(ip: string, candidates: Iterable<string>): string[] {
  return [...candidates]
    .map((node) => ({ node, score: l2Score(node, ip) }))
    .sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : 0))
    .map((c) => c.node);
}

/** The node that announces `ip`, or null when there is no candidate. */
export function leaderFor(ip: string, candidates: Iterable<string>): string | null {
  return sortL2Candidates(ip, candidates)[0] ?? null;
}

export interface L2Decision {
  /** "<namespace>/<name>" */
  service: string;
  /** status.loadBalancer.ingress[].ip, in order. */
  ips: string[];
  leader: string | null;
}

/**
 * One decision per LoadBalancer Service with ingress IPs from MetalLB's pool. Like ShouldAnnounce,
 * the election hashes the first IP only, so all of a service's IPs (dual stack) go to the same
 * node. Addresses outside every pool are not MetalLB's to announce (the speaker's "ip not allowed
 * by config"): a cloud provider's load balancer, written in the Service's status, owns them.
 */
export function l2Decisions(state: StateFile['state'], alive: Iterable<string>, pool: readonly string[]): L2Decision[] {
  const speakers = [...alive];
  const pools = pool.map((c) => parseCidr(c.includes('/') ? c : `${c}/32`)).filter((c) => c !== undefined);
  const inPool = (ip: string) => {
    const n = parseIPv4(ip);
    return n !== undefined && pools.some((c) => contains(c, n));
  };
  return state.services
    .filter((svc) => svc.type === 'LoadBalancer' && svc.loadBalancerIngress.length > 0 && inPool(svc.loadBalancerIngress[0]!.ip))
    .map((svc) => ({
      service: `${svc.meta.namespace}/${svc.meta.name}`,
      ips: svc.loadBalancerIngress.map((ing) => ing.ip),
      leader: leaderFor(svc.loadBalancerIngress[0]!.ip, candidatesFor(svc, state.slices, speakers)),
    }));
}
