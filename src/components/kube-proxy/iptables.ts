// kube-proxy's iptables mode, and its public surface: iptables/sync.ts computes the restore input
// of one sync (syncProxyRules), iptables/jumps.ts the jumps from the built-in chains ensured at
// start, iptables/chains.ts names the chains and reads them from iptables-save.

import type { NodeInfo } from '../../api/objects.js';
import type { KubeProxyConfig, Proxier } from './proxier.js';
import { localDetector, localhostNodePorts, nodePortIPs } from './config.js';
import { CANARY_CHAIN, chainsIn } from './iptables/chains.js';
import { jumpRulesPayload } from './iptables/jumps.js';
import { iptablesCleanup } from './iptables/cleanup.js';
import { DEFAULT_PROXIER_CONFIG, RESTORE_COMMAND, syncProxyRules, type ProxierConfig } from './iptables/sync.js';

// What the tests and bench-sync use of the mode's parts.
export { chainsIn, endpointChain, hash16, servicePortChains, servicePortName } from './iptables/chains.js';
export {
  DEFAULT_PROXIER_CONFIG,
  LARGE_CLUSTER_ENDPOINTS,
  RESTORE_COMMAND,
  computeProbability,
  masqueradeMark,
  syncProxyRules,
  type ProxierConfig,
} from './iptables/sync.js';
export { jumpCommands, jumpRules, jumpRulesPayload } from './iptables/jumps.js';
export { cidrDetector } from './config.js';

/** The KubeProxyConfiguration as the iptables proxier takes it on `node`. */
export function iptablesConfig(node: NodeInfo, ctx: KubeProxyConfig): ProxierConfig {
  const cfg = ctx.config;
  return {
    ...DEFAULT_PROXIER_CONFIG,
    localDetector: localDetector(cfg, ctx.clusterCIDR, node),
    masqueradeBit: cfg.iptables.masqueradeBit,
    masqueradeAll: cfg.iptables.masqueradeAll,
    localhostNodePorts: localhostNodePorts(cfg, node),
    nodePortIPs: nodePortIPs(cfg, node, ctx.nodeAddresses),
    tcpBeLiberal: cfg.conntrack.tcpBeLiberal,
  };
}

/** iptables mode behind the proxier seam: jumps ensured at start, then one restore per sync. */
export const iptablesProxier: Proxier = {
  mode: 'iptables',
  tools: ['iptables-restore', 'iptables-save'],
  kernel: ['iptables nat', 'conntrack'],
  explain: {
    setup:
      'kube-proxy (iptables mode) starts by ensuring the jumps from the built-in chains to its own: nat PREROUTING and OUTPUT → KUBE-SERVICES, POSTROUTING → KUBE-POSTROUTING, and the filter jumps (INPUT, FORWARD, OUTPUT), plus the KUBE-PROXY-CANARY chains it watches to notice a flush. Only what is missing is added, so a restart neither flushes its chains nor stacks duplicate jumps.',
    sync: 'Then kube-proxy writes every Service at once with one iptables-restore --noflush --counters: KUBE-SERVICES matches each ClusterIP:port and jumps to a KUBE-SVC chain, which picks an endpoint with "statistic mode random" (probability 1/n, then 1/(n-1), …) and jumps to its KUBE-SEP chain, which DNATs to the pod. KUBE-MARK-MASQ marks packets that must be masqueraded on the way out (KUBE-POSTROUTING). Chain names end in a hash of the service port (and endpoint), exactly as kube-proxy names them.',
    run: 'on every change it recomputes the whole ruleset and writes it with one iptables-restore (deleting the chains of Services and endpoints that went away).',
  },
  observe: [{ file: 'iptables-save', args: [] }],
  canary: (['mangle', 'nat', 'filter'] as const).map((table) => ({ file: 'iptables', args: ['-w', '-t', table, '-n', '-L', CANARY_CHAIN] })),
  setup: (now) => [{ file: 'iptables-restore', args: ['--noflush'], input: jumpRulesPayload(now?.[0] ?? '') }],
  cleanup: (now) => iptablesCleanup(now[0] ?? ''),
  sync(node, api, now, cfg) {
    const r = syncProxyRules(node, api.services, api.slices, iptablesConfig(node, cfg), now === null ? undefined : chainsIn(now[0] ?? ''));
    return {
      commands: [{ file: RESTORE_COMMAND[0]!, args: RESTORE_COMMAND.slice(1), input: r.payload }],
      stats: { services: r.stats.services, endpoints: r.stats.endpoints, written: `${r.stats.natRules} nat and ${r.stats.filterRules} filter rules` },
    };
  },
};
