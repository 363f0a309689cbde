// The reference CNI plugins (containernetworking/plugins), called the way a container runtime
// calls them: "bridge" with "host-local" IPAM and "loopback", one ADD per pod (DEL on down).

import { join } from 'node:path';
import type { Cluster, ClusterNode } from '../../labfile/types.js';
import { POD_WIRING } from '../../labfile/pod-wiring.js';
import { nodeDir, type Instance } from '../../kernel/instance.js';
import type { Phase, Step } from '../../kernel/steps.js';
import type { Cni } from '../component.js';

/** Where the reference CNI plugins live on Debian (containernetworking-plugins). */
export const CNI_BIN_DIR = '/usr/lib/cni';

export const cniPlugins: Cni = {
  type: 'bridge',
  tools: () => ['env', ...['bridge', 'host-local', 'loopback'].map((p) => join(CNI_BIN_DIR, p))],
  hostSideSysctls: () => [],
  phases: (c, inst) => bridgePluginPhases(c, inst),
};

/** The network configuration a container runtime would find in /etc/cni/net.d on this node. */
export function bridgeNetConf(c: Cluster, n: ClusterNode, inst: Instance): string {
  return (
    JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: 'knetlab',
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        isDefaultGateway: true,
        ipMasq: true,
        hairpinMode: POD_WIRING.bridge.hairpin,
        mtu: c.underlay.mtu,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: n.podCIDR }]],
          // host-local keeps its leases in files; keep them with the lab, not in /var/lib/cni.
          dataDir: join(nodeDir(inst, n.name), 'cni', 'networks'),
        },
      },
      null,
      2,
    ) + '\n'
  );
}

function bridgePluginPhases(c: Cluster, inst: Instance): Phase[] {
  const loopback = JSON.stringify({ cniVersion: '1.0.0', name: 'lo', type: 'loopback' }) + '\n';
  return [
    {
      title: 'Write the CNI network configuration',
      why: 'A container runtime reads the network configuration from /etc/cni/net.d: here the reference "bridge" plugin (bridge cni0, gateway on the bridge, masquerade leaving the pod subnet) with "host-local" IPAM handing out the node\'s pod subnet. Each node gets its own copy in the lab folder.',
      steps: c.nodes.flatMap((n): Step[] => [
        { kind: 'dir.create', paths: [join(nodeDir(inst, n.name), 'net.d'), join(nodeDir(inst, n.name), 'cni')] },
        { kind: 'file.write', path: join(nodeDir(inst, n.name), 'net.d', '10-knetlab.conf'), content: bridgeNetConf(c, n, inst) },
      ]),
    },
    {
      title: 'Call the CNI plugins for every pod (CNI_COMMAND=ADD)',
      why: 'What kubelet\'s runtime does for each new pod sandbox: execute the plugin binary with the network config on stdin and the pod in CNI_* variables. "loopback" brings lo up; "bridge" creates cni0 if needed, a veth pair with one end as eth0 in the pod, asks host-local for an address, sets routes, and prints the result as JSON. The plugins run inside the node\'s namespace, which is their "host". down calls DEL for each ADD.',
      sequential: true,
      steps: c.nodes.flatMap((n) =>
        n.pods.flatMap((p): Step[] => [
          {
            kind: 'cni.call',
            netns: inst.netns(n.name),
            plugin: join(CNI_BIN_DIR, 'loopback'),
            command: 'ADD',
            containerId: p.name,
            podNetns: inst.netns(p.name),
            ifname: 'lo',
            config: loopback,
            result: null,
          },
          {
            kind: 'cni.call',
            netns: inst.netns(n.name),
            plugin: join(CNI_BIN_DIR, 'bridge'),
            command: 'ADD',
            containerId: p.name,
            podNetns: inst.netns(p.name),
            ifname: 'eth0',
            config: bridgeNetConf(c, n, inst),
            result: join(nodeDir(inst, n.name), 'cni', `${p.name}.result.json`),
          },
        ]),
      ),
    },
  ];
}
