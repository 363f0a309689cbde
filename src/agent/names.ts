// The node agents by name, and the command a planner writes to start one. Importing this touches
// nothing: the install path is looked up only when a command is built.

import { agentEntry } from '../exec/install.js';

/** Every node agent; src/cli/agent.ts maps each name to its component's module. */
export type AgentName = 'kube-proxy' | 'controlplane' | 'metallb-speaker' | 'flannel-udp' | 'coredns' | 'ingress-nginx';

/** The command that starts an agent in the background (it returns once the agent is ready). */
export function agentArgv(name: AgentName, config: string): string[] {
  return ['node', agentEntry(), name, '--config', config];
}
