// Shared by loader tests: load a lab from text and return its errors, formatted as users see them.
import { loadLabFile } from '../../../src/plan/load.js';
import { LabFileError, formatDiagnostic } from '../../../src/labfile/diagnostics.js';

export function errorsOf(text: string): string[] {
  try {
    loadLabFile('lab.yaml', text);
  } catch (e) {
    if (e instanceof LabFileError) return e.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    throw e;
  }
  return [];
}
