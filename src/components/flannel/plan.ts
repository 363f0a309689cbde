// What flanneld programs on each node (reference: flannel §1): the subnet lease and subnet.env,
// the backend's devices (flannel.1 VXLAN, flannel0 TUN with the UDP proxy, or none for host-gw),
// neighbour/FDB entries and routes, and its iptables rules. Pure: a resolved cluster in, phases out.

import { join } from 'node:path';
import type { Cluster, ClusterNode } from '../../labfile/types.js';
import { route } from '../../labfile/routes.js';
import { cni0Gateway, podMtu, vtepMac } from '../../labfile/cluster.js';
import { contains, parseCidr, parseIPv4 } from '../../labfile/net.js';
import { nodeDir, type Instance } from '../../kernel/instance.js';
import type { Phase, Step } from '../../kernel/steps.js';
import { agentArgv } from '../../agent/names.js';
import type { Cni } from '../component.js';

/** flannel's defaults: VNI 1 on the kernel's VXLAN port 8472 (not 4789), UDP backend port 8285. */
export const FLANNEL_VNI = 1;
export const FLANNEL_VXLAN_PORT = 8472;
export const FLANNEL_UDP_PORT = 8285;

export const flannel: Cni = {
  type: 'flannel',
  tools: (c) => ['iptables-restore', 'bridge', 'arping', ...(c.cni.backend === 'udp' ? ['node'] : [])],
  hostSideSysctls: () => [],
  phases: (c, inst) => flannelPhases(c, inst),
  // flannel's CNI plugin delegates to the bridge plugin, which announces a pod's address with a
  // gratuitous ARP once it is configured (bridge.go cmdAdd): a node still holding a neighbour
  // entry for the address, from a pod that had it before, learns the new pod's MAC at once
  // instead of sending to the old one until the entry expires. At up no node has such an entry,
  // so only pods added to a running cluster send it.
  podPhases: (_c, inst, pods) =>
    pods.length
      ? [
          {
            title: "The bridge plugin announces the new pods' addresses",
            why: 'A gratuitous ARP from each new pod (arping -U: an ARP request for its own address, broadcast on cni0): its node updates a neighbour entry an earlier pod with the same address left behind.',
            steps: pods.map((p) => ({
              kind: 'exec' as const,
              netns: inst.netns(p.meta.name),
              command: { file: 'arping', args: ['-U', '-c', '1', '-w', '1', '-I', 'eth0', p.podIP] },
              label: `gratuitous ARP for ${p.podIP} from ${p.meta.name}`,
            })),
          },
        ]
      : [],
};

/** The lease's network address: flannel puts it on flannel.1/flannel0 as a /32 and uses it as the remote gateway. */
const leaseIP = (n: ClusterNode) => n.podCIDR.split('/')[0]!;

