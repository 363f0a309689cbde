// Output helpers: progress while work runs (a spinner on a terminal, nothing on a pipe), and
// kubectl-style tables.

import Table from 'cli-table3';
import ora, { type Ora } from 'ora';
import type { Progress } from '../run/apply.js';

export function spinnerProgress(label: string, enabled: boolean): Progress & { stop(): void } {
  let spinner: Ora | null = null;
  const start = () => {
    if (!spinner && enabled) spinner = ora({ stream: process.stderr, isEnabled: process.stderr.isTTY === true }).start();
    return spinner;
  };
  return {
    phase(index, total, title) {
      const s = start();
      if (s) s.text = `${label}: [${index}/${total}] ${title}`;
    },
    done(message) {
      start()?.succeed(message);
      spinner = null;
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
