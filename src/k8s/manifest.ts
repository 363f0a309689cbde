// Kubernetes manifests, as users paste them from `kubectl get -o yaml` or the docs: several files,
// several YAML documents per file ("---"), and `kind: List`. Each object is checked the way the
// API server checks it (the rules are cited where they apply), every error is collected with the
// line:column of the offending key or value, and every field knetlab does not model gets its own
// warning rather than being dropped silently. What comes out is resolved: defaults filled in, no
// undefined left; allocation (cluster IPs, node ports, pod IPs) is the control plane's job.
//
// This file reads: YAML documents with positions, the items of a List, duplicates across files.
// What comes out is described in manifest/types.ts; each object is checked by
// manifest/kinds.ts and the checks of its kind (manifest/workloads.ts, service.ts, endpoints.ts),
// through manifest/object-reader.ts, against the field lists of manifest/fields.ts and the name
// rules of manifest/names.ts.

import { isScalar, LineCounter, parseAllDocuments, type Node } from 'yaml';
import type { Diagnostic, Position } from '../labfile/diagnostics.js';
import { documentData, normalizeLineBreaks, pointer, positionsOf, YAML_OPTIONS, yamlDiagnostics, type Located } from '../labfile/read.js';
import { NODE_PORT_RANGE } from '../api/objects.js';
import { positionIn, type ManifestObject } from './manifest/types.js';
import { ObjectReader, isJson, type Json } from './manifest/object-reader.js';
import { readObject } from './manifest/kinds.js';

export interface ReadOptions {
  /** The API server's --service-node-port-range (30000-32767 by default). */
  nodePortRange?: [number, number];
}

/**
 * Read every object of every file. `objects` holds only objects without errors; `diagnostics`
 * holds every error and warning, per file in position order.
 */
export function readManifests(files: { file: string; text: string }[], options: ReadOptions = {}): { objects: ManifestObject[]; diagnostics: Diagnostic[] } {
  const nodePortRange = options.nodePortRange ?? NODE_PORT_RANGE;
  const objects: ManifestObject[] = [];
  const diagnostics: Diagnostic[] = [];
  const firstSeen = new Map<string, { file: string; pos: Position }>();
  for (const { file, text } of files) {
    const found: Diagnostic[] = [];
    const lines = new LineCounter();
    const docs = parseAllDocuments(normalizeLineBreaks(text), { lineCounter: lines, ...YAML_OPTIONS });
    const at = (offset: number | undefined): Position => {
      const p = lines.linePos(offset ?? 0);
      return { line: p.line, col: p.col };
    };
    for (const doc of docs) {
      const yamlDiags = yamlDiagnostics(doc, file, at);
      found.push(...yamlDiags);
      // A document with YAML errors has no trustworthy structure (tabs, for one, shift every
      // key to the wrong level): report the syntax and go on with the next document.
      if (yamlDiags.some((d) => d.severity === 'error')) continue;
      const root = doc.contents as Node | null;
      if (!root || (isScalar(root) && root.value === null)) continue; // an empty document, e.g. after a trailing "---"
      const positions = positionsOf(root, at);
      const read = documentData(doc, file, at);
      if ('error' in read) {
        found.push(read.error);
        continue;
      }
      const data = read.data;
      const start = at(root.range?.[0]);
      for (const entry of listEntries(file, data, positions, start, found)) {
        const reader = new ObjectReader(file, entry.positions, entry.pos, nodePortRange);
        const obj = readObject(reader, entry.raw);
        found.push(...reader.diagnostics);
        if (!obj) continue;
        const id = `${obj.kind} ${obj.namespace}/${obj.name}`;
        const first = firstSeen.get(id);
        if (first) {
          found.push({
            file,
            pos: positionIn({ positions: entry.positions, pos: entry.pos }, ['metadata', 'name']),
            severity: 'error',
            message: `${id} is defined twice`,
            hint: `the first definition is at ${first.file}:${first.pos.line}:${first.pos.col}; rename one or delete it`,
          });
          continue;
        }
        firstSeen.set(id, { file, pos: entry.pos });
        if (reader.ok) objects.push({ ...obj, file, pos: entry.pos, raw: entry.raw as Json, positions: entry.positions } as ManifestObject);
      }
    }
    if (found.length === 0 && !objects.some((o) => o.file === file)) {
      found.push({
        file,
        pos: { line: 1, col: 1 },
        severity: 'warning',
        message: 'there are no Kubernetes objects in this file',
        hint: 'kubectl apply refuses it: "no objects passed to apply"',
      });
    }
    diagnostics.push(...found.sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col));
  }
  return { objects, diagnostics };
}

/** The objects of one document: the document itself, or the items of a `kind: List`. */
function listEntries(
  file: string,
  data: unknown,
  positions: Map<string, Located>,
  start: Position,
  found: Diagnostic[],
): { raw: unknown; positions: Map<string, Located>; pos: Position }[] {
  if (!isJson(data) || data.kind !== 'List') return [{ raw: data, positions, pos: start }];
  const list = new ObjectReader(file, positions, start, NODE_PORT_RANGE);
  list.fields(data, [], ['apiVersion', 'kind', 'items'], ['metadata']);
  if (data.apiVersion !== 'v1')
    list.error(['apiVersion'], `no matches for kind "List" in version "${String(data.apiVersion)}"`, 'List is served by apiVersion v1');
  const items = list.list(data.items, ['items']) ?? [];
  found.push(...list.diagnostics);
  return items.map((raw, i) => {
    const prefix = pointer(['items', i]);
    const own = new Map<string, Located>();
    for (const [k, v] of positions) if (k === prefix || k.startsWith(prefix + '/')) own.set(k.slice(prefix.length), v);
    return { raw, positions: own, pos: own.get('')?.value ?? start };
  });
}
