// Calico on each node: what the Calico CNI plugin, Felix and BIRD (confd's bird.cfg) program.
// Reference: ../shared/reference/cni-dns-ingress.md §2.

import { join } from 'node:path';
import type { Cluster, ClusterNode } from '../../labfile/types.js';
import { podMtu, vtepMac } from '../../labfile/cluster.js';
import { formatIPv4, parseCidr } from '../../labfile/net.js';
import { birdConfig, birdProtocolState, hostSideSysctls, VXLAN_PORT, VXLAN_VNI, type BirdPeer } from './bird.js';
import { nodeDir, type Instance } from '../../kernel/instance.js';
import type { Phase, Step } from '../../kernel/steps.js';
import type { Cni } from '../component.js';
import { route } from '../../labfile/routes.js';

/** Felix's route protocol number (DefaultRouteProto): its routes show as "proto 80". */
export const FELIX_PROTO = '80';
/** The cluster ID route reflectors are given in Calico's docs. */
export const RR_CLUSTER_ID = '244.0.0.1';

export const birdSocket = (inst: Instance, speaker: string) => join(nodeDir(inst, speaker), 'bird.ctl');

/** Calico allocates a node's VXLAN tunnel address from its block: the block's first address. */
const tunnelIP = (n: ClusterNode) => parseCidr(n.podCIDR)!.address;

export const calico: Cni = {
  type: 'calico',
  tools: (c) => (c.cni.mode === 'bgp' ? ['bird'] : ['bridge']),
  hostSideSysctls,
  bgp: { socket: (inst, speaker) => birdSocket(inst, speaker), protocols: (out) => birdProtocolState(out) },
  phases: (c, inst) => calicoPhases(c, inst),
};

export function calicoPhases(c: Cluster, inst: Instance): Phase[] {
  const ns = (name: string) => inst.netns(name);
  const phases: Phase[] = [
    {
      title: 'Calico CNI: proxy ARP on the host side of every pod veth',
      why: "A Calico pod has a /32 address and a default route via 169.254.1.1, an address nobody owns. The host end of its veth (cali…, MAC ee:ee:ee:ee:ee:ee, no address) answers ARP for it by proxy ARP, with no delay, so every packet from the pod lands in the node's routing table, which holds a /32 route per local pod. Proxy ARP only answers when the node routes 169.254.1.1 out of another interface: the node's default route via eth0 is what makes it work.",
      steps: c.nodes
        .filter((n) => n.pods.length)
        .map((n): Step => ({ kind: 'sysctl.set', netns: ns(n.name), values: n.pods.flatMap((p) => hostSideSysctls(p.hostIf)) })),
    },
  ];
  return [...phases, ...(c.cni.mode === 'vxlan' ? vxlanPhases(c, inst) : bgpPhases(c, inst))];
}

/** Who runs BIRD, with which peers. */
interface Speaker {
  name: string;
  ip: string;
  blocks: string[];
  peers: BirdPeer[];
  clusterId?: string;
}

function speakers(c: Cluster): Speaker[] {
  const rr = c.cni.routeReflector;
  const nodes = c.nodes;
  const blocksOf = (n: ClusterNode) => [n.podCIDR];
  if (rr === null) {
    // The default node-to-node mesh: every node peers with every other.
    return nodes.map((n) => ({
      name: n.name,
      ip: n.address,
      blocks: blocksOf(n),
      peers: nodes.filter((p) => p !== n).map((p) => ({ ip: p.address, kind: 'mesh' })),
    }));
  }
  const router = c.underlay.kind === 'router' ? { name: c.underlay.namespace, ip: c.underlay.segments[0]!.gateway } : null;
  if (rr === 'router') {
    // The router reflects: every node is its client; it also installs the routes so it can forward.
    return [
      { name: router!.name, ip: router!.ip, blocks: [], peers: nodes.map((n) => ({ ip: n.address, kind: 'rr-client' })), clusterId: RR_CLUSTER_ID },
      ...nodes.map((n): Speaker => ({ name: n.name, ip: n.address, blocks: blocksOf(n), peers: [{ ip: router!.ip, kind: 'rr' }] })),
    ];
  }
  // A node reflects (routeReflectorClusterID set, so it leaves the mesh); the others and the
  // router (if the underlay is routed, so it learns where each block lives) peer with it only.
  const reflector = nodes.find((n) => n.name === rr)!;
  const routerIP = router ? c.underlay.segments.find((s) => s.gateway === reflector.gateway)!.gateway : null;
  return [
    ...nodes.map((n): Speaker =>
      n === reflector
        ? {
            name: n.name,
            ip: n.address,
            blocks: blocksOf(n),
            peers: [
              ...nodes.filter((p) => p !== n).map((p): BirdPeer => ({ ip: p.address, kind: 'rr-client' })),
              ...(routerIP ? [{ ip: routerIP, kind: 'rr-client' } as BirdPeer] : []),
            ],
            clusterId: RR_CLUSTER_ID,
          }
        : { name: n.name, ip: n.address, blocks: blocksOf(n), peers: [{ ip: reflector.address, kind: 'rr' }] },
    ),
    ...(router && routerIP ? [{ name: router.name, ip: routerIP, blocks: [], peers: [{ ip: reflector.address, kind: 'rr' } as BirdPeer] }] : []),
  ];
}

