// nginx.conf for a lab server: one small nginx per namespace answering JSON that names the pod,
// its node, the address it answered on ($server_addr) and the client it saw ($remote_addr).
// Small on purpose: one worker and a few connections keep 250 pods well under 2 GiB.

import { join } from 'node:path';
import type { Server } from '../spec/types.js';

export function nginxConfig(server: Server, dir: string): string {
  const body = `{"pod":"${server.pod}","node":"${server.node}","ip":"$server_addr","client":"$remote_addr"}\\n`;
  return `# knetlab echo server for pod ${server.pod} on node ${server.node}
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path ${join(dir, 'tmp')};
    proxy_temp_path ${join(dir, 'tmp')};
    fastcgi_temp_path ${join(dir, 'tmp')};
    uwsgi_temp_path ${join(dir, 'tmp')};
    scgi_temp_path ${join(dir, 'tmp')};
    server {
        listen ${server.port};
        default_type application/json;
        location / {
            return 200 '${body}';
        }
    }
}
`;
}
