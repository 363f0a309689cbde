// Reading one object's fields: ObjectReader holds the object's positions and its diagnostics, and
// gives typed access to its fields (map, list, string, integer, port, a field list checked against
// fields.ts…), each of which reports a wrong type or a missing value with its position. The checks
// of each kind use it: kinds.ts (which kind, then metadata), workloads.ts (Pod, Deployment),
// service.ts, endpoints.ts (Endpoints, EndpointSlice).

import { closest } from '../../labfile/suggest.js';
import type { Diagnostic, Position } from '../../labfile/diagnostics.js';
import type { SourcePositions } from '../../labfile/positions.js';
import { fieldPath, positionIn, type ManifestBase, type ManifestKind } from './types.js';
import { META_UNMODELLED } from './fields.js';
import {
  DNS1035_HINT,
  IANA_HINT,
  LABEL_HINT,
  PORT_HINT,
  SUBDOMAIN_HINT,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isIanaSvcName,
  isLabelValue,
  labelKeyProblem,
} from './names.js';

export type Path = (string | number)[];
export type Json = Record<string, unknown>;

export function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** status of an object is written by the cluster: a manifest's is ignored, with this warning. */
export function warnStatusIgnored(r: ObjectReader, hint = "knetlab's control plane fills it in (pod IPs, load balancer addresses)"): void {
  r.warn(['status'], 'status is written by the cluster, not by a manifest, and is ignored', hint);
}

