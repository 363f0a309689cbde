// Reading YAML with positions. The yaml library gives us an AST with source offsets; we keep an
// index from path (/topology/namespaces/test1) to where its key and value start, so that
// validation can work on plain values and still point at line:column.
//
// Memory: the yaml library holds a document's whole syntax tree (CST) until it has composed the
// document from it, and the composed Document is as large again: together several hundred bytes
// for every token of the text. So a document is read one at a time and dropped as soon as its
// plain value and positions are taken out of it, and the tokens a lab may have are bounded
// (MAX_YAML_TOKENS), counted as they are read: a hostile file is refused at the token that goes
// over, with its line and column, before it can grow the process.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { Composer, isAlias, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, Parser, visit, type Document, type Node } from 'yaml';
import { DiagnosticList, type Diagnostic, type Position } from './diagnostics.js';
import { SourcePositions } from './positions.js';

/**
 * The largest file a lab may name (lab.yaml, a manifest), and the most its files may have
 * together: well above any real lab, far below what would hurt.
 */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Aliases (*name) in one YAML document: resolving each scans the document, and labs need few. */
export const MAX_ALIASES = 200;
/** How far aliases may multiply the data (the yaml library's guard against "billion laughs"). */
const MAX_ALIAS_EXPANSION = 100;

/**
 * Why a file cannot be read as text, or its text: regular files only, of bounded size, never
 * blocking. With `budget`, the lab's files together are bounded too (a lab may name one large
 * manifest many times).
 */
export function readTextFile(file: string, budget?: ReadBudget): { text: string } | { problem: string; hint: string } {
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
    if (budget && budget.bytes + st.size > budget.maxBytes)
      return {
        problem: `is ${st.size} bytes: with the lab's other files that is more than the ${budget.maxBytes / 1024 / 1024} MiB a lab's files may have together`,
        hint: 'remove what the lab does not need',
      };
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, null);
      if (n === 0) break;
      got += n;
    }
    if (budget) budget.bytes += got;
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

