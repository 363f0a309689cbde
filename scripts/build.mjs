#!/usr/bin/env node
// The build: TypeScript is type-checked by `tsc --noEmit` (npm run check); this bundles the two
// programs with esbuild so that a start reads a handful of files instead of a thousand:
//   dist/knetlab.js   the CLI (src/cli/main.ts); each command's modules load when it runs
//   dist/agent.js     the node agents (src/cli/agent.ts); only the agent asked for loads
// Shared code lands in dist/chunks/. koffi is a native addon and stays in node_modules.
import { build } from 'esbuild';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './gen-validator.mjs';

/**
 * string-width (7 for cliui and ora, 8 for yargs) does costly work when it is loaded: it builds
 * an Intl.Segmenter (ICU data, ~9 ms) and, in 8, /\p{RGI_Emoji}/v regular expressions (~15 ms).
 * yargs renders a command's help before running its handler (to show it on failure), so this
 * would be paid by every command. Every `import stringWidth from 'string-width'` gets a stand-in
 * instead: printable ASCII (all of knetlab's help) is one column a character in every version
 * (string-width 8 has the same fast path); anything else require()s the real module, which
 * esbuild then wraps in a lazy initialiser. Same modules, same versions, no source patched.
 */
export const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.kind !== 'import-statement' || args.pluginData === 'real') return undefined; // cli-table3's require() of v4: cheap
      const real = await build.resolve(args.path, { resolveDir: args.resolveDir, importer: args.importer, kind: args.kind, pluginData: 'real' });
      if (real.errors.length) return { errors: real.errors };
      return { path: real.path, namespace: 'lazy-string-width' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      contents: [
        'let real;',
        'export default function stringWidth(string, options) {',
        "  if (typeof string === 'string' && /^[\\x20-\\x7e]*$/.test(string)) return string.length;",
        `  real ??= require(${JSON.stringify(args.path)}).default;`,
        '  return real(string, options);',
        '}',
      ].join('\n'),
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The lab file's shape check is generated from its schema (committed; this keeps it current).
if (!(await generate())) process.stderr.write('build: regenerated src/labfile/lab-shape.gen.ts\n');
// Built into a fresh folder, then swapped in: chunk names carry content hashes, so stale ones must
// not pile up, and a failed build leaves the last good dist/ in place.
const next = join(root, 'dist.next');
rmSync(next, { recursive: true, force: true });
const t0 = performance.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: { knetlab: 'src/cli/main.ts', agent: 'src/cli/agent.ts' },
  outdir: 'dist.next',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['koffi'],
  sourcemap: true,
  legalComments: 'none',
  plugins: [lazyStringWidth],
  metafile: true,
  logLevel: 'warning',
  // Bundled CommonJS packages (yargs' helpers, cli-table3) call require() for Node's own modules.
  banner: { js: "import { createRequire as __knetlabRequire } from 'node:module'; const require = __knetlabRequire(import.meta.url);" },
});
// new URL('../x', import.meta.url) means something else once the code sits in a chunk: files of
// the package are found through src/exec/install.ts.
for (const file of Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'))) {
  if (/new URL\([^()]*,\s*import\.meta\.url\)/.test(readFileSync(join(root, file), 'utf8'))) {
    rmSync(next, { recursive: true, force: true });
    process.stderr.write(`build: ${file} resolves a path against import.meta.url; use src/exec/install.ts\n`);
    process.exit(1);
  }
}
rmSync(join(root, 'dist'), { recursive: true, force: true });
renameSync(next, join(root, 'dist'));
if (!process.argv.includes('--quiet')) console.log(`build: dist/knetlab.js and dist/agent.js in ${Math.round(performance.now() - t0)} ms`);
