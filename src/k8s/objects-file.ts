// The lab's objects as written, kept beside the state file: what `knetlab apply` merges changes
// into. Apart from store.ts because it needs the YAML writer, which the node agents never load.

import { join } from 'node:path';
import { stringify } from 'yaml';
import { clusterDir } from './store.js';

/** Where `knetlab apply` finds the objects as written, to merge changes into. */
export const objectsPath = (instanceDir: string): string => join(clusterDir(instanceDir), 'objects.yaml');

/** Objects as a multi-document YAML file. */
export function objectsYaml(objects: unknown[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}
