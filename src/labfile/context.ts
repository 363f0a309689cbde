// What the lab file's meaning checks share: where the document's positions come from, and how an
// error or a warning at a path is reported (every one collected, then sorted by position).

import type { SourceDoc } from './read.js';

export type Path = (string | number)[];

export interface Context {
  readonly src: SourceDoc;
  /**
   * The cluster's manifests were not all read (an error in them, or before them): pods they would
   * create are missing, so a namespace not found may be one of them and is not reported again.
   */
  readonly manifestPodsMissing: boolean;
  error(path: Path, message: string, hint?: string, at?: 'key' | 'value'): void;
  warn(path: Path, message: string, hint?: string): void;
}
