// Services: the cluster IP and node port allocators of kube-apiserver, and MetalLB's controller
// handing out load balancer addresses from the pool.

import type { LoadBalancerIngress, Service, ServicePort } from '../../api/objects.js';
import { network, parseCidr, parseIPv4, formatIPv4 } from '../../labfile/net.js';
import type { ManifestObject } from '../manifest/types.js';
import type { ControlPlane, Path } from './context.js';
import { keyOf, metaFor } from './meta.js';

type ServiceObject = Extract<ManifestObject, { kind: 'Service' }>;

/** The Services, with their cluster IPs, node ports and load balancer addresses; one that cannot have them is left out. */
export function allocateServices(cp: ControlPlane): Service[] {
  const objs = cp.objects.filter((o): o is ServiceObject => o.kind === 'Service');
  const prevOf = (o: ServiceObject) => cp.prev?.services.find((s) => s.meta.namespace === o.namespace && s.meta.name === o.name);
  const failed = new Set<ServiceObject>();
  const clusterIPs = allocateClusterIPs(cp, objs, prevOf, failed);
  const nodePorts = allocateNodePorts(
    cp,
    objs.filter((o) => !failed.has(o)),
    prevOf,
    failed,
  );
  const ingress = allocateLoadBalancerIPs(
    cp,
    objs.filter((o) => !failed.has(o)),
    prevOf,
  );
  return objs
    .filter((o) => !failed.has(o))
    .map((o) => {
      const s = o.resolved;
      const ports = nodePorts.get(o);
      return {
        meta: metaFor('Service', o, prevOf(o)?.meta, cp.cfg.now),
        type: s.type,
        clusterIP: clusterIPs.get(o) ?? null,
        ports: ports?.ports ?? s.ports,
        selector: s.selector,
        sessionAffinity: s.sessionAffinity,
        affinityTimeoutSeconds: s.affinityTimeoutSeconds,
        externalTrafficPolicy: s.externalTrafficPolicy,
        internalTrafficPolicy: s.internalTrafficPolicy,
        externalIPs: s.externalIPs,
        loadBalancerIP: s.loadBalancerIP,
        loadBalancerSourceRanges: s.loadBalancerSourceRanges,
        publishNotReadyAddresses: s.publishNotReadyAddresses,
        healthCheckNodePort: ports?.healthCheckNodePort ?? null,
        externalName: s.externalName,
        loadBalancerIngress: ingress.get(o) ?? [],
      };
    });
}

/**
 * Explicit addresses must lie inside the service CIDR and be free, as the API server checks.
 * Others are allocated lowest-free from network+10 (kube-apiserver picks at random from the
 * upper part of the range); network+1 (the kubernetes Service) and network+10 (kube-dns, by
 * kubeadm's convention) are never handed out. Services keep their earlier address.
 */
