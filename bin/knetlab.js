#!/usr/bin/env node
// Entry point for `npx knetlab` from a checkout and for the installed bin.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/knetlab.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('knetlab: dist/ is missing; run "npm run build" (or scripts/setup.sh) first\n');
  process.exit(2);
}
await import(main.href);
