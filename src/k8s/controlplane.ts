// The mini control plane, as pure functions: what kube-apiserver's allocators, the Deployment and
// ReplicaSet controllers, the scheduler, the CNI's IPAM, MetalLB's controller and the
// EndpointSlice controllers would make of a set of manifests. Where Kubernetes picks at random
// (cluster IPs, node ports, generated names) knetlab picks deterministically, so that the same
// lab gives the same addresses and names on every run; the comments say where.

import { createHash } from 'node:crypto';
import type { Diagnostic } from '../labfile/diagnostics.js';
import { network, parseCidr, parseIPv4, formatIPv4 } from '../labfile/net.js';
import { fieldPath, positionIn, type EndpointsSpec, type ManifestObject, type PodSpec } from './manifest.js';
import type { ClusterState, Deployment, EndpointSlice, Meta, Pod, Protocol, Service, ServicePort, SliceEndpoint, SlicePort } from '../api/objects.js';

export interface ControlPlaneConfig {
  /** kube-apiserver --service-cluster-ip-range */
  serviceCIDR: string;
  /** kube-apiserver --service-node-port-range */
  nodePortRange: [number, number];
  nodes: {
    name: string;
    podCIDR: string;
    /** Offset of the first pod address: 2 for host-local (flannel, bridge: .1 is cni0), 1 for Calico. */
    firstHost: number;
    /** Addresses already used by the lab's own pods. */
    reserved: string[];
  }[];
  /** MetalLB IPAddressPool addresses (CIDRs); empty: no load balancer. */
  lbPool: string[];
  /** RFC 3339; the creationTimestamp of objects created now. */
  now: string;
}

