// `knetlab apply LAB --proxy-mode MODE`: what restarting kube-proxy with another mode does on
// every node of a running lab. The agents stop (and leave the record); the old mode's own
// cleanup (`kube-proxy --cleanup`: its rules, sets, virtual servers, devices; the listeners went
// with the agents) runs on each node against what that node's kernel holds; the state's
// kube-proxy mode changes; the new mode's setup runs, each node gets its new configuration file
// and a new agent (recorded, so `down` stops it), and the command waits until every node has
// synced. Each command is printed as it is in `knetlab steps`.

import { rmSync } from 'node:fs';
import { PROXY_MODES, PLANNED_PROXY_MODES, type ProxyMode } from '../api/objects.js';
import { InputError, KnetlabError } from '../labfile/diagnostics.js';
import type { Lab } from '../labfile/types.js';
import type { Host } from '../exec/host.js';
import { renderCommand, type Command } from '../kernel/command.js';
import type { Instance } from '../kernel/instance.js';
import { lowerPlan, type LoweredPhase } from '../kernel/lower.js';
import type { Phase } from '../kernel/steps.js';
import { readState, stateFilePath, syncedPath, updateState } from '../k8s/store.js';
import { PROXIERS, modeCleanupPhase, modeStartPhase, type KernelListing } from '../plan/registry.js';
import { extend, stopRecorded } from './apply.js';
import { waitSynced } from './kube.js';
import type { RecordStore } from './record.js';

interface Ctx {
  host: Host;
  store: RecordStore;
  /** Each command, as run (a line or a heredoc). */
  print: (text: string) => void;
}

/** The mode's listings in a node's namespace; null when one cannot be read. */
async function observe(host: Host, netns: string, commands: readonly Command[]): Promise<KernelListing | null> {
  const out: string[] = [];
  for (const cmd of commands) {
    const r = await host.run({ file: 'ip', args: ['netns', 'exec', netns, cmd.file, ...cmd.args], input: cmd.input });
    if (r.exitCode !== 0) return null;
    out.push(r.stdout);
  }
  return out;
}

export async function switchProxyMode(lab: Lab, inst: Instance, mode: string, ctx: Ctx): Promise<string[]> {
  if (!(PROXY_MODES as readonly string[]).includes(mode))
    throw new InputError(PLANNED_PROXY_MODES.includes(mode) ? `kube-proxy ${mode} mode is not available in knetlab yet` : `unknown kube-proxy mode "${mode}"`, [
      `  hint: the modes knetlab runs are ${PROXY_MODES.join(', ')}`,
    ]);
  const to = mode as ProxyMode;
  const stateFile = stateFilePath(inst.dir);
  let current;
  try {
    current = readState(stateFile);
  } catch {
    throw new KnetlabError(`lab ${inst.name} runs no kube-proxy (${stateFile} is missing)`, 1, ['  hint: --proxy-mode needs a lab with a cluster: section']);
  }
  const from = current.kubeProxy.mode;
  if (from === to) return [`kube-proxy already runs in ${to} mode on ${inst.name}`];
  const nodes = current.nodes;
  const { host, store } = ctx;
  const run = async (phase: Phase) => {
    const lowered: LoweredPhase[] = lowerPlan({ lab: lab.name, instance: inst.name, phases: [phase] });
    ctx.print(`# ${phase.title}`);
    for (const p of lowered) for (const a of p.actions) ctx.print(renderCommand(a.command));
    await extend(inst.name, lowered, { host, store });
  };

  // 1. Stop every node's kube-proxy (a userspace proxy's listeners close with it). Their synced
  //    files go too: the generation they report is the old mode's.
  const stopped = await stopRecorded(inst.name, (p) => p.name === 'kube-proxy', { host, store });
  ctx.print(`# kube-proxy stopped on ${stopped} node(s)`);
  for (const n of nodes) rmSync(syncedPath(inst.dir, n.name), { force: true });

  // 2. The old mode's cleanup, from what each node holds.
  const listings: { node: string; now: KernelListing }[] = [];
  for (const n of nodes) {
    const now = await observe(host, n.netns, PROXIERS[from].observe);
    if (now === null) throw new KnetlabError(`cannot read kube-proxy's ${from} state on ${n.name}`, 1);
    listings.push({ node: n.name, now });
  }
  await run(modeCleanupPhase(inst, from, listings));

  // 3. The new mode: in the state (the agents read it), then setup and agents on every node.
  const next = await updateState(stateFile, (s) => ({ ...s, kubeProxy: { ...s.kubeProxy, mode: to } }));
  const starting = [];
  for (const n of nodes) starting.push({ name: n.name, address: n.address, now: await observe(host, n.netns, PROXIERS[to].observe) });
  await run(modeStartPhase(inst, to, next.kubeProxy, starting));
  await waitSynced(
    inst,
    nodes.map((n) => n.name),
    next.generation,
    host,
  );
  return [`kube-proxy switched from ${from} to ${to} mode on ${nodes.map((n) => n.name).join(', ')} (generation ${next.generation} synced)`];
}
