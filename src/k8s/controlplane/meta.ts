// Object metadata as the API server fills it in: generated names (generateName), uids and
// creation times, derived deterministically where Kubernetes draws at random.

import { createHash } from 'node:crypto';
import type { Meta } from '../../api/objects.js';

/** k8s.io/apimachinery/pkg/util/rand's alphabet: no vowels (no words), no 0/1/3 (no look-alikes). */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
/** names.SimpleNameGenerator keeps generateName to 58 characters so that name + 5 fits in 63. */
const MAX_GENERATE_NAME = 58;

/** rand.SafeEncodeString: every character mapped through the alphabet. */
export function safeEncodeString(s: string): string {
  return [...s].map((c) => ALPHANUMS[c.codePointAt(0)! % ALPHANUMS.length]).join('');
}

/**
 * generateName as the API server completes it: the prefix (cut to 58 characters) and 5 characters
 * of the alphabet. Kubernetes draws them at random; knetlab derives them from sha256(seed).
 */
export function generatedName(prefix: string, seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  return prefix.slice(0, MAX_GENERATE_NAME) + [...digest.subarray(0, 5)].map((b) => ALPHANUMS[b % ALPHANUMS.length]).join('');
}

/** A version-4-shaped UUID derived from the object's identity and creation time (the API server's is random). */
function uidFor(kind: string, namespace: string, name: string, created: string): string {
  const h = createHash('sha256').update(`${kind}/${namespace}/${name}@${created}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function metaFor(
  kind: string,
  o: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> },
  prev: Meta | undefined,
  now: string,
): Meta {
  const creationTimestamp = prev?.creationTimestamp ?? now;
  return {
    name: o.name,
    namespace: o.namespace,
    labels: o.labels,
    annotations: o.annotations,
    creationTimestamp,
    uid: prev?.uid ?? uidFor(kind, o.namespace, o.name, creationTimestamp),
  };
}

export const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;
