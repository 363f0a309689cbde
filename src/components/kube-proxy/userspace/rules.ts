// What kube-proxy's userspace mode (pkg/proxy/userspace, removed in Kubernetes 1.26) wrote to
// iptables: no load balancing at all, only portals that send each Service's traffic to the port
// the proxy itself listens on for it. Chains, matches, comments and targets as proxier.go wrote
// them:
//   nat KUBE-PORTALS-CONTAINER  (from PREROUTING)  ClusterIP:port → REDIRECT --to-ports <proxy port>
//   nat KUBE-PORTALS-HOST       (from OUTPUT)      ClusterIP:port → DNAT <node IP>:<proxy port>
//   nat KUBE-NODEPORT-CONTAINER (PREROUTING, dst LOCAL)  nodePort → REDIRECT
//   nat KUBE-NODEPORT-HOST      (OUTPUT, dst LOCAL)      nodePort → DNAT <node IP>:<proxy port>
//   filter KUBE-NODEPORT-NON-LOCAL (from INPUT)    the proxy port → ACCEPT
// REDIRECT goes to the primary address of the interface the packet came in on, where the proxy
// (bound to 0.0.0.0) answers; locally sent packets must be DNATed to a non-loopback address
// instead (the comments in proxier.go say why: replies from 127.0.0.1 confuse DNS clients).
// The old proxier added and deleted single rules with EnsureRule/DeleteRule; here one
// iptables-restore per sync declares (so flushes) its five chains and writes them whole: the
// same rules, in one transaction. Pure.

import type { Command } from '../../../kernel/command.js';
import type { EndpointSlice, Protocol, Service } from '../../../api/objects.js';
import { chainLine, parseSave, servicePortName } from '../iptables/chains.js';

export const PORTALS_CONTAINER = 'KUBE-PORTALS-CONTAINER';
export const PORTALS_HOST = 'KUBE-PORTALS-HOST';
export const NODEPORT_CONTAINER = 'KUBE-NODEPORT-CONTAINER';
export const NODEPORT_HOST = 'KUBE-NODEPORT-HOST';
export const NODEPORT_NON_LOCAL = 'KUBE-NODEPORT-NON-LOCAL';

const NAT_CHAINS = [PORTALS_CONTAINER, PORTALS_HOST, NODEPORT_CONTAINER, NODEPORT_HOST];
const FILTER_CHAINS = [NODEPORT_NON_LOCAL];

interface Jump {
  table: 'nat' | 'filter';
  chain: string;
  /** -I (prepend) or -A (append), as iptablesInit ensured it. */
  position: 'prepend' | 'append';
  args: string[];
  target: string;
}

const CLUSTER_IPS = 'handle ClusterIPs; NOTE: this must be before the NodePort rules';
const NODE_PORTS = 'handle service NodePorts; NOTE: this must be the last rule in the chain';
const NON_LOCAL = 'Ensure that non-local NodePort traffic can flow';

/** The jumps iptablesInit ensures, in its order: portals first (prepended), NodePorts last (appended). */
export function jumps(): Jump[] {
  const portals = ['-m', 'comment', '--comment', CLUSTER_IPS];
  const local = ['-m', 'addrtype', '--dst-type', 'LOCAL', '-m', 'comment', '--comment', NODE_PORTS];
  return [
    { table: 'nat', chain: 'PREROUTING', position: 'prepend', args: portals, target: PORTALS_CONTAINER },
    { table: 'nat', chain: 'OUTPUT', position: 'prepend', args: portals, target: PORTALS_HOST },
    { table: 'nat', chain: 'PREROUTING', position: 'append', args: local, target: NODEPORT_CONTAINER },
    { table: 'nat', chain: 'OUTPUT', position: 'append', args: local, target: NODEPORT_HOST },
    { table: 'filter', chain: 'INPUT', position: 'prepend', args: ['-m', 'comment', '--comment', NON_LOCAL], target: NODEPORT_NON_LOCAL },
  ];
}

const quote = (w: string) => (w.includes(' ') ? `"${w}"` : w);
/** A rule's words as iptables-save prints them. */
const text = (args: string[]) => args.map(quote).join(' ');

