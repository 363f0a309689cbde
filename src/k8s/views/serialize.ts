// Serialisation as kubectl does it: Go's encoding/json over a map (keys in byte order, 4-space
// indent, HTML characters escaped) and sigs.k8s.io/yaml (go-yaml v2: YAML 1.1, its own key order).

import { Document, Schema, visit } from 'yaml';
import type { ApiObject, Json } from './objects.js';
import { compareStrings } from './format.js';

function sortKeys(value: Json, compare: (a: string, b: string) => number): Json {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, compare));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort(compare)
      .map((k) => [k, sortKeys(value[k]!, compare)]),
  );
}

export function toJson(value: ApiObject): string {
  const text = JSON.stringify(sortKeys(value, compareStrings), null, 4);
  const goEscapes: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };
  return text.replace(/[<>&\u2028\u2029]/g, (c) => goEscapes[c]!) + '\n';
}

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string) => c >= '0' && c <= '9';

/**
 * go-yaml v2's map key order (sorter.go keyList.Less): letters compare as characters, anything
 * else sorts before a letter, and runs of digits compare as numbers ("a9" before "a10").
 */
function goYamlKeyOrder(a: string, b: string): number {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ac = ar[i]!;
    const bc = br[i]!;
    if (ac === bc) continue;
    const al = isLetter(ac);
    const bl = isLetter(bc);
    if (al && bl) return ac < bc ? -1 : 1;
    if (al || bl) return bl ? -1 : 1;
    let an = 0;
    let bn = 0;
    if (ac === '0' || bc === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10 + Number(ar[ai]);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an < bn ? -1 : 1;
    if (ai !== bi) return ai < bi ? -1 : 1;
    return ac < bc ? -1 : 1;
  }
  return ar.length - br.length;
}

const yaml11 = new Schema({ schema: 'yaml-1.1' }).tags;

/**
 * Would this string, written plain, read back as something else (null, bool, number, timestamp)?
 * Every YAML 1.1 scalar tag with a plain-text pattern counts, whether or not the yaml package
 * currently treats it as a default (test harnesses switch timestamps off).
 */
const resolvesAsNonString = (s: string): boolean => yaml11.some((tag) => tag.tag !== 'tag:yaml.org,2002:str' && tag.test !== undefined && tag.test.test(s));

export function toYaml(value: ApiObject): string {
  const doc = new Document(sortKeys(value, goYamlKeyOrder));
  // go-yaml double-quotes strings that would resolve to another type ("True", timestamps, "")
  // and single-quotes the rest of those that cannot be written plain.
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && resolvesAsNonString(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ indentSeq: false, singleQuote: true });
}
