// kube-proxy for one node, in iptables mode: it runs inside the node's network namespace,
// watches the lab's API contents (the state file) and, whenever they change, writes the node's
// whole ruleset with one `iptables-restore --noflush` (proxy/iptables.ts computes it exactly as
// kube-proxy's syncProxyRules does). Like kube-proxy it also serves
//   :10256/healthz                 the proxy's own health
//   :<healthCheckNodePort>/        per LoadBalancer Service with externalTrafficPolicy Local:
//                                  200 when this node has a ready local endpoint, else 503, so
//                                  that an external load balancer only sends traffic where it
//                                  will be served.
// After each sync it writes the generation it programmed to a file, so `knetlab apply` can
// wait until every node has caught up.
//
// Config JSON: { node, stateFile, syncedFile, pidfile, log }.

import { spawnSync } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Service, StateFile } from '../k8s/model.js';
import { readState } from '../k8s/store.js';
import { chainsIn, DEFAULT_PROXIER_CONFIG, jumpRulesPayload, syncProxyRules } from '../proxy/iptables.js';
import { daemonMain, logger, readConfig, writeAtomic, type DaemonFiles } from './lifecycle.js';

const PROG = 'kube-proxy';
const log = logger(PROG);
const HEALTHZ_PORT = 10256;

interface Config extends DaemonFiles {
  node: string;
  stateFile: string;
  syncedFile: string;
}

function load(file: string): Config {
  const c = readConfig<Config>(file, ['stateFile', 'syncedFile', 'pidfile', 'log']);
  if (typeof c.node !== 'string' || !c.node) throw new Error(`${file}: "node" must name this node`);
  return c as Config;
}

function iptables(argv: string[], input?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? r.error.message : '') };
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

/** Local ready endpoints of a Service on this node (the health check's answer). */
function localEndpoints(s: StateFile, svc: Service, node: string): number {
  const ips = new Set<string>();
  for (const slice of s.state.slices)
    if (slice.service === svc.meta.name && slice.meta.namespace === svc.meta.namespace)
      for (const e of slice.endpoints) if (e.nodeName === node && e.conditions.ready) ips.add(e.address);
  return ips.size;
}

async function start(cfg: Config, fatal: (why: string) => void): Promise<{ stop(why: string): void }> {
  let state = readState(cfg.stateFile);
  const self = state.nodes.find((n) => n.name === cfg.node);
  if (!self) throw new Error(`node ${cfg.node} is not in ${cfg.stateFile}`);
  const proxier = { ...DEFAULT_PROXIER_CONFIG, clusterCIDR: state.clusterCIDR };

  // The jump rules from the built-in chains are ensured once, as kube-proxy does at start.
  const jumps = iptables(['iptables-restore', '--noflush'], jumpRulesPayload(iptables(['iptables-save']).out));
  if (!jumps.ok) throw new Error(`iptables-restore of the jump rules failed: ${jumps.err.trim()}`);

  let synced = -1;
  const sync = () => {
    try {
      state = readState(cfg.stateFile);
    } catch (e) {
      log('W', `cannot read ${cfg.stateFile}: ${(e as Error).message}`);
      return;
    }
    if (state.generation === synced) return;
    const t0 = performance.now();
    const existing = chainsIn(iptables(['iptables-save']).out);
    const { payload, stats } = syncProxyRules(self, state.state.services, state.state.slices, proxier, existing);
    const r = iptables(['iptables-restore', '--noflush', '--counters'], payload);
    if (!r.ok) {
      log('E', `iptables-restore failed: ${r.err.trim()}\n${around(payload, r.err)}`);
      return;
    }
    synced = state.generation;
    writeAtomic(cfg.syncedFile, `${synced}\n`);
    log(
      'I',
      `synced generation ${synced}: ${stats.services} service ports, ${stats.endpoints} endpoints, ${stats.natRules} nat and ${stats.filterRules} filter rules in ${(performance.now() - t0).toFixed(1)} ms`,
    );
    updateHealthChecks();
  };

  // healthCheckNodePort servers: one per LoadBalancer Service with externalTrafficPolicy Local.
  const checks = new Map<number, { server: Server; svc: Service }>();
  const updateHealthChecks = () => {
    const wanted = new Map<number, Service>();
    for (const svc of state.state.services) if (svc.healthCheckNodePort) wanted.set(svc.healthCheckNodePort, svc);
    for (const [port, c] of checks)
      if (!wanted.has(port)) {
        c.server.close();
        checks.delete(port);
      }
    for (const [port, svc] of wanted) {
      const known = checks.get(port);
      if (known) {
        known.svc = svc;
        continue;
      }
      const entry = { server: createServer(), svc };
      entry.server.on('request', (_req, res) => {
        const n = localEndpoints(state, entry.svc, cfg.node);
        res.setHeader('Content-Type', 'application/json');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('X-Load-Balancing-Endpoint-Weight', String(n));
        res.writeHead(n > 0 ? 200 : 503);
        res.end(JSON.stringify({ service: { namespace: entry.svc.meta.namespace, name: entry.svc.meta.name }, localEndpoints: n, serviceProxyHealthy: true }));
      });
      entry.server.on('error', (e) => log('E', `health check node port ${port}: ${e.message}`));
      entry.server.listen(port);
      checks.set(port, entry);
    }
  };

  const healthz = createServer((_req, res) => {
    const now = new Date().toISOString();
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.writeHead(200);
    res.end(JSON.stringify({ lastUpdated: now, currentTime: now, nodeEligible: true }));
  });
  await new Promise<void>((res, rej) => {
    healthz.once('error', (e) => rej(new Error(`cannot listen on :${HEALTHZ_PORT}: ${e.message}`)));
    healthz.listen(HEALTHZ_PORT, () => res());
  });
  healthz.on('error', (e) => fatal(`healthz: ${e.message}`));

  sync();
  if (synced < 0) throw new Error(`the first sync failed (see ${cfg.log})`);
  // The state file is replaced by rename: watch its directory, and poll in case an event is missed.
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(cfg.stateFile), () => sync());
  } catch (e) {
    log('W', `cannot watch ${dirname(cfg.stateFile)}: ${(e as Error).message}; polling only`);
  }
  const poll = setInterval(sync, 1000);
  log('I', `proxying for node ${cfg.node} (${self.address}) in iptables mode; cluster CIDR ${state.clusterCIDR}`);
  return {
    stop(why: string) {
      log('I', why);
      clearInterval(poll);
      watcher?.close();
      healthz.close();
      for (const c of checks.values()) c.server.close();
    },
  };
}

void daemonMain({ prog: PROG, script: fileURLToPath(import.meta.url), load, start }, process.argv.slice(2));
