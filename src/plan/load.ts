// The pipeline's first stages: a lab file read, validated and resolved (src/labfile), with its
// Kubernetes manifests read and reconciled by the control plane (src/k8s) and their pods placed
// on the cluster's nodes.

import { addKubernetes } from '../k8s/lab.js';
import { readLabFile, type LoadResult } from '../labfile/validate.js';
import { InputError } from '../labfile/diagnostics.js';
import type { Lab } from '../labfile/types.js';
import { PROXY_MODES, type ProxyMode } from '../api/objects.js';

export type { LoadResult };

/**
 * Read, validate and resolve a lab file. `now` stamps the Kubernetes objects the lab's manifests
 * create (creationTimestamp, and the uids derived from it); tests pass a fixed time.
 */
export function loadLabFile(file: string, text?: string, now = new Date().toISOString()): LoadResult {
  return readLabFile(file, text, (c, sources, budget) => addKubernetes(c, sources, now, null, budget));
}

/**
 * The lab as `--proxy-mode MODE` runs it: every node's kube-proxy in that mode, the rest of its
 * KubeProxyConfiguration as the lab wrote it (kube-proxy restarted with another --proxy-mode).
 */
export function withProxyMode(lab: Lab, mode: string | undefined): Lab {
  if (mode === undefined) return lab;
  const k = lab.cluster?.kubernetes;
  if (!k) throw new InputError(`lab ${lab.name} runs no kube-proxy, so --proxy-mode does not apply to it`, ['  hint: leave --proxy-mode out for this lab']);
  if (!(PROXY_MODES as readonly string[]).includes(mode))
    throw new InputError(`kube-proxy ${mode} mode is not available in knetlab yet`, [`  hint: the modes knetlab runs are ${PROXY_MODES.join(', ')}`]);
  k.kubeProxy = { ...k.kubeProxy, mode: mode as ProxyMode };
  return lab;
}
