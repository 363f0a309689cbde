// nginx.conf for lab servers: one small nginx per namespace answering JSON that names the pod,
// its node, the address it answered on ($server_addr) and the client it saw ($remote_addr).
// One configuration serves every pod listening on the same ports: a map from the address a
// request arrived on to the pod that owns it. Each nginx gets its own PID file and error log with -g.
// One worker and few connections keep 250 pods well under 2 GiB.
//
// UDP ports are served by nginx's stream module: `listen PORT udp` with `return` answers every
// datagram with one datagram holding the same JSON. Debian ships the module apart
// (libnginx-mod-stream), so it is loaded only by configurations that have UDP ports.
//
// Readiness: a pod with a readiness probe answers the probe's path with 503 while the file
// <dir>/unready/<pod> exists, which is how a lab makes a pod fail its probe (the kubelet's
// HTTP probe counts 200-399 as success).

import type { Server } from '../../labfile/types.js';

/** Where Debian's and Ubuntu's libnginx-mod-stream puts the stream module. */
export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** The servers sharing one configuration listen on the same ports. */
export const portsKey = (s: Server): string => [...s.ports, ...s.udpPorts.map((p) => `u${p}`)].join('-');

const echo = `'{"pod":"$knetlab_pod","node":"$knetlab_node","ip":"$server_addr","client":"$remote_addr"}\\n'`;
// Over HTTP the answer also holds the request URI and Host header the pod received, which is how
// checks see what an Ingress controller rewrote and forwarded (and X-Forwarded-For, the client it
// names). nginx does not escape variables in return: a URI holding '"' would break the JSON, and
// curl percent-encodes those.
const httpEcho = `'{"pod":"$knetlab_pod","node":"$knetlab_node","ip":"$server_addr","client":"$remote_addr","uri":"$request_uri","host":"$http_host","forwardedFor":"$http_x_forwarded_for"}\\n'`;

export function nginxConfig(sites: Server[], dir: string): string {
  const ports = sites[0]?.ports ?? [80];
  const udpPorts = sites[0]?.udpPorts ?? [];
  // The http and stream modules each have their own variables, so each block has its own maps.
  const map = (field: 'pod' | 'node') => [
    `    map $server_addr $knetlab_${field} {`,
    '        default unknown;',
    ...sites.flatMap((s) => s.addresses.map((a) => `        ${a} ${s[field]};`)),
    '    }',
  ];
  const probePaths = [...new Set(sites.flatMap((s) => s.readinessPaths))].sort();
  const location = (path: string) => [
    `        location ${path === '/' ? '/' : `= ${path}`} {`,
    ...(probePaths.includes(path)
      ? [`            if (-f ${dir}/unready/$knetlab_pod) {`, `                return 503 '{"pod":"$knetlab_pod","ready":false}\\n';`, '            }']
      : []),
    `            return 200 ${httpEcho};`,
    '        }',
  ];
  return [
    `# knetlab echo servers on port ${ports.join(', ')}${udpPorts.length ? `, udp ${udpPorts.join(', ')}` : ''}: ${sites.map((s) => s.pod).join(', ')}`,
    ...(udpPorts.length ? [`load_module ${NGINX_STREAM_MODULE};`] : []),
    'worker_processes 1;',
    'events { worker_connections 128; }',
    'http {',
    '    access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${dir}/nginx-tmp;`),
    ...map('pod'),
    ...map('node'),
    '    server {',
    ...ports.map((p) => `        listen ${p};`),
    '        default_type application/json;',
    // Bodies of any size are read and discarded: a body limit is the Ingress controller's to test.
    '        client_max_body_size 0;',
    ...location('/'),
    ...probePaths.filter((p) => p !== '/').flatMap(location),
    '    }',
    '}',
    // Readiness does not apply here: an unready pod still answers, as a real pod would; what
    // keeps datagrams away from it is kube-proxy (and its conntrack cleanup).
    ...(udpPorts.length
      ? ['stream {', ...map('pod'), ...map('node'), '    server {', ...udpPorts.map((p) => `        listen ${p} udp;`), `        return ${echo};`, '    }', '}']
      : []),
    '',
  ].join('\n');
}
