// Where each key and value of a YAML document is written, kept small. Validation works on plain
// values and asks for the line:column of a path only when it reports something; so the index
// keeps offsets into the text (not {line, col} objects) and finds a path's node through a hash
// table of (parent node, key) in typed arrays, instead of a Map from JSON pointer strings. For a
// document of 840k nodes that is 24 MB, where the pointer strings and position objects took 159.

import type { Position } from './diagnostics.js';

export interface Located {
  key?: Position;
  value: Position;
}

/** Offset → 1-based line and column, as the yaml library's LineCounter counts them. */
export type LinePos = (offset: number) => Position;

/** One path segment as a table key: indexes (and map keys that read as one) are numbers. */
type Segment = string | number;

const INDEX_RE = /^(?:0|[1-9][0-9]{0,9})$/;

/**
 * A segment in the one spelling that a JSON pointer would give it: the index 3 and the map key
 * "3" are the same place (the pointer /a/3 names both), so both become the number 3.
 */
function segment(s: string | number): Segment {
  // + 0: the index -0 is written "0", as pointers spell it
  if (typeof s === 'number') return Number.isInteger(s) && s >= 0 && s <= 0x7fffffff ? s + 0 : String(s);
  if (INDEX_RE.test(s)) {
    const n = Number(s);
    if (n <= 0x7fffffff) return n;
  }
  return s;
}

function hash(parent: number, key: Segment): number {
  let h = Math.imul(parent ^ 0x5bd1e995, 0x2c1b3c6d);
  if (typeof key === 'number') h = Math.imul(h ^ key, 0x297a2d39) ^ 1;
  else {
    // Long keys are hashed by their length and ends: equal keys still hash equally, and a
    // huge key costs no more than a short one.
    const n = key.length;
    h = Math.imul(h ^ n, 0x85ebca6b);
    for (let i = 0; i < n && i < 32; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    for (let i = Math.max(32, n - 32); i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x735a2d97);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Builds the index of one document, node by node from its root down. */
class Table {
  /** Per node: its parent's number, where its key starts (-1: none) and where its value starts. */
  parent = new Int32Array(64);
  keyAt = new Int32Array(64);
  valueAt = new Int32Array(64);
  keys: Segment[] = [];
  size = 0;
  /** Open addressing: node number + 1 per slot, 0 for empty. */
  slots = new Int32Array(128);

  find(parent: number, key: Segment): number {
    const mask = this.slots.length - 1;
    for (let i = hash(parent, key) & mask; ; i = (i + 1) & mask) {
      const n = this.slots[i]! - 1;
      if (n < 0) return -1;
      if (this.parent[n] === parent && this.keys[n] === key) return n;
    }
  }

  /** The node at `key` under `parent`, made if new; a key written twice is one place, as with pointers. */
  add(parent: number, key: Segment, keyAt: number, valueAt: number): number {
    let n = parent < 0 ? -1 : this.find(parent, key);
    if (n < 0) {
      n = this.size++;
      if (n === this.parent.length) this.grow();
      this.parent[n] = parent;
      this.keys.push(key);
      if (parent >= 0) {
        if (this.size * 2 > this.slots.length) this.rehash();
        this.slot(n);
      }
    }
    this.keyAt[n] = keyAt;
    this.valueAt[n] = valueAt;
    return n;
  }

  private slot(n: number): void {
    const mask = this.slots.length - 1;
    let i = hash(this.parent[n]!, this.keys[n]!) & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = n + 1;
  }

  private grow(): void {
    const size = this.parent.length * 2;
    for (const name of ['parent', 'keyAt', 'valueAt'] as const) {
      const next = new Int32Array(size);
      next.set(this[name]);
      this[name] = next;
    }
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    for (let n = 1; n < this.size; n++) this.slot(n);
  }

  /** The arrays cut to their size, once the document is read. */
  trim(): void {
    this.parent = this.parent.slice(0, this.size);
    this.keyAt = this.keyAt.slice(0, this.size);
    this.valueAt = this.valueAt.slice(0, this.size);
  }
}

/**
 * The positions of one document, or of a part of it (an item of a `kind: List`, read as an object
 * of its own). Paths are relative to its root; a path that is not written resolves to its nearest
 * written ancestor.
 */
export class SourcePositions {
  private constructor(
    private readonly table: Table,
    private readonly root: number,
    private readonly linePos: LinePos,
  ) {}

  /** No document: every lookup finds nothing. */
  static empty(linePos: LinePos = () => ({ line: 1, col: 1 })): SourcePositions {
    return new SourcePositions(new Table(), -1, linePos);
  }

  /**
   * Index a tree through `each`, which is called once with `add` for the root and calls it for
   * every node below a node it was given: `add(parent, key, keyAt, valueAt)` returns the new node.
   */
  static build(
    linePos: LinePos,
    rootAt: number,
    each: (add: (parent: number, key: string | number, keyAt: number, valueAt: number) => number, root: number) => void,
  ): SourcePositions {
    const table = new Table();
    const root = table.add(-1, '', -1, rootAt);
    each((parent, key, keyAt, valueAt) => table.add(parent, segment(key), keyAt, valueAt), root);
    table.trim();
    return new SourcePositions(table, root, linePos);
  }

  /** The deepest node along `path` that is written, and how many segments of it were found. */
  private walk(path: readonly (string | number)[]): number {
    let n = this.root;
    for (const s of path) {
      const next = this.table.find(n, segment(s));
      if (next < 0) break;
      n = next;
    }
    return n;
  }

  /** Where the key and value at exactly `path` are written, if they are. */
  get(path: readonly (string | number)[]): Located | undefined {
    if (this.root < 0) return undefined;
    let n = this.root;
    for (const s of path) {
      n = this.table.find(n, segment(s));
      if (n < 0) return undefined;
    }
    return this.located(n);
  }

  /** The position of `path`, or of its nearest written ancestor; undefined without a document. */
  nearest(path: readonly (string | number)[], prefer: 'key' | 'value' = 'value'): Position | undefined {
    if (this.root < 0) return undefined;
    const n = this.walk(path);
    const keyAt = this.table.keyAt[n]!;
    return this.linePos(prefer === 'key' && keyAt >= 0 ? keyAt : this.table.valueAt[n]!);
  }

  /** The part of the document at `path` (which must be written), with paths relative to it. */
  within(path: readonly (string | number)[]): SourcePositions {
    if (this.root < 0) return this;
    let n = this.root;
    for (const s of path) {
      n = this.table.find(n, segment(s));
      if (n < 0) return SourcePositions.empty(this.linePos);
    }
    return new SourcePositions(this.table, n, this.linePos);
  }

  private located(n: number): Located {
    const keyAt = this.table.keyAt[n]!;
    const value = this.linePos(this.table.valueAt[n]!);
    return keyAt >= 0 ? { key: this.linePos(keyAt), value } : { value };
  }
}