function flannelPhases(c: Cluster, inst: Instance): Phase[] {
  const ns = (name: string) => inst.netns(name);
  const backend = c.cni.backend;
  const mtu = podMtu(c);
  const phases: Phase[] = [];
  const netConf = JSON.stringify({ Network: c.podNetwork, Backend: { Type: backend } }, null, 2) + '\n';
  phases.push({
    title: 'flanneld: take a subnet lease and write subnet.env',
    why: `Each node's flanneld leases one subnet of the cluster network ${c.podNetwork} (under --kube-subnet-mgr: the node's spec.podCIDR) and writes /run/flannel/subnet.env, which the flannel CNI plugin reads to configure cni0 and pod addresses. FLANNEL_SUBNET is the lease's first usable address; FLANNEL_MTU is the ${backend} backend's MTU (${mtu}). Here each node's files live in its own folder of the lab.`,
    steps: [
      { kind: 'dir.create', paths: c.nodes.map((n) => join(nodeDir(inst, n.name), 'run', 'flannel')) },
      { kind: 'file.write', path: join(inst.dir, 'net-conf.json'), content: netConf },
      ...c.nodes.map((n): Step => ({
        kind: 'file.write',
        path: join(nodeDir(inst, n.name), 'run', 'flannel', 'subnet.env'),
        content: [
          `FLANNEL_NETWORK=${c.podNetwork}`,
          `FLANNEL_SUBNET=${cni0Gateway(n)}/${n.podCIDR.split('/')[1]}`,
          `FLANNEL_MTU=${mtu}`,
          'FLANNEL_IPMASQ=true',
          '',
        ].join('\n'),
      })),
    ],
  });

  if (backend === 'vxlan') {
    phases.push({
      title: 'flanneld: create the VXLAN device flannel.1',
      why: `flannel.1 is a VXLAN tunnel endpoint: VNI ${FLANNEL_VNI}, the kernel's default port ${FLANNEL_VXLAN_PORT}, source address the node IP on eth0, learning off (flanneld programs every entry itself), MTU ${mtu} (eth0's ${c.underlay.mtu} minus 50 bytes of outer IP, UDP and VXLAN headers and inner Ethernet). Its address is the lease's network address as a /32, so no subnet route or broadcast route appears for it.`,
      steps: c.nodes.flatMap((n): Step[] => [
        {
          kind: 'vxlan.add',
          netns: ns(n.name),
          name: 'flannel.1',
          vni: FLANNEL_VNI,
          local: n.address,
          dev: 'eth0',
          port: FLANNEL_VXLAN_PORT,
          mac: vtepMac(n.name),
          mtu,
        },
        { kind: 'addr.add', netns: ns(n.name), dev: 'flannel.1', cidr: `${leaseIP(n)}/32` },
        { kind: 'link.set', netns: ns(n.name), dev: 'flannel.1', master: null, mac: null, mtu: null, up: true },
      ]),
    });
    const remotes = (n: ClusterNode) => c.nodes.filter((r) => r !== n);
    phases.push({
      title: 'flanneld: teach flannel.1 every remote node (neighbour and FDB entries)',
      why: "For each remote node's lease flanneld adds, in this order, a permanent neighbour entry (the remote lease's network address → the remote flannel.1 MAC) and a permanent FDB entry (that MAC → the remote node's IP on the underlay). The inner frame is addressed with the first, the outer UDP packet with the second: one ARP and one FDB entry per remote host, no L2/L3-miss callouts.",
      steps: c.nodes.flatMap((n) =>
        remotes(n).flatMap((r): Step[] => [
          { kind: 'neigh.add', netns: ns(n.name), dev: 'flannel.1', address: leaseIP(r), lladdr: vtepMac(r.name) },
          { kind: 'fdb.append', netns: ns(n.name), dev: 'flannel.1', lladdr: vtepMac(r.name), dst: r.address },
        ]),
      ),
    });
    phases.push({
      title: 'flanneld: route every remote subnet through flannel.1',
      why: 'The route goes last, so the kernel never has to ARP for the gateway: "<remote subnet> via <remote lease address> dev flannel.1 onlink". onlink because 10.244.x.0 is on no connected subnet of flannel.1 (its own address is a /32).',
      steps: c.nodes.flatMap((n) =>
        remotes(n).map((r): Step => ({ kind: 'route.add', netns: ns(n.name), route: route(r.podCIDR, { via: leaseIP(r), dev: 'flannel.1', onlink: true }) })),
      ),
    });
  } else if (backend === 'udp') {
    phases.push({
      title: 'flanneld: create the TUN device flannel0',
      why: `flannel0 is a TUN device: packets the kernel routes into it are read by flanneld in userspace, and packets flanneld writes into it enter the kernel as if received. MTU ${mtu} (eth0's ${c.underlay.mtu} minus 20 bytes of outer IP and 8 of UDP), the lease address as a /32, and one route for the whole cluster network: no per-node routes, neighbours or FDB entries, because the subnet → node map lives in flanneld.`,
      steps: c.nodes.flatMap((n): Step[] => [
        { kind: 'tuntap.add', netns: ns(n.name), name: 'flannel0' },
        { kind: 'link.set', netns: ns(n.name), dev: 'flannel0', master: null, mac: null, mtu, up: false },
        { kind: 'addr.add', netns: ns(n.name), dev: 'flannel0', cidr: `${leaseIP(n)}/32` },
        { kind: 'link.set', netns: ns(n.name), dev: 'flannel0', master: null, mac: null, mtu: null, up: true },
        { kind: 'route.add', netns: ns(n.name), route: route(c.podNetwork, { dev: 'flannel0' }) },
      ]),
    });
    const files = (n: ClusterNode) => {
      const dir = nodeDir(inst, n.name);
      return { dir, config: join(dir, 'flannel-udp.json'), pidfile: join(dir, 'flanneld.pid'), log: join(dir, 'flanneld.log') };
    };
    phases.push({
      title: 'flanneld: configure the UDP proxy',
      why: `Each node's proxy gets its lease and every remote lease with its node IP: the whole subnet → node table. flannel0 must also accept packets whose source is one of the node's own addresses (accept_local): the proxy's ICMP "net unreachable" comes from the lease address (e.g. 10.244.1.0), which flannel0 itself holds, and the kernel would drop it as a martian otherwise.`,
      steps: [
        { kind: 'dir.create', paths: c.nodes.map((n) => files(n).dir) },
        ...c.nodes.flatMap((n): Step[] => [
          {
            kind: 'file.write',
            path: files(n).config,
            content:
              JSON.stringify(
                {
                  tun: 'flannel0',
                  publicIP: n.address,
                  port: FLANNEL_UDP_PORT,
                  network: c.podNetwork,
                  subnet: n.podCIDR,
                  leases: c.nodes.filter((r) => r !== n).map((r) => ({ subnet: r.podCIDR, publicIP: r.address })),
                  pidfile: files(n).pidfile,
                  log: files(n).log,
                },
                null,
                2,
              ) + '\n',
          },
          { kind: 'sysctl.set', netns: ns(n.name), values: [['net.ipv4.conf.flannel0.accept_local', '1']] },
        ]),
      ],
    });
    phases.push({
      title: 'flanneld: start the UDP proxy on every node',
      why: `flanneld's udp backend: read each IP packet from flannel0, look up which node leased the destination subnet, and send the packet as the payload of a UDP datagram from <node IP>:${FLANNEL_UDP_PORT} to <remote node IP>:${FLANNEL_UDP_PORT}; datagrams received are written back into flannel0. The inner TTL is decremented on each crossing. Every packet crosses from kernel to userspace and back on both nodes, which is why this backend is slow and deprecated. Here the proxy is knetlab's own TypeScript daemon; it writes its PID file once attached and bound.`,
      steps: c.nodes.map((n): Step => ({
        kind: 'process.start',
        netns: ns(n.name),
        name: 'flanneld',
        argv: agentArgv('flannel-udp', files(n).config),
        pidfile: files(n).pidfile,
      })),
    });
  } else {
    const steps = c.nodes.flatMap((n) =>
      c.nodes
        .filter((r) => r !== n)
        .map((r): Step => {
          const rt = route(r.podCIDR, { via: r.address, dev: 'eth0' });
          const eth0 = parseCidr(`${n.address}/${n.prefix}`)!;
          if (contains(eth0, parseIPv4(r.address)!)) return { kind: 'route.add', netns: ns(n.name), route: rt };
          return {
            kind: 'route.refused',
            netns: ns(n.name),
            route: rt,
            error: 'Nexthop has invalid gateway',
            why: `${r.address} is on no subnet connected to ${n.name}: the kernel refuses a gateway it cannot reach directly (ENETUNREACH). flanneld logs "Error adding route to ${r.podCIDR}" and carries on; ${r.name}'s pods stay unreachable from ${n.name}.`,
          };
        }),
    );
    phases.push({
      title: 'flanneld: route every remote subnet via its node (host-gw)',
      why: 'host-gw has no device and no encapsulation: each remote lease becomes a plain route "<remote subnet> via <remote node IP> dev eth0". The next hop must be directly reachable on eth0, so every node must share one L2 segment.',
      steps,
    });
  }

  phases.push({
    title: 'flanneld: masquerade and forward rules',
    why: 'With --ip-masq flanneld adds FLANNEL-POSTRTG to nat POSTROUTING: pod ↔ pod traffic inside the cluster network keeps its addresses (RETURN), kube-proxy-marked packets (0x4000) are left to kube-proxy, and pod → outside is masqueraded to the node. FLANNEL-FWD accepts forwarding to and from the cluster network.',
    steps: c.nodes.map((n): Step => ({ kind: 'iptables.restore', netns: ns(n.name), payload: flannelRules(c, n), owner: 'flanneld' })),
  });
  return phases;
}

/** flanneld's iptables rules (pkg/trafficmngr/iptables), in the order it writes them. */
export function flannelRules(c: Cluster, n: ClusterNode): string {
  const net = c.podNetwork;
  const lease = n.podCIDR;
  const masq = '-m comment --comment "flanneld masq"';
  const fwd = '-m comment --comment "flanneld forward"';
  return [
    '*nat',
    ':FLANNEL-POSTRTG - [0:0]',
    `-A POSTROUTING ${masq} -j FLANNEL-POSTRTG`,
    `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${lease} -d ${net} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${net} -d ${lease} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG ! -s ${net} -d ${lease} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${net} ! -d 224.0.0.0/4 ${masq} -j MASQUERADE --random-fully`,
    `-A FLANNEL-POSTRTG ! -s ${net} -d ${net} ${masq} -j MASQUERADE --random-fully`,
    'COMMIT',
    '*filter',
    ':FLANNEL-FWD - [0:0]',
    `-A FORWARD ${fwd} -j FLANNEL-FWD`,
    `-A FLANNEL-FWD -s ${net} ${fwd} -j ACCEPT`,
    `-A FLANNEL-FWD -d ${net} ${fwd} -j ACCEPT`,
    'COMMIT',
    '',
  ].join('\n');
}
