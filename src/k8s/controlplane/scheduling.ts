// The Deployment and ReplicaSet controllers, the scheduler and the CNI's IPAM: which pods exist
// (a Deployment's replicas named after its pod-template-hash), on which node, with which address.

import type { Deployment, Pod } from '../../api/objects.js';
import { network, parseCidr, parseIPv4, formatIPv4 } from '../../labfile/net.js';
import { fieldPath, type ManifestObject, type PodSpec } from '../manifest/types.js';
import type { ControlPlane, Path } from './context.js';
import { generatedName, keyOf, metaFor, safeEncodeString } from './meta.js';

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
  /** No address below this one is free. */
  next: number;
  /** An address was asked for and none was left. */
  full: boolean;
  pods: number;
}

/** The pods of bare Pods and of each Deployment's ReplicaSet, scheduled and addressed; the Deployments. */
export function workloads(cp: ControlPlane): { pods: Pod[]; deployments: Deployment[] } {
  const prevPods = cp.prev?.pods ?? [];
  const requests: PodRequest[] = [];
  const deployments: Deployment[] = [];
  // Names already given: bare pods keep theirs, replicas must not take one of them.
  const names = new Set(cp.objects.filter((o) => o.kind === 'Pod').map((o) => keyOf(o.namespace, o.name)));
  for (const o of cp.objects) {
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
      deployments.push(deployment(cp, o, prevPods, names, requests));
    }
  }
  return { pods: schedule(cp, requests, prevPods), deployments };
}

/**
 * The Deployment controller and its ReplicaSet, collapsed: the ReplicaSet is named after the
 * template's hash, so a changed template means a new ReplicaSet and every pod replaced. (A real
 * Deployment rolls this out maxSurge/maxUnavailable at a time; the end state is the same.)
 */
function deployment(cp: ControlPlane, o: DeploymentObject, prevPods: Pod[], names: Set<string>, requests: PodRequest[]): Deployment {
  const d = o.resolved;
  const hash = podTemplateHash((o.raw.spec as Record<string, unknown>).template);
  const rs = `${o.name}-${hash}`;
  const owner = `Deployment/${o.name}`;
  const deploymentObject = `deployment/${o.name}`;
  const owned = prevPods.filter((p) => p.meta.namespace === o.namespace && p.owner === owner);
  const current = owned.filter((p) => p.replicaSet === rs);

  for (const old of new Set(owned.filter((p) => p.replicaSet !== rs).map((p) => p.replicaSet!))) {
    const gone = owned.filter((p) => p.replicaSet === old);
    cp.event(deploymentObject, o.namespace, 'Normal', 'ScalingReplicaSet', `Scaled down replica set ${old} from ${gone.length} to 0`, 'deployment-controller');
    for (const p of gone) cp.event(`replicaset/${old}`, o.namespace, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.meta.name}`, 'replicaset-controller');
  }
  if (current.length !== d.replicas) {
    const verb = current.length < d.replicas ? 'up' : 'down';
    cp.event(
      deploymentObject,
      o.namespace,
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
  for (const p of doomed) cp.event(`replicaset/${rs}`, o.namespace, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.meta.name}`, 'replicaset-controller');
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
  // Every replica becomes a network namespace with an address from a node's podCIDR: refuse,
  // once and before creating any, what the pod subnets cannot hold.
  const capacity = cp.cfg.nodes.reduce((sum, n) => sum + Math.max(0, podAddresses(n.podCIDR, n.firstHost) - n.reserved.length), 0);
  if (d.replicas > capacity) {
    cp.error(
      o,
      ['spec', 'replicas'],
      `spec.replicas ${d.replicas} is more than the cluster's pod subnets can address (${capacity} pods on ${cp.cfg.nodes.length} node${cp.cfg.nodes.length === 1 ? '' : 's'})`,
      'run fewer replicas, or give the nodes larger podCIDRs',
    );
  }
  for (let index = 0, missing = Math.min(d.replicas, capacity) - kept.length; missing > 0; index++) {
    const name = generatedName(`${rs}-`, `${rs}${index}`);
    if (names.has(keyOf(o.namespace, name))) continue;
    names.add(keyOf(o.namespace, name));
    requests.push(request(name, undefined));
    cp.event(`replicaset/${rs}`, o.namespace, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, 'replicaset-controller');
    missing--;
  }

  const prevDeployment = cp.prev?.deployments.find((x) => x.meta.namespace === o.namespace && x.meta.name === o.name);
  return {
    meta: metaFor('Deployment', o, prevDeployment?.meta, cp.cfg.now),
    replicas: d.replicas,
    selector: d.selector,
    template: { labels: template.labels, containers: template.spec.containers, nodeName: template.spec.nodeName },
    templateHash: hash,
  };
}

