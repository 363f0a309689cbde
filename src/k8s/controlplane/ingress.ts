// Ingresses as the controllers find them: each backend a Service of the Ingress's namespace with
// that port, each TLS secret a kubernetes.io/tls Secret there, each class an IngressClass. The
// API server accepts an Ingress whose Service does not exist yet (ingress-nginx then answers 503
// and logs it); a lab's manifests are read together, so knetlab reports it where it is written.

import type { Ingress, IngressBackend, IngressState, Service } from '../../api/objects.js';
import type { ManifestObject } from '../manifest/types.js';
import type { ControlPlane, Path } from './context.js';
import { metaFor } from './meta.js';

type Of<K extends ManifestObject['kind']> = Extract<ManifestObject, { kind: K }>;

/** The Ingresses, IngressClasses and TLS Secrets; null when the lab has none. An Ingress with an error is left out. */
export function resolveIngresses(cp: ControlPlane, services: Service[]): IngressState | null {
  const of = <K extends ManifestObject['kind']>(kind: K) => cp.objects.filter((o): o is Of<K> => o.kind === kind);
  const [ingObjs, classObjs, secretObjs] = [of('Ingress'), of('IngressClass'), of('Secret')];
  if (!ingObjs.length && !classObjs.length && !secretObjs.length) return null;
  const prev = cp.prev?.ingress;
  const classes = classObjs.map((o) => ({
    meta: metaFor('IngressClass', o, prev?.classes.find((c) => c.meta.name === o.name)?.meta, cp.cfg.now),
    ...o.resolved,
  }));
  const secrets = secretObjs.map((o) => ({
    meta: metaFor('Secret', o, prev?.secrets.find((c) => c.meta.namespace === o.namespace && c.meta.name === o.name)?.meta, cp.cfg.now),
    ...o.resolved,
  }));
  const defaults = classes.filter((c) => c.isDefault);
  const ingresses: Ingress[] = [];
  for (const o of ingObjs) {
    const before = cp.diagnostics.filter((d) => d.severity === 'error').length;
    const backend = (b: IngressBackend, at: Path) => {
      const svc = services.find((s) => s.meta.namespace === o.namespace && s.meta.name === b.service);
      if (!svc) {
        cp.error(
          o,
          [...at, 'service', 'name'],
          `Service "${o.namespace}/${b.service}" not found`,
          'the backend is a Service in the Ingress namespace; define it, or fix the name',
        );
        return;
      }
      const has = typeof b.port === 'number' ? svc.ports.some((p) => p.port === b.port) : svc.ports.some((p) => p.name === b.port);
      if (!has) {
        const which = typeof b.port === 'number' ? 'number' : 'name';
        cp.error(
          o,
          [...at, 'service', 'port', which],
          `Service "${o.namespace}/${b.service}" has no port ${typeof b.port === 'number' ? b.port : `named "${b.port}"`}`,
          `its ports: ${svc.ports.map((p) => (p.name ? `${p.port} (${p.name})` : String(p.port))).join(', ')}`,
        );
      }
    };
    if (o.resolved.defaultBackend) backend(o.resolved.defaultBackend, ['spec', 'defaultBackend']);
    // An object with an error is not here at all, so its rules and paths are all kept, in order.
    o.resolved.rules.forEach((rule, i) => rule.paths.forEach((p, j) => backend(p.backend, ['spec', 'rules', i, 'http', 'paths', j, 'backend'])));
    o.resolved.tls.forEach((t, i) => {
      const s = secrets.find((x) => x.meta.namespace === o.namespace && x.meta.name === t.secretName);
      if (!s)
        cp.error(
          o,
          ['spec', 'tls', i, 'secretName'],
          `Secret "${o.namespace}/${t.secretName}" not found`,
          'a kubernetes.io/tls Secret with tls.crt and tls.key, in the Ingress namespace (kubectl create secret tls NAME --cert tls.crt --key tls.key)',
        );
    });
    const name = o.resolved.ingressClassName;
    if (name !== null && !classes.some((c) => c.meta.name === name))
      cp.warn(
        o,
        'ingressClassName' in ((o.raw.spec as object | undefined) ?? {}) ? ['spec', 'ingressClassName'] : ['metadata', 'annotations'],
        `IngressClass "${name}" not found: no controller serves this Ingress`,
        'define the IngressClass (controller: k8s.io/ingress-nginx) or fix the name',
      );
    if (name === null && defaults.length !== 1)
      cp.warn(
        o,
        ['spec'],
        defaults.length
          ? 'this Ingress names no class and more than one IngressClass is the default'
          : 'this Ingress names no class and no IngressClass is the default: no controller serves it',
        'set spec.ingressClassName: nginx, or mark one IngressClass ingressclass.kubernetes.io/is-default-class: "true"',
      );
    if (cp.diagnostics.filter((d) => d.severity === 'error').length > before) continue;
    const meta = metaFor('Ingress', o, prev?.ingresses.find((x) => x.meta.namespace === o.namespace && x.meta.name === o.name)?.meta, cp.cfg.now);
    ingresses.push({ meta, ...o.resolved });
  }
  return { classes, ingresses, secrets };
}