/** An event as `kubectl describe` lists it; `object` is kubectl's kind/name (service/web). */
export interface ClusterEvent {
  object: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** The reporting component (the event's source), e.g. metallb-controller. */
  source: string;
}

export interface ReconcileResult {
  state: ClusterState;
  diagnostics: Diagnostic[];
  events: ClusterEvent[];
}

const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';

/** k8s.io/apimachinery/pkg/util/rand's alphabet: no vowels (no words), no 0/1/3 (no look-alikes). */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
/** names.SimpleNameGenerator keeps generateName to 58 characters so that name + 5 fits in 63. */
const MAX_GENERATE_NAME = 58;

/** rand.SafeEncodeString: every character mapped through the alphabet. */
export function safeEncodeString(s: string): string {
  return [...s].map((c) => ALPHANUMS[c.codePointAt(0)! % ALPHANUMS.length]).join('');
}

/**
 * The pod-template-hash label: controller.ComputeHash is rand.SafeEncodeString of the decimal
 * FNV-1a 32-bit hash of the template. Kubernetes hashes its Go structure after defaulting; knetlab
 * hashes the template as written, as canonical JSON (sorted keys), so the value has the same
 * shape and changes whenever the template does, but differs from a real cluster's.
 */
export function podTemplateHash(template: unknown): string {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(canonicalJson(template), 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return safeEncodeString(String(h));
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * generateName as the API server completes it: the prefix (cut to 58 characters) and 5 characters
 * of the alphabet. Kubernetes draws them at random; knetlab derives them from sha256(seed).
 */
function generatedName(prefix: string, seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  return prefix.slice(0, MAX_GENERATE_NAME) + [...digest.subarray(0, 5)].map((b) => ALPHANUMS[b % ALPHANUMS.length]).join('');
}

/** A version-4-shaped UUID derived from the object's identity and creation time (the API server's is random). */
function uidFor(kind: string, namespace: string, name: string, created: string): string {
  const h = createHash('sha256').update(`${kind}/${namespace}/${name}@${created}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function metaFor(
  kind: string,
  o: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> },
  prev: Meta | undefined,
  now: string,
): Meta {
  const creationTimestamp = prev?.creationTimestamp ?? now;
  return {
    name: o.name,
    namespace: o.namespace,
    labels: o.labels,
    annotations: o.annotations,
    creationTimestamp,
    uid: prev?.uid ?? uidFor(kind, o.namespace, o.name, creationTimestamp),
  };
}

const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

type Path = (string | number)[];
type ServiceObject = Extract<ManifestObject, { kind: 'Service' }>;
type DeploymentObject = Extract<ManifestObject, { kind: 'Deployment' }>;

/** A pod the controllers want to exist, before it is scheduled and given an address. */
interface PodRequest {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: PodSpec;
  owner: string | null;
  replicaSet: string | null;
  source: ManifestObject;
  /** Where spec.nodeName is written in the source. */
  nodeNamePath: Path;
  prev: Pod | undefined;
}

interface NodeSlot {
  name: string;
  podCIDR: string;
  first: number;
  last: number;
  /** Pod addresses in use, the lab's own pods' included. */
  taken: Set<number>;
  pods: number;
}

/**
 * Bring the cluster to what `objects` describe, keeping from `prev` everything that still applies:
 * uids and creation times, pod names, nodes, addresses and readiness, cluster IPs, node ports,
 * load balancer addresses. Objects missing from `objects` are gone, and so are their allocations.
 * An object the API server would refuse (an address already allocated, a port outside the range)
 * gets an error and is left out of the state; the rest of the cluster is still reconciled.
 */
export function reconcile(objects: ManifestObject[], cfg: ControlPlaneConfig, prev: ClusterState | null): ReconcileResult {
  return new ControlPlane(objects, cfg, prev).run();
}

class ControlPlane {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly events: ClusterEvent[] = [];

  constructor(
    private readonly objects: ManifestObject[],
    private readonly cfg: ControlPlaneConfig,
    private readonly prev: ClusterState | null,
  ) {}

  run(): ReconcileResult {
    const { pods, deployments } = this.workloads();
    const services = this.services();
    const state: ClusterState = { pods, deployments, services, slices: this.prev?.slices ?? [] };
    this.checkEndpointObjects(services);
    return {
      state: { ...state, slices: computeSlices(state, { objects: this.objects, now: this.cfg.now }) },
      diagnostics: this.diagnostics,
      events: this.events,
    };
  }

  private error(obj: ManifestObject, path: Path, message: string, hint?: string): void {
    const pos = positionIn(obj, path);
    // A Deployment's replicas share one source: one error per place is enough.
    if (this.diagnostics.some((d) => d.file === obj.file && d.pos.line === pos.line && d.pos.col === pos.col && d.message === message)) return;
    this.diagnostics.push({ file: obj.file, pos, severity: 'error', message, hint });
  }

  private warn(obj: ManifestObject, path: Path, message: string, hint?: string): void {
    this.diagnostics.push({ file: obj.file, pos: positionIn(obj, path, 'key'), severity: 'warning', message, hint });
  }

  private event(object: string, type: ClusterEvent['type'], reason: string, message: string, source: string): void {
    this.events.push({ object, type, reason, message, source });
  }

  // ---- Deployments, ReplicaSets, pods: the controllers, the scheduler and the CNI's IPAM ----

  private workloads(): { pods: Pod[]; deployments: Deployment[] } {
    const prevPods = this.prev?.pods ?? [];
    const requests: PodRequest[] = [];
    const deployments: Deployment[] = [];
    // Names already given: bare pods keep theirs, replicas must not take one of them.
    const names = new Set(this.objects.filter((o) => o.kind === 'Pod').map((o) => keyOf(o.namespace, o.name)));
    for (const o of this.objects) {
      if (o.kind === 'Pod') {
        const prev = prevPods.find((p) => p.owner === null && p.meta.namespace === o.namespace && p.meta.name === o.name);
        const { name, namespace, labels, annotations } = o;
        requests.push({
          name,
          namespace,
          labels,
          annotations,
          spec: o.resolved,
          owner: null,
          replicaSet: null,
          source: o,
          nodeNamePath: ['spec', 'nodeName'],
          prev,
        });
      } else if (o.kind === 'Deployment') {
        deployments.push(this.deployment(o, prevPods, names, requests));
      }
    }
    return { pods: this.schedule(requests, prevPods), deployments };
  }

  /**
   * The Deployment controller and its ReplicaSet, collapsed: the ReplicaSet is named after the
   * template's hash, so a changed template means a new ReplicaSet and every pod replaced. (A real
   * Deployment rolls this out maxSurge/maxUnavailable at a time; the end state is the same.)
   */
  private deployment(o: DeploymentObject, prevPods: Pod[], names: Set<string>, requests: PodRequest[]): Deployment {
    const d = o.resolved;
    const hash = podTemplateHash((o.raw.spec as Record<string, unknown>).template);
    const rs = `${o.name}-${hash}`;
    const owner = `Deployment/${o.name}`;
    const deploymentObject = `deployment/${o.name}`;
    const owned = prevPods.filter((p) => p.meta.namespace === o.namespace && p.owner === owner);
    const current = owned.filter((p) => p.replicaSet === rs);

    for (const old of new Set(owned.filter((p) => p.replicaSet !== rs).map((p) => p.replicaSet!))) {
      const gone = owned.filter((p) => p.replicaSet === old);
      this.event(deploymentObject, 'Normal', 'ScalingReplicaSet', `Scaled down replica set ${old} from ${gone.length} to 0`, 'deployment-controller');
      for (const p of gone) this.event(`replicaset/${old}`, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.meta.name}`, 'replicaset-controller');
    }
    if (current.length !== d.replicas) {
      const verb = current.length < d.replicas ? 'up' : 'down';
      this.event(
        deploymentObject,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${verb} replica set ${rs} from ${current.length} to ${d.replicas}`,
        'deployment-controller',
      );
    }

    // Scaling down removes pods in the ReplicaSet controller's order (controller.ActivePodsWithRanks):
    // not-ready before ready, then the newest first; its other criteria (phase, pods sharing a
    // node, restarts) do not apply here. prevPods is in creation order.
    const doomed = new Set(
      [...current]
        .sort((a, b) => Number(a.ready) - Number(b.ready) || current.indexOf(b) - current.indexOf(a))
        .slice(0, Math.max(0, current.length - d.replicas)),
    );
    for (const p of doomed) this.event(`replicaset/${rs}`, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.meta.name}`, 'replicaset-controller');
    const kept = current.filter((p) => !doomed.has(p));
    for (const p of kept) names.add(keyOf(o.namespace, p.meta.name));

    const template = d.template;
    const request = (name: string, prev: Pod | undefined): PodRequest => ({
      name,
      namespace: o.namespace,
      labels: { ...template.labels, 'pod-template-hash': hash },
      annotations: template.annotations,
      spec: template.spec,
      owner,
      replicaSet: rs,
      source: o,
      nodeNamePath: ['spec', 'template', 'spec', 'nodeName'],
      prev,
    });
    requests.push(...kept.map((p) => request(p.meta.name, p)));
    for (let index = 0, missing = d.replicas - kept.length; missing > 0; index++) {
      const name = generatedName(`${rs}-`, `${rs}${index}`);
      if (names.has(keyOf(o.namespace, name))) continue;
      names.add(keyOf(o.namespace, name));
      requests.push(request(name, undefined));
      this.event(`replicaset/${rs}`, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, 'replicaset-controller');
      missing--;
    }

    const prevDeployment = this.prev?.deployments.find((x) => x.meta.namespace === o.namespace && x.meta.name === o.name);
    return {
      meta: metaFor('Deployment', o, prevDeployment?.meta, this.cfg.now),
      replicas: d.replicas,
      selector: d.selector,
      template: { labels: template.labels, containers: template.spec.containers, nodeName: template.spec.nodeName },
      templateHash: hash,
    };
  }

  /**
   * Pods that existed stay on their node with their address; pods bound by spec.nodeName go to
   * that node; the others are spread: each to the node with the fewest pods, ties in node order.
   * Addresses come from the node's podCIDR, lowest free first from network + firstHost.
   * (host-local continues after the last address it handed out; lowest-free repeats across runs.)
   */
  private schedule(requests: PodRequest[], prevPods: Pod[]): Pod[] {
    const slots: NodeSlot[] = this.cfg.nodes.map((n) => {
      const cidr = parseCidr(n.podCIDR);
      if (!cidr) throw new Error(`node ${n.name}: podCIDR ${n.podCIDR} is not a CIDR`);
      const base = network(cidr);
      const broadcast = base + 2 ** (32 - cidr.prefix) - 1;
      return {
        name: n.name,
        podCIDR: n.podCIDR,
        first: base + n.firstHost,
        last: broadcast - 1,
        taken: new Set(n.reserved.map((r) => parseIPv4(r)!)),
        pods: 0,
      };
    });
    const slotOf = (name: string | null) => slots.find((s) => s.name === name);
    const placed = new Map<PodRequest, { slot: NodeSlot; ip: number | undefined }>();

    // 1. Pods that exist keep their node and, when still valid there, their address.
    for (const r of requests) {
      const slot = slotOf(r.prev?.nodeName ?? null);
      if (!r.prev || !slot || (r.spec.nodeName !== null && r.spec.nodeName !== slot.name)) continue;
      const ip = parseIPv4(r.prev.podIP);
      const usable = ip !== undefined && ip >= slot.first && ip <= slot.last && !slot.taken.has(ip);
      if (usable) slot.taken.add(ip);
      slot.pods++;
      placed.set(r, { slot, ip: usable ? ip : undefined });
    }
    // 2. Pods bound to a node by name: the scheduler is bypassed.
    for (const r of requests) {
      if (placed.has(r) || r.spec.nodeName === null) continue;
      const slot = slotOf(r.spec.nodeName);
      if (!slot) {
        this.error(
          r.source,
          r.nodeNamePath,
          `${fieldPath(r.nodeNamePath)} "${r.spec.nodeName}" is not a node of this cluster`,
          `the nodes are ${slots.map((s) => s.name).join(', ') || '(none)'}; remove nodeName to let the scheduler place the pod`,
        );
        continue;
      }
      slot.pods++;
      placed.set(r, { slot, ip: undefined });
    }
    // 3. The rest, spread.
    for (const r of requests) {
      if (placed.has(r) || r.spec.nodeName !== null) continue;
      const slot = slots.reduce<NodeSlot | undefined>((best, s) => (!best || s.pods < best.pods ? s : best), undefined);
      if (!slot) {
        this.error(r.source, ['metadata', 'name'], `0/0 nodes are available: pod ${r.name} cannot be scheduled`, 'the cluster has no nodes');
        continue;
      }
      slot.pods++;
      placed.set(r, { slot, ip: undefined });
      this.event(`pod/${r.name}`, 'Normal', 'Scheduled', `Successfully assigned ${r.namespace}/${r.name} to ${slot.name}`, 'default-scheduler');
    }

    const pods: { pod: Pod; order: number }[] = [];
    requests.forEach((r, i) => {
      const p = placed.get(r);
      if (!p) return;
      let ip = p.ip;
      if (ip === undefined) {
        for (let a = p.slot.first; a <= p.slot.last && ip === undefined; a++) if (!p.slot.taken.has(a)) ip = a;
        if (ip === undefined) {
          this.error(
            r.source,
            ['metadata', 'name'],
            `pod ${r.name}: failed to allocate for range 0: no IP addresses available in range set ${p.slot.podCIDR} on node ${p.slot.name}`,
            "the node's podCIDR is full: run fewer pods on it",
          );
          return;
        }
        p.slot.taken.add(ip);
      }
      // No readiness probe: Ready as soon as the containers run. With one, a new pod starts not
      // ready and waits for the prober; a pod that existed keeps what the prober last said.
      const probed = r.spec.containers.some((c) => c.readinessProbe !== null);
      const prevIndex = r.prev ? prevPods.indexOf(r.prev) : -1;
      pods.push({
        order: prevIndex >= 0 ? prevIndex : prevPods.length + i,
        pod: {
          meta: metaFor('Pod', r, r.prev?.meta, this.cfg.now),
          nodeName: p.slot.name,
          podIP: formatIPv4(ip),
          hostname: r.spec.hostname,
          subdomain: r.spec.subdomain,
          containers: r.spec.containers,
          owner: r.owner,
          replicaSet: r.replicaSet,
          ready: probed ? (r.prev?.ready ?? false) : true,
        },
      });
    });
    return pods.sort((a, b) => a.order - b.order).map((p) => p.pod);
  }

  // ---- Services: the cluster IP and node port allocators, MetalLB's controller ----

  private services(): Service[] {
    const objs = this.objects.filter((o): o is ServiceObject => o.kind === 'Service');
    const prevOf = (o: ServiceObject) => this.prev?.services.find((s) => s.meta.namespace === o.namespace && s.meta.name === o.name);
    const failed = new Set<ServiceObject>();
    const clusterIPs = this.allocateClusterIPs(objs, prevOf, failed);
    const nodePorts = this.allocateNodePorts(
      objs.filter((o) => !failed.has(o)),
      prevOf,
      failed,
    );
    const ingress = this.allocateLoadBalancerIPs(
      objs.filter((o) => !failed.has(o)),
      prevOf,
    );
    return objs
      .filter((o) => !failed.has(o))
      .map((o) => {
        const s = o.resolved;
        const ports = nodePorts.get(o);
        return {
          meta: metaFor('Service', o, prevOf(o)?.meta, this.cfg.now),
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
          ingressIPs: ingress.get(o) ?? [],
        };
      });
  }

  /**
   * Explicit addresses must lie inside the service CIDR and be free, as the API server checks.
   * Others are allocated lowest-free from network+10 (kube-apiserver picks at random from the
   * upper part of the range); network+1 (the kubernetes Service) and network+10 (kube-dns, by
   * kubeadm's convention) are never handed out. Services keep their earlier address.
   */
  private allocateClusterIPs(objs: ServiceObject[], prevOf: (o: ServiceObject) => Service | undefined, failed: Set<ServiceObject>): Map<ServiceObject, string> {
    const cidr = parseCidr(this.cfg.serviceCIDR);
    if (!cidr) throw new Error(`service CIDR ${this.cfg.serviceCIDR} is not a CIDR`);
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
        this.error(
          o,
          at,
          `spec.clusterIP ${asked}: the provided IP is not in the valid range. The range of valid IPs is ${this.cfg.serviceCIDR}`,
          'omit clusterIP to have one allocated, or pick an address in the service CIDR',
        );
        failed.add(o);
      } else if (other !== undefined) {
        this.error(
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
        this.error(
          o,
          ['metadata', 'name'],
          `failed to allocate a serviceIP: range is full (${this.cfg.serviceCIDR})`,
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
  private allocateNodePorts(
    objs: ServiceObject[],
    prevOf: (o: ServiceObject) => Service | undefined,
    failed: Set<ServiceObject>,
  ): Map<ServiceObject, { ports: ServicePort[]; healthCheckNodePort: number | null }> {
    const [lo, hi] = this.cfg.nodePortRange;
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
          this.error(o, path, `${what} ${n} is outside ${lo}-${hi}`, 'omit nodePort to have one allocated, or pick a port in the NodePort range');
          return false;
        }
        const other = claim(o, n, use);
        if (other === undefined) return true;
        this.error(
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
        this.error(
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
   */
  private allocateLoadBalancerIPs(objs: ServiceObject[], prevOf: (o: ServiceObject) => Service | undefined): Map<ServiceObject, string[]> {
    const pool: number[] = [];
    for (const c of this.cfg.lbPool) {
      const cidr = parseCidr(c.includes('/') ? c : `${c}/32`);
      if (!cidr) throw new Error(`load balancer pool ${c} is not a CIDR`);
      const base = network(cidr);
      for (let n = base; n < base + 2 ** (32 - cidr.prefix); n++) pool.push(n);
    }
    const holder = new Map<number, string>();
    const out = new Map<ServiceObject, string[]>();
    const lbs = objs.filter((o) => o.resolved.type === 'LoadBalancer');
    const object = (o: ServiceObject) => `service/${o.name}`;
    const failed = (o: ServiceObject, why: string) =>
      this.event(object(o), 'Warning', 'AllocationFailed', `Failed to allocate IP for "${keyOf(o.namespace, o.name)}": ${why}`, 'metallb-controller');
    const assign = (o: ServiceObject, n: number) => {
      holder.set(n, keyOf(o.namespace, o.name));
      out.set(o, [formatIPv4(n)]);
    };

    // 1. Earlier assignments, unless the Service now asks for another address.
    for (const o of lbs) {
      const had = parseIPv4(prevOf(o)?.ingressIPs[0] ?? '');
      const asked = o.resolved.loadBalancerIP;
      if (had === undefined || (asked !== null && parseIPv4(asked) !== had) || !pool.includes(had) || holder.has(had)) continue;
      assign(o, had);
    }
    // 2. Addresses asked for, then 3. the first free ones.
    for (const o of lbs) {
      const asked = o.resolved.loadBalancerIP;
      if (out.has(o) || asked === null) continue;
      const n = parseIPv4(asked)!;
      if (!pool.includes(n)) failed(o, `["${asked}"] is not allowed in config`);
      else if (holder.has(n)) failed(o, `["${asked}"] is already in use by ${holder.get(n)}`);
      else {
        assign(o, n);
        this.event(object(o), 'Normal', 'IPAllocated', `Assigned IP ["${asked}"]`, 'metallb-controller');
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
      this.event(object(o), 'Normal', 'IPAllocated', `Assigned IP ["${formatIPv4(n)}"]`, 'metallb-controller');
    }
    return out;
  }

  /** Hand-written endpoints that nothing will use deserve a word. */
  private checkEndpointObjects(services: Service[]): void {
    for (const o of this.objects) {
      if (o.kind !== 'Endpoints' && o.kind !== 'EndpointSlice') continue;
      const target = o.kind === 'Endpoints' ? o.name : o.resolved.service;
      const svc = services.find((s) => s.meta.namespace === o.namespace && s.meta.name === target);
      if (!svc) {
        this.warn(
          o,
          o.kind === 'Endpoints' ? ['metadata', 'name'] : ['metadata', 'labels', 'kubernetes.io/service-name'],
          `there is no Service ${keyOf(o.namespace, target)}: kube-proxy does not use these ${o.kind}`,
          'add a Service of that name without a selector',
        );
      } else if (o.kind === 'Endpoints' && svc.selector !== null) {
        this.warn(
          o,
          ['metadata', 'name'],
          `Service ${keyOf(o.namespace, target)} has a selector, so the endpoints controller owns its endpoints and these are replaced`,
          "remove the Service's selector to list its endpoints by hand, or remove these Endpoints",
        );
      } else if (o.kind === 'Endpoints' && svc.type === 'ExternalName') {
        this.warn(o, ['metadata', 'name'], `Service ${keyOf(o.namespace, target)} is an ExternalName Service: it has no endpoints, and these are ignored`);
      }
    }
  }
}

// ---- EndpointSlices ----

/**
 * The EndpointSlices the controllers keep for `state`: for each Service with a selector, the
 * EndpointSlice controller's slices from the matching pods; for each Service without one, the
 * mirroring controller's copy of its Endpoints; and hand-written slices as they are. Pods carry
 * their readiness, so a prober that flips `pod.ready` calls computeSlices(state) for the new
 * slices: without `from`, the mirrored and hand-written slices already in `state` are kept, and
 * a slice that did not exist yet is dated like its Service. Slices that existed keep their uid
 * and creationTimestamp.
 */
export function computeSlices(state: ClusterState, from?: { objects: readonly ManifestObject[]; now: string }): EndpointSlice[] {
  const existing = new Map(state.slices.map((s) => [keyOf(s.meta.namespace, s.meta.name), s]));
  const slice = (svc: Service, ports: SlicePort[], endpoints: SliceEndpoint[], managedBy: string): EndpointSlice => {
    const name = generatedName(`${svc.meta.name}-`, `${keyOf(svc.meta.namespace, svc.meta.name)}:${managedBy}:${JSON.stringify(ports)}`);
    const labels = { 'kubernetes.io/service-name': svc.meta.name, 'endpointslice.kubernetes.io/managed-by': managedBy };
    const prev = existing.get(keyOf(svc.meta.namespace, name))?.meta;
    const meta = metaFor('EndpointSlice', { name, namespace: svc.meta.namespace, labels, annotations: {} }, prev, from?.now ?? svc.meta.creationTimestamp);
    return { meta, service: svc.meta.name, ports, endpoints, managedBy };
  };
  const out: EndpointSlice[] = [];
  for (const svc of state.services) {
    if (svc.type === 'ExternalName') continue;
    if (svc.selector !== null) {
      out.push(...selectedSlices(svc, state.pods).map((g) => slice(svc, g.ports, g.endpoints, ENDPOINTSLICE_CONTROLLER)));
    } else if (from) {
      const eps = from.objects.find(
        (o): o is Extract<ManifestObject, { kind: 'Endpoints' }> => o.kind === 'Endpoints' && o.namespace === svc.meta.namespace && o.name === svc.meta.name,
      );
      if (eps) out.push(...mirroredSlices(eps.resolved).map((g) => slice(svc, g.ports, g.endpoints, MIRRORING_CONTROLLER)));
    } else {
      out.push(...state.slices.filter((s) => s.managedBy === MIRRORING_CONTROLLER && s.meta.namespace === svc.meta.namespace && s.service === svc.meta.name));
    }
  }
  if (!from) return [...out, ...state.slices.filter((s) => s.managedBy !== ENDPOINTSLICE_CONTROLLER && s.managedBy !== MIRRORING_CONTROLLER)];
  for (const o of from.objects) {
    if (o.kind !== 'EndpointSlice') continue;
    const meta = metaFor('EndpointSlice', o, existing.get(keyOf(o.namespace, o.name))?.meta, from.now);
    out.push({ meta, service: o.resolved.service, ports: o.resolved.ports, endpoints: o.resolved.endpoints, managedBy: 'user' });
  }
  return out;
}

/**
 * The EndpointSlice controller's view of one Service: a pod's ports are the Service ports whose
 * targetPort it has (a named targetPort is looked up among its container ports by name and
 * protocol, podutil.FindPort); pods are grouped by those ports, one slice per group. A Service
 * that selects nothing still gets one empty slice (the controller's placeholder).
 */
function selectedSlices(svc: Service, pods: Pod[]): { ports: SlicePort[]; endpoints: SliceEndpoint[] }[] {
  const groups = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
  const selected = pods
    .filter((p) => p.meta.namespace === svc.meta.namespace && matches(svc.selector!, p.meta.labels))
    .sort((a, b) => (a.meta.name < b.meta.name ? -1 : a.meta.name > b.meta.name ? 1 : 0));
  for (const pod of selected) {
    const ports = svc.ports.flatMap((sp): SlicePort[] => {
      const port = targetPortOf(pod, sp.targetPort, sp.protocol);
      return port === null ? [] : [{ name: sp.name, port, protocol: sp.protocol }];
    });
    const key = JSON.stringify(ports);
    const group = groups.get(key) ?? { ports, endpoints: [] };
    groups.set(key, group);
    // podToEndpoint: serving is the pod's readiness; ready also when the Service publishes
    // not-ready addresses (headless Services for StatefulSet peers).
    group.endpoints.push({
      address: pod.podIP,
      conditions: { ready: svc.publishNotReadyAddresses || pod.ready, serving: pod.ready, terminating: false },
      nodeName: pod.nodeName,
      pod: pod.meta.name,
    });
  }
  return groups.size > 0 ? [...groups.values()] : [{ ports: [], endpoints: [] }];
}

function targetPortOf(pod: Pod, targetPort: number | string, protocol: Protocol): number | null {
  if (typeof targetPort === 'number') return targetPort;
  for (const c of pod.containers) for (const p of c.ports) if (p.name === targetPort && p.protocol === protocol) return p.containerPort;
  return null;
}

/** The mirroring controller: Endpoints subsets with the same ports share a slice; notReadyAddresses are not ready. */
function mirroredSlices(eps: EndpointsSpec): { ports: SlicePort[]; endpoints: SliceEndpoint[] }[] {
  const groups = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
  for (const subset of eps.subsets) {
    const key = JSON.stringify(subset.ports);
    const group = groups.get(key) ?? { ports: subset.ports, endpoints: [] };
    groups.set(key, group);
    const endpoint = (a: EndpointsSpec['subsets'][number]['addresses'][number], ready: boolean): SliceEndpoint => ({
      address: a.ip,
      conditions: { ready, serving: ready, terminating: false },
      nodeName: a.nodeName,
      pod: a.pod,
    });
    group.endpoints.push(...subset.addresses.map((a) => endpoint(a, true)), ...subset.notReadyAddresses.map((a) => endpoint(a, false)));
  }
  return [...groups.values()];
}