export function describe(v: unknown): string {
  if (v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `the ${typeof v} ${JSON.stringify(v)}`;
}

/** One object's fields, read with their types and positions; every problem goes to `diagnostics`. */
/** For errors whose rule is the API server's own, with nothing more specific to say. */
export const API_HINT = 'knetlab checks this as the Kubernetes API server does: see the field in the Kubernetes API reference (kubectl explain)';

export class ObjectReader {
  readonly diagnostics: Diagnostic[] = [];
  /** The top-level fields of the kind being read: a nested field named like one is misplaced. */
  topFields: readonly string[] = [];

  constructor(
    private readonly file: string,
    private readonly positions: SourcePositions,
    private readonly start: Position,
    readonly nodePortRange: [number, number],
  ) {}

  get ok(): boolean {
    return !this.diagnostics.some((d) => d.severity === 'error');
  }

  error(path: Path, message: string, hint?: string, prefer: 'key' | 'value' = 'value'): void {
    this.diagnostics.push({ file: this.file, pos: this.at(path, prefer), severity: 'error', message, hint: hint ?? API_HINT });
  }

  warn(path: Path, message: string, hint?: string): void {
    this.diagnostics.push({ file: this.file, pos: this.at(path, 'key'), severity: 'warning', message, hint });
  }

  private at(path: Path, prefer: 'key' | 'value'): Position {
    return positionIn({ positions: this.positions, pos: this.start }, path, prefer);
  }

  // ---- typed access: each reports a wrong type or a missing required value, and returns undefined ----

  private absent(value: unknown, path: Path, required: string | undefined): boolean {
    if (value !== undefined && value !== null) return false;
    if (required !== undefined) this.error(path, `${fieldPath(path)} is required`, required, 'key');
    return true;
  }

  map(value: unknown, path: Path, required?: string): Json | undefined {
    if (this.absent(value, path, required)) return undefined;
    if (isJson(value)) return value;
    this.error(path, `${fieldPath(path)} must be a map, not ${describe(value)}`, 'check the indentation: its fields go on the following lines, indented');
    return undefined;
  }

  list(value: unknown, path: Path, required?: string): unknown[] | undefined {
    if (this.absent(value, path, required)) return undefined;
    if (Array.isArray(value)) return value;
    this.error(path, `${fieldPath(path)} must be a list, not ${describe(value)}`, 'write each entry on its own line, starting with "- "');
    return undefined;
  }

  string(value: unknown, path: Path, required?: string): string | undefined {
    if (this.absent(value, path, required)) return undefined;
    if (typeof value === 'string') return value;
    this.error(
      path,
      `${fieldPath(path)} must be a string, not ${describe(value)}`,
      typeof value === 'number' || typeof value === 'boolean' ? 'put it in quotes' : undefined,
    );
    return undefined;
  }

  integer(value: unknown, path: Path, required?: string): number | undefined {
    if (this.absent(value, path, required)) return undefined;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    const quoted = typeof value === 'string' && /^-?\d+$/.test(value.trim());
    this.error(path, `${fieldPath(path)} must be an integer, not ${describe(value)}`, quoted ? 'write the number without quotes' : undefined);
    return undefined;
  }

  boolean(value: unknown, path: Path): boolean | undefined {
    if (this.absent(value, path, undefined)) return undefined;
    if (typeof value === 'boolean') return value;
    this.error(path, `${fieldPath(path)} must be true or false, not ${describe(value)}`);
    return undefined;
  }

  port(value: unknown, path: Path, required?: string): number | undefined {
    const n = this.integer(value, path, required);
    if (n === undefined || (n >= 1 && n <= 65535)) return n;
    this.error(path, `${fieldPath(path)} ${n} is not a valid port number`, PORT_HINT);
    return undefined;
  }

  oneOf<T extends string>(value: unknown, path: Path, options: readonly T[], hint?: string): T | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    if ((options as readonly string[]).includes(s)) return s as T;
    const guess = closest(s, options);
    this.error(
      path,
      `${fieldPath(path)} is "${s}"; it must be one of ${options.map((o) => `"${o}"`).join(', ')}`,
      hint ?? (guess ? `did you mean "${guess}"? (the values are case-sensitive)` : undefined),
    );
    return undefined;
  }

  /** A port given as a number, or as the name of a container port (IntOrString). */
  portOrName(value: unknown, path: Path, required?: string): number | string | undefined {
    if (typeof value === 'string') {
      if (/^\d+$/.test(value.trim())) {
        this.error(path, `${fieldPath(path)} "${value}" is a string, so it names a port, and a port name needs a letter`, 'write the number without quotes');
        return undefined;
      }
      if (!isIanaSvcName(value)) {
        this.error(path, `${fieldPath(path)} "${value}" is not a valid port name (IANA_SVC_NAME)`, IANA_HINT);
        return undefined;
      }
      return value;
    }
    return this.port(value, path, required);
  }

  /** labels, annotations, selectors: string → string. */
  stringMap(value: unknown, path: Path, kind: 'labels' | 'annotations'): Record<string, string> {
    const m = this.map(value, path);
    const out: Record<string, string> = {};
    if (!m) return out;
    for (const [k, v] of Object.entries(m)) {
      const p = [...path, k];
      const problem = labelKeyProblem(k);
      if (problem)
        this.error(
          p,
          `${fieldPath(path)} key "${k}" ${problem}`,
          'a key is an optional DNS-subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or "."',
          'key',
        );
      const s = this.string(v, p);
      if (s === undefined) continue;
      if (kind === 'labels' && !isLabelValue(s)) {
        this.error(
          p,
          `${fieldPath(p)} "${s}" is not a valid label value`,
          'a label value is empty or at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
        );
      }
      out[k] = s;
    }
    return out;
  }

  /**
   * Every key of a map is read, known-but-ignored, or an error: kubectl apply's strict field
   * validation rejects unknown fields ('strict decoding error: unknown field "spec.portss"').
   */
  fields(m: Json, path: Path, modelled: readonly string[], unmodelled: readonly string[]): void {
    for (const k of Object.keys(m)) {
      if (modelled.includes(k)) continue;
      const p = [...path, k];
      if (unmodelled.includes(k)) {
        this.warn(p, `${fieldPath(p)} is not modelled by knetlab and is ignored`);
        continue;
      }
      const guess = closest(k, [...modelled, ...unmodelled]);
      const misplaced = path.length > 0 && this.topFields.includes(k);
      this.error(
        p,
        `unknown field "${fieldPath(p)}"`,
        misplaced
          ? `${k} belongs at the top level of the object: check its indentation`
          : guess
            ? `did you mean "${guess}"?`
            : `${fieldPath(path) || 'the object'} takes: ${[...modelled, ...unmodelled].join(', ')}`,
        'key',
      );
    }
  }

  // ---- shared by several kinds ----

  metadata(value: unknown, kind: ManifestKind): Pick<ManifestBase, 'name' | 'namespace' | 'labels' | 'annotations'> | undefined {
    const m = this.map(value, ['metadata'], 'add metadata: with at least a name');
    if (!m) return undefined;
    this.fields(m, ['metadata'], ['name', 'namespace', 'labels', 'annotations'], META_UNMODELLED);
    const name = this.string(
      m.name,
      ['metadata', 'name'],
      m.generateName !== undefined ? 'knetlab does not generate names: give the object a name' : 'add name: under metadata',
    );
    if (name !== undefined) {
      // ValidateServiceName is a DNS-1035 label (it becomes a DNS name and an env var prefix);
      // the other kinds here take a DNS-1123 subdomain.
      if (kind === 'Service' && !isDns1035Label(name)) {
        this.error(['metadata', 'name'], `metadata.name "${name}" is not a valid Service name (a DNS-1035 label)`, DNS1035_HINT);
      } else if (kind !== 'Service' && !isDns1123Subdomain(name)) {
        this.error(['metadata', 'name'], `metadata.name "${name}" is not a valid ${kind} name (a DNS-1123 subdomain)`, SUBDOMAIN_HINT);
      }
    }
    const namespace = this.string(m.namespace, ['metadata', 'namespace']) ?? 'default';
    if (!isDns1123Label(namespace))
      this.error(['metadata', 'namespace'], `metadata.namespace "${namespace}" is not a valid namespace name (a DNS-1123 label)`, LABEL_HINT);
    const labels = this.stringMap(m.labels, ['metadata', 'labels'], 'labels');
    const annotations = this.stringMap(m.annotations, ['metadata', 'annotations'], 'annotations');
    return name === undefined ? undefined : { name, namespace, labels, annotations };
  }

  dnsLabel(value: unknown, path: Path): string | null {
    const s = this.string(value, path);
    if (s === undefined) return null;
    if (!isDns1123Label(s)) this.error(path, `${fieldPath(path)} "${s}" is not a DNS-1123 label`, LABEL_HINT);
    return s;
  }
}
