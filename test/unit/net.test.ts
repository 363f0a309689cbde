// IPv4 parsing (src/labfile/net.ts) against the definition it implements, written as a regular
// expression: four dot-separated octets of one to three ASCII digits, each at most 255, leading
// zeros refused (Go's net.ParseIP) or read as decimal (kube-proxy's ParseIPSloppy).
import t from 'tap';
import { formatIPv4, parseIPv4, parseIPv4Sloppy } from '../../src/labfile/net.js';

function reference(text: string, sloppy: boolean): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1);
  if (octets.some((o) => Number(o) > 255) || (!sloppy && octets.some((o) => o.length > 1 && o.startsWith('0')))) return undefined;
  return octets.reduce((n, o) => n * 256 + Number(o), 0);
}

t.test('edge cases', async (t) => {
  t.equal(parseIPv4('10.244.0.2'), 0x0af40002);
  t.equal(parseIPv4('255.255.255.255'), 2 ** 32 - 1);
  t.equal(parseIPv4('010.0.0.1'), undefined, 'a leading zero is refused');
  t.equal(parseIPv4Sloppy('010.0.0.1'), parseIPv4('10.0.0.1'), '... or read as decimal');
  t.equal(parseIPv4Sloppy('000.0.0.0'), 0);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '.1.2.3', '1.2.3.', '0000.0.0.0', ' 1.2.3.4', '1.2.3.4 ', '１.2.3.4', '1.2.3.-4'])
    t.equal(parseIPv4Sloppy(bad), undefined, JSON.stringify(bad));
  t.equal(formatIPv4(0x0af40002), '10.244.0.2');
});

t.test('the same answer as the definition on many strings', async (t) => {
  // A deterministic walk over short strings of digits and dots, and over dotted quads with padding.
  let seed = 12345;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const alphabet = '0123456789..0125.x ';
  const cases: string[] = [];
  for (let i = 0; i < 20000; i++) cases.push(Array.from({ length: 1 + next(16) }, () => alphabet[next(alphabet.length)]).join(''));
  for (let i = 0; i < 20000; i++) cases.push(Array.from({ length: 4 }, () => String(next(300)).padStart(next(4), '0')).join('.'));
  let wrong = 0;
  for (const text of cases) {
    if (parseIPv4(text) !== reference(text, false)) wrong++;
    if (parseIPv4Sloppy(text) !== reference(text, true)) wrong++;
    const value = reference(text, true);
    if (value !== undefined && formatIPv4(value) !== String(text.split('.').map(Number).join('.'))) wrong++;
  }
  t.equal(wrong, 0, `${cases.length} strings`);
  t.ok(cases.filter((c) => reference(c, true) !== undefined).length > 10000, 'most of them addresses');
});