/** The YAML reader's errors and warnings for one document, each with a hint, added to `out`; whether there are errors. */
export function yamlDiagnostics(doc: Document, file: string, at: (offset: number | undefined) => Position, out: { push(d: Diagnostic): void }): boolean {
  const tabLines = new Set<number>();
  const duplicates = duplicateKeys(doc);
  for (const e of [...doc.errors, ...duplicates, ...doc.warnings]) {
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
  return doc.errors.length > 0 || duplicates.length > 0;
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

export type { Located } from './positions.js';

/**
 * YAML tokens (keys, values, indicators, spaces, line breaks, comments) that one lab may have in
 * its lab file and manifests together: 0.3 to 1.2 MB of YAML. The largest shipped lab has 1 600
 * and all of them together 42 000. While a document is composed, the yaml library needs up to
 * ~700 bytes a token (its syntax tree and the Document at once; a flow list of maps is the
 * worst), so the worst lab within this peaks at about 270 MB in `knetlab validate`, errors
 * included (scripts/bench-validate.mjs).
 */
export const MAX_YAML_TOKENS = 300_000;

/** What one lab reads: its lab file and its manifests together, in bytes and in YAML tokens. */
export class ReadBudget {
  bytes = 0;
  tokens = 0;
  constructor(
    readonly maxTokens = MAX_YAML_TOKENS,
    readonly maxBytes = MAX_FILE_BYTES,
  ) {}
}

/**
 * What one token of the text counts for: 1, plus what the yaml library builds piece by piece
 * when it composes the value: a double-quoted string character by character (a rope of about 40
 * bytes a character until it is first read), a multi-line value line by line (an array entry
 * and a string per line). Plain and single-quoted values are cut from the text as they are.
 */
export function tokenCost(lexeme: string): number {
  if (lexeme.length < 2) return 1;
  let cost = lexeme.charCodeAt(0) === 34 /* " */ ? 1 + (lexeme.length >> 3) : 1;
  for (let i = lexeme.indexOf('\n'); i >= 0; i = lexeme.indexOf('\n', i + 1)) cost++;
  return cost;
}

/** The error for a file that goes over the lab's token budget, at the token that does. */
function tooLarge(file: string, pos: Position, budget: ReadBudget): Diagnostic {
  return {
    file,
    pos,
    severity: 'error',
    message: `the lab is too large to read: its YAML files together have more than ${budget.maxTokens} tokens by here (a key, a value, a punctuation mark or a line break is one; a double-quoted string counts one more per 8 characters)`,
    hint: 'a lab describes a few namespaces and the manifests it needs (the largest shipped lab has under 2 000 tokens); remove what the lab does not use',
  };
}

/**
 * Parse YAML text one document at a time: `each` gets every document as it is composed, and
 * nothing keeps it afterwards. Every token is counted against `budget` (null: the text was
 * counted already); at the token that goes over, reading stops and the error saying where is
 * returned.
 */
export function eachDocument(
  file: string,
  text: string,
  budget: ReadBudget | null,
  each: (doc: Document, at: (offset: number | undefined) => Position) => void,
): Diagnostic | undefined {
  const lines = new LineCounter();
  const at = (offset: number | undefined): Position => {
    const p = lines.linePos(offset ?? 0);
    return { line: p.line, col: p.col };
  };
  // What parseAllDocuments does, token by token: Parser.parse() is Lexer.lex() fed to next(),
  // then end(); Composer.compose() is next() for every CST token, then end().
  const parser = new Parser(lines.addNewLine);
  const composer = new Composer(YAML_OPTIONS);
  // The reader reports each syntax error as an Error object, which captures a stack trace
  // (about 1 KB) that is never shown: with an error on every line, those would be most of the
  // memory. Stacks are taken again while `each` runs, where a bug should have one.
  const stackTraceLimit = Error.stackTraceLimit;
  const handOver = (doc: Document): void => {
    Error.stackTraceLimit = stackTraceLimit;
    each(doc, at);
    Error.stackTraceLimit = 0;
  };
  Error.stackTraceLimit = 0;
  try {
    lines.addNewLine(0);
    for (const lexeme of new Lexer().lex(text)) {
      if (budget && (budget.tokens += tokenCost(lexeme)) > budget.maxTokens) return tooLarge(file, at(parser.offset), budget);
      for (const token of parser.next(lexeme)) for (const doc of composer.next(token)) handOver(doc);
    }
    for (const token of parser.end()) for (const doc of composer.next(token)) handOver(doc);
    for (const doc of composer.end()) handOver(doc);
    return undefined;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

export interface SourceDoc {
  file: string;
  /** The document as plain data (maps are objects, sequences arrays). */
  data: unknown;
  /** Where each key and value of the document is written. */
  positions: SourcePositions;
  /** Where the second YAML document in the same file starts, if there is one (they are Kubernetes manifests). */
  later?: { pos: Position; offset: number };
  /** What was found in the YAML; validation adds its own. */
  diagnostics: DiagnosticList;
}

/**
 * Read the lab file's text: its first document as data with positions, and where the documents
 * after it start. `budget` counts the tokens of the whole text.
 */
export function readSource(file: string, text: string, budget: ReadBudget | null = new ReadBudget()): SourceDoc {
  text = normalizeLineBreaks(text);
  const diagnostics = new DiagnosticList();
  let count = 0;
  let first: { empty: boolean; positions?: SourcePositions; data?: { data: unknown } | { error: Diagnostic } } | undefined;
  let later: SourceDoc['later'];
  const overBudget = eachDocument(file, text, budget, (doc, at) => {
    const failed = yamlDiagnostics(doc, file, at, diagnostics);
    if (count++ > 0) {
      // Later documents are manifests, read with their own positions by the Kubernetes side;
      // here only where they start matters.
      later ??= { pos: at(doc.contents?.range?.[0]), offset: doc.range?.[0] ?? 0 };
      return;
    }
    if (doc.contents === null) first = { empty: true };
    // A document with YAML errors is not validated: its data and positions are not needed.
    else if (failed) first = { empty: false };
    else first = { empty: false, positions: positionsOf(doc.contents as Node, at), data: documentData(doc, file, at) };
  });
  if (overBudget) {
    diagnostics.push(overBudget);
    return { file, data: undefined, positions: SourcePositions.empty(), diagnostics };
  }
  if (!first || first.empty) {
    diagnostics.push({
      file,
      pos: { line: 1, col: 1 },
      severity: 'error',
      message: 'the file is empty',
      hint: 'a lab needs at least name, title and topology',
    });
    return { file, data: undefined, positions: SourcePositions.empty(), diagnostics };
  }
  let data: unknown;
  if (diagnostics.errors === 0 && first.data) {
    if ('error' in first.data) diagnostics.push(first.data.error);
    else data = first.data.data;
  }
  return { file, data, positions: first.positions ?? SourcePositions.empty(), later, diagnostics };
}

/** Where each key and value of a YAML node tree starts. */
export function positionsOf(root: Node, at: (offset: number | undefined) => Position): SourcePositions {
  return SourcePositions.build(at, root.range?.[0] ?? 0, (add, top) => {
    const walk = (node: Node, n: number): void => {
      if (isMap(node)) {
        for (const item of node.items) {
          if (!isPair(item)) continue;
          const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
          const keyAt = (item.key as Node | null)?.range?.[0] ?? 0;
          if (item.value) walk(item.value as Node, add(n, k, keyAt, (item.value as Node).range?.[0] ?? 0));
          else add(n, k, keyAt, keyAt);
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => walk(item as Node, add(n, i, -1, (item as Node).range?.[0] ?? 0)));
      }
    };
    walk(root, top);
  });
}

/** Position of a path, or of its nearest ancestor that has one. */
export function positionOf(src: SourceDoc, path: readonly (string | number)[], prefer: 'key' | 'value' = 'value'): Position {
  return src.positions.nearest(path, prefer) ?? { line: 1, col: 1 };
}

/**
 * The lab file's text with its first document blanked out, line breaks kept, so positions stay
 * true; null when it has one document. `src` is what readSource made of this text.
 */
export function laterDocuments(text: string, src: SourceDoc): string | null {
  if (!src.later) return null;
  text = normalizeLineBreaks(text);
  const end = src.later.offset;
  return text.slice(0, end).replace(/[^\n]/g, ' ') + text.slice(end);
}
