// A plan is data: ordered phases of typed steps, each phase with the reason it exists.
// Planners build plans; nothing here touches the machine.

import type { NatRule, Route } from '../labfile/types.js';
import type { Command } from './command.js';

export type Step =
  | { kind: 'netns.add'; netns: string }
  | { kind: 'sysctl.set'; netns: string; values: [string, string][] }
  | { kind: 'bridge.add'; netns: string; name: string; mac: string | null; mtu: number | null }
  | { kind: 'veth.add'; netns: string; name: string; peerNetns: string; peerName: string; mtu: number | null }
  | { kind: 'link.set'; netns: string; dev: string; master: string | null; mac: string | null; mtu: number | null; up: boolean }
  /** A bridge port's own settings (IFLA_BRPORT_*): hairpin mode. */
  | { kind: 'brport.set'; netns: string; dev: string; hairpin: boolean }
  | { kind: 'addr.add'; netns: string; dev: string; cidr: string }
  | { kind: 'route.add'; netns: string; route: Route }
  /** A route the kernel is expected to refuse (the lab shows why); the error text it gives. */
  | { kind: 'route.refused'; netns: string; route: Route; error: string; why: string }
  | { kind: 'vxlan.add'; netns: string; name: string; vni: number; local: string; dev: string; port: number; mac: string; mtu: number }
  | { kind: 'tuntap.add'; netns: string; name: string }
  | { kind: 'neigh.add'; netns: string; dev: string; address: string; lladdr: string }
  | { kind: 'fdb.append'; netns: string; dev: string; lladdr: string; dst: string }
  | { kind: 'nat.restore'; netns: string; rules: NatRule[] }
  /**
   * A command a component runs inside a namespace as its own agent would (kube-proxy's restores);
   * netns "" runs it on the machine itself, for what touches no network (openssl making a lab's
   * certificates, as its administrator would on their workstation).
   */
  | { kind: 'exec'; netns: string; command: Command; label: string }
  /** An iptables-restore --noflush payload written the way a daemon (flanneld) writes it. */
  | { kind: 'iptables.restore'; netns: string; payload: string; owner: string }
  /** A CNI plugin executed the way a container runtime does: config on stdin, parameters in CNI_* variables. */
  | {
      kind: 'cni.call';
      netns: string;
      plugin: string;
      command: 'ADD' | 'DEL';
      containerId: string;
      podNetns: string;
      ifname: string;
      config: string;
      result: string | null;
    }
  /** Folders for lab files: root-only (0700) unless a mode says otherwise. */
  | { kind: 'dir.create'; paths: string[]; mode?: string }
  | { kind: 'file.write'; path: string; content: string }
  /**
   * A file `ip netns exec` bind-mounts over its /etc namesake inside the namespace
   * (/etc/netns/<netns>/<file>, e.g. a pod's resolv.conf): recorded, and removed on teardown.
   * Its folder comes from a dir.create before it (netnsEtcDir).
   */
  | { kind: 'netns.etc'; netns: string; file: string; content: string }
  | { kind: 'process.start'; netns: string; name: string; argv: string[]; pidfile: string }
  | { kind: 'observe'; netns: string; argv: string[]; why: string };

export type StepKind = Step['kind'];

export interface Phase {
  title: string;
  /** One short paragraph: why the kernel needs this. Printed as comments in tutorials. */
  why: string;
  steps: Step[];
  /** Read-only phases are printed in tutorials but not run by `up`. */
  readOnly?: boolean;
  /** Run the steps one after another (they share state, like CNI plugins creating one bridge). */
  sequential?: boolean;
}

export interface Plan {
  lab: string;
  instance: string;
  phases: Phase[];
}
