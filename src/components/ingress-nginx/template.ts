// nginx.conf as ingress-nginx's controller renders it from the API (rootfs/etc/nginx/template/
// nginx.tmpl, internal/ingress/controller/{controller.go,location.go,template/template.go}),
// pure. What it keeps of the real one:
//
// - the Ingresses of its class (an IngressClass with controller k8s.io/ingress-nginx, or none named
//   when that class is the default), oldest first: the first Ingress to claim a host and path wins;
// - one `server` per host, a wildcard host as the one-label regex buildServerName writes, and the
//   catch-all server `_` (default_server) whose root goes to the default backend;
// - Prefix /foo as the two locations updateServerLocations makes of it (`/foo/` and `= /foo`, the
//   exact one left out when an Exact /foo exists), Exact as `location =`, ImplementationSpecific
//   as a plain nginx prefix; a root location to the default backend on every server that has none;
//   locations sorted longest path first;
// - regex mode for a host when any of its Ingresses sets use-regex or rewrite-target: every path
//   of the host becomes `location ~* "^PATH"` (case-insensitive, unanchored at the end);
// - the annotations rewrite-target (`rewrite "(?i)PATH" TARGET break;`), app-root (302 for `/`
//   only, in the server), proxy-body-size (client_max_body_size, 1m by default), ssl-redirect and
//   force-ssl-redirect (308 to https, the request URI's trailing slash stripped, as lua_ingress's
//   redirect_to_https does);
// - certificates per host from the Ingresses' tls sections (the exact name, then *.parent), the
//   default fake certificate everywhere else, HSTS on https for hosts with their own certificate;
// - the default backend: an internal server on 127.0.0.1:8181 answering 404 (the controller's own
//   default server), /healthz 200 on the catch-all server;
// - upstreams of the Service's ready endpoints (pod IP and target port), not its cluster IP, and
//   the X-Real-IP, X-Forwarded-* and X-Request-ID headers.
//
// What it leaves out: ingress-nginx balances in Lua (balancer_by_lua, dynamic upstreams) and picks
// certificates in ssl_certificate_by_lua; here the upstreams are written out and nginx's own SNI
// picks the server's certificate, which gives the same choice for the hosts an Ingress names.

import {
  INGRESS_NGINX_CONTROLLER,
  type ClusterState,
  type Ingress,
  type IngressBackend,
  type IngressPathType,
  type IngressState,
  type Service,
} from '../../api/objects.js';

const A = 'nginx.ingress.kubernetes.io/';
/** ingress-nginx's ConfigMap defaults. */
export const DEFAULTS = { proxyBodySize: '1m', httpRedirectCode: 308, hsts: 'max-age=31536000; includeSubDomains' } as const;
/** The controller's internal default server (--default-server-port). */
export const DEFAULT_SERVER_PORT = 8181;
const DEFAULT_UPSTREAM = 'upstream-default-backend';

export interface ControllerFiles {
  /** The controller's folder: nginx's temp paths, the certificates (ssl/). */
  dir: string;
  /** The default fake certificate and its key, one PEM file (default-fake-certificate.pem). */
  fakeCert: string;
}

/** A certificate file the controller writes: ssl/<namespace>-<secret>.pem, certificate then key. */
export interface CertFile {
  path: string;
  pem: string;
}

export interface Rendered {
  conf: string;
  certs: CertFile[];
}

interface Location {
  path: string;
  pathType: IngressPathType;
  ingress: Ingress;
  backend: IngressBackend | null;
}

interface ServerBlock {
  host: string;
  locations: Location[];
  ingresses: Ingress[];
  cert: string | null;
}

/**
 * `openssl req -x509`'s arguments for an RSA-2048 key and a one-year certificate of `subject`
 * with the given extensions (-addext each): signed by `ca` when given, else self-signed. The
 * lab's CA, the Secrets' certificates and the controller's fake certificate are all made so.
 */
export function certificateArgs(o: { subject: string; extensions: string[]; keyOut: string; certOut: string; ca?: { cert: string; key: string } }): string[] {
  return [
    'req',
    '-x509',
    ...(o.ca ? ['-CA', o.ca.cert, '-CAkey', o.ca.key] : []),
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '365',
    '-subj',
    o.subject,
    ...o.extensions.flatMap((e) => ['-addext', e]),
    '-keyout',
    o.keyOut,
    '-out',
    o.certOut,
  ];
}

