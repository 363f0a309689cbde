// kube-proxy's IPVS mode behind the proxier seam (kubernetes/pkg/proxy/ipvs; reference
// kube-proxy.md §2). At start: the dummy device kube-ipvs0 (kept down) and the jumps into its
// chains. Every sync, from what the node holds now: the VIPs bound to kube-ipvs0, the ipsets
// (ipvs/sets.ts) in one `ipset restore`, the virtual and real servers (ipvs/ipvsadm.ts) in one
// `ipvsadm -R`, the few iptables rules left (ipvs/rules.ts) in one `iptables-restore`, and the
// VIPs nobody uses any more unbound. ipvs/state.ts computes what is wanted.

import type { Command } from '../../kernel/command.js';
import type { KubeProxyConfig, KernelListing, Proxier } from './proxier.js';
import { localDetector, nodePortIPs } from './config.js';
import { ipsetDestroyPayload, ipsetRestorePayload } from './ipvs/sets.js';
import { ipvsadmRestorePayload, parseIpvsadmList } from './ipvs/ipvsadm.js';
import { ipvsIptablesCleanup, ipvsIptablesPayload, ipvsJumpsPayload } from './ipvs/rules.js';
import { ipvsState } from './ipvs/state.js';

export { SET, SETS, createLine, ipsetRestorePayload, parseIpsetSave } from './ipvs/sets.js';
export { ipvsadmRestorePayload, parseIpvsadmList } from './ipvs/ipvsadm.js';
export { IPVS_CHAINS, IPVS_JUMPS, ipvsIptablesPayload, ipvsJumpsPayload } from './ipvs/rules.js';
export { ipvsState, type VirtualServer } from './ipvs/state.js';

/** The dummy device every VIP is bound to (DefaultDummyDevice). */
export const DUMMY_DEVICE = 'kube-ipvs0';

/** The jumps payload when nothing is missing. */
const EMPTY_JUMPS = '*filter\nCOMMIT\n*nat\nCOMMIT\n';

/** The mode's listings, in `observe` order. */
const IPTABLES_SAVE = 0;
const IPSET_SAVE = 1;
const IPVSADM_LIST = 2;
const LINKS = 3;
const ADDRESSES = 3;

/** Whether `ip -o link show` (links and addresses, one a line) lists the dummy device. */
const hasDummy = (links: string): boolean => links.split('\n').some((l) => new RegExp(`^\\d+: ${DUMMY_DEVICE}[:@]`).test(l));

/** The IPv4 addresses `ip -o -4 addr show` lists on `device`. */
export function addressesOn(list: string, device: string): string[] {
  const out: string[] = [];
  for (const line of list.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\//.exec(line);
    if (m && m[1]!.replace(/@.*$/, '') === device) out.push(m[2]!);
  }
  return out;
}

const ipBatch = (verb: 'add' | 'del', addresses: readonly string[]): Command[] =>
  addresses.length ? [{ file: 'ip', args: ['-batch', '-'], input: addresses.map((a) => `address ${verb} ${a}/32 dev ${DUMMY_DEVICE}`).join('\n') + '\n' }] : [];

/** One sync's commands and what they write; `now` null means a fresh node. */
export function ipvsSync(
  node: Parameters<Proxier['sync']>[0],
  api: Parameters<Proxier['sync']>[1],
  now: KernelListing | null,
  ctx: KubeProxyConfig,
): ReturnType<Proxier['sync']> {
  const cfg = ctx.config;
  const bound = now ? addressesOn(now[ADDRESSES] ?? '', DUMMY_DEVICE) : [];
  // kube-proxy's nodeAddressSet: the node's addresses, less the VIPs it bound itself.
  const nodeAddresses = ctx.nodeAddresses.filter((a) => !bound.includes(a));
  const state = ipvsState(node, api.services, api.slices, {
    scheduler: cfg.ipvs.scheduler,
    nodeAddresses,
    nodePortIPs: nodePortIPs(cfg, node, nodeAddresses),
  });
  const sets = ipsetRestorePayload(state.sets, now ? (now[IPSET_SAVE] ?? '') : null);
  const ipvs = ipvsadmRestorePayload(state.virtualServers, now ? (now[IPVSADM_LIST] ?? '') : null, cfg.ipvs.excludeCIDRs);
  const rules = ipvsIptablesPayload(
    state.sets,
    state.outFilterRules,
    {
      localDetector: localDetector(cfg, ctx.clusterCIDR, node),
      masqueradeAll: cfg.iptables.masqueradeAll,
      masqueradeBit: cfg.iptables.masqueradeBit,
      randomFully: true,
    },
    now ? (now[IPTABLES_SAVE] ?? '') : null,
  );
  const commands: Command[] = [
    ...ipBatch(
      'add',
      state.bindAddresses.filter((a) => !bound.includes(a)),
    ),
    ...(sets ? [{ file: 'ipset', args: ['restore', '-exist'], input: sets }] : []),
    ...(ipvs || !now ? [{ file: 'ipvsadm', args: ['-R'], input: ipvs }] : []),
    { file: 'iptables-restore', args: ['--noflush', '--counters'], input: rules.payload },
    // ipvs.tcpTimeout, tcpFinTimeout, udpTimeout (ConfigureTimeouts; 0 leaves the kernel's value).
    ...(cfg.ipvs.tcpTimeoutMs || cfg.ipvs.tcpFinTimeoutMs || cfg.ipvs.udpTimeoutMs
      ? [
          {
            file: 'ipvsadm',
            args: ['--set', ...[cfg.ipvs.tcpTimeoutMs, cfg.ipvs.tcpFinTimeoutMs, cfg.ipvs.udpTimeoutMs].map((ms) => String(Math.floor(ms / 1000)))],
          },
        ]
      : []),
    ...ipBatch(
      'del',
      bound.filter((a) => !state.bindAddresses.includes(a)),
    ),
  ];
  const entries = [...state.sets.values()].reduce((n, s) => n + s.size, 0);
  const realServers = state.virtualServers.reduce((n, vs) => n + vs.realServers.length, 0);
  return {
    commands,
    stats: {
      services: state.stats.services,
      endpoints: state.stats.endpoints,
      written: `${state.virtualServers.length} virtual servers with ${realServers} real servers, ${entries} ipset entries, ${rules.natRules} nat and ${rules.filterRules} filter rules`,
    },
  };
}

