// Ingress, IngressClass and kubernetes.io/tls Secret, checked the way the API server validates
// them (ValidateIngressSpec, ValidateIngressClass, ValidateSecret in
// k8s.io/kubernetes/pkg/apis/networking/validation and core/validation). What the API server
// cannot know from one object (does the backend Service have that port, does the TLS Secret
// exist) is checked by the control plane (controlplane/ingress.ts). ingress-nginx's annotations
// are read by the controller (components/ingress-nginx); here each one is checked for a value the
// controller would refuse, and those knetlab does not model are warned about by name.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { parseIPv4 } from '../../labfile/net.js';
import { GENERATE_CERTIFICATE, INGRESS_PATH_TYPES, type IngressBackend, type IngressPath, type IngressRule, type IngressTLS } from '../../api/objects.js';
import { fieldPath, type IngressClassSpec, type IngressSpec, type SecretSpec } from './types.js';
import { INGRESS_NGINX_ANNOTATIONS, INGRESS_NGINX_PREFIX } from './fields.js';
import { DNS1035_HINT, SUBDOMAIN_HINT, isDns1035Label, isDns1123Subdomain } from './names.js';
import type { Json, ObjectReader, Path } from './object-reader.js';

const HOST_HINT = 'a host is a DNS name (foo.bar.com) or a wildcard of exactly one label (*.foo.com); leave host out to match any host';

/** A rule's or a TLS entry's host: precise, or "*." and a subdomain. */
function checkHost(r: ObjectReader, host: string, at: Path): boolean {
  if (host === '*') {
    r.error(at, `${fieldPath(at)} "*" is not a valid host`, HOST_HINT);
    return false;
  }
  if (parseIPv4(host) !== undefined) {
    r.error(at, `${fieldPath(at)} "${host}" must be a DNS name, not an IP address`, HOST_HINT);
    return false;
  }
  const wildcard = host.startsWith('*.');
  const name = wildcard ? host.slice(2) : host;
  if (name.includes('*')) {
    r.error(at, `${fieldPath(at)} "${host}": a wildcard is "*." followed by a DNS name`, HOST_HINT);
    return false;
  }
  if (!isDns1123Subdomain(name)) {
    r.error(at, `${fieldPath(at)} "${host}" is not a valid ${wildcard ? 'wildcard ' : ''}DNS name`, SUBDOMAIN_HINT);
    return false;
  }
  return true;
}

/** validateIngressBackend: a Service by name and one of its ports, by number or by name. */
function readBackend(r: ObjectReader, value: unknown, at: Path): IngressBackend | undefined {
  const m = r.map(value, at, 'add backend: { service: { name: …, port: { number: 80 } } }');
  if (!m) return undefined;
  r.fields(m, at, ['service'], ['resource']);
  const svc = r.map(m.service, [...at, 'service'], 'a backend names a Service: service: { name: …, port: { number: 80 } }');
  if (!svc) return undefined;
  const sp = [...at, 'service'];
  r.fields(svc, sp, ['name', 'port'], []);
  const name = r.string(svc.name, [...sp, 'name'], 'add name: the Service in the Ingress namespace');
  if (name !== undefined && !isDns1035Label(name))
    r.error([...sp, 'name'], `${fieldPath([...sp, 'name'])} "${name}" is not a valid Service name`, DNS1035_HINT);
  const port = r.map(svc.port, [...sp, 'port'], 'add port: { number: 80 } or { name: http }');
  if (!port) return undefined;
  r.fields(port, [...sp, 'port'], ['number', 'name'], []);
  if ((port.number === undefined) === (port.name === undefined)) {
    r.error([...sp, 'port'], `${fieldPath([...sp, 'port'])} needs exactly one of number and name`, 'e.g. port: { number: 80 }', 'key');
    return undefined;
  }
  const p =
    port.number !== undefined
      ? r.port(port.number, [...sp, 'port', 'number'])
      : typeof port.name === 'string'
        ? r.portOrName(port.name, [...sp, 'port', 'name'])
        : r.string(port.name, [...sp, 'port', 'name']);
  return name !== undefined && p !== undefined ? { service: name, port: p } : undefined;
}

