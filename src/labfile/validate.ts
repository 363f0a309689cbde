// Validation and resolution: as-written data → every error collected → a resolved Lab.
// Shape errors come from the JSON Schema (ajv); meaning errors (references, addresses, names)
// from namespaces.ts and checks.ts. Both point at file:line:column with a hint.

import { dirname, isAbsolute, relative, resolve as resolvePath, sep } from 'node:path';
import { realpathSync } from 'node:fs';
import { LabFileError, type Diagnostic, type DiagnosticList } from './diagnostics.js';
import { laterDocuments, positionOf, readSource, readTextFile, ReadBudget, type SourceDoc } from './read.js';
import type { RawLab } from './schema.js';
import { resolveCluster } from './cluster.js';
import type { Context, Path } from './context.js';
import { checkShape } from './shape.js';
import { crossChecks, NAME_RE, readLinks, readNamespace, unknownNamespace } from './namespaces.js';
import { readCheck } from './checks.js';
import type { Cluster, Lab, Namespace } from './types.js';

export interface LoadResult {
  lab: Lab;
  warnings: Diagnostic[];
  /** Warnings found beyond those kept (a lab with a great many). */
  moreWarnings: number;
}

/** A manifest's text and the name messages give its file. */
export interface ManifestSource {
  file: string;
  text: string;
  /** Its tokens were counted already: the lab file's own later documents. */
  counted?: boolean;
}

/**
 * What becomes of a cluster's manifests: read, reconciled and placed on the nodes by the caller
 * (the Kubernetes side lives above the lab file format), counting their tokens against the lab's
 * `budget`. Returns their diagnostics.
 */
export type ManifestHook = (c: Cluster, sources: ManifestSource[], budget: ReadBudget) => Diagnostic[];

/**
 * Read, validate and resolve a lab file. `manifests` receives the cluster's Kubernetes manifests
 * (files named under manifests:, then the documents after the lab); without it they are not read.
 */
export function readLabFile(file: string, text?: string, manifests?: ManifestHook): LoadResult {
  const abs = resolvePath(file);
  // Messages name the file as the user would: relative to where they are, when it is below.
  const shown = shownPath(abs);
  const budget = new ReadBudget();
  let source = text;
  if (source === undefined) {
    const r = readTextFile(abs, budget);
    if ('problem' in r)
      throw new LabFileError([{ file: shown, pos: { line: 1, col: 1 }, severity: 'error', message: `the lab file ${r.problem}`, hint: r.hint }]);
    source = r.text;
  } else budget.bytes += Buffer.byteLength(source);
  const src = readSource(shown, source, budget);
  const found = src.diagnostics;
  const lab = found.errors === 0 ? new Validator(src, abs, source, budget, manifests).run() : undefined;
  if (found.errors > 0 || !lab) throw found.error();
  return { lab, warnings: found.found('warning'), moreWarnings: found.omitted.warnings };
}

/** A path as the user would write it: relative to where they are, when it is below. */
function shownPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel.startsWith('..') || isAbsolute(rel) ? abs : rel;
}

/** Every error says what to do; where a check has no better advice, where to look. */
function fieldHint(path: Path): string {
  const field = path.filter((p) => typeof p === 'string').join('.');
  return field ? `\`knetlab schema\` describes what ${field.length > 60 ? field.slice(0, 60) + '…' : field} takes` : '`knetlab schema` describes a lab file';
}

/** Whether `path` (symlinks resolved) is `dir` or below it. */
function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

class Validator implements Context {
  /** The YAML reader's diagnostics, then these checks'. */
  private readonly diags: DiagnosticList;
  manifestPodsMissing = false;
  /** Where an error was reported already ("line:col"): one error per place. */
  private readonly errorAt = new Set<string>();
  constructor(
    readonly src: SourceDoc,
    private readonly abs: string,
    private readonly text: string,
    private readonly budget: ReadBudget,
    private readonly manifests: ManifestHook | undefined,
  ) {
    this.diags = src.diagnostics;
  }

  error(path: Path, message: string, hint?: string, at: 'key' | 'value' = 'value'): void {
    const pos = positionOf(this.src, path, at);
    // A name can fail both the schema's pattern and a meaning check: report one error per place.
    const key = `${pos.line}:${pos.col}`;
    if (this.errorAt.has(key)) return;
    this.errorAt.add(key);
    this.diags.push({ file: this.src.file, pos, severity: 'error', message, hint: hint ?? fieldHint(path) });
  }

  warn(path: Path, message: string, hint?: string): void {
    this.diags.push({ file: this.src.file, pos: positionOf(this.src, path), severity: 'warning', message, hint });
  }

  run(): Lab | undefined {
    const data = this.src.data;
    // Further documents are Kubernetes manifests; they need a cluster to run on.
    const hasCluster = typeof data === 'object' && data !== null && 'cluster' in data;
    if (!hasCluster && this.src.later) {
      this.diags.push({
        file: this.src.file,
        pos: this.src.later.pos,
        severity: 'error',
        message: 'Kubernetes manifests after the lab need a cluster to run on',
        hint: 'add a cluster: section (nodes, underlay, cni), or remove the documents after the first "---"',
      });
    }
    // Errors in a value (a bad pattern, a number out of range) leave the structure intact: go
    // on, so the user sees the meaning errors too. Structural errors stop here.
    if (!checkShape(this, data)) return undefined;
    const raw = data as RawLab;
    const lab = this.resolve(raw);
    return this.diags.errors > 0 ? undefined : lab;
  }

