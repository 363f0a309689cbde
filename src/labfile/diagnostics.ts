// Diagnostics: every problem found in a lab file, with where it is and how to fix it.
// The loader collects all of them before failing, so a user fixes a file in one pass.

export interface Position {
  line: number; // 1-based
  col: number; // 1-based
}

export interface Diagnostic {
  file: string;
  pos: Position;
  message: string;
  hint?: string;
  severity: 'error' | 'warning';
}

/** The longest message or hint printed whole: values echoed in it are the user's, of any length. */
const MAX_TEXT = 400;
/** Diagnostics printed for one file; the rest are counted ("…and N more"). */
export const MAX_SHOWN = 50;

/**
 * Text from a lab made safe for a terminal: control characters (an escape sequence in a key
 * could clear the screen) shown as \xNN, and anything very long cut, saying how much was left out.
 */
export function printable(text: string, max = MAX_TEXT): string {
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) =>
    c === '\t' ? ' ' : c.charCodeAt(0) > 0xff ? `\\u${c.charCodeAt(0).toString(16)}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return safe.length <= max ? safe : `${safe.slice(0, max)}… (${safe.length - max} more characters)`;
}

/** A value quoted in a message: a short prefix at most, so a huge value is not echoed whole. */
export function quoted(value: unknown, max = 60): string {
  if (typeof value === 'string') return JSON.stringify(value.length <= max ? value : `${value.slice(0, max)}…`);
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

export function formatDiagnostic(d: Diagnostic): string {
  const head = `${printable(d.file)}:${d.pos.line}:${d.pos.col}  ${d.severity}  ${printable(d.message)}`;
  return d.hint ? `${head}\n  hint: ${printable(d.hint)}` : head;
}

/** Diagnostics found but not kept (see DiagnosticList): only counted. */
export interface Omitted {
  errors: number;
  warnings: number;
}

const NONE: Omitted = { errors: 0, warnings: 0 };

/** The diagnostics to print: the first MAX_SHOWN, then how many more there are (with those `omitted`). */
export function formatDiagnostics(diagnostics: Diagnostic[], omitted: Omitted = NONE): string[] {
  const shown = diagnostics.slice(0, MAX_SHOWN).map(formatDiagnostic);
  const rest = diagnostics.length - shown.length + omitted.errors + omitted.warnings;
  if (rest > 0) {
    const errors = diagnostics.slice(MAX_SHOWN).filter((d) => d.severity === 'error').length + omitted.errors;
    shown.push(`…and ${rest} more (${errors} error${errors === 1 ? '' : 's'}, ${rest - errors} warning${rest - errors === 1 ? '' : 's'}); fix these first`);
  }
  return shown;
}

/** Diagnostics kept of one lab: far more than are printed, and few enough to cost nothing. */
export const MAX_KEPT = 1000;

/**
 * The diagnostics of a lab as they are found. A lab with an error on every line would have
 * hundreds of thousands, of which MAX_SHOWN are printed: every one is counted, and the first
 * MAX_KEPT in position order are kept (those printed are among them), in a heap ordered by
 * line, column and the order found, which is the order the full list would be sorted in.
 */
export class DiagnosticList {
  errors = 0;
  warnings = 0;
  readonly omitted: Omitted = { errors: 0, warnings: 0 };
  /** A max-heap: the last in position order on top, so a diagnostic before it can replace it. */
  private readonly heap: { d: Diagnostic; seq: number }[] = [];
  private seq = 0;

  constructor(private readonly max = MAX_KEPT) {}

  push(d: Diagnostic): void {
    if (d.severity === 'error') this.errors++;
    else this.warnings++;
    const item = { d, seq: this.seq++ };
    const heap = this.heap;
    if (heap.length < this.max) {
      heap.push(item);
      this.up(heap.length - 1);
      return;
    }
    const drop = heap.length && after(item, heap[0]!) ? item : heap[0]!;
    this.omitted[drop.d.severity === 'error' ? 'errors' : 'warnings']++;
    if (drop !== item) {
      heap[0] = item;
      this.down(0);
    }
  }

  /** The kept diagnostics in position order (those at one position in the order found). */
  sorted(): Diagnostic[] {
    return [...this.heap].sort((a, b) => (after(a, b) ? 1 : -1)).map((x) => x.d);
  }

  /** The kept diagnostics of one severity in the order found. */
  found(severity: Diagnostic['severity']): Diagnostic[] {
    return this.heap
      .filter((x) => x.d.severity === severity)
      .sort((a, b) => a.seq - b.seq)
      .map((x) => x.d);
  }

  /** The lab's error: its diagnostics in position order, with how many more there are. */
  error(): LabFileError {
    return new LabFileError(this.sorted(), this.omitted);
  }

  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!after(heap[i]!, heap[parent]!)) return;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      let top = i;
      for (const c of [2 * i + 1, 2 * i + 2]) if (c < heap.length && after(heap[c]!, heap[top]!)) top = c;
      if (top === i) return;
      [heap[i], heap[top]] = [heap[top]!, heap[i]!];
      i = top;
    }
  }
}

/** Whether `a` sorts after `b`: by line, then column, then the order found. */
function after(a: { d: Diagnostic; seq: number }, b: { d: Diagnostic; seq: number }): boolean {
  if (a.d.pos.line !== b.d.pos.line) return a.d.pos.line > b.d.pos.line;
  if (a.d.pos.col !== b.d.pos.col) return a.d.pos.col > b.d.pos.col;
  return a.seq > b.seq;
}

/** A valid lab's warnings as printed: each, then how many more were found than kept. */
export function formatWarnings(warnings: Diagnostic[], more: number): string[] {
  const lines = warnings.map(formatDiagnostic);
  if (more > 0) lines.push(`…and ${more} more warning${more === 1 ? '' : 's'}`);
  return lines;
}

/** Expected failures: printed without a stack, mapped to an exit code by the CLI. */
export class KnetlabError extends Error {
  constructor(
    message: string,
    /** 1 failed, 2 invalid input or usage, 3 this kernel lacks a feature the lab needs. */
    readonly exitCode: 1 | 2 | 3,
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'KnetlabError';
  }
}

/** Invalid input or usage: exit code 2, nothing on the machine was changed. */
export class InputError extends KnetlabError {
  constructor(message: string, details: string[] = []) {
    super(message, 2, details);
    this.name = 'InputError';
  }
}

/** The lab file is invalid; carries its diagnostics (and how many more were found, if not all were kept). */
export class LabFileError extends InputError {
  constructor(
    readonly diagnostics: Diagnostic[],
    readonly omitted: Omitted = NONE,
  ) {
    const errors = diagnostics.filter((d) => d.severity === 'error').length + omitted.errors;
    super(`${errors} error${errors === 1 ? '' : 's'} in ${printable(diagnostics[0]?.file ?? 'lab file')}`, formatDiagnostics(diagnostics, omitted));
    this.name = 'LabFileError';
  }
}