function allocateClusterIPs(
  cp: ControlPlane,
  objs: ServiceObject[],
  prevOf: (o: ServiceObject) => Service | undefined,
  failed: Set<ServiceObject>,
): Map<ServiceObject, string> {
  const cidr = parseCidr(cp.cfg.serviceCIDR);
  if (!cidr) throw new Error(`service CIDR ${cp.cfg.serviceCIDR} is not a CIDR`);
  const base = network(cidr);
  const broadcast = base + 2 ** (32 - cidr.prefix) - 1;
  const kubernetesService = base + 1;
  const kubeDns = base + 10;
  const inRange = (n: number) => n > base && n < broadcast;
  const holder = new Map<number, string>();
  const out = new Map<ServiceObject, string>();
  const hold = (o: ServiceObject, n: number) => {
    holder.set(n, keyOf(o.namespace, o.name));
    out.set(o, formatIPv4(n));
  };
  const wanted = objs.filter((o) => o.resolved.type !== 'ExternalName');
  for (const o of wanted) if (o.resolved.clusterIP === 'None') out.set(o, 'None');

  // 1. Earlier allocations, unless the manifest now asks for another address.
  for (const o of wanted) {
    const asked = o.resolved.clusterIP;
    const had = parseIPv4(prevOf(o)?.clusterIP ?? '');
    if (asked === 'None' || had === undefined || (asked !== null && parseIPv4(asked) !== had)) continue;
    if (inRange(had) && !holder.has(had)) hold(o, had);
  }
  // 2. Addresses asked for.
  for (const o of wanted) {
    const asked = o.resolved.clusterIP;
    if (asked === null || asked === 'None' || out.has(o)) continue;
    const n = parseIPv4(asked)!;
    const at: Path = o.raw.spec && (o.raw.spec as Record<string, unknown>).clusterIP !== undefined ? ['spec', 'clusterIP'] : ['spec', 'clusterIPs', 0];
    const other = n === kubernetesService && keyOf(o.namespace, o.name) !== 'default/kubernetes' ? 'default/kubernetes' : holder.get(n);
    if (!inRange(n)) {
      cp.error(
        o,
        at,
        `spec.clusterIP ${asked}: the provided IP is not in the valid range. The range of valid IPs is ${cp.cfg.serviceCIDR}`,
        'omit clusterIP to have one allocated, or pick an address in the service CIDR',
      );
      failed.add(o);
    } else if (other !== undefined) {
      cp.error(
        o,
        at,
        `spec.clusterIP ${asked}: the provided IP is already allocated`,
        `Service ${other} has it; omit clusterIP to have one allocated, or pick a free address`,
      );
      failed.add(o);
    } else hold(o, n);
  }
  // 3. The rest, allocated.
  let next = kubeDns;
  for (const o of wanted) {
    if (out.has(o) || failed.has(o)) continue;
    while (next < broadcast && (next === kubeDns || next === kubernetesService || holder.has(next))) next++;
    if (next >= broadcast) {
      cp.error(
        o,
        ['metadata', 'name'],
        `failed to allocate a serviceIP: range is full (${cp.cfg.serviceCIDR})`,
        'delete a Service, or give the cluster a larger service CIDR',
      );
      failed.add(o);
      continue;
    }
    hold(o, next);
  }
  return out;
}

/**
 * NodePort and LoadBalancer Services get a node port per port, and LoadBalancer + Local a
 * healthCheckNodePort. A port keeps the node port it had under the same name (the API server's
 * patchAllocatedValues); explicit ones must be free; the rest are allocated lowest-free from
 * the bottom of the range (kube-apiserver picks at random, from the upper part of the range).
 * One Service may use the same node port for two protocols; two Services may not share one.
 */