/** validateIngressHTTPRuleValue: an absolute path, without the sequences the API server refuses for Exact and Prefix. */
function checkPath(r: ObjectReader, path: string, pathType: string | undefined, at: Path): boolean {
  if (!path.startsWith('/')) {
    r.error(at, `${fieldPath(at)} "${path}" must be an absolute path`, `start it with "/", e.g. /${path}`);
    return false;
  }
  if (pathType === 'Exact' || pathType === 'Prefix') {
    const bad = ['//', '/./', '/../', '%2f', '%2F'].find((s) => path.includes(s)) ?? ['/..', '/.'].find((s) => path.endsWith(s));
    if (bad) {
      r.error(
        at,
        `${fieldPath(at)} "${path}" must not contain "${bad}"`,
        `a ${pathType} path is a plain path; regular expressions need pathType ImplementationSpecific`,
      );
      return false;
    }
  }
  return true;
}

function readRule(r: ObjectReader, value: unknown, at: Path): IngressRule | undefined {
  const m = r.map(value, at);
  if (!m) return undefined;
  r.fields(m, at, ['host', 'http'], []);
  const host = r.string(m.host, [...at, 'host']) ?? '';
  const hostOk = host === '' || checkHost(r, host, [...at, 'host']);
  const http = r.map(m.http, [...at, 'http'], 'add http: { paths: [...] }');
  if (!http) return undefined;
  r.fields(http, [...at, 'http'], ['paths'], []);
  const list = r.list(http.paths, [...at, 'http', 'paths'], 'add paths: a rule routes at least one path');
  if (list && list.length === 0) r.error([...at, 'http', 'paths'], `${fieldPath([...at, 'http', 'paths'])} is required`, 'a rule routes at least one path');
  const paths: IngressPath[] = [];
  (list ?? []).forEach((v, i) => {
    const pp = [...at, 'http', 'paths', i];
    const pm = r.map(v, pp);
    if (!pm) return;
    r.fields(pm, pp, ['path', 'pathType', 'backend'], []);
    const pathType =
      pm.pathType === undefined || pm.pathType === null
        ? (r.error(pp, `${fieldPath([...pp, 'pathType'])} must be specified`, `one of ${INGRESS_PATH_TYPES.join(', ')}`, 'key'), undefined)
        : r.oneOf(pm.pathType, [...pp, 'pathType'], INGRESS_PATH_TYPES);
    const path = r.string(pm.path, [...pp, 'path']);
    if (path === undefined && (pathType === 'Exact' || pathType === 'Prefix'))
      r.error(pp, `${fieldPath([...pp, 'path'])} is required for pathType ${pathType}`, 'e.g. path: /foo', 'key');
    const pathOk = path === undefined || checkPath(r, path, pathType, [...pp, 'path']);
    const backend = readBackend(r, pm.backend, [...pp, 'backend']);
    // An ImplementationSpecific rule without a path matches everything: ingress-nginx makes it "/".
    if (pathType && pathOk && backend) paths.push({ path: path ?? '/', pathType, backend });
  });
  return hostOk ? { host, paths } : undefined;
}

function readTLS(r: ObjectReader, value: unknown, at: Path): IngressTLS | undefined {
  const m = r.map(value, at);
  if (!m) return undefined;
  r.fields(m, at, ['hosts', 'secretName'], []);
  const hosts: string[] = [];
  (r.list(m.hosts, [...at, 'hosts']) ?? []).forEach((h, i) => {
    const host = r.string(h, [...at, 'hosts', i]);
    if (host !== undefined && checkHost(r, host, [...at, 'hosts', i])) hosts.push(host);
  });
  const secretName = r.string(m.secretName, [...at, 'secretName'], 'add secretName: the kubernetes.io/tls Secret with the certificate');
  if (secretName !== undefined && !isDns1123Subdomain(secretName))
    r.error([...at, 'secretName'], `${fieldPath([...at, 'secretName'])} "${secretName}" is not a valid Secret name`, SUBDOMAIN_HINT);
  return secretName !== undefined ? { hosts, secretName } : undefined;
}

