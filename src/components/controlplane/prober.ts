// The part of the control plane that has to keep running: the kubelets' readiness probes and
// the endpoints controller's reaction to them. (Allocation and scheduling happen once, when
// objects are applied; see k8s/controlplane.ts.)
//
// Every pod with a readinessProbe is probed the way its kubelet does it: from its node (here:
// inside the node's network namespace) to the pod IP, every periodSeconds after
// initialDelaySeconds, with timeoutSeconds, and its Ready condition flips after
// failureThreshold failures in a row or successThreshold successes. A pod starts not ready.
// A flip rewrites the state file with new EndpointSlices; every node's kube-proxy, watching that
// file, re-syncs its rules at once, so a failing pod leaves the Service within one period.
//
// Config JSON: { instanceDir, stateFile, pidfile, log }.

import { computeSlices } from '../../k8s/controlplane.js';
import type { Pod, ReadinessProbe, StateFile } from '../../api/objects.js';
import { appendEvents, readState, updateState } from '../../k8s/store.js';
import { readConfig } from '../../agent/config.js';
import { logger, type Agent, type AgentFiles } from '../../agent/runtime.js';
import { watchState } from '../../agent/watch.js';
import { runAsync } from '../../exec/process.js';

const PROG = 'knetlab-controlplane';
const log = logger(PROG);

interface Config extends AgentFiles {
  instanceDir: string;
  stateFile: string;
}

function load(file: string): Config {
  return readConfig(file, { instanceDir: 'path', stateFile: 'path', pidfile: 'path', log: 'path' }) as unknown as Config;
}

/** The port a probe targets: a number, or a container port's name. */
function probePort(pod: Pod, probe: ReadinessProbe): number | null {
  if (typeof probe.port === 'number') return probe.port;
  for (const c of pod.containers) for (const p of c.ports) if (p.name === probe.port) return p.containerPort;
  return null;
}

async function run(argv: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  const r = await runAsync({ file: argv[0]!, args: argv.slice(1) }, timeoutMs);
  return { code: r.code, out: r.stdout + r.stderr };
}

/** One probe, as the kubelet's prober reports it: success, or the kubelet's failure message. */
async function probeOnce(nodeNetns: string, pod: Pod, probe: ReadinessProbe): Promise<{ ok: boolean; message: string }> {
  const port = probePort(pod, probe);
  if (port === null) return { ok: false, message: `Readiness probe failed: port "${String(probe.port)}" is not a container port` };
  const t = String(probe.timeoutSeconds);
  if (probe.kind === 'tcpSocket') {
    const r = await run(['ip', 'netns', 'exec', nodeNetns, 'nc', '-z', '-w', t, pod.podIP, String(port)], probe.timeoutSeconds * 1000 + 2000);
    return r.code === 0
      ? { ok: true, message: '' }
      : { ok: false, message: `Readiness probe failed: dial tcp ${pod.podIP}:${port}: connect: connection refused` };
  }
  const url = `http://${pod.podIP}:${port}${probe.path}`;
  const r = await run(
    ['ip', 'netns', 'exec', nodeNetns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', t, '-H', 'User-Agent: kube-probe/1.30', url],
    probe.timeoutSeconds * 1000 + 2000,
  );
  const status = Number(r.out.trim().slice(-3));
  // The kubelet counts 200 <= status < 400 as success.
  if (r.code === 0 && status >= 200 && status < 400) return { ok: true, message: '' };
  if (r.code === 0) return { ok: false, message: `Readiness probe failed: HTTP probe failed with statuscode: ${status}` };
  return {
    ok: false,
    message: `Readiness probe failed: Get "${url}": ${r.code === 28 ? 'context deadline exceeded' : 'dial tcp: connect: connection refused'}`,
  };
}

interface Tracker {
  pod: string;
  successes: number;
  failures: number;
  timer: NodeJS.Timeout | null;
}

async function start(cfg: Config): Promise<{ stop(why: string): void }> {
  const trackers = new Map<string, Tracker>();
  let stopped = false;

  const flip = async (podName: string, ready: boolean, message: string) => {
    const next = await updateState(cfg.stateFile, (s) => {
      const pods = s.state.pods.map((p) => (p.meta.name === podName ? { ...p, ready } : p));
      return { ...s, state: { ...s.state, pods, slices: computeSlices({ ...s.state, pods }) } };
    });
    log('I', `pod ${podName} is ${ready ? 'ready' : 'not ready'}; endpoints rewritten (generation ${next.generation})`);
    const namespace = next.state.pods.find((p) => p.meta.name === podName)?.meta.namespace ?? 'default';
    appendEvents(cfg.instanceDir, [
      ready
        ? { object: `pod/${podName}`, namespace, type: 'Normal', reason: 'Ready', message: 'Readiness probe succeeded', source: 'kubelet' }
        : { object: `pod/${podName}`, namespace, type: 'Warning', reason: 'Unhealthy', message, source: 'kubelet' },
    ]);
  };

  const schedule = (t: Tracker, delayMs: number) => {
    if (stopped) return;
    t.timer = setTimeout(() => void tick(t), delayMs);
  };

  const tick = async (t: Tracker) => {
    let s: StateFile;
    try {
      s = readState(cfg.stateFile);
    } catch (e) {
      log('W', `cannot read ${cfg.stateFile}: ${(e as Error).message}`);
      return schedule(t, 1000);
    }
    const pod = s.state.pods.find((p) => p.meta.name === t.pod);
    const probe = pod?.containers.find((c) => c.readinessProbe)?.readinessProbe;
    if (!pod || !probe) return void trackers.delete(t.pod); // deleted, or its probe removed
    const node = s.nodes.find((n) => n.name === pod.nodeName);
    if (!node) return void trackers.delete(t.pod);
    const r = await probeOnce(node.netns, pod, probe);
    if (r.ok) {
      t.successes++;
      t.failures = 0;
      if (!pod.ready && t.successes >= probe.successThreshold) await flip(pod.meta.name, true, '');
    } else {
      t.failures++;
      t.successes = 0;
      if (t.failures === 1 || t.failures === probe.failureThreshold) log('I', `${pod.meta.name}: ${r.message}`);
      if (pod.ready && t.failures >= probe.failureThreshold) await flip(pod.meta.name, false, r.message);
    }
    schedule(t, probe.periodSeconds * 1000);
  };

  /** Start probing pods that appeared (apply) and have a probe. */
  const refresh = (s: StateFile): boolean => {
    for (const pod of s.state.pods) {
      const probe = pod.containers.find((c) => c.readinessProbe)?.readinessProbe;
      if (!probe || trackers.has(pod.meta.name)) continue;
      const t: Tracker = { pod: pod.meta.name, successes: 0, failures: 0, timer: null };
      trackers.set(pod.meta.name, t);
      schedule(t, probe.initialDelaySeconds * 1000);
    }
    return true;
  };
  // Fails at start if the state is unreadable; the prober's own writes are seen like anyone's.
  const watch = watchState({ stateFile: cfg.stateFile, sync: refresh, warn: (m) => log('W', m) });
  log('I', `probing ${trackers.size} pod(s) with readiness probes`);
  return {
    stop(why: string) {
      log('I', why);
      stopped = true;
      watch.stop();
      for (const t of trackers.values()) if (t.timer) clearTimeout(t.timer);
    },
  };
}

export const proberAgent: Agent<Config> = { prog: PROG, load, start };