/**
 * Where knetlab keeps the certificates it makes at `up` for Secrets annotated with
 * GENERATE_CERTIFICATE (api/objects.ts), inside the lab's folder: the lab's CA (ca.crt, ca.key)
 * and, per Secret, <namespace>-<name>.crt and .key, as `kubectl create secret tls` would read them.
 */
export function certificateFiles(pkiDir: string) {
  return {
    dir: pkiDir,
    caCert: `${pkiDir}/ca.crt`,
    caKey: `${pkiDir}/ca.key`,
    secret: (namespace: string, name: string) => ({ cert: `${pkiDir}/${namespace}-${name}.crt`, key: `${pkiDir}/${namespace}-${name}.key` }),
  };
}

/** The Ingresses this controller serves, oldest first (ingress-nginx sorts them by creationTimestamp). */
export function servedIngresses(ing: IngressState): Ingress[] {
  const mine = ing.classes.filter((c) => c.controller === INGRESS_NGINX_CONTROLLER);
  const byDefault = mine.some((c) => c.isDefault);
  return ing.ingresses
    .filter((i) => (i.ingressClassName === null ? byDefault : mine.some((c) => c.meta.name === i.ingressClassName)))
    .sort(
      (a, b) =>
        a.meta.creationTimestamp.localeCompare(b.meta.creationTimestamp) ||
        `${a.meta.namespace}/${a.meta.name}`.localeCompare(`${b.meta.namespace}/${b.meta.name}`),
    );
}

/** buildServerName: `*.foo.com` → `~^(?<subdomain>[\w-]+)\.foo\.com$`. */
export function serverName(host: string): string {
  if (!host.startsWith('*.')) return host;
  return `~^(?<subdomain>[\\w-]+)\\.${host.slice(2).replaceAll('.', '\\.')}$`;
}

/** The upstream name ingress-nginx gives a Service port: namespace-name-port. */
export const upstreamName = (namespace: string, b: IngressBackend): string => `${namespace}-${b.service}-${b.port}`;

/** The ready endpoints (ip:port) of a Service port, as ingress-nginx's upstreams hold them. */
export function upstreamServers(state: ClusterState, namespace: string, b: IngressBackend): string[] {
  const svc: Service | undefined = state.services.find((s) => s.meta.namespace === namespace && s.meta.name === b.service);
  const port = svc?.ports.find((p) => (typeof b.port === 'number' ? p.port === b.port : p.name === b.port));
  if (!svc || !port) return [];
  const out: string[] = [];
  for (const slice of state.slices) {
    if (slice.meta.namespace !== namespace || slice.service !== svc.meta.name) continue;
    const sp = slice.ports.find((p) => p.name === port.name && p.protocol === port.protocol);
    if (!sp) continue;
    for (const e of slice.endpoints) if (e.conditions.ready) out.push(`${e.address}:${sp.port}`);
  }
  return [...new Set(out)].sort();
}

const ann = (i: Ingress, name: string): string | undefined => i.meta.annotations[A + name];
const regexMode = (s: ServerBlock): boolean => s.ingresses.some((i) => ann(i, 'use-regex') === 'true' || ann(i, 'rewrite-target') !== undefined);

/** The servers: `_` first, then the hosts in order; each with its locations as location.go leaves them. */
function servers(ingresses: Ingress[], certOf: (i: Ingress, host: string) => string | null): ServerBlock[] {
  const byHost = new Map<string, ServerBlock>();
  const server = (host: string) => {
    let s = byHost.get(host);
    if (!s) byHost.set(host, (s = { host, locations: [], ingresses: [], cert: null }));
    return s;
  };
  server('_');
  for (const ing of ingresses) {
    if (ing.defaultBackend) {
      const s = server('_');
      if (!s.locations.some((l) => l.path === '/')) s.locations.push({ path: '/', pathType: 'Prefix', ingress: ing, backend: ing.defaultBackend });
      if (!s.ingresses.includes(ing)) s.ingresses.push(ing);
    }
    for (const rule of ing.rules) {
      const s = server(rule.host === '' ? '_' : rule.host);
      if (!s.ingresses.includes(ing)) s.ingresses.push(ing);
      s.cert ??= rule.host === '' ? null : certOf(ing, rule.host);
      for (const p of rule.paths) {
        // The first Ingress to claim a path on a host keeps it.
        if (s.locations.some((l) => l.path === p.path && l.pathType === p.pathType)) continue;
        s.locations.push({ path: p.path, pathType: p.pathType, ingress: ing, backend: p.backend });
      }
    }
  }
  for (const s of byHost.values()) {
    // updateServerLocations: Prefix /foo serves /foo exactly and /foo/… as a prefix.
    const extra: Location[] = [];
    for (const l of s.locations) {
      if (l.pathType !== 'Prefix' || l.path === '/' || l.path.endsWith('/')) continue;
      if (!s.locations.some((x) => x.pathType === 'Exact' && x.path === l.path)) extra.push({ ...l, pathType: 'Exact' });
      l.path = `${l.path}/`;
    }
    s.locations.push(...extra);
    if (!s.locations.some((l) => l.path === '/' && l.pathType !== 'Exact'))
      s.locations.push({ path: '/', pathType: 'Prefix', ingress: s.ingresses[0]!, backend: null });
    // Longest path first; stable, so equal lengths keep their order.
    s.locations = s.locations
      .map((l, i) => ({ l, i }))
      .sort((a, b) => b.l.path.length - a.l.path.length || a.i - b.i)
      .map((x) => x.l);
  }
  const [catchAll, ...rest] = [...byHost.values()];
  return [catchAll!, ...rest.sort((a, b) => a.host.localeCompare(b.host))];
}

