// Reading a lab within bounded memory: the YAML tokens and bytes a lab may have are counted as
// they are read and refused where they go over, with a position and a hint; positions are kept in
// a compact index that answers as the JSON pointer map it replaced; of a great many diagnostics a
// bounded number is kept, and what is printed is exactly what the full list would print.
import t from 'tap';
import fc from 'fast-check';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMap, isPair, isScalar, isSeq, Lexer, LineCounter, parseAllDocuments, stringify, type Node } from 'yaml';
import { loadLabFile } from '../../src/plan/load.js';
import { MAX_FILE_BYTES, MAX_YAML_TOKENS, positionsOf, readSource, ReadBudget, tokenCost } from '../../src/labfile/read.js';
import { DiagnosticList, formatDiagnostics, LabFileError, MAX_KEPT, MAX_SHOWN, type Diagnostic, type Position } from '../../src/labfile/diagnostics.js';
import { shippedLabs } from '../../src/run/labs.js';

const root = mkdtempSync(join(tmpdir(), 'knetlab-limits-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

/** What the text costs against the budget, counted from the yaml library's own tokens. */
const cost = (text: string) => [...new Lexer().lex(text)].reduce((n, l) => n + tokenCost(l), 0);

const refusal = (diagnostics: Diagnostic[]) => diagnostics.filter((d) => /too large to read/.test(d.message));

t.test('the token budget: a text of exactly the budget is read, one token more is refused where it goes over', async (t) => {
  const head = 'name: big\ntitle: A big lab\ntopology:\n  namespaces:\n';
  const lines = Array.from({ length: 2000 }, (_, i) => `    n${i}: {}\n`);
  const text = head + lines.join('');
  const whole = readSource('lab.yaml', text, new ReadBudget(cost(text)));
  t.same(refusal(whole.diagnostics.sorted()), [], 'the budget spent to the last token');
  t.equal(Object.keys((whole.data as { topology: { namespaces: object } }).topology.namespaces).length, 2000);

  // The budget runs out after line 4 + 1000: the first token of the next line is refused.
  const upTo = cost(head + lines.slice(0, 1000).join(''));
  const cut = readSource('lab.yaml', text, new ReadBudget(upTo));
  const [over] = refusal(cut.diagnostics.sorted());
  t.same(over?.pos, { line: 4 + 1000 + 1, col: 1 }, 'at the token that goes over');
  t.match(over?.message, `more than ${upTo} tokens by here`);
  t.match(over?.hint, /remove what the lab does not use/);
  t.equal(cut.data, undefined, 'nothing of it is validated');
});

t.test('what the yaml library builds piece by piece costs more: double-quoted characters and the lines of a value', async (t) => {
  t.equal(tokenCost('x'), 1);
  t.equal(tokenCost('plain words of any length'), 1, 'a plain value is cut from the text as it is');
  t.equal(tokenCost(`'${'y'.repeat(100)}'`), 1, 'so is a single-quoted one');
  t.equal(tokenCost(`"${'y'.repeat(78)}"`), 1 + 10, 'a double-quoted one is built a character at a time: one more per 8');
  t.equal(tokenCost('  line one\n  line two\n  line three\n'), 1 + 3, 'a block value: one more per line');
});

t.test('a 16 MiB value is refused at once, without building it', async (t) => {
  // Where the value's text starts: after `title: `, or on the line after a block value's `|`.
  for (const [name, value, pos] of [
    ['double-quoted', `"${'x'.repeat(MAX_FILE_BYTES - 100)}"`, { line: 2, col: 8 }],
    ['block', `|\n${'  x\n'.repeat((MAX_FILE_BYTES - 100) / 4)}`, { line: 3, col: 1 }],
  ] as const) {
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const e = t.throws(() => loadLabFile('lab.yaml', `name: big\ntitle: ${value}\ntopology: { namespaces: { a: {} } }\n`)) as LabFileError;
    t.ok(e instanceof LabFileError, `${name}: a LabFileError`);
    t.match(e.diagnostics[0], { pos, message: /too large to read/ }, `${name}: at the value`);
    t.ok(Date.now() - started < 10_000, `${name}: in ${Date.now() - started} ms`);
    t.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, `${name}: ${Math.round((process.memoryUsage().rss - before) / 1048576)} MB more`);
  }
});

t.test("one budget for the lab file and its manifests: a manifest's tokens count, and where it goes over is in the manifest", async (t) => {
  const dir = join(root, 'tokens');
  cpSync(
    join(
      shippedLabs().find((l) => l.includes('/service-clusterip/'))!,
      '..',
    ),
    dir,
    { recursive: true },
  );
  // Services up to 100 tokens short of the budget: within it alone, but not after the lab file.
  const service = (i: number) => `---\napiVersion: v1\nkind: Service\nmetadata: { name: s${i} }\nspec: { ports: [{ port: 80 }] }\n`;
  const each = cost(service(0) + service(1)) - cost(service(0)); // the text's first token is counted once
  const services = Array.from({ length: Math.floor((MAX_YAML_TOKENS - 100) / each) }, (_, i) => service(i));
  const lab = cost(readFileSync(join(dir, 'lab.yaml'), 'utf8'));
  t.ok(
    cost(services.join('')) <= MAX_YAML_TOKENS && lab + cost(services.join('')) > MAX_YAML_TOKENS,
    'the manifest alone is within the budget, not with the lab',
  );
  writeFileSync(join(dir, 'many.yaml'), services.join(''));
  writeFileSync(join(dir, 'lab.yaml'), readFileSync(join(dir, 'lab.yaml'), 'utf8').replace('manifests: [', 'manifests: [many.yaml, '));
  const e = t.throws(() => loadLabFile(join(dir, 'lab.yaml'), undefined, '2024-01-01T00:00:00Z')) as LabFileError;
  const [over] = refusal(e.diagnostics);
  t.ok(over, 'refused as too large');
  t.match(over?.file, /many\.yaml$/, 'in the manifest that goes over');
  t.ok(over!.pos.line > services.length * 5 * 0.9, `near its end, at line ${over?.pos.line} of ${services.length * 5}`);
});

t.test("a lab's files together may have MAX_FILE_BYTES: a large manifest named three times is refused at the third", async (t) => {
  const dir = join(root, 'bytes');
  cpSync(
    join(
      shippedLabs().find((l) => l.includes('/service-clusterip/'))!,
      '..',
    ),
    dir,
    { recursive: true },
  );
  // One comment of 6 MiB: a few tokens, many bytes.
  writeFileSync(join(dir, 'big.yaml'), `# ${'x'.repeat(6 * 1024 * 1024)}\napiVersion: v1\nkind: Namespace\nmetadata: { name: n }\n`);
  const lab = readFileSync(join(dir, 'lab.yaml'), 'utf8').replace('manifests: [', 'manifests: [big.yaml, big.yaml, big.yaml, ');
  writeFileSync(join(dir, 'lab.yaml'), lab);
  const e = t.throws(() => loadLabFile(join(dir, 'lab.yaml'), undefined, '2024-01-01T00:00:00Z')) as LabFileError;
  const line = lab.split('\n').findIndex((l) => l.startsWith('manifests:')) + 1;
  const third = lab.split('\n')[line - 1]!.indexOf('big.yaml, big.yaml, big.yaml') + 2 * 'big.yaml, '.length + 1;
  t.match(
    e.diagnostics.find((d) => /MiB a lab's files may have together/.test(d.message)),
    { pos: { line, col: third }, hint: /remove what the lab does not need/ },
    'at the third name',
  );
});

/** The index the compact one replaced: JSON pointer → positions of key and value. */
function pointerMap(root: Node, at: (offset: number | undefined) => Position): Map<string, { key?: Position; value: Position }> {
  const pointer = (path: (string | number)[]) => path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
  const positions = new Map<string, { key?: Position; value: Position }>();
  const walk = (node: Node, path: (string | number)[], key?: Position): void => {
    positions.set(pointer(path), { key, value: at(node.range?.[0]) });
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const keyPos = at((item.key as Node | null)?.range?.[0]);
        if (item.value) walk(item.value as Node, [...path, k], keyPos);
        else positions.set(pointer([...path, k]), { key: keyPos, value: keyPos });
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item as Node, [...path, i]));
  };
  walk(root, []);
  return positions;
}