  private resolve(raw: RawLab): Lab {
    const namespaces = new Map<string, Namespace>();
    const topology = raw.topology ?? { namespaces: {} };
    const nsNames = Object.keys(topology.namespaces);
    if (!raw.cluster && !raw.topology) this.error([], 'the lab has neither a topology nor a cluster', 'add a topology: section, a cluster: section, or both');
    else if (!raw.cluster && nsNames.length === 0)
      this.error(['topology', 'namespaces'], 'the lab has no namespaces', 'add at least one namespace under topology.namespaces');
    if (raw.manifests && !raw.cluster) this.error(['manifests'], 'manifests need a cluster to run on', 'add a cluster: section (nodes, underlay, cni)', 'key');
    const expanded = raw.cluster
      ? resolveCluster(
          raw.cluster,
          (p, m, h, at) => this.error(p, m, h, at),
          (c) => this.kubernetes(c, raw),
        )
      : undefined;
    for (const ns of expanded?.namespaces ?? []) namespaces.set(ns.name, ns);
    for (const name of nsNames) {
      const path: Path = ['topology', 'namespaces', name];
      if (!NAME_RE.test(name) || name.length > 24) {
        this.error(path, `invalid namespace name "${name}"`, 'use lowercase letters, digits and dashes, at most 24 characters, e.g. "node1"', 'key');
      }
      if (namespaces.has(name)) this.error(path, `namespace "${name}" is already a node, a pod or the underlay of the cluster`, 'give it another name', 'key');
      namespaces.set(name, readNamespace(this, name, topology.namespaces[name]!, path));
    }
    const links = [...(expanded?.links ?? []), ...readLinks(this, topology.links ?? [], namespaces)];
    crossChecks(this, namespaces, links);
    // Checks and observe name the cluster's pods and devices: after an error in the cluster
    // section there are none to check them against, and every one would be a false error.
    const clusterFailed = expanded?.failed ?? false;
    const checks = clusterFailed ? [] : (raw.checks ?? []).map((c, i) => readCheck(this, c, ['checks', i], namespaces, expanded?.cluster ?? null));
    const observe = (clusterFailed ? [] : (raw.observe ?? [])).map((o, i) => {
      if (!namespaces.has(o.from)) unknownNamespace(this, ['observe', i, 'from'], o.from, namespaces);
      o.run.forEach((arg, j) => {
        if (/[\n\0]/.test(arg)) this.error(['observe', i, 'run', j], 'command arguments cannot contain newlines');
      });
      return { from: o.from, argv: o.run, why: o.why ?? '' };
    });
    return {
      name: raw.name,
      title: raw.title,
      source: raw.source ?? '',
      description: raw.description ?? '',
      file: this.abs,
      dir: dirname(this.abs),
      namespaces: [...namespaces.values()],
      links,
      cluster: expanded?.cluster ?? null,
      observe,
      checks,
    };
  }

  /** Read the lab's manifests (files, then documents after the lab) and put their pods on the nodes. */
  private kubernetes(c: Cluster, raw: RawLab): void {
    const later = laterDocuments(this.text, this.src);
    if (!this.manifests || this.diags.errors > 0) {
      // Allocation needs sound nodes; the manifests' pods stay unknown.
      this.manifestPodsMissing = Boolean(raw.manifests?.length) || later !== null;
      return;
    }
    const sources: ManifestSource[] = [];
    // A lab is a folder: what it names must be in it, symlinks resolved, so that a lab (run as
    // root) cannot read, and echo back in its errors, files elsewhere on the machine.
    let labDir: string;
    try {
      labDir = realpathSync(dirname(this.abs));
    } catch {
      labDir = dirname(this.abs);
    }
    (raw.manifests ?? []).forEach((m, i) => {
      const abs = resolvePath(dirname(this.abs), m);
      let real: string;
      try {
        real = realpathSync(abs);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        this.error(
          ['manifests', i],
          `manifest ${m} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`,
          'paths are relative to the lab folder',
        );
        return;
      }
      if (!inside(labDir, real)) {
        this.error(
          ['manifests', i],
          `manifest ${m} is outside the lab folder`,
          'a lab names only files in its own folder (or below it), symlinks included: copy the file in',
        );
        return;
      }
      const r = readTextFile(real, this.budget);
      if ('problem' in r) this.error(['manifests', i], `manifest ${m} ${r.problem}`, r.hint);
      else sources.push({ file: shownPath(abs), text: r.text });
    });
    // Blanking the first document leaves no more tokens than it had: counted once, with the lab file.
    if (later !== null) sources.push({ file: this.src.file, text: later, counted: true });
    const read = sources.length || c.dns ? this.manifests(c, sources, this.budget) : [];
    for (const d of read) this.diags.push(d);
    this.manifestPodsMissing = sources.length < (raw.manifests?.length ?? 0) + (later !== null ? 1 : 0) || read.some((d) => d.severity === 'error');
  }
}
