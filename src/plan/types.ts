// A plan is data: ordered phases of typed steps, each phase with the reason it exists.
// Planners build plans; nothing here touches the machine.

import type { NatRule, Route } from '../spec/types.js';

export type Step =
  | { kind: 'netns.add'; netns: string }
  | { kind: 'sysctl.set'; netns: string; values: [string, string][] }
  | { kind: 'bridge.add'; netns: string; name: string; mac: string | null; mtu: number | null }
  | { kind: 'veth.add'; netns: string; name: string; peerNetns: string; peerName: string; mtu: number | null }
  | { kind: 'link.set'; netns: string; dev: string; master: string | null; mac: string | null; mtu: number | null; up: boolean }
  | { kind: 'addr.add'; netns: string; dev: string; cidr: string }
  | { kind: 'route.add'; netns: string; route: Route }
  | { kind: 'nat.restore'; netns: string; rules: NatRule[] }
  | { kind: 'dir.create'; paths: string[] }
  | { kind: 'file.write'; path: string; content: string }
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
}

export interface Plan {
  lab: string;
  instance: string;
  phases: Phase[];
}