export const ipvsProxier: Proxier = {
  mode: 'ipvs',
  tools: ['ipvsadm', 'ipset', 'ip', 'iptables-restore', 'iptables-save'],
  kernel: ['ip_vs', 'ipset', 'dummy', 'iptables nat', 'conntrack'],
  explain: {
    setup:
      "kube-proxy (IPVS mode) starts by listing the kernel's IPVS table (CanUseIPVSProxier; this also loads ip_vs), creating the dummy device kube-ipvs0, which it never sets up (its addresses only have to be local, not reachable), and ensuring the jumps into its few chains: nat PREROUTING and OUTPUT → KUBE-SERVICES, POSTROUTING → KUBE-POSTROUTING, filter INPUT → KUBE-IPVS-FILTER, KUBE-PROXY-FIREWALL and KUBE-NODE-PORT, FORWARD → KUBE-FORWARD and KUBE-PROXY-FIREWALL, OUTPUT → KUBE-IPVS-OUT-FILTER.",
    sync: 'Then kube-proxy binds every ClusterIP (and every externalIP and LoadBalancer IP the node does not already own) to kube-ipvs0 as a /32, so the kernel takes packets to them as its own; fills its ipsets (KUBE-CLUSTER-IP, KUBE-NODE-PORT-TCP, KUBE-LOOP-BACK, …) with one ipset restore; creates one IPVS virtual server per ClusterIP:port, externalIP:port, LB IP:port and node IP:NodePort, with the endpoints as masqueraded real servers of weight 1, in one ipvsadm -R; and writes the few iptables rules that remain, which match the ipsets instead of listing Services: mark for masquerade what comes from outside the pod network, accept the VIPs, refuse other ports on them.',
    run: 'on every change it recomputes the wanted state and applies the difference: ipset entries added and deleted, virtual and real servers added, edited and deleted (a real server that still has connections is given weight 0 and removed once they end), VIPs unbound, and the iptables rules rewritten whole.',
  },
  observe: [
    { file: 'iptables-save', args: [] },
    { file: 'ipset', args: ['save'] },
    { file: 'ipvsadm', args: ['-Ln'] },
    // The links (is kube-ipvs0 there?) and their IPv4 addresses, in one call.
    { file: 'ip', args: ['-o', '-4', '-batch', '-'], input: 'link show\naddress show\n' },
  ],
  // createAndLinkKubeChain re-ensures the jumps at every sync (the sync payload adds missing ones).
  canary: [],
  setup(now) {
    const jumps = ipvsJumpsPayload(now?.[IPTABLES_SAVE] ?? null);
    return [
      // On a node already listed (now), the listing was that check.
      ...(now ? [] : [{ file: 'ipvsadm', args: ['-Ln'], discardOutput: true }]),
      ...(now && hasDummy(now[LINKS] ?? '') ? [] : [{ file: 'ip', args: ['link', 'add', DUMMY_DEVICE, 'type', 'dummy'] }]),
      ...(jumps === EMPTY_JUMPS ? [] : [{ file: 'iptables-restore', args: ['--noflush'], input: jumps }]),
    ];
  },
  cleanup(now) {
    const commands: Command[] = [];
    if (parseIpvsadmList(now[IPVSADM_LIST] ?? '').length) commands.push({ file: 'ipvsadm', args: ['-C'] });
    if (hasDummy(now[LINKS] ?? '')) commands.push({ file: 'ip', args: ['link', 'del', DUMMY_DEVICE] });
    commands.push(...ipvsIptablesCleanup(now[IPTABLES_SAVE] ?? ''));
    // After the rules: a set an iptables rule still matches cannot be destroyed.
    const destroy = ipsetDestroyPayload(now[IPSET_SAVE] ?? '');
    if (destroy) commands.push({ file: 'ipset', args: ['restore'], input: destroy });
    return commands;
  },
  sync: ipvsSync,
};
