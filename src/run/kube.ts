// `knetlab apply -f` and `knetlab delete -f` on a running lab: what kubectl and the control
// plane do, in order. The objects as written are merged (apply replaces an object with the same
// kind, namespace and name; delete removes it), the control plane reconciles them (allocations
// and pod addresses already made are kept), new pods are created and wired by the CNI like the
// lab's own, the state file is rewritten, every node's kube-proxy re-syncs, a cloud load
// balancer's proxy follows, and only then are pods that went away deleted — so no node still
// sends traffic to a pod that no longer exists.

import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { LabFileError, KnetlabError, InputError } from '../labfile/diagnostics.js';
import { ReadBudget, readTextFile } from '../labfile/read.js';
import type { Cluster, Lab, Namespace, VethLink } from '../labfile/types.js';
import type { Host } from '../exec/host.js';
import { lowerPlan } from '../kernel/lower.js';
import { CNIS, NODE_COMPONENTS, updateCloudLoadBalancer } from '../plan/registry.js';
import { expandCluster } from '../labfile/cluster.js';
import { cloudLoadBalancerDiagnostics, clusterPod, controlPlaneConfig, kubeProxyConfiguration } from '../k8s/lab.js';
import { computeSlices, reconcile } from '../k8s/controlplane.js';
import { readManifests } from '../k8s/manifest.js';
import type { ClusterState, Pod } from '../api/objects.js';
import { objectsPath, objectsYaml } from '../k8s/objects-file.js';
import { appendEvents, readState, stateFilePath, syncedPath, updateState } from '../k8s/store.js';
import type { Instance } from '../kernel/instance.js';
import { planLab } from '../plan/topology.js';
import { extend, removeNamespaces, type Progress } from './apply.js';
import type { RecordStore } from './record.js';

const SYNC_WAIT_MS = 15_000;

interface Ctx {
  host: Host;
  store: RecordStore;
  progress?: Progress;
}

type Raw = { kind?: string; apiVersion?: string; metadata?: { name?: string; namespace?: string } };
/** kube-proxy's configuration has no metadata: there is one, named after the program. */
const nameOf = (r: Raw): string | undefined => r.metadata?.name ?? (r.kind === 'KubeProxyConfiguration' ? 'kube-proxy' : undefined);
const keyOf = (o: unknown): string => {
  const r = o as Raw;
  return `${r.kind}/${r.metadata?.namespace ?? 'default'}/${nameOf(r)}`;
};
/** kubectl's "kind.group/name", e.g. deployment.apps/nginx-deploy, service/web. */
const shownAs = (o: unknown): string => {
  const r = o as Raw;
  const group = r.apiVersion?.includes('/') ? '.' + r.apiVersion.split('/')[0] : '';
  return `${(r.kind ?? '').toLowerCase()}${group}/${nameOf(r)}`;
};