const q = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

function location(s: ServerBlock, l: Location, regex: boolean, upstreams: Map<string, string[]>): string[] {
  const at = regex ? `~* ${q(`^${l.path}`)}` : l.pathType === 'Exact' ? `= ${l.path}` : l.path;
  if (!l.backend)
    return [
      `        location ${at} {`,
      '            # no Ingress path matches: the default backend answers 404',
      `            proxy_pass http://${DEFAULT_UPSTREAM};`,
      '        }',
    ];
  const ns = l.ingress.meta.namespace;
  const up = upstreamName(ns, l.backend);
  const rewrite = ann(l.ingress, 'rewrite-target');
  const bodySize = ann(l.ingress, 'proxy-body-size') ?? DEFAULTS.proxyBodySize;
  // lua_ingress.lua redirect_to_https: with a certificate for the host (unless ssl-redirect is
  // "false"), or always with force-ssl-redirect.
  const redirect = ann(l.ingress, 'force-ssl-redirect') === 'true' || (s.cert !== null && ann(l.ingress, 'ssl-redirect') !== 'false');
  return [
    `        location ${at} {`,
    `            set $namespace      ${q(ns)};`,
    `            set $ingress_name   ${q(l.ingress.meta.name)};`,
    `            set $service_name   ${q(l.backend.service)};`,
    `            set $service_port   ${q(String(l.backend.port))};`,
    // escapeLiteralDollar: a regex path's "$" would read as a variable in `set`.
    `            set $location_path  ${q(l.path.replaceAll('$', '${literal_dollar}'))};`,
    ...(redirect
      ? ['            if ($scheme = http) {', `                return ${DEFAULTS.httpRedirectCode} https://$host$redirect_uri;`, '            }']
      : []),
    `            client_max_body_size ${bodySize};`,
    ...(rewrite !== undefined ? [`            rewrite ${q(`(?i)${l.path}`)} ${rewrite} break;`] : []),
    // A Service without ready endpoints: ingress-nginx answers 503.
    upstreams.get(up)?.length ? `            proxy_pass http://${up};` : '            return 503;',
    '        }',
  ];
}

