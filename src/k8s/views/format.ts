// Durations and alignment, exactly as kubectl computes them: the AGE column, Go's text/tabwriter
// with the settings kubectl get and describe give it, byte-order string comparison, labels and
// host:port as Go formats them.

/**
 * k8s.io/apimachinery/pkg/util/duration.HumanDuration: the AGE column. Precision drops as the
 * duration grows ("90s", "3m2s", "47m", "5h3m", "30h", "2d17h", "120d", "3y4d", "9y"); up to a
 * second in the future still reads "0s", to tolerate clock skew between machines.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

export const age = (creationTimestamp: string, now: Date): string =>
  creationTimestamp === '' ? '<unknown>' : humanDuration(now.getTime() - Date.parse(creationTimestamp));

/**
 * Go's text/tabwriter. A cell is text ended by a tab; the text after a line's last tab belongs to
 * no column and is never padded. A column is aligned over each run of consecutive lines that have
 * a cell in it, as wide as its widest cell plus padding, and at least minWidth.
 */
function tabwrite(lines: string[], minWidth: number, padding: number): string {
  const cells = lines.map((line) => line.split('\t'));
  const textWidth = (s: string) => [...s].length;
  const widths: number[] = [];
  const out: string[] = [];
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      out.push(cells[i]!.map((c, j) => (j < widths.length ? c + ' '.repeat(widths[j]! - textWidth(c)) : c)).join(''));
    }
  };
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let line = line0; line < line1; line++) {
      if (column >= cells[line]!.length - 1) continue;
      writeLines(line0, line);
      line0 = line;
      let width = minWidth;
      for (; line < line1 && column < cells[line]!.length - 1; line++) {
        width = Math.max(width, textWidth(cells[line]![column]!) + padding);
      }
      widths.push(width);
      format(line0, line);
      widths.pop();
      line0 = line;
    }
    writeLines(line0, line1);
  };
  format(0, cells.length);
  return out.map((l) => l + '\n').join('');
}

/** kubectl get's table: k8s.io/cli-runtime printers.GetNewTabWriter (minwidth 6, padding 3). */
export const table = (header: string[], rows: string[][]): string =>
  tabwrite(
    [header, ...rows].map((cells) => cells.join('\t')),
    6,
    3,
  );

/** kubectl describe's layout: tabbedString (minwidth 0, padding 2). */
export const tabbed = (lines: string[]): string => tabwrite(lines, 0, 2);

/** Byte order, as the API server lists objects (by their etcd key) and as Go compares strings. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** labels.FormatLabels: "k=v" pairs sorted by key, or <none>. */
export function formatLabels(labels: Record<string, string> | null): string {
  const pairs = Object.keys(labels ?? {})
    .sort(compareStrings)
    .map((k) => `${k}=${labels![k]}`);
  return pairs.length ? pairs.join(',') : '<none>';
}

/** net.JoinHostPort: IPv6 addresses are bracketed. */
export const joinHostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