/**
 * iptablesInit as one `iptables-restore --noflush`, idempotent against the node's `iptables-save`
 * as EnsureChain/EnsureRule are: only missing chains are declared (declaring would flush one)
 * and only missing jumps added.
 */
export function initPayload(save: string): string {
  const tables = parseSave(save);
  const lines: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const saved = tables.get(table);
    const own = table === 'nat' ? NAT_CHAINS : FILTER_CHAINS;
    const js = jumps().filter((j) => j.table === table);
    lines.push(`*${table}`, ...own.filter((c) => !saved?.chains.includes(c)).map(chainLine));
    for (const j of js) {
      const rule = `${j.chain} ${text([...j.args, '-j', j.target])}`;
      if (saved?.rules.has(`-A ${rule}`)) continue;
      lines.push(j.position === 'prepend' ? `-I ${j.chain} 1 ${text([...j.args, '-j', j.target])}` : `-A ${rule}`);
    }
    lines.push('COMMIT');
  }
  return `${lines.join('\n')}\n`;
}

/** Whether the node's `iptables-save` holds any of the mode's chains. */
export function hasUserspaceChains(save: string): boolean {
  const tables = parseSave(save);
  return NAT_CHAINS.some((c) => tables.get('nat')?.chains.includes(c)) || FILTER_CHAINS.some((c) => tables.get('filter')?.chains.includes(c));
}

/**
 * userspace.CleanupLeftovers: delete the jumps that are there, then flush and delete the chains
 * (a restore that declares them flushes them; -X then deletes them).
 */
