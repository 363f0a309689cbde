// nginx.conf for lab servers: one small nginx per namespace answering JSON that names the pod,
// its node, the address it answered on ($server_addr) and the client it saw ($remote_addr).
// One configuration serves every pod on a port: a map from the address a request arrived on to
// the pod that owns it. Each nginx gets its own PID file and error log with -g.
// One worker and few connections keep 250 pods well under 2 GiB.

import type { Server } from '../spec/types.js';

export function nginxConfig(port: number, sites: Server[], dir: string): string {
  const map = (field: 'pod' | 'node') => [
    `    map $server_addr $knetlab_${field} {`,
    '        default unknown;',
    ...sites.flatMap((s) => s.addresses.map((a) => `        ${a} ${s[field]};`)),
    '    }',
  ];
  return [
    `# knetlab echo servers on port ${port}: ${sites.map((s) => s.pod).join(', ')}`,
    'worker_processes 1;',
    'events { worker_connections 128; }',
    'http {',
    '    access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${dir}/nginx-tmp;`),
    ...map('pod'),
    ...map('node'),
    '    server {',
    `        listen ${port};`,
    '        default_type application/json;',
    '        location / {',
    `            return 200 '{"pod":"$knetlab_pod","node":"$knetlab_node","ip":"$server_addr","client":"$remote_addr"}\\n';`,
    '        }',
    '    }',
    '}',
    '',
  ].join('\n');
}