t.test('the compact position index answers exactly as the pointer map did, for every path and its neighbours', async (t) => {
  // Keys that collide as pointers ("1" and 1, "a/b"), escapes, empty and long keys, nulls.
  const key = fc.oneof(fc.constantFrom('0', '1', '01', 'a/b', '~', '~1', '', 'x'.repeat(80), 'metadata', 'name'), fc.string({ maxLength: 6 }));
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(null, 1, 'v', true),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    ),
  }));
  const style = fc.constantFrom('block', 'flow', 'json');
  let paths = 0;
  fc.assert(
    fc.property(value, style, fc.array(fc.oneof(key, fc.nat(5)), { maxLength: 4 }), (data, how, extra) => {
      const text = how === 'json' ? JSON.stringify(data, null, 1) : stringify(data, { collectionStyle: how === 'flow' ? 'flow' : 'block' });
      const lines = new LineCounter();
      const [doc] = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false });
      if (!doc || !doc.contents) return;
      const at = (o: number | undefined) => {
        const p = lines.linePos(o ?? 0);
        return { line: p.line, col: p.col };
      };
      const expected = pointerMap(doc.contents as Node, at);
      const index = positionsOf(doc.contents as Node, at);
      const nearest = (path: (string | number)[], prefer: 'key' | 'value') => {
        for (let n = path.length; n >= 0; n--) {
          const loc = expected.get(
            path
              .slice(0, n)
              .map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1'))
              .join(''),
          );
          if (loc) return (prefer === 'key' && loc.key) || loc.value;
        }
        return undefined;
      };
      for (const [ptr, loc] of expected) {
        const path =
          ptr === ''
            ? []
            : ptr
                .slice(1)
                .split('/')
                .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
        const numeric = path.map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
        if (JSON.stringify(index.get(path)) !== JSON.stringify(loc)) throw new Error(`${ptr}: ${JSON.stringify(index.get(path))}, not ${JSON.stringify(loc)}`);
        for (const p of [path, numeric, [...path, ...extra], [...numeric.slice(0, -1), ...extra]]) {
          for (const prefer of ['key', 'value'] as const) {
            paths++;
            if (JSON.stringify(index.nearest(p, prefer)) !== JSON.stringify(nearest(p, prefer))) throw new Error(`nearest ${JSON.stringify(p)} ${prefer}`);
          }
        }
        // A part of the document, as a List's item is read: paths relative to it.
        const part = index.within(path);
        if (JSON.stringify(part.get([])) !== JSON.stringify(loc)) throw new Error(`within ${ptr}`);
      }
    }),
    { seed: 1616, numRuns: 400 },
  );
  t.ok(paths > 1000, `${paths} lookups compared`);
});

