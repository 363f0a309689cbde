// Cluster DNS on the nodes (cluster.dns): the upstream resolver outside the cluster (dnsmasq in
// the "upstream" namespace, holding the lab's external names), the resolv.conf the kubelet gives
// every pod, and the DNS server in each kube-system/coredns pod. The addon's objects (the coredns
// Deployment, the kube-dns Service) are the control plane's (k8s/dns-addon.ts); kube-proxy routes
// the Service to the pods like any other.

import { join } from 'node:path';
import type { Pod } from '../../api/objects.js';
import { runsDns } from '../../k8s/dns-addon.js';
import { clusterDir, stateFilePath } from '../../k8s/store.js';
import { UPSTREAM_RESOLVER } from '../../labfile/cluster.js';
import type { ClusterDns } from '../../labfile/types.js';
import type { Phase, Step } from '../../kernel/steps.js';
import { NETNS_ETC } from '../../kernel/lower.js';
import { agentArgv } from '../../agent/names.js';
import type { Component } from '../component.js';
import type { Instance } from '../../kernel/instance.js';

/** kubeadm's Corefile: `ttl 30` in the kubernetes plugin. */
export const CLUSTER_DNS_TTL = 30;

/** What the kubelet gives a pod: nameservers, search path and options (runtimeapi.DNSConfig). */
export interface ResolverConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

/** The node's own resolver (dnsPolicy Default): the lab's upstream resolver stands for the node's. */
export function nodeResolver(dns: ClusterDns): ResolverConfig {
  return { servers: [dns.upstream], searches: [], options: [] };
}

/** defaultDNSOptions in pkg/kubelet/network/dns/dns.go. */
const CLUSTER_FIRST_OPTIONS = ['ndots:5'];
/** The resolver's limit (MAXNS), to which the kubelet trims with a warning event. */
const MAX_NAMESERVERS = 3;
/** MaxDNSSearchPaths: the kubelet keeps the first 32 search domains. */
const MAX_SEARCH_PATHS = 32;

const unique = (xs: string[]) => [...new Set(xs)];

/**
 * The kubelet's GetPodDNS: dnsPolicy picks the base (None: nothing; ClusterFirst and
 * ClusterFirstWithHostNet: the cluster DNS Service, the search path from the pod's namespace
 * outwards, then the node's search domains, ndots:5; Default: the node's resolver), then
 * appendDNSConfig merges spec.dnsConfig: nameservers and searches appended without duplicates,
 * options merged by name with the pod's value winning. The kubelet merges options through a Go
 * map, so its order is unspecified; here the first appearance keeps its place.
 */
export function podResolver(dns: ClusterDns, pod: Pick<Pod, 'meta' | 'dnsPolicy' | 'dnsConfig'>): ResolverConfig {
  const node = nodeResolver(dns);
  let base: ResolverConfig;
  switch (pod.dnsPolicy) {
    case 'None':
      base = { servers: [], searches: [], options: [] };
      break;
    case 'Default':
      base = node;
      break;
    case 'ClusterFirst':
    case 'ClusterFirstWithHostNet': {
      const d = dns.domain;
      base = { servers: [dns.serviceIP], searches: [`${pod.meta.namespace}.svc.${d}`, `svc.${d}`, d, ...node.searches], options: CLUSTER_FIRST_OPTIONS };
      break;
    }
  }
  const c = pod.dnsConfig;
  if (!c) return { servers: base.servers.slice(0, MAX_NAMESERVERS), searches: base.searches.slice(0, MAX_SEARCH_PATHS), options: base.options };
  const options = new Map<string, string>();
  for (const o of base.options) {
    const i = o.indexOf(':');
    options.set(i === -1 ? o : o.slice(0, i), i === -1 ? '' : o.slice(i + 1));
  }
  for (const o of c.options) options.set(o.name, o.value ?? '');
  return {
    servers: unique([...base.servers, ...c.nameservers]).slice(0, MAX_NAMESERVERS),
    searches: unique([...base.searches, ...c.searches]).slice(0, MAX_SEARCH_PATHS),
    options: [...options].map(([k, v]) => (v === '' ? k : `${k}:${v}`)),
  };
}

/** The file the container runtime writes from it (containerd's parseDNSOptions order: search, nameserver, options). */
export function resolvConf(r: ResolverConfig): string {
  return (
    (r.searches.length ? `search ${r.searches.join(' ')}\n` : '') +
    r.servers.map((s) => `nameserver ${s}\n`).join('') +
    (r.options.length ? `options ${r.options.join(' ')}\n` : '')
  );
}

/** dnsmasq as the upstream resolver: only the lab's names, everything else NXDOMAIN, nothing forwarded. */
export function dnsmasqArgv(dns: ClusterDns, pidfile: string): string[] {
  return [
    'dnsmasq',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    `--listen-address=${dns.upstream}`,
    '--bind-interfaces',
    // Authoritative for every name: unknown ones are NXDOMAIN, never forwarded anywhere.
    '--local=/#/',
    '--local-ttl=60',
    `--pid-file=${pidfile}`,
    ...dns.hosts.map(([name, ip]) => `--host-record=${name},${ip}`),
  ];
}

/** The kubelet's part for some namespaces: /etc/netns/<netns>/resolv.conf, which `ip netns exec` bind-mounts. */
function resolvConfSteps(inst: Instance, files: { name: string; content: string }[]): Step[] {
  return [
    { kind: 'dir.create', mode: '0755', paths: files.map((f) => `${NETNS_ETC}/${inst.netns(f.name)}`) },
    ...files.map((f): Step => ({ kind: 'netns.etc', netns: inst.netns(f.name), file: 'resolv.conf', content: f.content })),
  ];
}

