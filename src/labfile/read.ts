// Reading YAML with positions. The yaml library gives us an AST with source offsets; we keep a
// map from JSON pointer (/topology/namespaces/test1) to where its key and value start, so that
// validation can work on plain values and still point at line:column.

import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from 'yaml';
import type { Diagnostic, Position } from './diagnostics.js';

export interface Located {
  key?: Position;
  value: Position;
}

export interface SourceDoc {
  file: string;
  /** The document as plain data (maps are objects, sequences arrays). */
  data: unknown;
  /** JSON pointer → position of the key (for map entries) and the value. */
  positions: Map<string, Located>;
  /** Further YAML documents in the same file (reserved for Kubernetes manifests). */
  extra: { data: unknown; pos: Position }[];
  diagnostics: Diagnostic[];
}

export function pointer(path: readonly (string | number)[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

export function readSource(file: string, text = readFileSync(file, 'utf8')): SourceDoc {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): Position => {
    const p = lines.linePos(offset ?? 0);
    return { line: p.line, col: p.col };
  };
  const diagnostics: Diagnostic[] = [];
  const positions = new Map<string, Located>();
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    for (const e of [...doc.errors, ...doc.warnings]) {
      diagnostics.push({
        file,
        pos: at(e.pos[0]),
        severity: e.name === 'YAMLWarning' ? 'warning' : 'error',
        message: `YAML: ${e.message.split('\n')[0]}`,
        hint: e.code === 'DUPLICATE_KEY' ? 'each key may appear once in a map; remove or rename the duplicate' : undefined,
      });
    }
  }
  const first = list[0];
  if (!first || first.contents === null) {
    diagnostics.push({
      file,
      pos: { line: 1, col: 1 },
      severity: 'error',
      message: 'the file is empty',
      hint: 'a lab needs at least name, title and topology',
    });
    return { file, data: undefined, positions, extra: [], diagnostics };
  }
  for (const [k, v] of positionsOf(first.contents as Node, at)) positions.set(k, v);
  const data = diagnostics.some((d) => d.severity === 'error') ? undefined : first.toJS({ maxAliasCount: 100 });
  const extra = list.slice(1).map((d) => ({ data: d.toJS(), pos: at(d.contents?.range?.[0]) }));
  return { file, data, positions, extra, diagnostics };
}

/** JSON pointer → where each key and value of a YAML node tree starts. */
export function positionsOf(root: Node, at: (offset: number | undefined) => Position): Map<string, Located> {
  const positions = new Map<string, Located>();
  const walk = (node: Node, path: (string | number)[], key?: Position): void => {
    positions.set(pointer(path), { key, value: at(node.range?.[0]) });
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const keyPos = at((item.key as Node | null)?.range?.[0]);
        if (item.value) walk(item.value as Node, [...path, k], keyPos);
        else positions.set(pointer([...path, k]), { key: keyPos, value: keyPos });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item as Node, [...path, i]));
    }
  };
  walk(root, []);
  return positions;
}

/** Position of a pointer, or of its nearest ancestor that has one. */
export function positionOf(src: SourceDoc, path: readonly (string | number)[], prefer: 'key' | 'value' = 'value'): Position {
  for (let n = path.length; n >= 0; n--) {
    const loc = src.positions.get(pointer(path.slice(0, n)));
    if (loc) return (prefer === 'key' && loc.key) || loc.value;
  }
  return { line: 1, col: 1 };
}

/** The lab file's text with its first document blanked out, line breaks kept, so positions stay true. */
export function laterDocuments(text: string): string | null {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length < 2) return null;
  const end = list[1]!.range[0];
  return text.slice(0, end).replace(/[^\n]/g, ' ') + text.slice(end);
}
