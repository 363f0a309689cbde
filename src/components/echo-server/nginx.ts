// nginx.conf for lab servers: one small nginx per namespace answering JSON that names the pod,
// its node, the address it answered on ($server_addr) and the client it saw ($remote_addr).
// One configuration serves every pod listening on the same ports: a map from the address a
// request arrived on to the pod that owns it. Each nginx gets its own PID file and error log with -g.
// One worker and few connections keep 250 pods well under 2 GiB.
//
// Readiness: a pod with a readiness probe answers the probe's path with 503 while the file
// <dir>/unready/<pod> exists, which is how a lab makes a pod fail its probe (the kubelet's
// HTTP probe counts 200-399 as success).

import type { Server } from '../../labfile/types.js';

/** The servers sharing one configuration listen on the same ports. */
export const portsKey = (s: Server): string => s.ports.join('-');

const echo = `'{"pod":"$knetlab_pod","node":"$knetlab_node","ip":"$server_addr","client":"$remote_addr"}\\n'`;

export function nginxConfig(sites: Server[], dir: string): string {
  const ports = sites[0]?.ports ?? [80];
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
    `            return 200 ${echo};`,
    '        }',
  ];
  return [
    `# knetlab echo servers on port ${ports.join(', ')}: ${sites.map((s) => s.pod).join(', ')}`,
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
    ...location('/'),
    ...probePaths.filter((p) => p !== '/').flatMap(location),
    '    }',
    '}',
    '',
  ].join('\n');
}
