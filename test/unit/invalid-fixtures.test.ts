// Every file in test/fixtures/invalid is rejected, and its first error is the one the file's
// "# expect:" comment names (file:line:column and message); with "# errors: N", there are exactly
// N errors (no cascade of follow-on errors).
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLabFile } from '../../src/plan/load.js';
import { LabFileError, formatDiagnostic } from '../../src/labfile/diagnostics.js';

const dir = 'test/fixtures/invalid';
for (const f of readdirSync(dir)
  .filter((x) => x.endsWith('.yaml'))
  .sort()) {
  t.test(f, async (t) => {
    const file = join(dir, f);
    const text = readFileSync(file, 'utf8');
    const expected = /^# expect: (.+)$/m.exec(text)?.[1];
    const count = /^# errors: (\d+)$/m.exec(text)?.[1];
    t.ok(expected, 'fixture names its expected error');
    const e = await (async () => {
      try {
        loadLabFile(file);
      } catch (err) {
        return err;
      }
    })();
    t.type(e, LabFileError);
    const first = formatDiagnostic((e as LabFileError).diagnostics.find((d) => d.severity === 'error')!);
    t.equal(first.split('\n')[0], `${file}:${expected}`);
    if (count !== undefined)
      t.equal(
        (e as LabFileError).diagnostics.filter((d) => d.severity === 'error').length,
        Number(count),
        (e as LabFileError).diagnostics.map((d) => formatDiagnostic(d)).join('\n'),
      );
  });
}
