// Reading YAML with positions. The yaml library gives us an AST with source offsets; we keep a
// map from JSON pointer (/topology/namespaces/test1) to where its key and value start, so that
// validation can work on plain values and still point at line:column.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document, type Node } from 'yaml';
import type { Diagnostic, Position } from './diagnostics.js';

/** The largest file a lab may name (lab.yaml, a manifest): well above any real lab, far below what would hurt. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Aliases (*name) in one YAML document: resolving each scans the document, and labs need few. */
export const MAX_ALIASES = 200;
/** How far aliases may multiply the data (the yaml library's guard against "billion laughs"). */
const MAX_ALIAS_EXPANSION = 100;

/** Why a file cannot be read as text, or its text: regular files only, of bounded size, never blocking. */
export function readTextFile(file: string): { text: string } | { problem: string; hint: string } {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code ?? (e as Error).message})`, hint: 'check the path and its permissions' };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { problem: 'is a directory', hint: 'name a YAML file' };
    if (!st.isFile()) return { problem: 'is not a regular file (a device, FIFO or socket)', hint: 'name a regular YAML file' };
    if (st.size > MAX_FILE_BYTES)
      return {
        problem: `is ${st.size} bytes, more than the ${MAX_FILE_BYTES / 1024 / 1024} MiB a lab file may have`,
        hint: 'split it, or remove what the lab does not need',
      };
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, null);
      if (n === 0) break;
      got += n;
    }
    return { text: buf.toString('utf8', 0, got) };
  } catch (e) {
    return { problem: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, hint: 'check the file and its permissions' };
  } finally {
    closeSync(fd);
  }
}

/**
 * Line breaks as the YAML reader expects them. CRLF and LF are both fine for it, but a lone CR
 * (old Mac files) would make the whole file one line; each becomes LF, so line:column stay true.
 */
export function normalizeLineBreaks(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

const YAML_HINTS: Partial<Record<string, string>> = {
  TAB_AS_INDENT: 'YAML indents with spaces only: replace the tabs at the start of this line with spaces',
  BLOCK_AS_IMPLICIT_KEY: 'a value that contains ": " must be quoted, e.g. image: "busybox:1.28"',
  DUPLICATE_KEY: 'each key may appear once in a map; remove or rename the duplicate',
  MISSING_CHAR: 'a flow collection or quoted string is not closed: add the missing "}", "]" or quote',
  BAD_INDENT: 'indent the entries of one map or list by the same number of spaces',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; is a ":" or a quote missing on the line above?',
  KEY_OVER_1024_CHARS: 'keys are short names; is a ":" missing?',
  BAD_ALIAS: 'an alias is written *name, after an anchor &name',
  UNEXPECTED_TOKEN: 'check the YAML syntax here: indentation, quotes and brackets',
  BAD_DQ_ESCAPE: 'in a double-quoted string, write \\\\ for a backslash, or use single quotes',
};

/** The YAML reader's errors and warnings for one document, each with a hint. */
export function yamlDiagnostics(doc: Document, file: string, at: (offset: number | undefined) => Position): Diagnostic[] {
  const out: Diagnostic[] = [];
  const tabLines = new Set<number>();
  for (const e of [...doc.errors, ...duplicateKeys(doc), ...doc.warnings]) {
    const pos = at(e.pos[0]);
    // One tab error per line is enough: the yaml parser reports every tab of the indentation.
    if (e.code === 'TAB_AS_INDENT') {
      if (tabLines.has(pos.line)) continue;
      tabLines.add(pos.line);
    }
    out.push({
      file,
      pos,
      severity: e.name === 'YAMLWarning' ? 'warning' : 'error',
      message: `YAML: ${e.message.split('\n')[0]}`,
      hint: YAML_HINTS[e.code] ?? 'check the YAML syntax here: indentation, quotes and brackets',
    });
  }
  return out;
}

/**
 * Parse options for every YAML file knetlab reads. The reader's own check for duplicate keys
 * compares each key with every earlier one of its map (quadratic: a map of 100k keys takes
 * minutes); duplicateKeys does the same check with a set per map.
 */
export const YAML_OPTIONS = { prettyErrors: false, uniqueKeys: false } as const;

/** A duplicate key in a map, as the YAML reader with uniqueKeys would report it: at the later key. */
function duplicateKeys(doc: Document): { name: string; code: string; message: string; pos: [number, number] }[] {
  const out: { name: string; code: string; message: string; pos: [number, number] }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const item of map.items) {
        // Scalars compare by value and type (1 and "1" differ), as the reader does; a collection
        // or an alias as a key equals no other key.
        if (!isScalar(item.key)) continue;
        const id = `${typeof item.key.value}:${String(item.key.value)}`;
        if (!seen.has(id)) seen.add(id);
        else {
          const start = item.key.range?.[0] ?? 0;
          out.push({ name: 'YAMLParseError', code: 'DUPLICATE_KEY', message: 'Map keys must be unique', pos: [start, start + 1] });
        }
      }
    },
  });
  return out;
}

/**
 * A document as plain data, or the error that prevents it: aliases are the one thing in YAML that
 * can make a small file huge (or, undefined, fail to resolve), so they are counted and bounded.
 */
export function documentData(doc: Document, file: string, at: (offset: number | undefined) => Position): { data: unknown } | { error: Diagnostic } {
  const aliases: Node[] = [];
  visit(doc, {
    Alias(_, node) {
      aliases.push(node);
      return aliases.length > MAX_ALIASES ? visit.BREAK : undefined;
    },
  });
  const fail = (node: Node | undefined, message: string, hint: string) => ({
    error: { file, pos: at(node?.range?.[0] ?? doc.contents?.range?.[0]), severity: 'error' as const, message, hint },
  });
  if (aliases.length > MAX_ALIASES)
    return fail(aliases[MAX_ALIASES], `more than ${MAX_ALIASES} aliases in one YAML document`, 'write the values out instead of repeating *aliases');
  try {
    return { data: doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION }) };
  } catch (e) {
    const unresolved = aliases.find((a) => isAlias(a) && !a.resolve(doc));
    if (unresolved && isAlias(unresolved))
      return fail(
        unresolved,
        `YAML: alias *${unresolved.source} has no anchor`,
        `define &${unresolved.source} on a value before this alias, or write the value out`,
      );
    if (/Excessive alias count/.test((e as Error).message))
      return fail(aliases[0], 'YAML: the aliases in this document expand to too much data', 'aliases that nest other aliases multiply; write the values out');
    return fail(aliases[0], `YAML: ${(e as Error).message.split('\n')[0]}`, 'check the anchors (&name) and aliases (*name) of this document');
  }
}

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
  /** Where further YAML documents in the same file start (they are Kubernetes manifests). */
  extra: { pos: Position }[];
  diagnostics: Diagnostic[];
}

export function pointer(path: readonly (string | number)[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

export function readSource(file: string, text: string): SourceDoc {
  text = normalizeLineBreaks(text);
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, ...YAML_OPTIONS });
  const at = (offset: number | undefined): Position => {
    const p = lines.linePos(offset ?? 0);
    return { line: p.line, col: p.col };
  };
  const diagnostics: Diagnostic[] = [];
  const positions = new Map<string, Located>();
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) for (const d of yamlDiagnostics(doc, file, at)) diagnostics.push(d);
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
  let data: unknown;
  if (!diagnostics.some((d) => d.severity === 'error')) {
    const r = documentData(first, file, at);
    if ('error' in r) diagnostics.push(r.error);
    else data = r.data;
  }
  // Later documents are manifests, read with their own positions by the Kubernetes side; here
  // only whether there are any matters.
  const extra = list.slice(1).map((d) => ({ pos: at(d.contents?.range?.[0]) }));
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
  text = normalizeLineBreaks(text);
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length < 2) return null;
  const end = list[1]!.range[0];
  return text.slice(0, end).replace(/[^\n]/g, ' ') + text.slice(end);
}