/** ingress-nginx's annotations: the values its parsers accept, and a warning for each one not modelled. */
function checkAnnotations(r: ObjectReader, annotations: Record<string, string>): void {
  for (const [k, v] of Object.entries(annotations)) {
    if (!k.startsWith(INGRESS_NGINX_PREFIX)) continue;
    const name = k.slice(INGRESS_NGINX_PREFIX.length);
    const at = ['metadata', 'annotations', k];
    if (!(INGRESS_NGINX_ANNOTATIONS as readonly string[]).includes(name)) {
      r.warn(at, `annotation ${k} is not modelled by knetlab and is ignored`, `knetlab's ingress-nginx reads ${INGRESS_NGINX_ANNOTATIONS.join(', ')}`);
      continue;
    }
    if (['ssl-redirect', 'force-ssl-redirect', 'use-regex'].includes(name) && v !== 'true' && v !== 'false')
      r.error(at, `annotation ${k} is "${v}"; it must be "true" or "false"`);
    // nginx's size syntax: a number, optionally with k or m (g too, as ingress-nginx passes it through).
    if (name === 'proxy-body-size' && !/^\d+[kKmMgG]?$/.test(v))
      r.error(at, `annotation ${k} "${v}" is not an nginx size`, 'e.g. 1m, 8m, 512k, or 0 for no limit');
    if (name === 'app-root' && !v.startsWith('/')) r.error(at, `annotation ${k} "${v}" must be a path starting with "/"`, 'e.g. /app1');
  }
}

export function readIngress(r: ObjectReader, value: unknown, annotations: Record<string, string>): IngressSpec | undefined {
  const spec = r.map(value, ['spec'], 'an Ingress needs a spec with rules or a defaultBackend');
  if (!spec) return undefined;
  r.fields(spec, ['spec'], ['ingressClassName', 'defaultBackend', 'rules', 'tls'], []);
  checkAnnotations(r, annotations);
  let ingressClassName = r.string(spec.ingressClassName, ['spec', 'ingressClassName']) ?? null;
  if (ingressClassName !== null && !isDns1123Subdomain(ingressClassName))
    r.error(['spec', 'ingressClassName'], `spec.ingressClassName "${ingressClassName}" is not a valid IngressClass name`, SUBDOMAIN_HINT);
  // The annotation older manifests use; ingress-nginx still honours it.
  const legacy = annotations['kubernetes.io/ingress.class'];
  if (legacy !== undefined) {
    if (ingressClassName !== null)
      r.error(
        ['metadata', 'annotations', 'kubernetes.io/ingress.class'],
        'can not be set when the class field is also set',
        'remove the kubernetes.io/ingress.class annotation: spec.ingressClassName replaces it',
      );
    ingressClassName = legacy;
  }
  const defaultBackend = spec.defaultBackend === undefined ? null : (readBackend(r, spec.defaultBackend, ['spec', 'defaultBackend']) ?? null);
  const ruleList = r.list(spec.rules, ['spec', 'rules']) ?? [];
  if (ruleList.length === 0 && spec.defaultBackend === undefined)
    r.error(['spec'], 'either `defaultBackend` or `rules` must be specified', 'add rules: with a host and paths', 'key');
  const rules = ruleList.flatMap((v, i) => readRule(r, v, ['spec', 'rules', i]) ?? []);
  const tls = (r.list(spec.tls, ['spec', 'tls']) ?? []).flatMap((v, i) => readTLS(r, v, ['spec', 'tls', i]) ?? []);
  return { ingressClassName, defaultBackend, rules, tls };
}

export function readIngressClass(r: ObjectReader, value: unknown, annotations: Record<string, string>): IngressClassSpec | undefined {
  const spec = r.map(value, ['spec'], 'an IngressClass needs spec.controller');
  if (!spec) return undefined;
  r.fields(spec, ['spec'], ['controller'], ['parameters']);
  const controller = r.string(spec.controller, ['spec', 'controller'], 'add controller: k8s.io/ingress-nginx');
  const flag = annotations['ingressclass.kubernetes.io/is-default-class'];
  return controller === undefined ? undefined : { controller, isDefault: flag === 'true' };
}