export const coredns: Component = {
  tools: (c) => (c.dns ? ['node', 'dnsmasq'] : []),
  // Pods added by `knetlab apply`: the kubelet writes their resolv.conf before their containers start.
  podPhases: (c, inst, pods) =>
    c.dns && pods.length
      ? [
          {
            title: "The kubelet writes the new pods' resolv.conf",
            why: `As at up: dnsPolicy ClusterFirst points a pod at the kube-dns Service (${c.dns.serviceIP}), with the search path of its namespace.`,
            steps: resolvConfSteps(
              inst,
              pods.map((p) => ({ name: p.meta.name, content: resolvConf(podResolver(c.dns!, p)) })),
            ),
          },
        ]
      : [],
  phases: (c, inst) => {
    const dns = c.dns;
    if (!dns || !c.kubernetes) return [];
    const dir = clusterDir(inst.dir);
    const upstreamPid = join(dir, 'upstream-dnsmasq.pid');
    const state = c.kubernetes.state;
    const dnsPods = state.pods.filter(runsDns);
    const pods = new Map(state.pods.map((p) => [p.meta.name, p]));
    const file = (pod: Pod) => join(dir, `coredns-${pod.meta.name}`);
    const node = resolvConf(nodeResolver(dns));
    // Pods of the lab's own with another policy or a dnsConfig, said in the phase's reason.
    const custom = state.pods
      .filter((p) => !runsDns(p) && (p.dnsPolicy !== 'ClusterFirst' || p.dnsConfig))
      .map(
        (p) =>
          `${p.meta.name} has dnsPolicy ${p.dnsPolicy}${p.dnsConfig ? ' with a dnsConfig merged in (nameservers and searches appended, options overriding by name)' : ''}`,
      );
    const podConf = (podName: string): string => {
      const pod = pods.get(podName);
      return pod ? resolvConf(podResolver(dns, pod)) : node;
    };
    return [
      {
        title: 'Cluster DNS: the upstream resolver outside the cluster',
        why: `CoreDNS forwards every name outside ${dns.domain} to the node's resolver (kubeadm's Corefile: forward . /etc/resolv.conf). Here that resolver is dnsmasq in the namespace "${UPSTREAM_RESOLVER}" on the underlay (${dns.upstream}), answering the lab's external names${dns.hosts.length ? ` (${dns.hosts.map(([n]) => n).join(', ')})` : ''} and NXDOMAIN for anything else, so no query leaves the lab.`,
        steps: [
          { kind: 'dir.create', paths: [dir] },
          { kind: 'process.start', netns: inst.netns(UPSTREAM_RESOLVER), name: 'dnsmasq', argv: dnsmasqArgv(dns, upstreamPid), pidfile: upstreamPid },
        ],
      },
      {
        title: "The kubelet writes every pod's resolv.conf",
        why: `dnsPolicy ClusterFirst (the default): nameserver ${dns.serviceIP} (the kube-dns Service), the search path <namespace>.svc.${dns.domain} svc.${dns.domain} ${dns.domain}, options ndots:5. The CoreDNS pods themselves have dnsPolicy Default, as kubeadm deploys them: the node's resolver.${custom.length ? ` ${custom.join('; ')}.` : ''} Nodes and machines outside the cluster use the upstream resolver. ip netns exec bind-mounts /etc/netns/<namespace>/resolv.conf over /etc/resolv.conf, so every command run in the namespace (dig, curl, nslookup) reads it.`,
        steps: resolvConfSteps(inst, [
          ...c.nodes.flatMap((n) => [{ name: n.name, content: node }, ...n.pods.map((p) => ({ name: p.name, content: podConf(p.name) }))]),
          ...c.clients.map((cl) => ({ name: cl.name, content: node })),
        ]),
      },
      {
        title: 'Start CoreDNS in its pods',
        why: `Each kube-system/coredns pod runs the cluster DNS server on UDP and TCP 53, answering as CoreDNS's kubernetes plugin does with kubeadm's Corefile (kubernetes ${dns.domain} in-addr.arpa ip6.arpa, pods insecure, fallthrough for unknown reverse names, ttl ${CLUSTER_DNS_TTL}) from the API contents it watches, and forwarding everything else to ${dns.upstream}. Clients reach it through the kube-dns Service, ${dns.serviceIP}:53, which kube-proxy DNATs to the pods. Here the server is knetlab's own TypeScript daemon; its answers are CoreDNS's.`,
        steps: [
          ...dnsPods.map((p): Step => ({
            kind: 'file.write',
            path: file(p) + '.json',
            content:
              JSON.stringify(
                {
                  stateFile: stateFilePath(inst.dir),
                  domain: dns.domain,
                  ttl: CLUSTER_DNS_TTL,
                  port: 53,
                  upstream: dns.upstream,
                  pidfile: file(p) + '.pid',
                  log: file(p) + '.log',
                },
                null,
                2,
              ) + '\n',
          })),
          ...dnsPods.map((p): Step => ({
            kind: 'process.start',
            netns: inst.netns(p.meta.name),
            name: 'coredns',
            argv: agentArgv('coredns', file(p) + '.json'),
            pidfile: file(p) + '.pid',
          })),
        ],
        sequential: true,
      },
    ] satisfies Phase[];
  },
};
