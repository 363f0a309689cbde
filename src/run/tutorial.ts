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
  items: { note?: string; command: Command; mustFail?: boolean }[];
}

function sections(lab: Lab, inst: Instance): Section[] {
  const out: Section[] = lowerPlan(planLab(lab, inst)).map((p) => ({
    title: p.title,
    why: p.why,
    items: p.actions.map((a) => ({ command: a.command, ...(a.note ? { note: a.note } : {}) })),
  }));
  if (lab.checks.length) {
    out.push({
      title: 'Verify with real packets',
      why: 'Each check as the command knetlab runs for it. A command marked "must fail" proves that a path does not exist.',
      items: lab.checks.map((c) => ({ note: c.name + (NEEDS[c.probe.kind] ?? ''), command: checkCommand(lab, inst, c), mustFail: !c.expect.reachable })),
    });
  }
  return out;
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

export function renderMarkdown(lab: Lab, inst: Instance): string {
  const out = [`# ${lab.title}`, ''];
  if (lab.source) out.push(`Reproduces seed ${lab.source}. Lab \`${lab.name}\`: \`knetlab up ${lab.name}\` runs exactly these commands.`, '');
  if (lab.description) out.push(lab.description.trim(), '');
  out.push('Run every command as root, on a scratch machine or VM.', '');
  sections(lab, inst).forEach((s, i) => {
    out.push(`## ${i + 1}. ${s.title}`, '', s.why, '');
    const block: string[] = [];
    const flush = () => {
      if (block.length) out.push('```sh', ...block, '```', '');
      block.length = 0;
    };
    for (const item of s.items) {
      if (item.note) {
        flush();
        out.push(`${item.mustFail ? '**Must fail:** ' : ''}${item.note}`, '');
      }
      block.push((item.mustFail ? '! ' : '') + renderCommand(item.command));
    }
    flush();
  });
  out.push('## Clean up', '', '```sh', ...cleanup(lab, inst).map(renderCommand), '```', '');
  return out.join('\n');
}