export async function applyFiles(lab: Lab, inst: Instance, files: string[], mode: 'apply' | 'delete', ctx: Ctx): Promise<string[]> {
  const c = lab.cluster;
  if (!c) throw new InputError(`lab ${lab.name} has no cluster to apply Kubernetes objects to`);
  const stateFile = stateFilePath(inst.dir);
  let current;
  try {
    current = readState(stateFile);
  } catch {
    throw new KnetlabError(`lab ${inst.name} runs no control plane (${stateFile} is missing)`, 1, [
      '  hint: Kubernetes objects need a lab with a cluster: section',
    ]);
  }

  // 1. Read what was given; any error stops here, before anything changes. The files are
  // bounded together as a lab's are (regular files only, their bytes and YAML tokens).
  const budget = new ReadBudget();
  const sources = files.map((file) => {
    const r = readTextFile(file, budget);
    if ('problem' in r) throw new InputError(`cannot read ${file}: it ${r.problem}`, [`  hint: ${r.hint}`]);
    return { file, text: r.text };
  });
  const given = readManifests(sources, { budget });
  if (given.diagnostics.some((d) => d.severity === 'error')) throw new LabFileError(given.diagnostics);

  // 2. Merge into the objects as written.
  const stored = parseAllDocuments(readFileSync(objectsPath(inst.dir), 'utf8'))
    .map((d) => d.toJS() as unknown)
    .filter((o) => o !== null);
  const merged = new Map(stored.map((o) => [keyOf(o), o]));
  const report: string[] = [];
  for (const o of given.objects) {
    const k = keyOf(o.raw);
    if (mode === 'delete') {
      if (!merged.delete(k)) throw new KnetlabError(`Error from server (NotFound): ${(o.kind ?? '').toLowerCase()}s "${o.name}" not found`, 1);
      report.push(`${shownAs(o.raw)} deleted`);
    } else {
      const before = merged.get(k);
      const raw = keepStatus(before, o.raw);
      report.push(`${shownAs(o.raw)} ${before === undefined ? 'created' : JSON.stringify(before) === JSON.stringify(raw) ? 'unchanged' : 'configured'}`);
      merged.set(k, raw);
    }
  }
  const objects = [...merged.values()];
  const all = readManifests([{ file: objectsPath(inst.dir), text: objectsYaml(objects) }]);
  if (all.diagnostics.some((d) => d.severity === 'error')) throw new LabFileError(all.diagnostics);
  // kube-proxy's configuration: a new one is taken at the next sync, as a restarted kube-proxy
  // would take it; deleting it brings back the defaults. Its mode stays what it was at up.
  // The mode is kube-proxy's command line as much as its file: a mode chosen with --proxy-mode
  // outlives an apply that leaves the document's mode as it was.
  const declared = kubeProxyConfiguration(all.objects, []);
  const running = current.kubeProxy.mode;
  const before = kubeProxyConfiguration(readManifests([{ file: objectsPath(inst.dir), text: objectsYaml(stored) }]).objects, []).mode;
  const kubeProxy = declared.mode === before ? { ...declared, mode: running } : declared;
  if (kubeProxy.mode !== running) {
    throw new InputError(`kube-proxy runs in ${running} mode on ${inst.name}; apply -f does not restart it in another mode`, [
      `  hint: restart it in ${kubeProxy.mode} mode with "knetlab apply ${lab.name}${inst.prefix ? ` --prefix ${inst.prefix}` : ''} --proxy-mode ${kubeProxy.mode}"`,
    ]);
  }

  // 3. Reconcile against the lab's own nodes and pods (not those the manifests made).
  const k8sPods = new Set(current.state.pods.map((p) => p.meta.name));
  // The lab as loaded holds the pods its manifests made at up as well, including ones scaled away
  // since: none of them is the lab's own.
  const apiPods = new Set([...k8sPods, ...(c.kubernetes?.state.pods ?? []).map((p) => p.meta.name)]);
  const labOnly: Cluster = { ...c, nodes: c.nodes.map((n) => ({ ...n, pods: n.pods.filter((p) => !apiPods.has(p.name)) })) };
  // Objects from the given files keep their own positions, so a conflict points into them.
  const givenByKey = new Map(given.objects.map((o) => [keyOf(o.raw), o]));
  const located = all.objects.map((o) => {
    const g = givenByKey.get(keyOf(o.raw));
    // A status kept from before (keepStatus) is read from the merged object.
    return g?.kind === 'Service' && o.kind === 'Service' ? { ...g, resolved: { ...g.resolved, statusIngress: o.resolved.statusIngress } } : (g ?? o);
  });
  const r = reconcile(located, controlPlaneConfig(labOnly, new Date().toISOString()), current.state);
  const diagnostics = [...r.diagnostics, ...cloudLoadBalancerDiagnostics(labOnly, located)];
  if (diagnostics.some((d) => d.severity === 'error')) throw new LabFileError(diagnostics);
  const clash = r.state.pods.find((p) => !apiPods.has(p.meta.name) && lab.namespaces.some((n) => n.name === p.meta.name));
  if (clash) throw new InputError(`pod name "${clash.meta.name}" is already a namespace of lab ${lab.name}`);

  const added = r.state.pods.filter((p) => !k8sPods.has(p.meta.name));
  const removed = current.state.pods.filter((p) => !r.state.pods.some((q) => q.meta.name === p.meta.name));
  if (added.length && c.cni.type === 'bridge')
    throw new InputError(`pods cannot be added to a running ${lab.name}: its pods are wired by CNI plugin calls at up`, [
      '  hint: put the pods in the lab\'s manifests and run "knetlab up" again',
    ]);

  // 4. New pods first: namespaces, veths, addresses, routes, servers.
  if (added.length) await extend(inst.name, lowerPlan(podPlan(lab, labOnly, inst, added)), ctx);

  // 4b. What node components make for the new objects before anyone reads them (certificates).
  const made = NODE_COMPONENTS.flatMap((component) => component.statePhases?.(labOnly, inst, current.state, r.state) ?? []);
  if (made.length) await extend(inst.name, lowerPlan({ lab: lab.name, instance: inst.name, phases: made }), ctx);

  // 5. The new API contents. Readiness flipped by the prober meanwhile is kept.
  const next = await updateState(stateFile, (s) => {
    const pods = r.state.pods.map((p) => ({ ...p, ready: s.state.pods.find((q) => q.meta.name === p.meta.name)?.ready ?? p.ready }));
    const state: ClusterState = { ...r.state, pods };
    return { ...s, kubeProxy, state: { ...state, slices: computeSlices(state) } };
  });
  writeFileSync(objectsPath(inst.dir), objectsYaml(objects), { mode: 0o600 });
  appendEvents(inst.dir, r.events);
  await waitSynced(
    inst,
    next.nodes.map((n) => n.name),
    next.generation,
    ctx.host,
  );

  // 6. The cloud load balancer's proxy follows the Services' Proxy-mode addresses and node ports,
  //    once the nodes serve the new node ports.
  const lb = updateCloudLoadBalancer(labOnly, inst, current.state, next.state);
  if (lb.length) await extend(inst.name, lowerPlan({ lab: lab.name, instance: inst.name, phases: lb }), ctx);

  // 7. Pods that went away, once no rule points at them any more.
  await removeNamespaces(
    inst.name,
    removed.map((p) => inst.netns(p.meta.name)),
    ctx,
  );
  return report;
}