export function userspaceCleanup(save: string): Command[] {
  const tables = parseSave(save);
  const commands: Command[] = [];
  for (const j of jumps()) {
    if (tables.get(j.table)?.rules.has(`-A ${j.chain} ${text([...j.args, '-j', j.target])}`))
      commands.push({ file: 'iptables', args: ['-w', '-t', j.table, '-D', j.chain, ...j.args, '-j', j.target] });
  }
  for (const table of ['nat', 'filter'] as const) {
    const doomed = (table === 'nat' ? NAT_CHAINS : FILTER_CHAINS).filter((c) => tables.get(table)?.chains.includes(c));
    if (!doomed.length) continue;
    const input = [`*${table}`, ...doomed.map(chainLine), ...doomed.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
    commands.push({ file: 'iptables-restore', args: ['-w', '--noflush', '--counters'], input });
  }
  return commands;
}

/** One service port as the userspace proxier serves it (its ServiceInfo). */
export interface ProxiedPort {
  /** "ns/name:port/PROTO": the key of its listener. */
  key: string;
  /** proxy.ServicePortName: "ns/name" or "ns/name:port" (the rules' comment). */
  name: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort: number | null;
  externalIPs: string[];
  /** status.loadBalancer.ingress IPs. */
  ingressIPs: string[];
  affinity: { clientIP: boolean; timeoutSeconds: number };
  /** Ready endpoints, "IP:port", sorted. */
  endpoints: string[];
}

/** The service ports the proxier serves: those with a ClusterIP (not headless, not ExternalName), TCP and UDP. */
export function proxiedPorts(services: Service[], slices: EndpointSlice[]): ProxiedPort[] {
  const out: ProxiedPort[] = [];
  for (const svc of services) {
    if (!svc.clusterIP || svc.clusterIP === 'None') continue;
    for (const port of svc.ports) {
      // The userspace proxier's sockets spoke TCP and UDP (SCTP was refused there too).
      if (port.protocol !== 'TCP' && port.protocol !== 'UDP') continue;
      const name = servicePortName(svc, port);
      const endpoints = new Set<string>();
      for (const slice of slices) {
        if (slice.service !== svc.meta.name || slice.meta.namespace !== svc.meta.namespace) continue;
        for (const sp of slice.ports) {
          if (sp.name !== port.name || sp.protocol !== port.protocol || sp.port === 0) continue;
          // Endpoints.subsets[].addresses: ready addresses only (or every one with publishNotReadyAddresses).
          for (const ep of slice.endpoints) if (ep.conditions.ready || svc.publishNotReadyAddresses) endpoints.add(`${ep.address}:${sp.port}`);
        }
      }
      out.push({
        key: `${name}/${port.protocol}`,
        name,
        protocol: port.protocol,
        clusterIP: svc.clusterIP,
        port: port.port,
        nodePort: port.nodePort,
        externalIPs: svc.externalIPs,
        ingressIPs: svc.loadBalancerIngress.map((i) => i.ip).filter((ip): ip is string => !!ip),
        affinity: { clientIP: svc.sessionAffinity === 'ClientIP', timeoutSeconds: svc.affinityTimeoutSeconds },
        endpoints: [...endpoints].sort(),
      });
    }
  }
  return out;
}

/** iptablesCommonPortalArgs: comment, protocol, destination port, then the optional matches. */
function commonArgs(name: string, protocol: Protocol, destIP: string | null, destPort: number, physdev: boolean, dstLocal: boolean): string[] {
  const p = protocol.toLowerCase();
  return [
    '-m',
    'comment',
    '--comment',
    name,
    '-p',
    p,
    '-m',
    p,
    '--dport',
    String(destPort),
    ...(destIP ? ['-d', `${destIP}/32`] : []),
    ...(physdev ? ['-m', 'physdev', '!', '--physdev-is-in'] : []),
    ...(dstLocal ? ['-m', 'addrtype', '--dst-type', 'LOCAL'] : []),
  ];
}

/**
 * The rules of one sync: every served port's portals, given the local port its listener holds
 * (ports without a listener yet get none) and the node IP host traffic is DNATed to.
 */
export function portalRules(ports: ProxiedPort[], proxyPorts: ReadonlyMap<string, number>, hostIP: string): { nat: string[]; filter: string[] } {
  const nat: string[] = [];
  const filter: string[] = [];
  const container = (args: string[], proxyPort: number) => [...args, '-j', 'REDIRECT', '--to-ports', String(proxyPort)];
  const host = (args: string[], proxyPort: number) => [...args, '-j', 'DNAT', '--to-destination', `${hostIP}:${proxyPort}`];
  const rule = (chain: string, words: string[]) => `-A ${chain} ${text(words)}`;
  for (const sp of ports) {
    const proxyPort = proxyPorts.get(sp.key);
    if (proxyPort === undefined) continue;
    // openOnePortal for the ClusterIP and each LoadBalancer ingress IP (not external).
    for (const ip of [sp.clusterIP, ...sp.ingressIPs]) {
      nat.push(rule(PORTALS_CONTAINER, container(commonArgs(sp.name, sp.protocol, ip, sp.port, false, false), proxyPort)));
      nat.push(rule(PORTALS_HOST, host(commonArgs(sp.name, sp.protocol, ip, sp.port, false, false), proxyPort)));
    }
    // externalIPs: from containers not bridged in (physdev), from anywhere when the IP is the node's own, and from the host.
    for (const ip of sp.externalIPs) {
      nat.push(rule(PORTALS_CONTAINER, container(commonArgs(sp.name, sp.protocol, ip, sp.port, true, false), proxyPort)));
      nat.push(rule(PORTALS_CONTAINER, container(commonArgs(sp.name, sp.protocol, ip, sp.port, false, true), proxyPort)));
      nat.push(rule(PORTALS_HOST, host(commonArgs(sp.name, sp.protocol, ip, sp.port, false, true), proxyPort)));
    }
    if (sp.nodePort) {
      nat.push(rule(NODEPORT_CONTAINER, container(commonArgs(sp.name, sp.protocol, null, sp.nodePort, false, false), proxyPort)));
      nat.push(rule(NODEPORT_HOST, host(commonArgs(sp.name, sp.protocol, null, sp.nodePort, false, false), proxyPort)));
      filter.push(
        rule(NODEPORT_NON_LOCAL, [...commonArgs(sp.name, sp.protocol, null, proxyPort, false, false), '-m', 'state', '--state', 'NEW', '-j', 'ACCEPT']),
      );
    }
  }
  return { nat, filter };
}

/** One restore that rewrites the mode's chains whole (declaring a chain flushes it). */
export function syncPayload(rules: { nat: string[]; filter: string[] }): string {
  return ['*nat', ...NAT_CHAINS.map(chainLine), ...rules.nat, 'COMMIT', '*filter', ...FILTER_CHAINS.map(chainLine), ...rules.filter, 'COMMIT', ''].join('\n');
}
