// One object, by its kind: kind and apiVersion, the top-level fields, metadata, then the checks of
// the kind (workloads.ts, service.ts, endpoints.ts, ingress.ts, kube-proxy-config.ts). Status is the
// cluster's to write and is ignored, except a LoadBalancer Service's load balancer addresses.

import { closest } from '../../labfile/suggest.js';
import { API_VERSIONS, type ManifestKind, type ManifestObject } from './types.js';
import { SUPPORTED, TOP_FIELDS } from './fields.js';
import { readKubeProxyConfiguration } from './kube-proxy-config.js';
import { describe, isJson, warnStatusIgnored, type ObjectReader } from './object-reader.js';
import { readDeployment, readPodSpec } from './workloads.js';
import { readService } from './service.js';
import { readEndpointSlice, readEndpoints } from './endpoints.js';
import { readIngress, readIngressClass, readSecret } from './ingress.js';

type Resolved = Omit<ManifestObject, 'file' | 'pos' | 'raw' | 'positions'>;

/** Checks one object and resolves it; every problem goes to the reader's `diagnostics`. */
export function readObject(r: ObjectReader, raw: unknown): Resolved | undefined {
  if (!isJson(raw)) {
    r.error([], `a manifest must be a map with apiVersion, kind and metadata, not ${describe(raw)}`);
    return undefined;
  }
  const obj = raw;
  const kind = r.string(obj.kind, ['kind'], `a manifest starts with apiVersion, kind and metadata; kind is one of ${Object.keys(API_VERSIONS).join(', ')}`);
  if (kind === undefined) return undefined;
  if (!(kind in API_VERSIONS)) {
    const guess = closest(kind, Object.keys(API_VERSIONS));
    r.error(['kind'], `kind "${kind}" is not supported`, guess ? `did you mean "${guess}"? ${SUPPORTED}` : SUPPORTED);
    return undefined;
  }
  const k = kind as ManifestKind;
  r.topFields = TOP_FIELDS[k];
  const apiVersion = r.string(obj.apiVersion, ['apiVersion'], `${k} is served by apiVersion ${API_VERSIONS[k]}`);
  if (apiVersion !== undefined && apiVersion !== API_VERSIONS[k]) {
    r.error(['apiVersion'], `no matches for kind "${k}" in version "${apiVersion}"`, `${k} is served by apiVersion ${API_VERSIONS[k]}`);
  }
  if (k === 'KubeProxyConfiguration') {
    const resolved = readKubeProxyConfiguration(r, obj);
    return resolved ? { kind: k, namespace: '', name: 'kube-proxy', labels: {}, annotations: {}, resolved } : undefined;
  }
  r.fields(obj, [], TOP_FIELDS[k], []);
  // A Service's status is read (service.ts): a LoadBalancer's stands for a cloud load balancer.
  if (obj.status !== undefined && obj.status !== null && k !== 'Service') warnStatusIgnored(r);
  const meta = r.metadata(obj.metadata, k);
  switch (k) {
    case 'Pod': {
      const resolved = readPodSpec(r, obj.spec, ['spec']);
      return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
    }
    case 'Deployment': {
      const resolved = readDeployment(r, obj.spec);
      return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
    }
    case 'Service': {
      const resolved = readService(r, obj.spec, obj.status);
      return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
    }
    case 'Endpoints': {
      const resolved = readEndpoints(r, obj.subsets);
      return meta ? { kind: k, ...meta, resolved } : undefined;
    }
    case 'EndpointSlice': {
      const resolved = readEndpointSlice(r, obj, meta?.labels ?? {});
      return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
    }
    case 'Ingress': {
      const resolved = readIngress(r, obj.spec, meta?.annotations ?? {});
      return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
    }
    case 'IngressClass': {
      const resolved = readIngressClass(r, obj.spec, meta?.annotations ?? {});
      return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
    }
    case 'Secret': {
      const resolved = readSecret(r, obj, meta?.annotations ?? {});
      return resolved && meta ? { kind: k, ...meta, resolved } : undefined;
    }
  }
}