/** A Secret's data (base64) and stringData (plain) merged as the API server merges them. */
function secretData(r: ObjectReader, obj: Json): Map<string, { text: string; at: Path }> {
  const out = new Map<string, { text: string; at: Path }>();
  const data = r.map(obj.data, ['data']) ?? {};
  for (const [k, v] of Object.entries(data)) {
    const s = r.string(v, ['data', k]);
    if (s === undefined) continue;
    if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(s)) {
      r.error(['data', k], `data[${k}] is not base64`, 'data values are base64; write plain text under stringData instead');
      continue;
    }
    out.set(k, { text: Buffer.from(s, 'base64').toString('utf8'), at: ['data', k] });
  }
  const plain = r.map(obj.stringData, ['stringData']) ?? {};
  for (const [k, v] of Object.entries(plain)) {
    const s = r.string(v, ['stringData', k]);
    if (s !== undefined) out.set(k, { text: s, at: ['stringData', k] });
  }
  return out;
}

/**
 * A Secret whose certificate knetlab makes at `up` (GENERATE_CERTIFICATE): the names it is for,
 * each a host as an Ingress writes it (a wildcard included); no data of its own.
 */
function readGenerated(r: ObjectReader, value: string, hasData: boolean): SecretSpec | undefined {
  const at = ['metadata', 'annotations', GENERATE_CERTIFICATE];
  if (hasData) {
    r.error(
      at,
      `annotation ${GENERATE_CERTIFICATE} asks knetlab to make tls.crt and tls.key, and this Secret has data of its own`,
      'keep one: the annotation or the data',
    );
    return undefined;
  }
  const hosts = value
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (!hosts.length) {
    r.error(at, `annotation ${GENERATE_CERTIFICATE} names no host`, 'list the DNS names the certificate is for, e.g. "foo.bar.com,*.foo.bar.com"');
    return undefined;
  }
  return hosts.every((h) => checkHost(r, h, at)) ? { cert: '', key: '', generate: { hosts } } : undefined;
}

/**
 * A kubernetes.io/tls Secret: tls.crt and tls.key are required (the API server's rule), and here
 * also read as what ingress-nginx reads them as: a certificate and the private key that matches it.
 * Secrets of other types hold nothing knetlab uses and are skipped with a warning.
 */
export function readSecret(r: ObjectReader, obj: Json, annotations: Record<string, string> = {}): SecretSpec | undefined {
  const type = r.string(obj.type, ['type']) ?? 'Opaque';
  r.boolean(obj.immutable, ['immutable']);
  const data = secretData(r, obj);
  if (type !== 'kubernetes.io/tls') {
    r.warn(['type'], `a Secret of type ${type} is not modelled by knetlab and is ignored`, 'knetlab reads Secrets of type kubernetes.io/tls (Ingress TLS)');
    return undefined;
  }
  const generate = annotations[GENERATE_CERTIFICATE];
  if (generate !== undefined) return readGenerated(r, generate, data.size > 0);
  const crt = data.get('tls.crt');
  const key = data.get('tls.key');
  for (const [k, v] of [
    ['tls.crt', crt],
    ['tls.key', key],
  ] as const)
    if (!v)
      r.error(
        obj.data !== undefined ? ['data'] : obj.stringData !== undefined ? ['stringData'] : ['type'],
        `data[${k}]: Required value`,
        `a kubernetes.io/tls Secret holds tls.crt and tls.key`,
        'key',
      );
  if (!crt || !key) return undefined;
  let cert: X509Certificate | undefined;
  try {
    cert = new X509Certificate(crt.text);
  } catch (e) {
    r.error(crt.at, `tls.crt is not a PEM certificate: ${(e as Error).message}`, 'e.g. the tls.crt that openssl req -x509 … -out tls.crt wrote');
  }
  let pkey: ReturnType<typeof createPrivateKey> | undefined;
  try {
    pkey = createPrivateKey(key.text);
  } catch (e) {
    r.error(key.at, `tls.key holds no private key: ${(e as Error).message}`, 'e.g. the tls.key that openssl req … -keyout tls.key wrote');
  }
  if (cert && pkey && !cert.checkPrivateKey(pkey))
    r.error(key.at, 'tls.key is not the private key of the certificate in tls.crt', 'put the key and certificate of one pair together');
  return cert && pkey ? { cert: crt.text, key: key.text } : undefined;
}