/** How many pod addresses a node's podCIDR holds: from network + firstHost to the last before broadcast. */
function podAddresses(podCIDR: string, firstHost: number): number {
  const c = parseCidr(podCIDR);
  return c ? Math.max(0, 2 ** (32 - c.prefix) - 1 - firstHost) : 0;
}

/**
 * Pods that existed stay on their node with their address; pods bound by spec.nodeName go to
 * that node; the others are spread: each to the node with the fewest pods, ties in node order.
 * Addresses come from the node's podCIDR, lowest free first from network + firstHost.
 * (host-local continues after the last address it handed out; lowest-free repeats across runs.)
 */
function schedule(cp: ControlPlane, requests: PodRequest[], prevPods: Pod[]): Pod[] {
  const slots: NodeSlot[] = cp.cfg.nodes.map((n) => {
    const cidr = parseCidr(n.podCIDR);
    if (!cidr) throw new Error(`node ${n.name}: podCIDR ${n.podCIDR} is not a CIDR`);
    const base = network(cidr);
    const broadcast = base + 2 ** (32 - cidr.prefix) - 1;
    return {
      name: n.name,
      podCIDR: n.podCIDR,
      first: base + n.firstHost,
      next: base + n.firstHost,
      full: false,
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
      cp.error(
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
      cp.error(r.source, ['metadata', 'name'], `0/0 nodes are available: pod ${r.name} cannot be scheduled`, 'the cluster has no nodes');
      continue;
    }
    slot.pods++;
    placed.set(r, { slot, ip: undefined });
    cp.event(`pod/${r.name}`, r.namespace, 'Normal', 'Scheduled', `Successfully assigned ${r.namespace}/${r.name} to ${slot.name}`, 'default-scheduler');
  }

  const pods: { pod: Pod; order: number }[] = [];
  requests.forEach((r, i) => {
    const p = placed.get(r);
    if (!p) return;
    let ip = p.ip;
    if (ip === undefined) {
      // Addresses are only ever taken, so the lowest free one never moves down: resume from it.
      while (p.slot.next <= p.slot.last && p.slot.taken.has(p.slot.next)) p.slot.next++;
      if (p.slot.next <= p.slot.last) ip = p.slot.next;
      if (ip === undefined) {
        // One error per full node says it; the pods after the first would only repeat it.
        if (p.slot.full) return;
        p.slot.full = true;
        cp.error(
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
        meta: metaFor('Pod', r, r.prev?.meta, cp.cfg.now),
        nodeName: p.slot.name,
        podIP: formatIPv4(ip),
        hostname: r.spec.hostname,
        subdomain: r.spec.subdomain,
        dnsPolicy: r.spec.dnsPolicy,
        dnsConfig: r.spec.dnsConfig,
        containers: r.spec.containers,
        owner: r.owner,
        replicaSet: r.replicaSet,
        ready: probed ? (r.prev?.ready ?? false) : true,
      },
    });
  });
  return pods.sort((a, b) => a.order - b.order).map((p) => p.pod);
}
