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

/** The diagnostics to print: the first MAX_SHOWN, then how many more there are. */
export function formatDiagnostics(diagnostics: Diagnostic[]): string[] {
  const shown = diagnostics.slice(0, MAX_SHOWN).map(formatDiagnostic);
  const rest = diagnostics.length - shown.length;
  if (rest > 0) {
    const errors = diagnostics.slice(MAX_SHOWN).filter((d) => d.severity === 'error').length;
    shown.push(`…and ${rest} more (${errors} error${errors === 1 ? '' : 's'}, ${rest - errors} warning${rest - errors === 1 ? '' : 's'}); fix these first`);
  }
  return shown;
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

/** The lab file is invalid; carries every diagnostic. */
export class LabFileError extends InputError {
  constructor(readonly diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    super(`${errors} error${errors === 1 ? '' : 's'} in ${printable(diagnostics[0]?.file ?? 'lab file')}`, formatDiagnostics(diagnostics));
    this.name = 'LabFileError';
  }
}