function bgpPhases(c: Cluster, inst: Instance): Phase[] {
  const list = speakers(c);
  const conf = (s: Speaker) => join(nodeDir(inst, s.name), 'bird.cfg');
  const rr = c.cni.routeReflector;
  return [
    {
      title: 'confd: write bird.cfg for every BGP speaker',
      why: `calico-node's confd renders BIRD's configuration: a static protocol originating each of the node's IPAM blocks as a blackhole route (so unallocated addresses are dropped, not looped), a kernel protocol installing learned routes, and one BGP session per peer in AS 64512 — ${
        rr === null
          ? 'a full node-to-node mesh ("Mesh_<peer IP>" sessions)'
          : `a route reflector (${rr}) that every other speaker peers with ("Node_<IP>" sessions, "rr client" on the reflector's side)`
      }. Exported: the node's own blocks; learned routes keep the originating node as next hop.`,
      steps: [
        { kind: 'dir.create', paths: list.map((s) => nodeDir(inst, s.name)) },
        ...list.map((s): Step => ({
          kind: 'file.write',
          path: conf(s),
          content: birdConfig({
            routerId: s.ip,
            nodeIP: s.ip,
            blocks: s.blocks,
            // Calico exports only routes inside a pool; a reflector without pools would reflect nothing.
            pools: [c.podNetwork],
            peers: s.peers,
            ...(s.clusterId ? { clusterId: s.clusterId, routeReflector: true } : {}),
            socketHint: birdSocket(inst, s.name),
            logFile: join(nodeDir(inst, s.name), 'bird.log'),
          }),
        })),
      ],
    },
    {
      title: 'Start BIRD on every BGP speaker',
      why: 'BIRD (Debian bird2) runs inside each namespace and speaks BGP on TCP 179 over the underlay. Once sessions are Established, each node installs its peers\' blocks as "proto bird" routes via the node that owns them, and its own blocks as blackhole routes. birdc talks to it through the control socket.',
      steps: list.map((s): Step => ({
        kind: 'process.start',
        netns: inst.netns(s.name),
        name: 'bird',
        argv: ['bird', '-c', conf(s), '-s', birdSocket(inst, s.name), '-P', join(nodeDir(inst, s.name), 'bird.pid')],
        pidfile: join(nodeDir(inst, s.name), 'bird.pid'),
      })),
    },
  ];
}

function vxlanPhases(c: Cluster, inst: Instance): Phase[] {
  const ns = (name: string) => inst.netns(name);
  const mtu = podMtu(c);
  const remotes = (n: ClusterNode) => c.nodes.filter((r) => r !== n);
  const mac = (n: ClusterNode) => vtepMac(`vxlan.calico/${n.name}`);
  return [
    {
      title: 'Felix: create vxlan.calico',
      why: `In VXLAN mode Felix, not BIRD, programs the cluster routes. vxlan.calico is the node's VTEP: VNI ${VXLAN_VNI}, UDP ${VXLAN_PORT} (the IANA port, unlike flannel's 8472), MTU ${mtu}, and as address the node's tunnel IP, allocated from its block, as a /32. Felix also blackholes the node's own block ("proto 80" marks Felix's routes).`,
      steps: c.nodes.flatMap((n): Step[] => [
        { kind: 'vxlan.add', netns: ns(n.name), name: 'vxlan.calico', vni: VXLAN_VNI, local: n.address, dev: 'eth0', port: VXLAN_PORT, mac: mac(n), mtu },
        { kind: 'addr.add', netns: ns(n.name), dev: 'vxlan.calico', cidr: `${formatIPv4(tunnelIP(n))}/32` },
        { kind: 'link.set', netns: ns(n.name), dev: 'vxlan.calico', master: null, mac: null, mtu: null, up: true },
        { kind: 'route.add', netns: ns(n.name), route: route(n.podCIDR, { type: 'blackhole', proto: FELIX_PROTO }) },
      ]),
    },
    {
      title: 'Felix: neighbour and FDB entries for every remote VTEP',
      why: 'For each remote node: a permanent neighbour entry (its tunnel IP → its VTEP MAC) and a permanent FDB entry (that MAC → its node IP), the same pair flannel programs.',
      steps: c.nodes.flatMap((n) =>
        remotes(n).flatMap((r): Step[] => [
          { kind: 'neigh.add', netns: ns(n.name), dev: 'vxlan.calico', address: formatIPv4(tunnelIP(r)), lladdr: mac(r) },
          { kind: 'fdb.append', netns: ns(n.name), dev: 'vxlan.calico', lladdr: mac(r), dst: r.address },
        ]),
      ),
    },
    {
      title: 'Felix: route every remote block through vxlan.calico',
      why: 'Each remote block goes "via <remote tunnel IP> dev vxlan.calico onlink": the gateway is the remote VTEP address, not the node IP.',
      steps: c.nodes.flatMap((n) =>
        remotes(n).map((r): Step => ({
          kind: 'route.add',
          netns: ns(n.name),
          route: route(r.podCIDR, { via: formatIPv4(tunnelIP(r)), dev: 'vxlan.calico', onlink: true, proto: FELIX_PROTO }),
        })),
      ),
    },
  ];
}
