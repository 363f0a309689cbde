// kube-proxy's iptables mode, and its public surface: iptables/sync.ts computes the restore input
// of one sync (syncProxyRules), iptables/jumps.ts the jumps from the built-in chains ensured at
// start, iptables/chains.ts names the chains and reads them from iptables-save.

import type { Proxier } from './proxier.js';
import { chainsIn } from './iptables/chains.js';
import { jumpRulesPayload } from './iptables/jumps.js';
import { DEFAULT_PROXIER_CONFIG, RESTORE_COMMAND, syncProxyRules } from './iptables/sync.js';

export {
  CANARY_CHAIN,
  chainsIn,
  endpointChain,
  hash16,
  isServiceChainName,
  servicePortChains,
  servicePortName,
  type ExistingChains,
  type ServicePortChains,
} from './iptables/chains.js';
export {
  DEFAULT_PROXIER_CONFIG,
  LARGE_CLUSTER_ENDPOINTS,
  RESTORE_COMMAND,
  computeProbability,
  masqueradeMark,
  syncProxyRules,
  type ProxierConfig,
  type SyncResult,
} from './iptables/sync.js';
export { jumpCommands, jumpRules, jumpRulesPayload, type JumpRule, type Table } from './iptables/jumps.js';

/** iptables mode behind the proxier seam: jumps ensured at start, then one restore per sync. */
export const iptablesProxier: Proxier = {
  mode: 'iptables',
  tools: ['iptables-restore', 'iptables-save'],
  kernel: ['iptables nat', 'conntrack'],
  observe: { file: 'iptables-save', args: [] },
  setup: (now) => [{ file: 'iptables-restore', args: ['--noflush'], input: jumpRulesPayload(now ?? '') }],
  sync(node, api, now, cfg) {
    const r = syncProxyRules(
      node,
      api.services,
      api.slices,
      { ...DEFAULT_PROXIER_CONFIG, clusterCIDR: cfg.clusterCIDR },
      now === null ? undefined : chainsIn(now),
    );
    return {
      commands: [{ file: RESTORE_COMMAND[0]!, args: RESTORE_COMMAND.slice(1), input: r.payload }],
      stats: { services: r.stats.services, endpoints: r.stats.endpoints, written: `${r.stats.natRules} nat and ${r.stats.filterRules} filter rules` },
    };
  },
};