function allocateNodePorts(
  cp: ControlPlane,
  objs: ServiceObject[],
  prevOf: (o: ServiceObject) => Service | undefined,
  failed: Set<ServiceObject>,
): Map<ServiceObject, { ports: ServicePort[]; healthCheckNodePort: number | null }> {
  const [lo, hi] = cp.cfg.nodePortRange;
  const holder = new Map<number, { service: string; uses: Set<string> }>();
  const out = new Map<ServiceObject, { ports: ServicePort[]; healthCheckNodePort: number | null }>();
  const HEALTH = 'healthCheckNodePort';
  /** The service holding the port, or undefined once claimed. */
  const claim = (o: ServiceObject, n: number, use: string): string | undefined => {
    const service = keyOf(o.namespace, o.name);
    const h = holder.get(n);
    if (!h) holder.set(n, { service, uses: new Set([use]) });
    else if (h.service === service && !h.uses.has(use) && use !== HEALTH && !h.uses.has(HEALTH)) h.uses.add(use);
    else return h.service;
    return undefined;
  };
  const release = (o: ServiceObject) => {
    for (const [n, h] of holder) if (h.service === keyOf(o.namespace, o.name)) holder.delete(n);
  };

  const needing = objs.filter((o) => o.resolved.type === 'NodePort' || o.resolved.type === 'LoadBalancer');
  const wantsHealth = (o: ServiceObject) => o.resolved.type === 'LoadBalancer' && o.resolved.externalTrafficPolicy === 'Local';
  for (const o of needing) {
    out.set(o, { ports: o.resolved.ports.map((p) => ({ ...p })), healthCheckNodePort: wantsHealth(o) ? o.resolved.healthCheckNodePort : null });
  }
  const explicit = new Set<string>();
  for (const o of needing) {
    o.resolved.ports.forEach((p, i) => p.nodePort !== null && explicit.add(`${keyOf(o.namespace, o.name)}#${i}`));
    if (o.resolved.healthCheckNodePort !== null) explicit.add(`${keyOf(o.namespace, o.name)}#${HEALTH}`);
  }

  // 1. Earlier allocations: a port keeps the node port its name had, and a port asking for
  //    the node port it already has gets it before any other Service's request.
  for (const o of needing) {
    const service = keyOf(o.namespace, o.name);
    const had = prevOf(o);
    const mine = out.get(o)!;
    const keep = (old: number | null | undefined, asked: number | null, use: string): old is number =>
      !!old && old >= lo && old <= hi && (asked === null || asked === old) && claim(o, old, use) === undefined;
    mine.ports.forEach((p, i) => {
      const old = had?.ports.find((q) => q.name === p.name)?.nodePort;
      if (!keep(old, p.nodePort, p.protocol)) return;
      p.nodePort = old;
      explicit.delete(`${service}#${i}`);
    });
    const oldHealth = had?.healthCheckNodePort;
    if (wantsHealth(o) && keep(oldHealth, mine.healthCheckNodePort, HEALTH)) {
      mine.healthCheckNodePort = oldHealth;
      explicit.delete(`${service}#${HEALTH}`);
    }
  }
  // 2. Ports asked for.
  for (const o of needing) {
    const mine = out.get(o)!;
    const service = keyOf(o.namespace, o.name);
    const check = (n: number, use: string, path: Path, what: string): boolean => {
      if (n < lo || n > hi) {
        cp.error(o, path, `${what} ${n} is outside ${lo}-${hi}`, 'omit nodePort to have one allocated, or pick a port in the NodePort range');
        return false;
      }
      const other = claim(o, n, use);
      if (other === undefined) return true;
      cp.error(
        o,
        path,
        `${what} ${n}: provided port is already allocated`,
        `${other === service ? 'this Service' : `Service ${other}`} uses it; omit it to have one allocated, or pick a free port`,
      );
      return false;
    };
    let ok = true;
    mine.ports.forEach((p, i) => {
      if (explicit.has(`${service}#${i}`)) ok = check(p.nodePort!, p.protocol, ['spec', 'ports', i, 'nodePort'], `spec.ports[${i}].nodePort`) && ok;
    });
    if (explicit.has(`${service}#${HEALTH}`) && mine.healthCheckNodePort !== null) {
      ok = check(mine.healthCheckNodePort, HEALTH, ['spec', 'healthCheckNodePort'], 'spec.healthCheckNodePort') && ok;
    }
    if (!ok) {
      failed.add(o);
      release(o);
    }
  }
  // 3. The rest, allocated.
  let next = lo;
  const allocate = (o: ServiceObject): number | undefined => {
    while (next <= hi && holder.has(next)) next++;
    if (next > hi) {
      cp.error(
        o,
        ['spec', 'ports'],
        `failed to allocate a nodePort: range is full (${lo}-${hi})`,
        'delete a NodePort Service, or set nodePort on the ports that need fixed ones',
      );
      return undefined;
    }
    holder.set(next, { service: keyOf(o.namespace, o.name), uses: new Set(['allocated']) });
    return next;
  };
  for (const o of needing) {
    if (failed.has(o)) continue;
    const mine = out.get(o)!;
    for (const p of mine.ports) if (p.nodePort === null) p.nodePort = allocate(o) ?? null;
    if (wantsHealth(o) && mine.healthCheckNodePort === null) mine.healthCheckNodePort = allocate(o) ?? null;
    if (mine.ports.some((p) => p.nodePort === null) || (wantsHealth(o) && mine.healthCheckNodePort === null)) {
      failed.add(o);
      release(o);
    }
  }
  return out;
}

/**
 * MetalLB's controller: each LoadBalancer Service gets an address of the pool, the one in
 * spec.loadBalancerIP if it asks for one, else the first free one. Every address of a pool CIDR
 * is used, its first and last included (MetalLB skips the .0 and .255 ones only with
 * avoidBuggyIPs), so 192.168.56.240/28 starts at 192.168.56.240. Without a pool, or with the
 * pool used up, the Service stays <pending> and gets an AllocationFailed event.
 *
 * A Service whose manifest writes status.loadBalancer.ingress has a cloud provider's load
 * balancer: it keeps those entries, and MetalLB does not allocate for it (as for a Service of
 * another loadBalancerClass). Its addresses may not come from MetalLB's pool, which would hand
 * them out again.
 */
