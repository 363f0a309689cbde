// Output helpers: progress while work runs (a spinner on a terminal, nothing on a pipe), and
// kubectl-style tables.

import Table from 'cli-table3';
import ora, { type Ora } from 'ora';
import type { Progress } from '../run/apply.js';

export function spinnerProgress(label: string, enabled: boolean, timings = false): Progress & { stop(): void } {
  let spinner: Ora | null = null;
  // With timings: how long each phase took, printed once the lab is up (for benchmarks).
  const spent: [string, number][] = [];
  let last = performance.now();
  const lap = () => {
    const now = performance.now();
    if (spent.length) spent.at(-1)![1] = now - last;
    last = now;
  };
  const start = () => {
    // A terminal that reports no width (some ptys) would make ora redraw forever; stdin is left
    // alone, so nothing holds the process open once the work is done.
    const tty = process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0;
    if (!spinner && enabled) spinner = ora({ stream: process.stderr, isEnabled: tty, discardStdin: false }).start();
    return spinner;
  };
  return {
    phase(index, total, title) {
      lap();
      spent.push([title, 0]);
      const s = start();
      if (s) s.text = `${label}: [${index}/${total}] ${title}`;
    },
    done(message) {
      lap();
      start()?.succeed(message);
      spinner = null;
      if (timings) for (const [title, ms] of spent) process.stderr.write(`  ${(ms / 1000).toFixed(2).padStart(6)}s  ${title}\n`);
    },
    fail(message) {
      start()?.fail(message);
      spinner = null;
    },
    stop() {
      (spinner as Ora | null)?.stop();
      spinner = null;
    },
  };
}

/** Columns like kubectl get: upper-case headers, left-aligned, three spaces apart, no borders. */
export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({
    head,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '   ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  t.push(...rows.map((r) => r.map(String)));
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}
