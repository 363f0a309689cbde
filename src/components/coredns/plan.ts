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

/** kubeadm's Corefile: `ttl 30` in the kubernetes plugin. */
export const CLUSTER_DNS_TTL = 30;

/**
 * What the kubelet writes for dnsPolicy ClusterFirst (pkg/kubelet/network/dns/dns.go): the
 * cluster DNS address, the search path from the pod's own namespace outwards, ndots:5.
 */
export function clusterFirstResolvConf(dns: ClusterDns, namespace: string): string {
  return `search ${namespace}.svc.${dns.domain} svc.${dns.domain} ${dns.domain}\nnameserver ${dns.serviceIP}\noptions ndots:5\n`;
}

/** The node's own resolv.conf (dnsPolicy Default): the lab's upstream resolver stands for the node's. */
export function nodeResolvConf(dns: ClusterDns): string {
  return `nameserver ${dns.upstream}\n`;
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

export const coredns: Component = {
  tools: (c) => (c.dns ? ['node', 'dnsmasq'] : []),
  phases: (c, inst) => {
    const dns = c.dns;
    if (!dns || !c.kubernetes) return [];
    const dir = clusterDir(inst.dir);
    const upstreamPid = join(dir, 'upstream-dnsmasq.pid');
    const state = c.kubernetes.state;
    const dnsPods = state.pods.filter(runsDns);
    const pods = new Map(state.pods.map((p) => [p.meta.name, p]));
    const file = (pod: Pod) => join(dir, `coredns-${pod.meta.name}`);
    const resolvConf = (podName: string): string => {
      const pod = pods.get(podName);
      // kubeadm runs CoreDNS with dnsPolicy Default: it resolves through the node's resolver.
      if (pod && runsDns(pod)) return nodeResolvConf(dns);
      return clusterFirstResolvConf(dns, pod?.meta.namespace ?? 'default');
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
        why: `dnsPolicy ClusterFirst (the default): nameserver ${dns.serviceIP} (the kube-dns Service), the search path <namespace>.svc.${dns.domain} svc.${dns.domain} ${dns.domain}, options ndots:5. The CoreDNS pods themselves have dnsPolicy Default, as kubeadm deploys them: the node's resolver. Nodes and machines outside the cluster use the upstream resolver. ip netns exec bind-mounts /etc/netns/<namespace>/resolv.conf over /etc/resolv.conf, so every command run in the namespace (dig, curl, nslookup) reads it.`,
        steps: [
          {
            kind: 'dir.create',
            mode: '0755',
            paths: [...c.nodes.flatMap((n) => [n.name, ...n.pods.map((p) => p.name)]), ...c.clients.map((cl) => cl.name)].map(
              (ns) => `${NETNS_ETC}/${inst.netns(ns)}`,
            ),
          },
          ...c.nodes.flatMap((n) => [
            { kind: 'netns.etc', netns: inst.netns(n.name), file: 'resolv.conf', content: nodeResolvConf(dns) } satisfies Step,
            ...n.pods.map((p): Step => ({ kind: 'netns.etc', netns: inst.netns(p.name), file: 'resolv.conf', content: resolvConf(p.name) })),
          ]),
          ...c.clients.map((cl): Step => ({ kind: 'netns.etc', netns: inst.netns(cl.name), file: 'resolv.conf', content: nodeResolvConf(dns) })),
        ],
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
