// The renderer: the same lowered commands `up` runs, printed as a script a person can paste into
// a root shell, or as a Markdown tutorial. Checks become the commands that verify the lab by hand.

import type { Lab } from '../labfile/types.js';
import { renderCommand, type Command } from '../kernel/command.js';
import { lowerPlan } from '../kernel/lower.js';
import { checkCommand } from './verify.js';
import type { Instance } from '../kernel/instance.js';
import { planLab } from '../plan/topology.js';

interface Section {
  title: string;
  why: string;
  /** `observe`: the index among the lab's read-only commands; `check`: the index among its checks. */
  items: { note?: string; command: Command; mustFail?: boolean; observe?: number; check?: number }[];
}

function sections(lab: Lab, inst: Instance): Section[] {
  let observed = 0;
  const out: Section[] = lowerPlan(planLab(lab, inst)).map((p) => ({
    title: p.title,
    why: p.why,
    // The read-only phase is the lab's observe commands, one action each, in order.
    items: p.actions.map((a) => ({ command: a.command, ...(a.note ? { note: a.note } : {}), ...(p.readOnly ? { observe: observed++ } : {}) })),
  }));
  if (lab.checks.length) {
    out.push({
      title: 'Verify with real packets',
      why: 'Each check as the command knetlab runs for it. A command marked "must fail" proves that a path does not exist.',
      items: lab.checks.map((c, i) => ({
        note: c.name + (NEEDS[c.probe.kind] ?? ''),
        command: checkCommand(lab, inst, c),
        mustFail: !c.expect.reachable,
        check: i,
      })),
    });
  }
  return out;
}

/** The read-only commands of the lab (its `observe`), in the order the tutorial shows them. */
export function observeCommands(lab: Lab, inst: Instance): Command[] {
  return lowerPlan(planLab(lab, inst))
    .filter((p) => p.readOnly)
    .flatMap((p) => p.actions.map((a) => a.command));
}

/**
 * What a check needs of the kernel beyond the lab itself. verify skips such a check where the
 * kernel lacks it; a pasted script cannot, so the note says how the failure looks.
 */
const NEEDS: Partial<Record<Lab['checks'][number]['probe']['kind'], string>> = {
  trace: ' (verify traces this probe in every namespace, as knetlab trace does, and compares the hooks and tables it met with the lab)',
  sctp: ' (needs SCTP sockets: socat failing with "socket(2, 1, 132): Protocol not supported" means the kernel has none and the check did not run)',
};

function cleanup(lab: Lab, inst: Instance): Command[] {
  const pids = lab.namespaces.filter((n) => n.server).map((n) => `${inst.dir}/${n.name}.nginx.pid`);
  return [
    ...pids.map((pidfile) => ({ file: 'pkill', args: ['-F', pidfile] })),
    ...lab.namespaces.map((n) => ({ file: 'ip', args: ['netns', 'del', inst.netns(n.name)] })),
  ];
}

function wrap(text: string, width: number, prefix: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(prefix + line);
  return lines;
}

export function renderScript(lab: Lab, inst: Instance): string {
  const out = [
    '#!/bin/sh',
    `# ${lab.name}: ${lab.title}`,
    ...(lab.source ? [`# Reproduces seed ${lab.source}.`] : []),
    ...wrap(lab.description, 96, '# '),
    `# The exact commands "knetlab up ${lab.name}" runs, in order. Run as root, on a scratch machine or VM.`,
    'set -e',
  ];
  sections(lab, inst).forEach((s, i) => {
    out.push('', `# ${i + 1}. ${s.title}`, ...wrap(s.why, 96, '#    '));
    for (const item of s.items) {
      if (item.note) out.push(`# ${item.mustFail ? 'must fail: ' : ''}${item.note}`);
      const text = renderCommand(item.command);
      out.push(item.mustFail ? `! ${text}` : text);
    }
  });
  out.push('', '# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):', ...cleanup(lab, inst).map((c) => `# ${renderCommand(c)}`));
  return out.join('\n') + '\n';
}

/**
 * What a run of the lab printed, for `knetlab tutorial`: a note under the title, each observe
 * command's and each check's output (already normalised), and a closing note.
 */
export interface Recording {
  header: string[];
  observe: ({ output: string; exitCode: number } | undefined)[];
  checks: ({ verdict: 'ok' | 'FAILED' | 'skipped'; saw: string; output: string } | undefined)[];
  footer: string[];
}

/**
 * Recorded output is fenced by these HTML comments (invisible once rendered): without them the
 * tutorial is byte for byte what `knetlab steps --format md` prints, which a test keeps true.
 */
export const OUTPUT_BEGIN = '<!-- output -->';
export const OUTPUT_END = '<!-- /output -->';

function region(lines: string[]): string[] {
  return [OUTPUT_BEGIN, ...lines, OUTPUT_END, ''];
}

/** A fence longer than any run of backticks in the text, so output holding ``` stays inside. */
function fenced(text: string, info = 'text'): string[] {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return [fence + info, ...(text.trim() ? text.replace(/\n+$/, '').split('\n') : ['(no output)']), fence];
}

/** The tutorial without its recorded output: what `knetlab steps --format md` prints. */
export function stripOutputs(markdown: string): string {
  const lines = markdown.split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== OUTPUT_BEGIN) {
      kept.push(lines[i]!);
      continue;
    }
    while (i < lines.length && lines[i] !== OUTPUT_END) i++;
    if (lines[i + 1] === '') i++;
  }
  return kept.join('\n');
}

export function renderMarkdown(lab: Lab, inst: Instance, rec?: Recording): string {
  const out = [`# ${lab.title}`, ''];
  if (rec?.header.length) out.push(...region(rec.header));
  if (lab.source) out.push(`Reproduces seed ${lab.source}. Lab \`${lab.name}\`: \`knetlab up ${lab.name}\` runs exactly these commands.`, '');
  if (lab.description) out.push(lab.description.trim(), '');
  out.push('Run every command as root, on a scratch machine or VM.', '');
  sections(lab, inst).forEach((s, i) => {
    out.push(`## ${i + 1}. ${s.title}`, '', s.why, '');
    const block: string[] = [];
    // Outputs of the commands in the block, shown after it: a block of several commands keeps its
    // shape, each output named by its command.
    const printed: { command: string; lines: string[] }[] = [];
    const flush = () => {
      if (block.length) out.push('```sh', ...block, '```', '');
      for (const p of printed) out.push(...region([printed.length > 1 ? `Output of \`${p.command.split('\n')[0]}\` here:` : 'Output here:', '', ...p.lines]));
      block.length = 0;
      printed.length = 0;
    };
    for (const item of s.items) {
      if (item.note) {
        flush();
        out.push(`${item.mustFail ? '**Must fail:** ' : ''}${item.note}`, '');
      }
      const text = renderCommand(item.command);
      block.push((item.mustFail ? '! ' : '') + text);
      const o = item.observe !== undefined ? rec?.observe[item.observe] : undefined;
      if (o) printed.push({ command: text, lines: [...(o.exitCode ? [`(exit status ${o.exitCode})`, ''] : []), ...fenced(o.output)] });
      const c = item.check !== undefined ? rec?.checks[item.check] : undefined;
      if (c) printed.push({ command: text, lines: [...fenced(c.output), '', `**${c.verdict}**: ${c.saw}`] });
    }
    flush();
  });
  out.push('## Clean up', '', '```sh', ...cleanup(lab, inst).map(renderCommand), '```', '');
  if (rec?.footer.length) out.push(...region(rec.footer));
  return out.join('\n');
}
