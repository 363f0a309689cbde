// Small JSON endpoints agents serve, as their real counterparts do (kube-proxy's :10256/healthz
// and healthCheckNodePorts; the DNS server's and the Ingress controller's health and readiness).

import { createServer, type Server } from 'node:http';

export interface JsonReply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/**
 * Serve `reply` as JSON on `port` of `host` (every address of the agent's namespace by default).
 * Resolves once listening; rejects with a one-line reason when the port cannot be had. Later
 * errors go to `onError`.
 */
export function serveJson(port: number, reply: (path: string) => JsonReply, onError: (e: Error) => void, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((req, res) => {
    const r = reply(req.url ?? '/');
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
    res.writeHead(r.status);
    res.end(JSON.stringify(r.body));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot listen on ${host}:${port}: ${e.message}`)));
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      server.on('error', onError);
      resolve(server);
    });
  });
}
