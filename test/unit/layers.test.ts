// The layout's promise, kept by a test: imports in src/ run one way, from the command line down
// to the Kubernetes API types, and no files import each other in a circle. A new upward import or
// a new cycle fails here with the import that did it.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Top to bottom. A folder may import its own files and any folder below it. */
const LAYERS = ['cli', 'run', 'plan', 'components', 'agent', 'exec', 'kernel', 'k8s', 'labfile', 'api'];

const SRC = resolve('src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file, static and dynamic (`import type` too: a type cycle is a design cycle). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)|(?:^|\n)\s*import\s*'(\.[^']+)'/g)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    found.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return found;
}

const layerOf = (file: string): string => relative(SRC, file).split('/')[0]!;
const all = files(SRC);
const graph = new Map(all.map((f) => [f, importsOf(f)]));

t.test('every folder of src/ has a place in the layers', async (t) => {
  const folders = [...new Set(all.map(layerOf))].filter((f) => !f.endsWith('.ts'));
  t.same(
    folders.filter((f) => !LAYERS.includes(f)),
    [],
    'add a new folder to LAYERS where it belongs',
  );
});

t.test('imports only run downward', async (t) => {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const from = LAYERS.indexOf(layerOf(file));
      const to = LAYERS.indexOf(layerOf(target));
      if (to < from) upward.push(`${relative(SRC, file)} imports ${relative(SRC, target)} (${LAYERS[from]} is below ${LAYERS[to]})`);
    }
  }
  t.same(upward, [], 'no upward imports');
});

t.test('no import cycles between files', async (t) => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (!graph.has(g)) continue;
      if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g].map((x) => relative(SRC, x)).join(' → '));
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  t.same(cycles, [], 'no cycles');
});

t.test('the checker sees imports (it would pass vacuously otherwise)', async (t) => {
  const edges = [...graph.values()].reduce((n, v) => n + v.length, 0);
  t.ok(edges > 150, `${edges} imports found`);
  t.ok(
    graph.get(join(SRC, 'cli', 'agent.ts'))?.some((x) => x.endsWith('components/kube-proxy/agent.ts')),
    'dynamic imports are followed',
  );
});

t.test('only exec/ starts processes, and only host.ts imports execa', async (t) => {
  const starts = /from '(node:)?child_process'|from 'execa'|import\('execa'\)|import\('(node:)?child_process'\)|\brequire\(/;
  const offenders = all.filter((f) => layerOf(f) !== 'exec' && starts.test(readFileSync(f, 'utf8')));
  t.same(
    offenders.map((f) => relative(SRC, f)),
    [],
  );
  const execa = all.filter((f) => /from 'execa'|import\('execa'\)/.test(readFileSync(f, 'utf8')));
  t.same(
    execa.map((f) => relative(SRC, f)),
    ['exec/host.ts'],
  );
});

t.test('one of each: the libc handle, the config reader, the state reader, the IPv4 parser, "did you mean"', async (t) => {
  const where = (re: RegExp) => all.filter((f) => re.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f));
  t.same(where(/koffi\.load\(/), ['agent/libc.ts']);
  t.same(where(/export function readConfig\b/), ['agent/config.ts']);
  t.same(where(/export function readState\b/), ['k8s/store.ts']);
  t.same(where(/function parseIPv4\b/), ['labfile/net.ts']);
  t.same(where(/function editDistance\b/), ['labfile/suggest.ts']);
});

t.test('the pipeline reaches components only through plan/registry.ts', async (t) => {
  const direct = [...graph]
    .filter(([f]) => ['cli', 'run', 'plan'].includes(layerOf(f)) && !f.endsWith('plan/registry.ts') && !f.endsWith('cli/agent.ts'))
    .flatMap(([f, targets]) => targets.filter((x) => layerOf(x) === 'components').map((x) => `${relative(SRC, f)} imports ${relative(SRC, x)}`));
  t.same(direct, [], 'cli/agent.ts (the agents by name) and plan/registry.ts are the only doors');
});
