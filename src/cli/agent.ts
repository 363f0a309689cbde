// The node agents' entry point: `node dist/agent.js NAME --config FILE [--foreground]`. Every
// agent named in AgentName has an entry here (a missing one fails to compile), and only the one
// asked for is loaded, so an agent starts with its own modules and no others.

import type { AgentName } from '../agent/names.js';
import { runAgent } from '../agent/runtime.js';

const AGENTS: Record<AgentName, (argv: string[]) => Promise<void>> = {
  'kube-proxy': async (argv) => runAgent('kube-proxy', (await import('../components/kube-proxy/agent.js')).kubeProxyAgent, argv),
  controlplane: async (argv) => runAgent('controlplane', (await import('../components/controlplane/prober.js')).proberAgent, argv),
  'metallb-speaker': async (argv) => runAgent('metallb-speaker', (await import('../components/metallb/speaker.js')).speakerAgent, argv),
  'flannel-udp': async (argv) => runAgent('flannel-udp', (await import('../components/flannel/udp-proxy.js')).flannelUdpAgent, argv),
  coredns: async (argv) => runAgent('coredns', (await import('../components/coredns/server.js')).corednsAgent, argv),
  'ingress-nginx': async (argv) => runAgent('ingress-nginx', (await import('../components/ingress-nginx/controller.js')).ingressNginxAgent, argv),
};

const [name, ...argv] = process.argv.slice(2);
// Own keys only: "toString" is not an agent.
if (!name || !Object.hasOwn(AGENTS, name)) {
  process.stderr.write(`usage: agent.js NAME --config FILE [--foreground]\n  NAME: ${Object.keys(AGENTS).join(', ')}\n`);
  process.exit(2);
}
await AGENTS[name as AgentName]!(argv);
