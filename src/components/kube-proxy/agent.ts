// kube-proxy for one node: it runs inside the node's network namespace, watches the lab's API
// contents (the state file, which carries its KubeProxyConfiguration too) and, whenever they
// change, sets the sysctls the configuration asks for and has its mode (proxier.ts; iptables: one
// `iptables-restore --noflush --counters` of the node's whole ruleset, computed exactly as
// kube-proxy's syncProxyRules does) bring the kernel in step, at most once per minSyncPeriod.
// Every syncPeriod it checks the mode's canary and resyncs whole if its rules were flushed.
// Like kube-proxy it also serves
//   :10256/healthz                 the proxy's own health (healthzBindAddress)
//   :<healthCheckNodePort>/        per LoadBalancer Service with externalTrafficPolicy Local:
//                                  200 when this node has a ready local endpoint, else 503, so
//                                  that an external load balancer only sends traffic where it
//                                  will be served.
// After each sync it deletes the conntrack entries of UDP flows the sync made stale
// (conntrack.ts), and writes the generation it programmed to a file, so `knetlab apply` can wait
// until every node has caught up.
//
// Config JSON: { node, mode, stateFile, syncedFile, pidfile, log }.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { PROXY_MODES, type ProxyMode, type Service, type StateFile } from '../../api/objects.js';
import type { Command } from '../../kernel/command.js';
import { readConfig } from '../../agent/config.js';
import { logger, type Agent, type AgentFiles } from '../../agent/runtime.js';
import { serveJson } from '../../agent/health.js';
import { watchState, type StateWatch } from '../../agent/watch.js';
import { readState } from '../../k8s/store.js';
import { runSync } from '../../exec/process.js';
import { PROXIERS } from './modes.js';
import type { KernelListing } from './proxier.js';
import { kubeProxySysctls, syncPeriods } from './config.js';
import { conntrackCleanup, deletedCount, NO_CONNECTION_TO_DELETE, type ApiContents } from './conntrack.js';

const PROG = 'kube-proxy';
const log = logger(PROG);

interface Config extends AgentFiles {
  node: string;
  mode: ProxyMode;
  stateFile: string;
  syncedFile: string;
}

function load(file: string): Config {
  const c = readConfig(file, { node: 'name', mode: 'name', stateFile: 'path', syncedFile: 'path', pidfile: 'path', log: 'path' });
  if (!PROXY_MODES.includes(c.mode as ProxyMode)) throw new Error(`${file}: "mode" must be one of ${PROXY_MODES.join(', ')}`);
  return c as unknown as Config;
}

/** Run commands in order; the first failure is returned with the payload lines around it. */
function apply(commands: Command[]): string | null {
  for (const cmd of commands) {
    const r = runSync(cmd);
    if (r.code !== 0) return `${cmd.file} failed: ${r.stderr.trim()}${cmd.input ? `\n${around(cmd.input, r.stderr)}` : ''}`;
  }
  return null;
}

/** The payload lines around the one iptables-restore rejected, as kube-proxy logs them. */
function around(payload: string, err: string): string {
  const m = /line:? (\d+)/i.exec(err);
  if (!m) return '';
  const n = Number(m[1]);
  const lines = payload.split('\n');
  return lines
    .slice(Math.max(0, n - 3), n + 2)
    .map((l, i) => `${Math.max(1, n - 2) + i}: ${l}`)
    .join('\n');
}

/**
 * Set sysctls in this network namespace, writing only those that differ (proxyutil.EnsureSysctl);
 * a failure is returned as one line.
 */
