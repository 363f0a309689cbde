// What the lab file's meaning checks share: where the document's positions come from, and how an
// error or a warning at a path is reported (every one collected, then sorted by position).

import type { SourceDoc } from './read.js';

export type Path = (string | number)[];

export interface Context {
  readonly src: SourceDoc;
  error(path: Path, message: string, hint?: string, at?: 'key' | 'value'): void;
  warn(path: Path, message: string, hint?: string): void;
}