/**
 * kubectl apply leaves an object's status alone: it belongs to the object's controller. In a lab
 * a LoadBalancer Service's status stands for its cloud load balancer, so a Service applied
 * without one keeps the one it had; one that is no longer a LoadBalancer loses it, as the cloud
 * deletes its load balancer. A status given in the applied manifest replaces the old one.
 */
function keepStatus(before: unknown, given: Record<string, unknown>): Record<string, unknown> {
  const old = before as { status?: unknown } | undefined;
  if (given.kind !== 'Service' || given.status !== undefined || old?.status === undefined || old.status === null) return given;
  if ((given.spec as { type?: unknown } | undefined)?.type !== 'LoadBalancer') return given;
  return { ...given, status: old.status };
}

/** The steps that create some pods on a running cluster: the same expansion as at up, restricted to them. */
function podPlan(lab: Lab, labOnly: Cluster, inst: Instance, pods: Pod[]) {
  const cluster: Cluster = {
    ...labOnly,
    nodes: labOnly.nodes.map((n) => ({ ...n, pods: pods.filter((p) => p.nodeName === n.name).map((p) => clusterPod(labOnly, p)) })),
  };
  const expanded = expandCluster(cluster);
  const names = new Set(pods.map((p) => p.meta.name));
  const hostIfs = new Set(cluster.nodes.flatMap((n) => n.pods.map((p) => p.hostIf)));
  const nodes = new Set(cluster.nodes.map((n) => n.name));
  const namespaces: Namespace[] = expanded.namespaces
    .filter((n) => names.has(n.name) || nodes.has(n.name))
    .map((n) =>
      names.has(n.name)
        ? n
        : {
            // A node: only the host side of the new veths, their routes, and (Calico) their sysctls.
            ...n,
            sysctls: n.interfaces.filter((i) => hostIfs.has(i.name)).flatMap((i) => CNIS[cluster.cni.type].hostSideSysctls(i.name)),
            bridges: [],
            interfaces: n.interfaces.filter((i) => hostIfs.has(i.name)),
            routes: n.routes.filter((rt) => rt.dev !== null && hostIfs.has(rt.dev)),
            nat: [],
            iptables: [],
            ipsets: [],
            server: null,
          },
    )
    .filter((n) => names.has(n.name) || n.interfaces.length);
  const links: VethLink[] = expanded.links.filter((l) => names.has(l.b.namespace));
  const delta: Lab = { ...lab, namespaces, links, cluster: null, observe: [], checks: [] };
  const plan = planLab(delta, inst, { existing: nodes, tag: `pods-${Date.now().toString(36)}` });
  // What the node components do for new pods (the kubelet's resolv.conf with cluster DNS…).
  for (const component of [CNIS[cluster.cni.type], ...NODE_COMPONENTS]) plan.phases.push(...(component.podPhases?.(labOnly, inst, pods) ?? []));
  return plan;
}

/** Wait until every node's kube-proxy has programmed this generation (or a later one). */
export async function waitSynced(inst: Instance, nodes: string[], generation: number, host: Host): Promise<void> {
  const deadline = Date.now() + SYNC_WAIT_MS;
  for (;;) {
    const behind = nodes.filter((n) => Number((host.readFile(syncedPath(inst.dir, n)) ?? '').trim() || -1) < generation);
    if (!behind.length) return;
    if (Date.now() > deadline)
      throw new KnetlabError(`kube-proxy on ${behind.join(', ')} did not sync generation ${generation} within ${SYNC_WAIT_MS / 1000} s`, 1, [
        `  hint: see ${inst.dir}/cluster/kube-proxy-<node>.log`,
      ]);
    await new Promise((res) => setTimeout(res, 50));
  }
}
