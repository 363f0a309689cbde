// A command is an argv array and, optionally, what to feed its stdin. Never a shell string:
// the same list is executed by the runner, printed by the renderer and recorded by tests.

export interface Command {
  file: string;
  args: string[];
  input?: string;
  /** Output is of no interest (printed as ">/dev/null" in tutorials). */
  discardOutput?: boolean;
  /** Save stdout to this file (printed as "> FILE"). */
  stdoutTo?: string;
  /** The command is expected to fail with this text in its error; the lab goes on (printed with "|| true"). */
  mayFail?: string;
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX shell quoting, so printed commands can be pasted into a root shell. */
export function quote(arg: string): string {
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function argvToShell(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

/** The command as a person would type it, stdin shown as a quoted heredoc. */
export function renderCommand(cmd: Command): string {
  const line =
    argvToShell([cmd.file, ...cmd.args]) +
    (cmd.discardOutput ? ' >/dev/null' : '') +
    (cmd.stdoutTo ? ` > ${quote(cmd.stdoutTo)}` : '') +
    (cmd.mayFail ? ' || true' : '');
  return (cmd.mayFail ? `# expected to fail with "${cmd.mayFail}"\n` : '') + line + (cmd.input === undefined ? '' : heredoc(cmd.input));
}

function heredoc(text: string): string {
  const input = text.endsWith('\n') ? text : text + '\n';
  let tag = 'EOF';
  while (input.split('\n').includes(tag)) tag += '_';
  return ` <<'${tag}'\n${input}${tag}`;
}
