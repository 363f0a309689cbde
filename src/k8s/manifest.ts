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

import { isScalar, type Node } from 'yaml';
import type { Diagnostic, Position } from '../labfile/diagnostics.js';
import { documentData, eachDocument, normalizeLineBreaks, positionsOf, ReadBudget, yamlDiagnostics } from '../labfile/read.js';
import type { SourcePositions } from '../labfile/positions.js';
import { NODE_PORT_RANGE } from '../api/objects.js';
import { positionIn, type ManifestObject } from './manifest/types.js';
import { ObjectReader, isJson, type Json } from './manifest/object-reader.js';
import { readObject } from './manifest/kinds.js';

export interface ReadOptions {
  /** The API server's --service-node-port-range (30000-32767 by default). */
  nodePortRange?: [number, number];
  /** What the files may have together (a lab's budget, shared with its lab file). */
  budget?: ReadBudget;
}

/**
 * Read every object of every file. `objects` holds only objects without errors; `diagnostics`
 * holds every error and warning, per file in position order. A file marked `counted` (the lab
 * file's later documents) had its tokens counted against the budget already.
 */
export function readManifests(
  files: { file: string; text: string; counted?: boolean }[],
  options: ReadOptions = {},
): { objects: ManifestObject[]; diagnostics: Diagnostic[] } {
  const nodePortRange = options.nodePortRange ?? NODE_PORT_RANGE;
  const budget = options.budget ?? new ReadBudget();
  const objects: ManifestObject[] = [];
  const diagnostics: Diagnostic[] = [];
  const firstSeen = new Map<string, { file: string; pos: Position }>();
  for (const { file, text, counted } of files) {
    const found: Diagnostic[] = [];
    // Each document is read and checked as it is composed, then dropped: only its objects stay.
    const overBudget = eachDocument(file, normalizeLineBreaks(text), counted ? null : budget, (doc, at) => {
      // A document with YAML errors has no trustworthy structure (tabs, for one, shift every
      // key to the wrong level): report the syntax and go on with the next document.
      if (yamlDiagnostics(doc, file, at, found)) return;
      const root = doc.contents as Node | null;
      if (!root || (isScalar(root) && root.value === null)) return; // an empty document, e.g. after a trailing "---"
      const positions = positionsOf(root, at);
      const read = documentData(doc, file, at);
      if ('error' in read) {
        found.push(read.error);
        return;
      }
      const data = read.data;
      const start = at(root.range?.[0]);
      for (const entry of listEntries(file, data, positions, start, found)) {
        const reader = new ObjectReader(file, entry.positions, entry.pos, nodePortRange);
        const obj = readObject(reader, entry.raw);
        for (const d of reader.diagnostics) found.push(d);
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
    });
    if (overBudget) {
      // The rest of this file and the files after it are not read: the lab is refused.
      found.push(overBudget);
      for (const d of byPosition(found)) diagnostics.push(d);
      break;
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
    for (const d of byPosition(found)) diagnostics.push(d);
  }
  return { objects, diagnostics };
}

/** A file's diagnostics in position order. (Appended one by one: a file may have 100k, too many to spread into push.) */
function byPosition(found: Diagnostic[]): Diagnostic[] {
  return found.sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
}

/** The objects of one document: the document itself, or the items of a `kind: List`. */
function listEntries(
  file: string,
  data: unknown,
  positions: SourcePositions,
  start: Position,
  found: Diagnostic[],
): { raw: unknown; positions: SourcePositions; pos: Position }[] {
  if (!isJson(data) || data.kind !== 'List') return [{ raw: data, positions, pos: start }];
  const list = new ObjectReader(file, positions, start, NODE_PORT_RANGE);
  list.fields(data, [], ['apiVersion', 'kind', 'items'], ['metadata']);
  if (data.apiVersion !== 'v1')
    list.error(['apiVersion'], `no matches for kind "List" in version "${String(data.apiVersion)}"`, 'List is served by apiVersion v1');
  const items = list.list(data.items, ['items']) ?? [];
  for (const d of list.diagnostics) found.push(d);
  return items.map((raw, i) => {
    const own = positions.within(['items', i]);
    return { raw, positions: own, pos: own.get([])?.value ?? start };
  });
}
