#!/usr/bin/env node
// The build: TypeScript is type-checked by `tsc --noEmit` (npm run check); this bundles the two
// programs with esbuild so that a start reads a handful of files instead of a thousand:
//   dist/knetlab.js   the CLI (src/cli/main.ts); each command's modules load when it runs
//   dist/agent.js     the node agents (src/cli/agent.ts); only the agent asked for loads
// Shared code lands in dist/chunks/. koffi is a native addon and stays in node_modules.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
const t0 = performance.now();
await build({
  absWorkingDir: root,
  entryPoints: { knetlab: 'src/cli/main.ts', agent: 'src/cli/agent.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['koffi'],
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  // Bundled CommonJS packages (yargs' helpers, cli-table3) call require() for Node's own modules.
  banner: { js: "import { createRequire as __knetlabRequire } from 'node:module'; const require = __knetlabRequire(import.meta.url);" },
});
if (!process.argv.includes('--quiet')) console.log(`build: dist/knetlab.js and dist/agent.js in ${Math.round(performance.now() - t0)} ms`);
