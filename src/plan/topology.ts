// The topology planner: namespaces, bridges, veth pairs, addresses, routes, NAT and servers,
// in the order the kernel needs them. Pure: a resolved lab in, a plan out.

import { join } from 'node:path';
import type { Lab } from '../labfile/types.js';
import type { Instance } from '../kernel/instance.js';
import type { Phase, Plan, Step } from '../kernel/steps.js';
import { CNIS, NODE_COMPONENTS, nginxConfig, portsKey } from './registry.js';
import { ipsetPayload, tablesPayload } from '../kernel/iptables.js';

export interface PlanOptions {
  /** Namespaces that already exist (a running lab's nodes, when pods are added to it). */
  existing?: Set<string>;
  /** Names this plan's server configuration apart from the lab's own (nginx-<tag>.conf). */
  tag?: string;
}

export function planLab(lab: Lab, inst: Instance, opts: PlanOptions = {}): Plan {
  const ns = (name: string) => inst.netns(name);
  const phases: Phase[] = [];
  const add = (title: string, why: string, steps: Step[], readOnly = false, sequential = false) => {
    if (steps.length) phases.push({ title, why, steps, ...(readOnly ? { readOnly } : {}), ...(sequential ? { sequential } : {}) });
  };

  add(
    'Create the network namespaces',
    'Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is down.',
    lab.namespaces.filter((n) => !opts.existing?.has(n.name)).map((n) => ({ kind: 'netns.add', netns: ns(n.name) })),
  );

  add(
    'Set per-namespace kernel parameters',
    'Network sysctls are per namespace. A namespace only forwards packets between its interfaces (acts as a router) when net.ipv4.ip_forward is 1.',
    lab.namespaces.filter((n) => n.sysctls.length).map((n) => ({ kind: 'sysctl.set', netns: ns(n.name), values: n.sysctls })),
  );

  add(
    'Create the bridges',
    "A Linux bridge is a virtual switch: it learns MAC addresses on its ports and forwards frames between them. Given an address, it is also the gateway its ports' namespaces route through (docker0, cni0).",
    lab.namespaces.flatMap((n) =>
      n.bridges.flatMap((b): Step[] => [
        { kind: 'bridge.add', netns: ns(n.name), name: b.name, mac: b.mac, mtu: b.mtu },
        ...b.addresses.map((cidr): Step => ({ kind: 'addr.add', netns: ns(n.name), dev: b.name, cidr })),
        { kind: 'link.set', netns: ns(n.name), dev: b.name, master: null, mac: null, mtu: null, up: true },
      ]),
    ),
  );

  add(
    'Create the veth pairs',
    'A veth pair is a virtual cable: a frame sent into one end comes out of the other. Each pair is created with its ends already in their namespaces, so the machine\'s own namespace is never touched (creating it there and moving the ends with "ip link set ... netns" gives the same result).',
    lab.links.map((l) => ({
      kind: 'veth.add',
      netns: ns(l.a.namespace),
      name: l.a.interface,
      peerNetns: ns(l.b.namespace),
      peerName: l.b.interface,
      mtu: l.mtu,
    })),
  );

  const hairpin = lab.namespaces.some((n) => n.interfaces.some((i) => i.hairpin));
  add(
    'Configure the interfaces and routes',
    'An interface carries traffic only once it is up. Assigning an address also installs the connected route for its subnet. A veth end with "master" becomes a port of that bridge and carries no address of its own: the bridge switches its frames. Routes then pick the next hop for everything not on a connected subnet: a container\'s default route points at its bridge\'s address.' +
      (hairpin
        ? " Each pod's port on cni0 is put in hairpin mode, as the bridge plugin does when flannel's CNI plugin delegates to it with hairpinMode: true. A bridge never sends a frame back out of the port it came in on unless that port is in hairpin mode, and a pod reaching itself through a Service needs exactly that: net.bridge.bridge-nf-call-iptables hands frames entering cni0 to iptables, kube-proxy DNATs the Service address to the pod's own, and the bridge must then forward the frame to the port it came from. kube-proxy's hairpin rule masquerades it to cni0's address, so the answer comes back the same way."
        : ''),
    lab.namespaces.flatMap((n) => [
      { kind: 'link.set', netns: ns(n.name), dev: 'lo', master: null, mac: null, mtu: null, up: true } as Step,
      ...n.interfaces.flatMap((i): Step[] => [
        ...(i.mac || i.mtu || i.master
          ? [{ kind: 'link.set', netns: ns(n.name), dev: i.name, master: i.master, mac: i.mac, mtu: i.mtu, up: false } as Step]
          : []),
        ...(i.hairpin ? [{ kind: 'brport.set', netns: ns(n.name), dev: i.name, hairpin: true } as Step] : []),
        ...i.addresses.map((cidr): Step => ({ kind: 'addr.add', netns: ns(n.name), dev: i.name, cidr })),
        ...(i.up ? [{ kind: 'link.set', netns: ns(n.name), dev: i.name, master: null, mac: null, mtu: null, up: true } as Step] : []),
      ]),
      ...n.routes.map((route): Step => ({ kind: 'route.add', netns: ns(n.name), route })),
    ]),
  );

  if (lab.cluster) for (const p of CNIS[lab.cluster.cni.type].phases(lab.cluster, inst)) add(p.title, p.why, p.steps, false, p.sequential);

  add(
    'Program NAT',
    'Rules in the nat table are consulted for the first packet of each connection; conntrack applies the same translation to the rest of it. MASQUERADE rewrites the source to the address of the interface the packet leaves by, so replies come back to this namespace.',
    lab.namespaces.filter((n) => n.nat.length).map((n) => ({ kind: 'nat.restore', netns: ns(n.name), rules: n.nat })),
  );

  const own = lab.namespaces.filter((n) => n.iptables.length || n.ipsets.length);
  add(
    "Program the lab's own netfilter rules",
    "Each namespace has its own netfilter tables. At every hook the tables that have a chain there see a packet in the order of their chain priorities: raw (-300, before connection tracking), mangle (-150), nat where it rewrites the destination (-100: PREROUTING, OUTPUT), filter (0), security (50; 150 with iptables' nf_tables backend), and nat where it rewrites the source (100: INPUT, POSTROUTING). nat chains see only the first packet of each connection, and only once connection tracking is on in the namespace (a rule that uses it turns it on). ipsets are created first, since a rule that matches a set needs it to exist. All of it lives in the namespace and goes away with it.",
    own.flatMap((n): Step[] => [
      ...(n.ipsets.length
        ? [
            {
              kind: 'exec',
              netns: ns(n.name),
              command: { file: 'ipset', args: ['restore'], input: ipsetPayload(n.ipsets) },
              label: `create ${n.ipsets.length} ipset(s) in ${ns(n.name)}`,
            } as Step,
          ]
        : []),
      ...(n.iptables.length ? [{ kind: 'iptables.restore', netns: ns(n.name), payload: tablesPayload(n.iptables), owner: 'the lab' } as Step] : []),
    ]),
    false,
    // A set before the rules that match it.
    true,
  );

  const servers = lab.namespaces.filter((n) => n.server);
  const keys = [...new Set(servers.map((n) => portsKey(n.server!)))];
  const conf = (key: string) =>
    join(inst.dir, opts.tag ? `nginx-${opts.tag}${keys.length === 1 ? '' : `-${key}`}.conf` : keys.length === 1 ? 'nginx.conf' : `nginx-${key}.conf`);
  add(
    'Write the server configuration',
    'Every server is a real nginx (one master, one worker) answering each request with JSON: its pod name, its node, the address it answered on and the client address it saw. That last field is how the checks see NAT. All servers share one configuration: nginx maps the address a request arrived on to the pod that owns it.',
    servers.length
      ? [
          { kind: 'dir.create', paths: [inst.dir] },
          ...keys.map((key): Step => ({
            kind: 'file.write',
            path: conf(key),
            content: nginxConfig(
              servers.filter((n) => portsKey(n.server!) === key).map((n) => n.server!),
              inst.dir,
            ),
          })),
        ]
      : [],
  );

  add(
    'Start the servers',
    '"ip netns exec" runs nginx inside the namespace, so it listens on that namespace\'s addresses only. nginx daemonizes and writes its PID file; knetlab records the PID and stops exactly that process on down. Many servers are started through one xargs, a few at a time.',
    servers.map((n) => {
      const pidfile = join(inst.dir, `${n.name}.nginx.pid`);
      const log = join(inst.dir, `${n.name}.error.log`);
      return {
        kind: 'process.start',
        netns: ns(n.name),
        name: 'nginx',
        argv: ['nginx', '-c', conf(portsKey(n.server!)), '-g', `pid ${pidfile}; error_log ${log} warn;`],
        pidfile,
      };
    }),
  );

  // Services come after the pods' servers: readiness probes find them answering.
  if (lab.cluster) for (const p of NODE_COMPONENTS.flatMap((k) => k.phases(lab.cluster!, inst))) add(p.title, p.why, p.steps, false, p.sequential);

  add(
    'Look around',
    'Read-only commands that show what the steps above built.',
    // "{labdir}" in an argument names this instance's folder (subnet.env, bird.cfg, CNI results).
    lab.observe.map((o) => ({ kind: 'observe', netns: ns(o.from), argv: o.argv.map((a) => a.replaceAll('{labdir}', inst.dir)), why: o.why })),
    true,
  );

  return { lab: lab.name, instance: inst.name, phases };
}
