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

export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.pos.line}:${d.pos.col}  ${d.severity}  ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

/** Expected failures: printed without a stack, mapped to an exit code by the CLI. */
export class KnetlabError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
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
    super(`${errors} error${errors === 1 ? '' : 's'} in ${diagnostics[0]?.file ?? 'lab file'}`, diagnostics.map(formatDiagnostic));
    this.name = 'LabFileError';
  }
}