function allocateLoadBalancerIPs(
  cp: ControlPlane,
  objs: ServiceObject[],
  prevOf: (o: ServiceObject) => Service | undefined,
): Map<ServiceObject, LoadBalancerIngress[]> {
  const pool: number[] = [];
  for (const c of cp.cfg.lbPool) {
    const cidr = parseCidr(c.includes('/') ? c : `${c}/32`);
    if (!cidr) throw new Error(`load balancer pool ${c} is not a CIDR`);
    const base = network(cidr);
    for (let n = base; n < base + 2 ** (32 - cidr.prefix); n++) pool.push(n);
  }
  const inPool = new Set(pool);
  const holder = new Map<number, string>();
  const out = new Map<ServiceObject, LoadBalancerIngress[]>();
  for (const o of objs) {
    const given = o.resolved.statusIngress;
    if (o.resolved.type !== 'LoadBalancer' || given === null) continue;
    out.set(o, given);
    given.forEach((ing, i) => {
      if (!inPool.has(parseIPv4(ing.ip)!)) return;
      cp.error(
        o,
        ['status', 'loadBalancer', 'ingress', i, 'ip'],
        `status.loadBalancer.ingress[${i}].ip ${ing.ip} is in MetalLB's address pool (${cp.cfg.lbPool.join(', ')})`,
        "a load balancer address written in the status stands for a cloud provider's load balancer: pick one outside the pool, or remove status to let MetalLB allocate",
      );
    });
  }
  const lbs = objs.filter((o) => o.resolved.type === 'LoadBalancer' && o.resolved.statusIngress === null);
  const object = (o: ServiceObject) => `service/${o.name}`;
  const failed = (o: ServiceObject, why: string) =>
    cp.event(object(o), o.namespace, 'Warning', 'AllocationFailed', `Failed to allocate IP for "${keyOf(o.namespace, o.name)}": ${why}`, 'metallb-controller');
  const assign = (o: ServiceObject, n: number) => {
    holder.set(n, keyOf(o.namespace, o.name));
    // MetalLB sets ipMode VIP on what it assigns: the address reaches a node unchanged.
    out.set(o, [{ ip: formatIPv4(n), ipMode: 'VIP' }]);
  };

  // 1. Earlier assignments, unless the Service now asks for another address.
  for (const o of lbs) {
    const had = parseIPv4(prevOf(o)?.loadBalancerIngress[0]?.ip ?? '');
    const asked = o.resolved.loadBalancerIP;
    if (had === undefined || (asked !== null && parseIPv4(asked) !== had) || !inPool.has(had) || holder.has(had)) continue;
    assign(o, had);
  }
  // 2. Addresses asked for, then 3. the first free ones.
  for (const o of lbs) {
    const asked = o.resolved.loadBalancerIP;
    if (out.has(o) || asked === null) continue;
    const n = parseIPv4(asked)!;
    // MetalLB would leave the Service <pending> for good ("is not allowed in config"): a lab that
    // asks for an address outside the pool it declares is refused before anything runs.
    if (!inPool.has(n) && pool.length > 0)
      cp.error(
        o,
        ['spec', 'loadBalancerIP'],
        `spec.loadBalancerIP ${asked} is outside MetalLB's address pool (${cp.cfg.lbPool.join(', ')})`,
        'MetalLB never assigns it and the Service stays <pending>: pick an address in cluster.loadBalancer.addresses, or leave loadBalancerIP out',
      );
    else if (!inPool.has(n)) failed(o, `["${asked}"] is not allowed in config`);
    else if (holder.has(n)) failed(o, `["${asked}"] is already in use by ${holder.get(n)}`);
    else {
      assign(o, n);
      cp.event(object(o), o.namespace, 'Normal', 'IPAllocated', `Assigned IP ["${asked}"]`, 'metallb-controller');
    }
  }
  for (const o of lbs) {
    if (out.has(o) || o.resolved.loadBalancerIP !== null) continue;
    const n = pool.find((a) => !holder.has(a));
    if (n === undefined) {
      failed(o, 'no available IPs');
      continue;
    }
    assign(o, n);
    cp.event(object(o), o.namespace, 'Normal', 'IPAllocated', `Assigned IP ["${formatIPv4(n)}"]`, 'metallb-controller');
  }
  return out;
}
