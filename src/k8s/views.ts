// What `kubectl get pods|svc|endpoints|ingress` and `kubectl describe svc|ingress` would print for the lab's
// cluster, computed from the resolved objects alone (no I/O), so a tutorial's output reads like a
// real cluster's. Layouts follow kubectl's printers (k8s.io/kubernetes pkg/printers/internalversion)
// and describers (k8s.io/kubectl pkg/describe); the column alignment is Go's text/tabwriter with
// the settings kubectl gives it.
//
// This file is the public face; the views live in views/: tables.ts (`get` and its columns, -o
// wide, the choice of objects), describe.ts (`describe svc`), objects.ts (the objects as the API
// server returns them for -o yaml/json), serialize.ts (JSON and YAML as kubectl writes them),
// endpoints.ts (the core/v1 Endpoints computed from the slices), format.ts (durations, tabwriter
// alignment, labels) and errors.ts (NotFound).

export { getEndpoints, getIngresses, getPods, getServices, type GetOptions, type OutputFormat } from './views/tables.js';
export { describeIngress, describeService, type DescribeEvent } from './views/describe.js';
export { humanDuration } from './views/format.js';
export { NotFoundError } from './views/errors.js';