t.test('of many diagnostics a bounded number is kept, and what is printed is what the whole list would print', async (t) => {
  const diagnostic = fc.record({
    file: fc.constant('lab.yaml'),
    pos: fc.record({ line: fc.integer({ min: 1, max: 30 }), col: fc.integer({ min: 1, max: 4 }) }),
    severity: fc.constantFrom('error' as const, 'warning' as const),
    message: fc.string({ maxLength: 5 }),
    hint: fc.constant('a hint'),
  });
  fc.assert(
    fc.property(fc.array(diagnostic, { maxLength: 400 }), fc.integer({ min: 1, max: 120 }), (all, max) => {
      // Printing shows MAX_SHOWN: a list that keeps fewer prints fewer (the loader keeps MAX_KEPT).
      const printsAll = max >= MAX_SHOWN;
      const list = new DiagnosticList(max);
      for (const d of all) list.push(d);
      // What the loader did before: keep everything, sort by position (stably), print.
      const sorted = [...all].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
      const kept = list.sorted();
      if (kept.length !== Math.min(max, all.length) || kept.some((d, i) => d !== sorted[i])) throw new Error('not the first in position order');
      if (list.errors !== all.filter((d) => d.severity === 'error').length || list.warnings !== all.length - list.errors) throw new Error('miscounted');
      if (printsAll && JSON.stringify(formatDiagnostics(kept, list.omitted)) !== JSON.stringify(formatDiagnostics(sorted)))
        throw new Error('printed differently');
      if (all.length <= max && JSON.stringify(list.found('warning')) !== JSON.stringify(all.filter((d) => d.severity === 'warning')))
        throw new Error('warnings not in the order found');
      const e = list.error();
      if (printsAll && all.length && e.message !== new LabFileError(sorted).message) throw new Error(`${e.message}: not ${new LabFileError(sorted).message}`);
    }),
    { seed: 1616, numRuns: 300 },
  );
  t.ok(MAX_KEPT >= MAX_SHOWN, 'the loader keeps at least what is printed');
});
