// MetalLB in layer 2 mode: a speaker agent on every node (speaker.ts), configured and started.
// The controller's part (addresses from the pool) is done by the control plane (k8s/).

import { speakerBase, stateFilePath } from '../../k8s/store.js';
import type { Phase, Step } from '../../kernel/steps.js';
import { agentArgv } from '../../agent/names.js';
import type { Component } from '../component.js';

export const metallb: Component = {
  tools: () => ['node'],
  phases: (c, inst) => {
    if (!c.kubernetes || !c.lbPool.length) return [];
    const file = (node: string) => speakerBase(inst.dir, node);
    const stateFile = stateFilePath(inst.dir);
    return [
      {
        title: 'Start the MetalLB speakers (layer 2)',
        why: "MetalLB's controller gave each LoadBalancer Service an address from the pool (status.loadBalancer.ingress). In layer 2 mode one node, elected per address (the first by sha256(node#ip) among nodes whose speaker is alive, and which have a ready endpoint when externalTrafficPolicy is Local), answers ARP requests for it from userspace with its own eth0 MAC. The address is on no interface. When that node goes away another takes over and announces itself with gratuitous ARP. The speakers learn who is alive from each other over UDP 7946, as memberlist does.",
        steps: c.nodes.map((n): Step => ({
          kind: 'file.write',
          path: file(n.name) + '.json',
          content:
            JSON.stringify(
              { node: n.name, interface: 'eth0', stateFile, memberlistPort: 7946, pidfile: file(n.name) + '.pid', log: file(n.name) + '.log' },
              null,
              2,
            ) + '\n',
        })),
      },
      {
        title: 'Run the speakers',
        why: 'Each speaker joins the others, runs the election for every address, and the winner starts answering ARP for it.',
        steps: c.nodes.map((n): Step => ({
          kind: 'process.start',
          netns: inst.netns(n.name),
          name: 'speaker',
          argv: agentArgv('metallb-speaker', file(n.name) + '.json'),
          pidfile: file(n.name) + '.pid',
        })),
      },
    ] satisfies Phase[];
  },
};
