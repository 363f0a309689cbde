// A cloud provider's load balancer in proxy mode, as the router in front of the nodes runs it:
// for every LoadBalancer Service whose status lists an address with ipMode Proxy, a TCP (or UDP)
// proxy listens on that address and each Service port, and opens its own connections to the
// Service's node port on every node, as a load balancer that terminates connections does (an
// AWS Classic ELB, a GCP proxy load balancer, OpenStack Octavia with the PROXY protocol). It is a
// real nginx with the stream module; this file is its configuration, pure.
//
// VIP-mode addresses need no proxy: the router routes them to the nodes (underlay.routes) and
// kube-proxy captures them there.

import type { ClusterState, Protocol } from '../../api/objects.js';

/** One address and port the load balancer proxies, and where to. */
export interface ProxiedPort {
  /** "<namespace>/<name>" of the Service. */
  service: string;
  ip: string;
  port: number;
  protocol: Exclude<Protocol, 'SCTP'>;
  nodePort: number;
}

/**
 * What the load balancer proxies: every ipMode Proxy address of a LoadBalancer Service, on each
 * of its TCP and UDP ports that has a node port. nginx does not carry SCTP.
 */
export function proxiedPorts(state: ClusterState): ProxiedPort[] {
  return state.services.flatMap((svc) =>
    svc.type !== 'LoadBalancer'
      ? []
      : svc.loadBalancerIngress
          .filter((ing) => ing.ipMode === 'Proxy')
          .flatMap((ing) =>
            svc.ports.flatMap((p): ProxiedPort[] =>
              p.nodePort === null || p.protocol === 'SCTP'
                ? []
                : [{ service: `${svc.meta.namespace}/${svc.meta.name}`, ip: ing.ip, port: p.port, protocol: p.protocol, nodePort: p.nodePort }],
            ),
          ),
  );
}

/** The Proxy-mode addresses, each once, in order: the router holds them on its loopback. */
export function proxyAddresses(state: ClusterState): string[] {
  return [...new Set(proxiedPorts(state).map((p) => p.ip))];
}

/** How long the proxy waits for a node to accept before it tries the next one (nginx: 60 s). */
const CONNECT_TIMEOUT = '2s';

/** nginx.conf for the load balancer: a stream server per address and port, an upstream of every node's node port. */
export function proxyConfig(ports: ProxiedPort[], nodes: { name: string; address: string }[]): string {
  const upstream = (p: ProxiedPort) => `${p.service.replace('/', '_')}_${p.port}_${p.protocol.toLowerCase()}_${p.ip.replaceAll('.', '_')}`;
  return [
    "# knetlab: a cloud provider's load balancer in proxy mode (status.loadBalancer.ingress[].ipMode: Proxy).",
    '# Each address and port is proxied to the Service node port on every node; the nodes see the',
    "# load balancer's own address as the client.",
    // Debian builds the stream module as a dynamic module (libnginx-mod-stream).
    'load_module modules/ngx_stream_module.so;',
    'worker_processes 1;',
    'events { worker_connections 256; }',
    'stream {',
    ...ports.flatMap((p) => [
      `    # ${p.service} port ${p.port}/${p.protocol} on ${p.ip}: node port ${p.nodePort}`,
      `    upstream ${upstream(p)} {`,
      ...nodes.map((n) => `        server ${n.address}:${p.nodePort};  # ${n.name}`),
      '    }',
      '    server {',
      `        listen ${p.ip}:${p.port}${p.protocol === 'UDP' ? ' udp' : ''};`,
      `        proxy_pass ${upstream(p)};`,
      // A node that drops the connection (no local endpoint under externalTrafficPolicy Local)
      // costs this long before the next node is tried: nginx has passive health checks only.
      `        proxy_connect_timeout ${CONNECT_TIMEOUT};`,
      '    }',
    ]),
    '}',
    '',
  ].join('\n');
}
