// The pipeline's first stages: a lab file read, validated and resolved (src/labfile), with its
// Kubernetes manifests read and reconciled by the control plane (src/k8s) and their pods placed
// on the cluster's nodes.

import { addKubernetes } from '../k8s/lab.js';
import { readLabFile, type LoadResult } from '../labfile/validate.js';

export type { LoadResult };

/**
 * Read, validate and resolve a lab file. `now` stamps the Kubernetes objects the lab's manifests
 * create (creationTimestamp, and the uids derived from it); tests pass a fixed time.
 */
export function loadLabFile(file: string, text?: string, now = new Date().toISOString()): LoadResult {
  return readLabFile(file, text, (c, sources) => addKubernetes(c, sources, now));
}
