// The userspace proxier's load balancer (pkg/proxy/userspace/roundrobin.go, LoadBalancerRR):
// per service port a list of endpoints, shuffled when it changes, and an index that goes round;
// with sessionAffinity ClientIP a client keeps the endpoint it last got while it comes back
// within the timeout. A connection that fails asks again with the affinity reset, so a dead
// endpoint costs one retry, not the client's whole affinity period. Pure (time and the shuffle
// are given).

export interface Affinity {
  clientIP: boolean;
  timeoutSeconds: number;
}

interface State {
  endpoints: string[];
  index: number;
  affinity: Affinity;
  /** Client IP → its endpoint and when it last used it (ms). */
  clients: Map<string, { endpoint: string; lastUsed: number }>;
}

/** The dial timeouts of tryConnect (proxysocket.go EndpointDialTimeouts): one attempt each. */
export const ENDPOINT_DIAL_TIMEOUTS_MS = [250, 500, 1000, 2000] as const;

const shuffled = (xs: string[], random: () => number): string[] => {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

export class RoundRobin {
  private readonly services = new Map<string, State>();

  constructor(private readonly random: () => number = Math.random) {}

  /**
   * OnEndpointsUpdate and NewService in one: a port's endpoints (sorted, as compared there) and
   * affinity. A changed list is shuffled and the index starts over; clients stuck to an endpoint
   * that went away forget it.
   */
  update(key: string, endpoints: string[], affinity: Affinity): void {
    const known = this.services.get(key);
    const same = known && known.endpoints.length === endpoints.length && [...known.endpoints].sort().join(',') === [...endpoints].sort().join(',');
    if (known && same) {
      if (known.affinity.clientIP !== affinity.clientIP) known.clients.clear();
      known.affinity = affinity;
      return;
    }
    const clients = known?.clients ?? new Map<string, { endpoint: string; lastUsed: number }>();
    for (const [ip, c] of clients) if (!endpoints.includes(c.endpoint)) clients.delete(ip);
    this.services.set(key, { endpoints: shuffled(endpoints, this.random), index: 0, affinity, clients });
  }

  /** DeleteService: the port is gone. */
  remove(key: string): void {
    this.services.delete(key);
  }

  keys(): string[] {
    return [...this.services.keys()];
  }

  /** The endpoints in the order they are handed out (for tests and logs). */
  endpoints(key: string): string[] {
    return [...(this.services.get(key)?.endpoints ?? [])];
  }

  /**
   * NextEndpoint: the client's sticky endpoint when affinity holds and was not reset, else the
   * next one round the list (and, with affinity, the client sticks to it from now). null: no
   * endpoints (the proxier then closes the connection).
   */
  next(key: string, clientIP: string, affinityReset: boolean, nowMs: number): string | null {
    const s = this.services.get(key);
    if (!s || s.endpoints.length === 0) return null;
    if (s.affinity.clientIP && !affinityReset) {
      const sticky = s.clients.get(clientIP);
      if (sticky && nowMs - sticky.lastUsed < s.affinity.timeoutSeconds * 1000) {
        sticky.lastUsed = nowMs;
        return sticky.endpoint;
      }
    }
    const endpoint = s.endpoints[s.index]!;
    s.index = (s.index + 1) % s.endpoints.length;
    if (s.affinity.clientIP) s.clients.set(clientIP, { endpoint, lastUsed: nowMs });
    return endpoint;
  }
}
