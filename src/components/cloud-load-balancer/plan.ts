// A cloud provider's load balancer in front of the nodes, in the underlay's router: the Services
// whose status the lab's manifests write (status.loadBalancer.ingress) stand for it. Its VIP-mode
// addresses are routed to the nodes by the router's static routes (cluster.underlay.routes) and
// need nothing here; its Proxy-mode addresses are held by the router and served by a real proxy
// (proxy.ts). At `up` the proxy is configured and started; `knetlab apply` brings it in step
// with changed Services (updateCloudLoadBalancer), as the cloud's service controller does when it
// updates or deletes a load balancer.

import { join } from 'node:path';
import type { ClusterState } from '../../api/objects.js';
import { clusterDir } from '../../k8s/store.js';
import type { Cluster } from '../../labfile/types.js';
import type { Instance } from '../../kernel/instance.js';
import type { Phase, Step } from '../../kernel/steps.js';
import type { Component } from '../component.js';
import { proxiedPorts, proxyAddresses, proxyConfig } from './proxy.js';

const files = (inst: Instance) => {
  const base = join(clusterDir(inst.dir), 'cloud-lb');
  return { conf: base + '.conf', pidfile: base + '.pid', log: base + '.log' };
};

/** nginx with the load balancer's configuration, its own PID file and error log. */
function nginxArgv(inst: Instance): string[] {
  const f = files(inst);
  return ['nginx', '-c', f.conf, '-g', `pid ${f.pidfile}; error_log ${f.log} warn;`];
}

const ADDRESSES_WHY =
  "A Proxy-mode address belongs to the load balancer, not to the nodes: the router holds it (on its loopback, so it answers for it on every side) and the proxy listens there. kube-proxy writes no rule for it, so even a pod's traffic to it leaves its node and comes here, through the nodes' default route.";
const CONFIG_WHY =
  "The load balancer proxies each Proxy-mode address and Service port to the Service's node port on every node, as a cloud load balancer that terminates connections does: it opens a new connection from its own address, so the nodes, and the pods behind them, see the load balancer as the client. nginx's stream module does the proxying; each new connection goes to the next node in turn.";

function addressSteps(c: Cluster, inst: Instance, ips: string[]): Step[] {
  return ips.map((ip) => ({ kind: 'addr.add', netns: inst.netns(c.underlay.namespace), dev: 'lo', cidr: `${ip}/32` }));
}

function configStep(c: Cluster, inst: Instance, state: ClusterState): Step {
  return { kind: 'file.write', path: files(inst).conf, content: proxyConfig(proxiedPorts(state), c.nodes) };
}

export const cloudLoadBalancer: Component = {
  tools: (c) => (c.kubernetes && proxiedPorts(c.kubernetes.state).length ? ['nginx'] : []),
  phases: (c, inst) => {
    const state = c.kubernetes?.state;
    if (!state || !proxiedPorts(state).length) return [];
    const router = inst.netns(c.underlay.namespace);
    return [
      { title: "Give the cloud load balancer's Proxy-mode addresses to the router", why: ADDRESSES_WHY, steps: addressSteps(c, inst, proxyAddresses(state)) },
      { title: "Configure the cloud load balancer's proxy", why: CONFIG_WHY, steps: [configStep(c, inst, state)] },
      {
        title: "Start the cloud load balancer's proxy",
        why: '"ip netns exec" runs nginx in the router; it listens on the Proxy-mode addresses only. knetlab records its PID and stops it on down.',
        steps: [{ kind: 'process.start', netns: router, name: 'cloud-lb', argv: nginxArgv(inst), pidfile: files(inst).pidfile }],
      },
    ];
  },
};

/**
 * What `knetlab apply` does to the load balancer when the Services change from `before` to
 * `after`: nothing when its configuration is the same; otherwise new addresses first, the new
 * configuration, then nginx started (it runs exactly while something is proxied), reloaded, or
 * told to quit when nothing is left, and last the addresses no longer used removed.
 */
export function updateCloudLoadBalancer(c: Cluster, inst: Instance, before: ClusterState, after: ClusterState): Phase[] {
  const [was, now] = [proxiedPorts(before), proxiedPorts(after)];
  if (proxyConfig(was, c.nodes) === proxyConfig(now, c.nodes)) return [];
  const router = inst.netns(c.underlay.namespace);
  const [oldIPs, newIPs] = [proxyAddresses(before), proxyAddresses(after)];
  const signal = (s: 'reload' | 'quit'): Step => ({
    kind: 'exec',
    netns: router,
    command: { file: 'nginx', args: [...nginxArgv(inst).slice(1), '-s', s] },
    label: `${s} cloud-lb in ${router}`,
  });
  const nginx: Step = !was.length
    ? { kind: 'process.start', netns: router, name: 'cloud-lb', argv: nginxArgv(inst), pidfile: files(inst).pidfile }
    : signal(now.length ? 'reload' : 'quit');
  return [
    {
      title: "Bring the cloud load balancer's proxy in step with the Services",
      why: CONFIG_WHY,
      steps: [
        ...addressSteps(
          c,
          inst,
          newIPs.filter((ip) => !oldIPs.includes(ip)),
        ),
        configStep(c, inst, after),
      ],
    },
    {
      title: !was.length
        ? "Start the cloud load balancer's proxy"
        : now.length
          ? "Reload the cloud load balancer's proxy"
          : "Stop the cloud load balancer's proxy",
      why: 'On reload nginx re-reads its configuration: new workers take the new addresses and ports while the old ones finish their connections. With nothing left to proxy it quits, as the cloud deletes a load balancer whose Service is gone.',
      steps: [
        nginx,
        ...oldIPs
          .filter((ip) => !newIPs.includes(ip))
          .map((ip): Step => ({
            kind: 'exec',
            netns: router,
            command: { file: 'ip', args: ['addr', 'del', `${ip}/32`, 'dev', 'lo'] },
            label: `remove ${ip} from the router`,
          })),
      ],
      sequential: true,
    },
  ];
}