function ensureSysctls(values: [string, string][]): string | null {
  for (const [key, value] of values) {
    const path = `/proc/sys/${key.replaceAll('.', '/')}`;
    try {
      if (readFileSync(path, 'utf8').trim() === value) continue;
      writeFileSync(path, value);
      log('I', `set sysctl ${key}=${value}`);
    } catch (e) {
      return `cannot set sysctl ${key}=${value}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }
  return null;
}

/** The IPv4 addresses of this namespace's interfaces, in interface order (what nodePortAddresses picks from). */
function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((addrs) => (addrs ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address));
}

/**
 * kube-proxy's CleanStaleEntries after a successful sync. Best effort, as there: a deletion that
 * fails is logged and not retried; "0 flow entries have been deleted" (exit status 1) is no error.
 */
function cleanConntrack(prev: ApiContents | null, cur: ApiContents): void {
  for (const cmd of conntrackCleanup(prev, cur)) {
    const r = runSync(cmd);
    const line = `${cmd.file} ${cmd.args.join(' ')}`;
    const n = deletedCount(r.stderr);
    if (r.code !== 0 && !r.stderr.includes(NO_CONNECTION_TO_DELETE)) log('E', `${line} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    else if (n) log('I', `${line}: ${n} stale flow entries deleted`);
  }
}

/** Local ready endpoints of a Service on this node (the health check's answer). */
function localEndpoints(s: StateFile, svc: Service, node: string): number {
  const ips = new Set<string>();
  for (const slice of s.state.slices)
    if (slice.service === svc.meta.name && slice.meta.namespace === svc.meta.namespace)
      for (const e of slice.endpoints) if (e.nodeName === node && e.conditions.ready) ips.add(e.address);
  return ips.size;
}

async function start(cfg: Config, fatal: (why: string) => void): Promise<{ stop(why: string): void }> {
  const proxier = PROXIERS[cfg.mode];
  /** What the node's kernel holds, in the mode's own listings; null when one cannot be read. */
  const observe = (): KernelListing | null => {
    const out: string[] = [];
    for (const cmd of proxier.observe) {
      const r = runSync(cmd);
      if (r.code !== 0) return null;
      out.push(r.stdout);
    }
    return out;
  };
  let self: StateFile['nodes'][number] | undefined;
  let state: StateFile;
  /** The API as of the last successful sync, against which the next one finds stale UDP flows. */
  let synced: ApiContents | null = null;

  let failure = '';
  /** What the last successful sync wrote, for a mode that then writes only changes (nftables); null: sync whole. */
  let memo: unknown = null;
  const sync = (s: StateFile): boolean => {
    state = s;
    self = s.nodes.find((n) => n.name === cfg.node);
    if (!self) {
      log('E', (failure = `node ${cfg.node} is not in ${cfg.stateFile}`));
      return false;
    }
    const config = s.kubeProxy;
    if (config.mode !== cfg.mode) {
      log('E', (failure = `the configuration asks for ${config.mode} mode; this kube-proxy runs in ${cfg.mode} mode and keeps it until restarted`));
      return false;
    }
    const sysctlFailure = ensureSysctls(kubeProxySysctls(config, self));
    if (sysctlFailure) {
      log('E', (failure = sysctlFailure));
      return false;
    }
    const t0 = performance.now();
    // A mode whose proxy is kube-proxy itself (userspace) opens its listeners first: the rules send traffic to their ports.
    const proxyPorts = server?.update(self, s.state);
    const ctx = { config, clusterCIDR: s.clusterCIDR, nodeAddresses: interfaceAddresses(), serviceCIDRs: [s.serviceCIDR], proxyPorts };
    // The sync takes the memo over (nftables updates it in place): if it throws, the next one is full.
    const taken = memo;
    memo = null;
    const result = proxier.sync(self, s.state, taken === null ? observe() : null, ctx, taken);
    const { commands, stats } = result;
    const failed = apply(commands);
    memo = failed ? null : (result.memo ?? null);
    if (failed) {
      log('E', failed);
      failure = failed.split('\n')[0]!;
      return false;
    }
    log(
      'I',
      `synced generation ${s.generation}: ${stats.services} service ports, ${stats.endpoints} endpoints, ${stats.written} in ${(performance.now() - t0).toFixed(1)} ms`,
    );
    updateHealthChecks();
    cleanConntrack(synced, s.state);
    synced = s.state;
    return true;
  };

  // What the mode ensures once at start (for iptables: the jumps from the built-in chains).
  const setup = apply(proxier.setup(observe()));
  if (setup) throw new Error(`kube-proxy's setup failed: ${setup.split('\n')[0]}`);
  const server = proxier.serve?.(log, () => watch?.resync());

  // healthCheckNodePort servers: one per LoadBalancer Service with externalTrafficPolicy Local.
  const checks = new Map<number, { server: Server | null; svc: Service }>();
  const updateHealthChecks = () => {
    const wanted = new Map<number, Service>();
    for (const svc of state.state.services) if (svc.healthCheckNodePort) wanted.set(svc.healthCheckNodePort, svc);
    for (const [port, c] of checks)
      if (!wanted.has(port)) {
        c.server?.close();
        checks.delete(port);
      }
    for (const [port, svc] of wanted) {
      const known = checks.get(port);
      if (known) {
        known.svc = svc;
        continue;
      }
      const entry: { server: Server | null; svc: Service } = { server: null, svc };
      serveJson(
        port,
        () => {
          const n = localEndpoints(state, entry.svc, cfg.node);
          return {
            status: n > 0 ? 200 : 503,
            headers: { 'X-Load-Balancing-Endpoint-Weight': String(n) },
            body: { service: { namespace: entry.svc.meta.namespace, name: entry.svc.meta.name }, localEndpoints: n, serviceProxyHealthy: true },
          };
        },
        (e) => log('E', `health check node port ${port}: ${e.message}`),
      ).then(
        (server) => (checks.get(port) === entry ? (entry.server = server) : server.close()),
        (e: Error) => log('E', `health check node port ${port}: ${e.message}`),
      );
      checks.set(port, entry);
    }
  };

  // /healthz (healthzBindAddress, :10256 by default) as kube-proxy's proxier health server answers
  // it: lastUpdated is the last successful sync; unhealthy (503) once a change has waited longer
  // than the health timeout, twice the sync period. The address is the one at start: a real
  // kube-proxy restarts to take a new configuration file.
  let watch: StateWatch | null = null;
  const initial = readState(cfg.stateFile);
  /** The configuration now: the state's last synced, or the one at start. */
  const current = () => (watch?.state ?? initial).kubeProxy;
  const [healthzHost, healthzPort] = initial.kubeProxy.healthzBindAddress.split(':') as [string, string];
  const healthz = await serveJson(
    Number(healthzPort),
    () => {
      const now = new Date();
      const pending = watch?.pendingSince;
      const healthy = !pending || now.getTime() - pending.getTime() < 2 * syncPeriods(current()).syncPeriodMs;
      return {
        status: healthy ? 200 : 503,
        body: { lastUpdated: (watch?.lastSynced ?? now).toISOString(), currentTime: now.toISOString(), nodeEligible: true },
      };
    },
    (e) => fatal(`healthz: ${e.message}`),
    healthzHost,
  );

  const w = watchState({
    stateFile: cfg.stateFile,
    syncedFile: cfg.syncedFile,
    sync,
    minIntervalMs: () => syncPeriods(current()).minSyncPeriodMs,
    warn: (m) => log('W', m),
  });
  watch = w;
  if (w.synced() < 0) {
    w.stop();
    healthz.close();
    server?.stop();
    throw new Error(`the first sync failed: ${failure} (see ${cfg.log})`);
  }

  // Every syncPeriod, as kube-proxy's iptables monitor does, check that the mode's canary is
  // still in the kernel; if someone flushed the tables, ensure the jumps again and resync whole.
  let canaryTimer: NodeJS.Timeout;
  const checkCanary = () => {
    const gone = proxier.canary.find((cmd) => runSync(cmd).code !== 0);
    if (gone) {
      log('W', `${[gone.file, ...gone.args].join(' ')} failed: kube-proxy's rules were flushed from under it; ensuring its chains again and resyncing`);
      const again = apply(proxier.setup(observe()));
      memo = null;
      if (again) log('E', `kube-proxy's setup failed: ${again.split('\n')[0]}`);
      else w.resync();
    } else if (proxier.canary.length === 0) {
      // A mode without a canary (ipvs) resyncs whole every syncPeriod, as its sync runner does.
      w.resync();
    }
    canaryTimer = setTimeout(checkCanary, syncPeriods(current()).syncPeriodMs);
  };
  canaryTimer = setTimeout(checkCanary, syncPeriods(current()).syncPeriodMs);
  log('I', `proxying for node ${cfg.node} (${self!.address}) in ${cfg.mode} mode; cluster CIDR ${state!.clusterCIDR}`);
  return {
    stop(why: string) {
      log('I', why);
      clearTimeout(canaryTimer);
      w.stop();
      healthz.close();
      server?.stop();
      for (const c of checks.values()) c.server?.close();
    },
  };
}

export const kubeProxyAgent: Agent<Config> = { prog: PROG, load, start };
