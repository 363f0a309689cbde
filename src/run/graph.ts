// knetlab graph: a picture of a running lab from what the kernel says now (not from the lab
// file): `ip -j -d link`, `ip -j addr` and `ip -j netns list-id` in each of the lab's namespaces,
// the processes the lab's record lists, and the Services and endpoints in the lab's API state.
// Laid out by Graphviz compiled to WebAssembly (no graphviz binary on the machine), and turned
// into a PNG by resvg, also WebAssembly, with the DejaVu Sans font the DOT names.

import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { createRequire } from 'node:module';
import { KnetlabError } from '../labfile/diagnostics.js';
import type { Lab } from '../labfile/types.js';
import type { Host } from '../exec/host.js';
import type { Instance } from '../kernel/instance.js';
import {
  buildGraph,
  servicesOf,
  shortName,
  toDot,
  type LabGraph,
  type NamespaceReading,
  type NamespaceRole,
  type WalkHop,
  type WalkOverlay,
} from '../kernel/graph.js';
import { readState, stateFilePath } from '../k8s/store.js';
import type { StateFile } from '../api/objects.js';
import type { RecordStore } from './record.js';

export type GraphFormat = 'svg' | 'png' | 'dot';
export const GRAPH_FORMATS: readonly GraphFormat[] = ['svg', 'png', 'dot'];

/** Debian's fonts-dejavu-core puts it here; the DOT names the family, resvg needs the file. */
export const FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

/** What each namespace is in the lab, from its cluster: the underlay, nodes, pods (also those added by apply), clients. */
export function rolesOf(lab: Lab, api: StateFile | null): Map<string, NamespaceRole> {
  const roles = new Map<string, NamespaceRole>();
  for (const ns of lab.namespaces) {
    const forwards = ns.sysctls.some(([k, v]) => k === 'net.ipv4.ip_forward' && v === '1');
    roles.set(ns.name, forwards ? 'router' : 'host');
  }
  const c = lab.cluster;
  if (c) {
    roles.set(c.underlay.namespace, c.underlay.kind);
    for (const cl of c.clients) roles.set(cl.name, 'client');
    for (const n of c.nodes) {
      roles.set(n.name, 'node');
      for (const p of n.pods) roles.set(p.name, 'pod');
    }
  }
  for (const p of api?.state.pods ?? []) roles.set(p.meta.name, 'pod');
  for (const n of api?.nodes ?? []) roles.set(n.name, 'node');
  return roles;
}

/** The running lab as the kernel and its API state have it now. */
export async function readLabGraph(lab: Lab, inst: Instance, opts: { host: Host; store: RecordStore }): Promise<LabGraph> {
  const rec = opts.store.load(inst.name);
  if (!rec || rec.status !== 'up') throw new KnetlabError(`lab ${inst.name} is not up`, 1);
  const readings = await Promise.all(
    rec.namespaces.map(async ({ name }): Promise<NamespaceReading> => {
      const ip = async (args: string[]) => {
        const r = await opts.host.run({ file: 'ip', args: ['-n', name, '-j', ...args] }, { timeoutMs: 10_000 });
        if (r.exitCode !== 0) throw new KnetlabError(`could not read namespace ${name}: ip ${args.join(' ')} failed`, 1, [`  it said: ${r.stderr.trim()}`]);
        return r.stdout;
      };
      const [links, addrs, nsids] = await Promise.all([ip(['-d', 'link', 'show']), ip(['addr', 'show']), ip(['netns', 'list-id'])]);
      return { netns: name, links, addrs, nsids };
    }),
  );
  let api: StateFile | null = null;
  try {
    api = readState(stateFilePath(inst.dir));
  } catch {
    /* a lab without a cluster's API */
  }
  const namespaces = buildGraph(inst.prefix, readings, rolesOf(lab, api), rec.processes);
  const services = api ? servicesOf(api.state.services, api.state.slices) : [];
  return { lab: lab.name, namespaces, services };
}

/** What of a trace's report the picture draws: the request's hops and the reply's. */
export interface TracedWalk {
  request: WalkHop[];
  reply?: WalkHop[];
}

/** The trace's walk as an overlay (namespaces by the lab's names, already without the prefix). */
export function overlayOf(report: TracedWalk, prefix = ''): WalkOverlay {
  const hops = (list: WalkHop[]) => list.map((h) => ({ namespace: shortName(prefix, h.namespace), in: h.in, out: h.out }));
  return { hops: hops(report.request), reply: hops(report.reply ?? []) };
}

/** DOT text laid out as SVG (Graphviz), or that SVG drawn as a PNG (resvg). */
export async function renderGraph(dot: string, format: GraphFormat): Promise<string | Uint8Array> {
  if (format === 'dot') return dot;
  const { Graphviz } = await import('@hpcc-js/wasm-graphviz');
  const svg = (await Graphviz.load()).dot(dot);
  if (format === 'svg') return svg;
  let font: Uint8Array;
  try {
    font = readFileSync(FONT_FILE);
  } catch {
    throw new KnetlabError(`cannot draw a PNG: the font ${FONT_FILE} is missing`, 1, [
      '  hint: apt-get install fonts-dejavu-core (scripts/setup.sh installs it), or use --format svg',
    ]);
  }
  const resvg = await import('@resvg/resvg-wasm');
  await initResvg(resvg.initWasm);
  const r = new resvg.Resvg(svg, {
    font: { fontBuffers: [font], defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    fitTo: { mode: 'zoom', value: 1.5 },
    background: 'white',
  });
  const png = r.render().asPng();
  r.free();
  return png;
}

// initWasm may run once per process; a second call throws.
let resvgReady: Promise<void> | undefined;
function initResvg(initWasm: (m: Uint8Array) => Promise<void>): Promise<void> {
  // Resolved from this module: in the bundle that is dist/chunks/, and node_modules is above it.
  const wasm = () => readFileSync(createRequire(import.meta.url).resolve('@resvg/resvg-wasm/index_bg.wasm'));
  return (resvgReady ??= initWasm(wasm()));
}

export interface GraphCommandOptions {
  host: Host;
  store: RecordStore;
  /** Given, or taken from the output file's extension, else svg. */
  format?: GraphFormat | undefined;
  /** A file to write; stdout otherwise. */
  output?: string | undefined;
  /** A trace's report: its request's and reply's walks are drawn over the picture. */
  walk?: TracedWalk | undefined;
}

/** Read the lab, draw it, and write the picture where asked. */
export async function graphCommand(lab: Lab, inst: Instance, opts: GraphCommandOptions): Promise<void> {
  const ext = opts.output ? extname(opts.output).slice(1).toLowerCase() : '';
  const format: GraphFormat = opts.format ?? (GRAPH_FORMATS.includes(ext as GraphFormat) ? (ext as GraphFormat) : 'svg');
  const graph = await readLabGraph(lab, inst, opts);
  const picture = await renderGraph(toDot(graph, opts.walk ? overlayOf(opts.walk) : null), format);
  if (opts.output) {
    writeFileSync(opts.output, picture);
    // knetlab runs with umask 077; a picture is for everyone to read (a lab README shows it).
    chmodSync(opts.output, 0o644);
  } else process.stdout.write(picture);
}
