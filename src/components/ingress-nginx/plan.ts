// ingress-nginx: its controller pods (the pods running registry.k8s.io/ingress-nginx/controller,
// which get no echo server) each run the controller agent (controller.ts) in their own network
// namespace, where it makes the fake certificate, renders nginx.conf and runs the real nginx.

import { join } from 'node:path';
import { runsIngressNginx, type Pod } from '../../api/objects.js';
import { clusterDir, stateFilePath } from '../../k8s/store.js';
import type { Phase, Step } from '../../kernel/steps.js';
import { agentArgv } from '../../agent/names.js';
import type { Component } from '../component.js';
import type { Instance } from '../../kernel/instance.js';

/** The folder of one controller pod: its config, nginx.conf, certificates, logs. */
export const controllerDir = (instanceDir: string, pod: string): string => join(clusterDir(instanceDir), `ingress-nginx-${pod}`);

const controllerPods = (c: Parameters<Component['phases']>[0]) => (c.kubernetes?.state.pods ?? []).filter((p) => runsIngressNginx(p.containers));

export const ingressNginx: Component = {
  tools: (c) => (controllerPods(c).length ? ['nginx', 'openssl'] : []),
  phases: (c, inst) => controllerPhases(inst, controllerPods(c)),
  // Controller pods added by `knetlab apply` (a scaled controller Deployment) run the controller too.
  podPhases: (_c, inst, pods) =>
    controllerPhases(
      inst,
      pods.filter((p) => runsIngressNginx(p.containers)),
    ),
};

/** The controller agent's config and start in each of `pods`. */
function controllerPhases(inst: Instance, pods: Pod[]): Phase[] {
  if (!pods.length) return [];
  const stateFile = stateFilePath(inst.dir);
  const dir = (pod: string) => controllerDir(inst.dir, pod);
  return [
    {
      title: 'Configure the ingress-nginx controllers',
      why: "The pods running ingress-nginx's controller image run no echo server: each runs the controller, which follows the API (the state file) for Ingresses of its class (an IngressClass with controller k8s.io/ingress-nginx), renders nginx.conf as ingress-nginx's template does and runs nginx in the pod. Upstreams are the Services' ready endpoints, not their cluster IPs: nginx connects to the pods directly.",
      steps: [
        { kind: 'dir.create', paths: pods.map((p) => dir(p.meta.name)) },
        ...pods.map((p): Step => ({
          kind: 'file.write',
          path: join(dir(p.meta.name), 'controller.json'),
          content:
            JSON.stringify(
              {
                stateFile,
                dir: dir(p.meta.name),
                syncedFile: join(dir(p.meta.name), 'synced'),
                pidfile: join(dir(p.meta.name), 'controller.pid'),
                log: join(dir(p.meta.name), 'controller.log'),
              },
              null,
              2,
            ) + '\n',
        })),
      ],
    },
    {
      title: 'Run the ingress-nginx controllers',
      why: 'At start the controller makes the default "Kubernetes Ingress Controller Fake Certificate" (O = Acme Co, SAN ingress.local, RSA-2048) with openssl, for hosts without a certificate of their own and clients without SNI. It starts nginx once its first configuration passes nginx -t, and on every change tests the new one and reloads nginx gracefully.',
      steps: pods.map((p): Step => ({
        kind: 'process.start',
        netns: inst.netns(p.meta.name),
        name: 'ingress-nginx',
        argv: agentArgv('ingress-nginx', join(dir(p.meta.name), 'controller.json')),
        pidfile: join(dir(p.meta.name), 'controller.pid'),
      })),
    },
  ];
}