/** The rendered nginx.conf and the certificate files it names. */
export function renderNginx(state: ClusterState, files: ControllerFiles): Rendered {
  const ing = state.ingress ?? { classes: [], ingresses: [], secrets: [] };
  const served = servedIngresses(ing);
  const certs = new Map<string, CertFile>();
  const certOf = (i: Ingress, host: string): string | null => {
    const parent = host.split('.').slice(1).join('.');
    const entry = i.tls.find((t) => t.hosts.includes(host)) ?? i.tls.find((t) => parent !== '' && t.hosts.includes(`*.${parent}`));
    const secret = entry && ing.secrets.find((x) => x.meta.namespace === i.meta.namespace && x.meta.name === entry.secretName);
    if (!secret) return null;
    const path = `${files.dir}/ssl/${secret.meta.namespace}-${secret.meta.name}.pem`;
    certs.set(path, { path, pem: `${secret.cert.trim()}\n${secret.key.trim()}\n` });
    return path;
  };
  const blocks = servers(served, certOf);
  const upstreams = new Map<string, string[]>();
  for (const s of blocks)
    for (const l of s.locations)
      if (l.backend) upstreams.set(upstreamName(l.ingress.meta.namespace, l.backend), upstreamServers(state, l.ingress.meta.namespace, l.backend));

  const serverBlock = (s: ServerBlock): string[] => {
    const catchAll = s.host === '_';
    const cert = s.cert ?? files.fakeCert;
    const regex = regexMode(s);
    const appRoot = s.ingresses.map((i) => ann(i, 'app-root')).find((v) => v !== undefined);
    return [
      `    ## start server ${s.host}`,
      '    server {',
      `        server_name ${serverName(s.host)} ;`,
      `        listen 80${catchAll ? ' default_server' : ''};`,
      `        listen 443${catchAll ? ' default_server' : ''} ssl http2;`,
      `        ssl_certificate     ${cert};`,
      `        ssl_certificate_key ${cert};`,
      ...(s.cert !== null ? ['        add_header Strict-Transport-Security $hsts_header always;'] : []),
      ...(appRoot !== undefined ? ['        if ($uri = /) {', `            return 302 $scheme://$http_host${appRoot};`, '        }'] : []),
      ...s.locations.flatMap((l) => location(s, l, regex, upstreams)),
      ...(catchAll ? ['        location /healthz {', '            access_log off;', '            return 200;', '        }'] : []),
      '    }',
      `    ## end server ${s.host}`,
    ];
  };

  const conf = [
    '# knetlab: ingress-nginx-controller, rendered from the Ingresses of class k8s.io/ingress-nginx',
    `# (${served.map((i) => `${i.meta.namespace}/${i.meta.name}`).join(', ') || 'none yet'})`,
    // The workers spill request bodies larger than their buffer into tmp/, inside the lab's
    // folder, which only root may enter (in ingress-nginx's image, www-data owns its own).
    'user root;',
    'worker_processes 1;',
    'events { worker_connections 1024; }',
    'http {',
    '    access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${files.dir}/tmp;`),
    // A variable holding a literal "$" (geo does not resolve variables), for regex paths in `set`.
    '    geo $literal_dollar {',
    '        default "$";',
    '    }',
    '    server_names_hash_bucket_size 128;',
    '    port_in_redirect off;',
    '    server_tokens off;',
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    // The Host header as the client sent it (with its port), or the server name without one.
    '    map $http_host $best_http_host {',
    '        default $http_host;',
    "        ''      $host;",
    '    }',
    // redirect_to_https strips one trailing slash of the request URI (preserve-trailing-slash false).
    '    map $request_uri $redirect_uri {',
    '        ~^(?<stripped>.*)/$ $stripped;',
    '        default $request_uri;',
    '    }',
    '    map $scheme $hsts_header {',
    `        https ${q(DEFAULTS.hsts)};`,
    "        default '';",
    '    }',
    '    proxy_http_version 1.1;',
    '    proxy_set_header Connection        "";',
    '    proxy_set_header Host              $best_http_host;',
    '    proxy_set_header X-Request-ID      $request_id;',
    '    proxy_set_header X-Real-IP         $remote_addr;',
    '    proxy_set_header X-Forwarded-For   $remote_addr;',
    '    proxy_set_header X-Forwarded-Host  $best_http_host;',
    '    proxy_set_header X-Forwarded-Port  $server_port;',
    '    proxy_set_header X-Forwarded-Proto $scheme;',
    '    proxy_set_header X-Forwarded-Scheme $scheme;',
    '    proxy_set_header X-Scheme          $scheme;',
    '    proxy_set_header X-Original-URI    $request_uri;',
    '    proxy_connect_timeout 5s;',
    '',
    `    upstream ${DEFAULT_UPSTREAM} {`,
    `        server 127.0.0.1:${DEFAULT_SERVER_PORT};`,
    '    }',
    ...[...upstreams]
      .filter(([, addrs]) => addrs.length)
      .flatMap(([name, addrs]) => [`    upstream ${name} {`, ...addrs.map((a) => `        server ${a} max_fails=0;`), '    }']),
    '',
    ...blocks.flatMap(serverBlock),
    '',
    '    # the default backend: the controller answers what no Ingress routes with 404',
    '    server {',
    `        listen 127.0.0.1:${DEFAULT_SERVER_PORT} default_server;`,
    '        location / {',
    '            return 404;',
    '        }',
    '    }',
    '}',
    '',
  ].join('\n');
  return { conf, certs: [...certs.values()] };
}
