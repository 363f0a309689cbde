// The control plane's node-side parts: the API contents the control plane resolved from the
// lab's manifests, stored for the node agents (they watch this file as they would watch the API
// server), and the kubelets' readiness prober, which keeps the endpoints in step with the pods.
// Pure: a resolved lab in, phases out.

import { join } from 'node:path';
import type { NodeInfo, StateFile } from '../../api/objects.js';
import { objectsPath, objectsYaml } from '../../k8s/objects-file.js';
import { clusterDir, eventsPath, stateFilePath } from '../../k8s/store.js';
import type { Cluster } from '../../labfile/types.js';
import type { Instance } from '../../kernel/instance.js';
import type { Step } from '../../kernel/steps.js';
import { agentArgv } from '../../agent/names.js';
import type { Component } from '../component.js';

/** The file the node agents watch, as it is at `up` (generation 1). */
export function initialState(c: Cluster, inst: Instance): StateFile {
  return {
    generation: 1,
    clusterCIDR: c.podNetwork,
    serviceCIDR: c.serviceCIDR,
    nodes: nodeInfos(c, inst),
    lbPool: c.lbPool,
    kubeProxy: c.kubernetes!.kubeProxy,
    state: c.kubernetes!.state,
  };
}

export function nodeInfos(c: Cluster, inst: Instance): NodeInfo[] {
  return c.nodes.map((n) => ({ name: n.name, address: n.address, netns: inst.netns(n.name), podCIDR: n.podCIDR }));
}

/** The API contents, stored before any node agent starts. */
export const apiStore: Component = {
  tools: () => [],
  phases: (c, inst) => {
    const k = c.kubernetes;
    if (!k) return [];
    const dir = clusterDir(inst.dir);
    const stateFile = stateFilePath(inst.dir);
    const state = initialState(c, inst);
    return [
      {
        title: 'Store the Kubernetes objects',
        why: "The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts allocated, pods scheduled and given addresses, EndpointSlices computed from the Services' selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.",
        steps: [
          { kind: 'dir.create', paths: [dir] },
          // Searchable by nginx's workers (nobody), which look for <pod> in it on every probe.
          { kind: 'dir.create', paths: [join(inst.dir, 'unready')], mode: '0711' },
          { kind: 'file.write', path: stateFile, content: JSON.stringify(state, null, 2) + '\n' },
          { kind: 'file.write', path: objectsPath(inst.dir), content: objectsYaml(k.objects) },
          ...(k.events.length
            ? [
                {
                  kind: 'file.write',
                  path: eventsPath(inst.dir),
                  content: k.events.map((e) => JSON.stringify({ at: k.appliedAt, source: 'knetlab', ...e }) + '\n').join(''),
                } as Step,
              ]
            : []),
        ],
      },
    ];
  },
};

/** The kubelets' readiness probes and the endpoints controller's reaction to them. */
export const readinessProber: Component = {
  tools: () => ['node', 'curl', 'nc'],
  phases: (c, inst) => {
    if (!c.kubernetes) return [];
    const stateFile = stateFilePath(inst.dir);
    const file = join(clusterDir(inst.dir), 'controlplane');
    return [
      {
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
            netns: inst.netns(c.nodes[0]!.name),
            name: 'controlplane',
            argv: agentArgv('controlplane', file + '.json'),
            pidfile: file + '.pid',
          },
        ],
        sequential: true,
      },
    ];
  },
};
