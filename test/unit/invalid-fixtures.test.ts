// Every file in test/fixtures/invalid is rejected, and its first error is the one the file's
// "# expect:" comment names (file:line:column and message).
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
    const expected = /^# expect: (.+)$/m.exec(readFileSync(file, 'utf8'))?.[1];
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
  });
}
