// kube-proxy's userspace mode (the first kube-proxy, removed in Kubernetes 1.26) behind the
// proxier seam: kube-proxy itself is the load balancer. userspace/rules.ts writes the portals
// (iptables REDIRECT/DNAT of each Service to the local port its listener holds),
// userspace/roundrobin.ts picks endpoints, userspace/proxysocket.ts copies the bytes.

import type { Proxier } from './proxier.js';
import { initPayload, PORTALS_CONTAINER, portalRules, proxiedPorts, syncPayload, userspaceCleanup } from './userspace/rules.js';
import { UserspaceProxy } from './userspace/proxysocket.js';

export { jumps as userspaceJumps, portalRules, proxiedPorts, syncPayload, userspaceCleanup, initPayload } from './userspace/rules.js';

export const userspaceProxier: Proxier = {
  mode: 'userspace',
  tools: ['iptables', 'iptables-restore', 'iptables-save'],
  kernel: ['iptables nat'],
  explain: {
    setup:
      'kube-proxy (userspace mode, as it was until Kubernetes 1.26) starts by ensuring its portal chains and the jumps to them (iptablesInit): nat PREROUTING → KUBE-PORTALS-CONTAINER and OUTPUT → KUBE-PORTALS-HOST first, then, for destinations that are local addresses, KUBE-NODEPORT-CONTAINER and KUBE-NODEPORT-HOST last; filter INPUT → KUBE-NODEPORT-NON-LOCAL.',
    sync: 'Its rules do no load balancing: each Service port gets a listener in kube-proxy itself on a free local port, and the portals send ClusterIP:port (and NodePorts, external and load balancer IPs) there: REDIRECT --to-ports <proxy port> for traffic arriving from pods or the network, DNAT to <node IP>:<proxy port> for traffic the node sends itself. kube-proxy accepts the connection, picks an endpoint round-robin (ClientIP affinity honoured), dials it, and copies the bytes both ways. The first sync here only declares the chains: the ports exist once kube-proxy runs and opens its listeners.',
    run: 'on every change it opens and closes listeners, rewrites its portal chains, and hands the round robin the new endpoints; when an endpoint refuses a connection or does not answer in time (250 ms, 500 ms, 1 s, 2 s), it tries the next one, so a dead pod costs a retry instead of a failed request.',
  },
  observe: [{ file: 'iptables-save', args: [] }],
  canary: [{ file: 'iptables', args: ['-w', '-t', 'nat', '-n', '-L', PORTALS_CONTAINER] }],
  setup: (now) => [{ file: 'iptables-restore', args: ['-w', '--noflush'], input: initPayload(now?.[0] ?? '') }],
  cleanup: (now) => userspaceCleanup(now[0] ?? ''),
  sync(node, api, _now, cfg) {
    const ports = proxiedPorts(api.services, api.slices);
    const rules = portalRules(ports, cfg.proxyPorts ?? new Map(), node.address);
    return {
      commands: [{ file: 'iptables-restore', args: ['-w', '--noflush', '--counters'], input: syncPayload(rules) }],
      stats: {
        services: ports.length,
        endpoints: ports.reduce((n, p) => n + p.endpoints.length, 0),
        written: `${rules.nat.length} nat and ${rules.filter.length} filter rules`,
      },
    };
  },
  serve(log, changed) {
    const proxy = new UserspaceProxy(log, changed);
    return {
      update: (_node, api) => proxy.update(proxiedPorts(api.services, api.slices)),
      stop: () => proxy.stop(),
    };
  },
};
