// Planning the Services side of a cluster: the API contents the control plane resolved from
// the lab's manifests are stored for the node daemons, every node gets kube-proxy's first full
// sync (shown in full, as the payload kube-proxy writes), then kube-proxy itself, the control
// plane's readiness prober when a pod has a probe, and MetalLB's speakers when the lab has a
// load balancer. Pure: a resolved lab in, phases out.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeInfo, StateFile } from '../k8s/model.js';
import { clusterDir, eventsPath, stateFilePath, syncedPath } from '../k8s/store.js';
import { DEFAULT_PROXIER_CONFIG, jumpRulesPayload, syncProxyRules } from '../proxy/iptables.js';
import type { Cluster } from '../spec/types.js';
import type { Instance } from './instance.js';
import type { Phase, Step } from './types.js';
import { stringify } from 'yaml';

/** Objects as a multi-document YAML file. */
export function objectsYaml(objects: unknown[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

const daemon = (name: string) => fileURLToPath(new URL(`../daemon/${name}.js`, import.meta.url));
export const KUBE_PROXY_DAEMON = daemon('kube-proxy');
export const CONTROLPLANE_DAEMON = daemon('controlplane');
export const METALLB_SPEAKER_DAEMON = daemon('metallb-speaker');

/** The file the node daemons watch, as it is at `up` (generation 1). */
export function initialState(c: Cluster, inst: Instance): StateFile {
  return {
    generation: 1,
    clusterCIDR: c.podNetwork,
    serviceCIDR: c.serviceCIDR,
    nodes: nodeInfos(c, inst),
    lbPool: c.lbPool,
    state: c.kubernetes!.state,
  };
}

export function nodeInfos(c: Cluster, inst: Instance): NodeInfo[] {
  return c.nodes.map((n) => ({ name: n.name, address: n.address, netns: inst.netns(n.name), podCIDR: n.podCIDR }));
}

/** Where `knetlab apply` finds the objects as written, to merge changes into. */
export const objectsPath = (inst: Instance): string => join(clusterDir(inst.dir), 'objects.yaml');

export function kubernetesPhases(c: Cluster, inst: Instance): Phase[] {
  if (!c.kubernetes) return [];
  const ns = (name: string) => inst.netns(name);
  const dir = clusterDir(inst.dir);
  const state = initialState(c, inst);
  const stateFile = stateFilePath(inst.dir);
  const nodeFile = (node: string, what: string) => join(dir, `${what}-${node}`);
  const config = (node: string, what: string, extra: object) =>
    JSON.stringify({ ...extra, pidfile: nodeFile(node, what) + '.pid', log: nodeFile(node, what) + '.log' }, null, 2) + '\n';
  const proxier = { ...DEFAULT_PROXIER_CONFIG, clusterCIDR: c.podNetwork };
  const phases: Phase[] = [];

  phases.push({
    title: 'Store the Kubernetes objects',
    why: "The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts allocated, pods scheduled and given addresses, EndpointSlices computed from the Services' selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.",
    steps: [
      { kind: 'dir.create', paths: [dir] },
      // Searchable by nginx's workers (nobody), which look for <pod> in it on every probe.
      { kind: 'dir.create', paths: [join(inst.dir, 'unready')], mode: '0711' },
      { kind: 'file.write', path: stateFile, content: JSON.stringify(state, null, 2) + '\n' },
      { kind: 'file.write', path: objectsPath(inst), content: objectsYaml(c.kubernetes.objects) },
      ...(c.kubernetes.events.length
        ? [
            {
              kind: 'file.write',
              path: eventsPath(inst.dir),
              content: c.kubernetes.events.map((e) => JSON.stringify({ at: c.kubernetes!.appliedAt, source: 'knetlab', ...e }) + '\n').join(''),
            } as Step,
          ]
        : []),
      ...c.nodes.map((n): Step => ({
        kind: 'file.write',
        path: nodeFile(n.name, 'kube-proxy') + '.json',
        content: config(n.name, 'kube-proxy', { node: n.name, stateFile, syncedFile: syncedPath(inst.dir, n.name) }),
      })),
    ],
  });

  phases.push({
    title: 'kube-proxy: the first sync on every node',
    why: 'kube-proxy (iptables mode) first hooks its chains into the built-in ones (nat PREROUTING and OUTPUT → KUBE-SERVICES, POSTROUTING → KUBE-POSTROUTING, and the filter jumps), then writes every Service at once with one iptables-restore: KUBE-SERVICES matches each ClusterIP:port and jumps to a KUBE-SVC chain, which picks an endpoint with "statistic mode random" (probability 1/n, then 1/(n-1), …) and jumps to its KUBE-SEP chain, which DNATs to the pod. KUBE-MARK-MASQ marks packets that must be masqueraded on the way out (KUBE-POSTROUTING). Chain names end in a hash of the service port (and endpoint), exactly as kube-proxy names them.',
    steps: c.nodes.map((n): Step => ({
      kind: 'iptables.restore',
      netns: ns(n.name),
      payload:
        jumpRulesPayload('') +
        syncProxyRules(
          state.nodes.find((x) => x.name === n.name)!,
          state.state.services,
          state.state.slices,
          proxier,
        ).payload,
      owner: 'kube-proxy',
    })),
  });

  phases.push({
    title: 'Start kube-proxy on every node',
    why: `From here on kube-proxy keeps the rules in step with the API: on every change it recomputes the whole ruleset and writes it with one iptables-restore (deleting the chains of Services and endpoints that went away). It also answers on :10256/healthz and, for LoadBalancer Services with externalTrafficPolicy Local, on their healthCheckNodePort: 200 while the node has a ready local endpoint, 503 otherwise. Here kube-proxy is knetlab's own TypeScript daemon; the rules it writes are kube-proxy's.`,
    steps: c.nodes.map((n): Step => ({
      kind: 'process.start',
      netns: ns(n.name),
      name: 'kube-proxy',
      argv: ['node', KUBE_PROXY_DAEMON, '--config', nodeFile(n.name, 'kube-proxy') + '.json'],
      pidfile: nodeFile(n.name, 'kube-proxy') + '.pid',
    })),
  });

  {
    const first = c.nodes[0]!.name;
    const file = join(dir, 'controlplane');
    phases.push({
      title: 'Start the readiness prober',
      why: "Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to 399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that pods added later by `knetlab apply` are probed.",
      steps: [
        {
          kind: 'file.write',
          path: file + '.json',
          content: JSON.stringify({ instanceDir: inst.dir, stateFile, pidfile: file + '.pid', log: file + '.log' }, null, 2) + '\n',
        },
        {
          kind: 'process.start',
          netns: ns(first),
          name: 'controlplane',
          argv: ['node', CONTROLPLANE_DAEMON, '--config', file + '.json'],
          pidfile: file + '.pid',
        },
      ],
      sequential: true,
    });
  }

  if (c.lbPool.length) {
    phases.push({
      title: 'Start the MetalLB speakers (layer 2)',
      why: "MetalLB's controller gave each LoadBalancer Service an address from the pool (status.loadBalancer.ingress). In layer 2 mode one node, elected per address (the first by sha256(node#ip) among nodes whose speaker is alive, and which have a ready endpoint when externalTrafficPolicy is Local), answers ARP requests for it from userspace with its own eth0 MAC. The address is on no interface. When that node goes away another takes over and announces itself with gratuitous ARP. The speakers learn who is alive from each other over UDP 7946, as memberlist does.",
      steps: c.nodes.flatMap((n): Step[] => [
        {
          kind: 'file.write',
          path: nodeFile(n.name, 'speaker') + '.json',
          content: config(n.name, 'speaker', { node: n.name, interface: 'eth0', stateFile, memberlistPort: 7946 }),
        },
      ]),
    });
    phases.push({
      title: 'Run the speakers',
      why: 'Each speaker joins the others, runs the election for every address, and the winner starts answering ARP for it.',
      steps: c.nodes.map((n): Step => ({
        kind: 'process.start',
        netns: ns(n.name),
        name: 'speaker',
        argv: ['node', METALLB_SPEAKER_DAEMON, '--config', nodeFile(n.name, 'speaker') + '.json'],
        pidfile: nodeFile(n.name, 'speaker') + '.pid',
      })),
    });
  }
  return phases;
}
