// knetlab's command line. The only module that imports yargs; one top-level handler maps
// errors to exit codes: 0 ok, 1 a step or check failed, 2 invalid input or usage, 3 the lab needs
// a kernel feature this machine lacks (it runs in the kernel VM: knetlab run --vm).

import { basename, dirname, resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { formatWarnings, InputError, KnetlabError, LabFileError } from '../labfile/diagnostics.js';
import type { Lab } from '../labfile/types.js';
import type { Host } from '../exec/host.js';
import { checkNetnsNames, instanceName, makeInstance, stateRoot, validatePrefix, type Instance } from '../kernel/instance.js';
import { RecordStore } from '../run/record.js';
import { packageVersion } from '../exec/install.js';
import type { CheckResult } from '../run/verify.js';
import { KUBE_PROXY_MODES, type StateFile } from '../api/objects.js';

// Each command loads what it needs when it runs: `knetlab --version` reads yargs and little else,
// and `validate` or `steps` never load the process runner, the spinner or the tables.
let hostInstance: Host | undefined;
const getHost = async (): Promise<Host> => (hostInstance ??= new (await import('../exec/host.js')).LocalHost());
const store = () => new RecordStore(stateRoot());
const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const err = (s: string): void => void process.stderr.write(s.endsWith('\n') ? s : s + '\n');
const ui = () => import('./ui.js');
const labs = () => import('../run/labs.js');
const loader = () => import('../plan/load.js');

async function load(arg: string): Promise<Lab> {
  const [{ resolveLabArg }, { loadLabFile }] = await Promise.all([labs(), loader()]);
  let file: string;
  try {
    [file] = resolveLabArg(arg) as [string];
  } catch (e) {
    // A running lab brought up from a file elsewhere is known by its name: its record has the file.
    const rec =
      e instanceof InputError
        ? store()
            .list()
            .find((r) => r.lab === arg || r.instance === arg)
        : undefined;
    if (!rec) throw e;
    file = rec.labFile;
  }
  const { lab, warnings, moreWarnings } = loadLabFile(file);
  for (const w of formatWarnings(warnings, moreWarnings)) err(w);
  return lab;
}

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new InputError(`knetlab ${what} changes network namespaces and needs root`, ['  hint: run it with sudo']);
}

function instanceFor(lab: Lab, prefix: string): Instance {
  const inst = makeInstance(lab.name, prefix);
  // Names that only become too long with the prefix: known here, before anything is created.
  checkNetnsNames(lab, inst);
  return inst;
}

/** The running instance of a lab, or a clear error. */
function running(lab: Lab, prefix: string): Instance {
  const inst = instanceFor(lab, prefix);
  const rec = store().load(inst.name);
  if (!rec || rec.status !== 'up') {
    throw new KnetlabError(`lab ${inst.name} is not up${rec ? ` (it is ${rec.status})` : ''}`, 1, [
      `  hint: run "knetlab up ${lab.name}${prefix ? ` --prefix ${prefix}` : ''}" first`,
    ]);
  }
  return inst;
}

function checkLine(lab: string, r: CheckResult): string {
  const mark = r.passed ? 'ok  ' : r.skipped ? 'skip' : 'FAIL';
  const head = `${mark} ${lab}: ${r.check.name} (${r.ms < 1000 ? `${r.ms}ms` : `${(r.ms / 1000).toFixed(1)}s`})`;
  if (r.skipped) return `${head}\n    ${r.skipped}`;
  return r.passed ? head : [head, ...r.details].join('\n');
}

/** "3 passed, 0 failed", and how many were skipped when any was: a skipped check never counts as passed. */
function summary(passed: number, failed: number, skipped: number): string {
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

interface LabRun {
  lab: string;
  up: { ok: boolean; error?: string; ms: number };
  checks: { name: string; passed: boolean; skipped: string | null; saw: string; ms: number }[];
  down: { ok: boolean; error?: string };
}

async function runOne(file: string, prefix: string, json: boolean, proxyMode: string | undefined): Promise<LabRun> {
  const [{ loadLabFile, withProxyMode }, { up, down }, { runChecks }, { spinnerProgress }, host] = await Promise.all([
    loader(),
    import('../run/apply.js'),
    import('../run/verify.js'),
    ui(),
    getHost(),
  ]);
  const t0 = Date.now();
  let lab: Lab;
  try {
    lab = withProxyMode(loadLabFile(file).lab, proxyMode);
  } catch (e) {
    const name = basename(dirname(file));
    if (!json) err(`FAIL ${name}: invalid lab\n${e instanceof KnetlabError ? e.details.join('\n') : String(e)}`);
    return { lab: name, up: { ok: false, error: (e as Error).message, ms: 0 }, checks: [], down: { ok: true } };
  }
  const inst = instanceFor(lab, prefix);
  const result: LabRun = { lab: lab.name, up: { ok: false, ms: 0 }, checks: [], down: { ok: true } };
  const progress = spinnerProgress(lab.name, !json);
  try {
    await up(lab, inst, { host, store: store(), progress });
    result.up = { ok: true, ms: Date.now() - t0 };
    progress.stop();
  } catch (e) {
    progress.stop();
    result.up = { ok: false, error: (e as Error).message, ms: Date.now() - t0 };
    if (!json) err(`FAIL ${lab.name}: up failed: ${(e as Error).message}${e instanceof KnetlabError ? '\n' + e.details.join('\n') : ''}`);
    return result;
  }
  try {
    const results = await runChecks(lab, inst, host, (r) => !json && out(checkLine(lab.name, r)), { store: store() });
    result.checks = results.map((r) => ({ name: r.check.name, passed: r.passed, skipped: r.skipped ?? null, saw: r.saw, ms: r.ms }));
  } finally {
    try {
      await down(inst.name, { host, store: store() });
    } catch (e) {
      result.down = { ok: false, error: (e as Error).message };
      if (!json) err(`FAIL ${lab.name}: down failed: ${(e as Error).message}`);
    }
  }
  return result;
}

const manifestOptions = <T>(y: Argv<T>) =>
  prefixOption(
    y
      .positional('lab', { type: 'string', demandOption: true })
      .option('filename', { alias: 'f', type: 'string', array: true, demandOption: true, describe: 'Manifest file(s)' }),
  );

/** knetlab apply|delete LAB -f FILE...: kubectl's one line per object. */
async function applyCommand(a: { lab: string; prefix: string; filename?: string[]; proxyMode?: string }, mode: 'apply' | 'delete'): Promise<void> {
  if (!a.filename?.length && a.proxyMode === undefined)
    throw new InputError(`knetlab ${mode} needs manifests (-f FILE)${mode === 'apply' ? ' or a kube-proxy mode to switch to (--proxy-mode MODE)' : ''}`);
  // The running lab's folder ("{labdir}" in a lab's exec step) names it with its prefix.
  const rec = store()
    .list()
    .find((r) => r.dir === resolve(a.lab));
  if (rec) [a.lab, a.prefix] = [rec.labFile, rec.prefix];
  const lab = await load(a.lab);
  if (a.proxyMode !== undefined) {
    const [{ switchProxyMode }, host] = await Promise.all([import('../run/proxy-mode.js'), getHost()]);
    requireRoot(mode);
    const inst = running(lab, a.prefix);
    for (const line of await switchProxyMode(lab, inst, a.proxyMode, { host, store: store(), print: out })) out(line);
    if (!a.filename?.length) return;
  }
  const [{ applyFiles }, host] = await Promise.all([import('../run/kube.js'), getHost()]);
  requireRoot(mode);
  const inst = running(lab, a.prefix);
  for (const line of await applyFiles(lab, inst, a.filename ?? [], mode, { host, store: store() })) out(line);
}

const prefixOption = <T>(y: Argv<T>) =>
  y.option('prefix', { type: 'string', default: '', describe: 'Run a separate copy: namespaces are named "<prefix>-<name>"' });

const proxyModeOption = <T>(y: Argv<T>) =>
  y.option('proxy-mode', {
    type: 'string',
    choices: KUBE_PROXY_MODES,
    describe: "Run kube-proxy in this mode, whatever the lab's KubeProxyConfiguration says",
  } as const);

export async function main(argv: string[]): Promise<number> {
  // Everything knetlab writes (records, configs, PID files) is for root's eyes only.
  process.umask(0o077);
  let code = 0;
  const cli = yargs(argv)
    .scriptName('knetlab')
    .usage(
      '$0 <command> [options]\n\nBuild Kubernetes networking data paths out of real kernel objects, prove them with real packets, print them as tutorials.',
    )
    .strict()
    .parserConfiguration({ 'populate--': true })
    .demandCommand(1, 'name a command (knetlab --help lists them)')
    .command(
      'up <lab>',
      'Create a lab: namespaces, links, addresses, routes, NAT and servers',
      (y) =>
        proxyModeOption(
          prefixOption(y.positional('lab', { type: 'string', demandOption: true, describe: 'a lab name from labs/, a lab folder or a lab.yaml' })).option(
            'timings',
            { type: 'boolean', default: false, describe: 'print how long each phase took' },
          ),
        ),
      async (a) => {
        const lab = (await loader()).withProxyMode(await load(a.lab), a.proxyMode);
        requireRoot('up');
        const [{ up }, { spinnerProgress }, host] = await Promise.all([import('../run/apply.js'), ui(), getHost()]);
        const inst = instanceFor(lab, a.prefix);
        const lacking = (await kernelShortfalls([lab])).get(lab.name);
        if (lacking) throw new KnetlabError(shortfallLine(lab.name, lacking, a.prefix, a.proxyMode), 3);
        const t0 = Date.now();
        const progress = spinnerProgress(lab.name, true, a.timings);
        try {
          const rec = await up(lab, inst, { host, store: store(), progress });
          progress.done(
            `${inst.name} is up in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${rec.namespaces.length} namespaces, ${rec.processes.length} processes`,
          );
        } finally {
          progress.stop();
        }
        const px = a.prefix ? ` --prefix ${a.prefix}` : '';
        err(
          `  next: knetlab verify ${lab.name}${px}   ·   knetlab exec ${lab.name}${px} ${lab.namespaces[0]!.name} -- ip addr   ·   knetlab down ${lab.name}${px}`,
        );
      },
    )
    .command(
      'down [lab]',
      'Remove a lab and everything its record says it created',
      (y) =>
        prefixOption(y.positional('lab', { type: 'string', describe: 'a lab, or an instance name from "knetlab status"' })).option('all', {
          type: 'boolean',
          default: false,
          describe: 'Remove every lab knetlab has a record of',
        }),
      async (a) => {
        if (!a.all && !a.lab) throw new InputError('name a lab to take down, or use --all');
        validatePrefix(a.prefix);
        requireRoot('down');
        const [{ down }, { resolveLabArg }, host] = await Promise.all([import('../run/apply.js'), labs(), getHost()]);
        const s = store();
        let instances: string[];
        if (a.all) instances = s.list().map((r) => r.instance);
        else if (s.load(a.lab!)) instances = [a.lab!];
        else {
          let name: string;
          try {
            name = (await load(a.lab!)).name;
          } catch (e) {
            if (e instanceof LabFileError) name = basename(dirname(resolveLabArg(a.lab!)[0]!));
            else throw e;
          }
          instances = [instanceName(name, a.prefix)];
        }
        for (const inst of instances) {
          const report = await down(inst, { host, store: s });
          if (!report) err(`${inst} is not up; nothing to do`);
          else {
            err(`${inst} is down: ${report.namespaces} namespaces deleted, ${report.killed} processes stopped`);
            for (const line of report.skipped) err(`  note: ${line}`);
          }
        }
        if (a.all && instances.length === 0) err('no labs are up');
      },
    )
    .command(
      'trace <lab>',
      "Send one real probe from a pod and show its walk from the kernel's own account: hooks, tables, chains, rules, routes, encapsulation, conntrack",
      (y) =>
        prefixOption(
          y
            .positional('lab', { type: 'string', demandOption: true })
            .option('from', { type: 'string', demandOption: true, describe: 'The namespace (a pod) the probe starts in' })
            .option('to', { type: 'string', describe: 'An HTTP URL (curl)' })
            .option('ping', { type: 'string', describe: 'An address to ping' })
            .option('tcp', { type: 'string', describe: 'ADDR:PORT to connect to (nc -z)' })
            .option('format', { choices: ['text', 'md'] as const, default: 'text' as const })
            .option('json', { type: 'boolean', default: false })
            .option('graph', { type: 'string', describe: "Also draw the walk over the lab's picture into this file (.svg, .png or .dot)" }),
        ),
      async (a) => {
        const given = (['to', 'ping', 'tcp'] as const).filter((k) => a[k] !== undefined);
        if (given.length !== 1) throw new InputError('name exactly one probe: --to URL, --ping ADDR or --tcp ADDR:PORT');
        let probe: import('../run/trace.js').TraceProbe;
        if (a.to !== undefined) {
          if (!/^https?:\/\/\S+$/.test(a.to)) throw new InputError(`--to ${a.to}: not an http:// URL`);
          probe = { kind: 'http', url: a.to };
        } else if (a.ping !== undefined) probe = { kind: 'ping', address: a.ping };
        else {
          const m = /^(\S+):(\d{1,5})$/.exec(a.tcp!);
          if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new InputError(`--tcp ${a.tcp}: expected ADDR:PORT, e.g. 10.96.0.10:53`);
          probe = { kind: 'tcp', address: m[1]!, port: Number(m[2]) };
        }
        const lab = await load(a.lab);
        requireRoot('trace');
        const inst = running(lab, a.prefix);
        const [{ trace, renderTrace }, host] = await Promise.all([import('../run/trace.js'), getHost()]);
        // SIGINT and SIGTERM stop the trace, which removes its tables before knetlab exits.
        const controller = new AbortController();
        const onTerm = () => controller.abort('SIGTERM');
        interrupt = (sig) => controller.abort(sig);
        process.on('SIGTERM', onTerm);
        try {
          const report = await trace(lab, inst, a.from, probe, { host, store: store(), signal: controller.signal });
          out(a.json ? JSON.stringify(report, null, 2) : renderTrace(report, a.format));
          if (a.graph) await (await import('../run/graph.js')).graphCommand(lab, inst, { host, store: store(), output: a.graph, walk: report });
          if (!report.probe.ok) code = 1;
        } catch (e) {
          if (!controller.signal.aborted) throw e;
          err(`knetlab: ${(e as Error).message}`);
          code = controller.signal.reason === 'SIGTERM' ? 143 : 130;
        } finally {
          interrupt = null;
          process.off('SIGTERM', onTerm);
        }
      },
    )
    .command(
      'graph <lab>',
      'Draw the running lab from kernel state: namespaces, interfaces and addresses, veth pairs, bridges, tunnels, daemons, Services',
      (y) =>
        prefixOption(
          y
            .positional('lab', { type: 'string', demandOption: true })
            .option('format', { choices: ['svg', 'png', 'dot'] as const, describe: 'Output format (default: from -o, else svg)' })
            .option('output', { alias: 'o', type: 'string', describe: 'Write to this file instead of stdout' }),
        ),
      async (a) => {
        const lab = await load(a.lab);
        requireRoot('graph');
        const inst = running(lab, a.prefix);
        const [{ graphCommand }, host] = await Promise.all([import('../run/graph.js'), getHost()]);
        await graphCommand(lab, inst, { host, store: store(), format: a.format, output: a.output });
      },
    )
    .command(
      'status',
      'Labs that are up, with their namespaces and processes',
      (y) => y.option('json', { type: 'boolean', default: false }),
      async (a) => {
        const host = await getHost();
        const recs = store()
          .list()
          .map((r) => ({
            instance: r.instance,
            lab: r.lab,
            status: r.status,
            labFile: r.labFile,
            createdAt: r.createdAt,
            namespaces: r.namespaces.map((n) => ({ name: n.name, present: host.netnsId(n.name) !== null })),
            processes: r.processes.map((p) => ({
              name: p.name,
              netns: p.netns,
              pid: p.pid,
              running: p.pid !== null && host.process(p.pid)?.start === p.start,
            })),
          }));
        if (a.json) return void out(JSON.stringify({ labs: recs }, null, 2));
        if (!recs.length) return void out('No labs are up.');
        const { table } = await ui();
        out(
          table(
            ['INSTANCE', 'LAB', 'STATUS', 'NAMESPACES', 'PROCESSES', 'AGE'],
            recs.map((r) => [
              r.instance,
              r.lab,
              r.status,
              `${r.namespaces.filter((n) => n.present).length}/${r.namespaces.length}`,
              `${r.processes.filter((p) => p.running).length}/${r.processes.length}`,
              age(r.createdAt),
            ]),
          ),
        );
      },
    )
    .command(
      'verify <lab>',
      "Run the lab's checks against the running lab",
      (y) => prefixOption(y.positional('lab', { type: 'string', demandOption: true })).option('json', { type: 'boolean', default: false }),
      async (a) => {
        const lab = await load(a.lab);
        requireRoot('verify');
        const inst = running(lab, a.prefix);
        const [{ runChecks }, host] = await Promise.all([import('../run/verify.js'), getHost()]);
        const results = await runChecks(lab, inst, host, (r) => !a.json && out(checkLine(lab.name, r)), { store: store() });
        const skipped = results.filter((r) => r.skipped).length;
        const failed = results.filter((r) => !r.passed && !r.skipped).length;
        const passed = results.filter((r) => r.passed).length;
        if (a.json)
          out(
            JSON.stringify(
              {
                lab: lab.name,
                checks: results.map((r) => ({ name: r.check.name, passed: r.passed, skipped: r.skipped ?? null, saw: r.saw, ms: r.ms, details: r.details })),
                passed,
                failed,
                skipped,
              },
              null,
              2,
            ),
          );
        else out(summary(passed, failed, skipped));
        if (failed) code = 1;
      },
    )
    .command(
      'run <labs..>',
      'For each lab: up, checks, down (continuing past failures)',
      (y) =>
        proxyModeOption(
          prefixOption(
            y.positional('labs', { type: 'string', array: true, demandOption: true, describe: 'labs, lab folders, or a folder of labs (e.g. labs)' }),
          )
            .option('json', { type: 'boolean', default: false })
            .option('vm', { type: 'boolean', default: false, describe: 'Run in the kernel VM (knetlab vm), for labs that need a module this kernel lacks' }),
        ),
      async (a) => {
        const { resolveLabArg } = await labs();
        const files = (a.labs as string[]).flatMap((l) => resolveLabArg(l, { many: true }));
        validatePrefix(a.prefix);
        requireRoot('run');
        if (a.vm && !process.env.KNETLAB_IN_VM) {
          // The same command, without --vm, inside the VM: node and this entry point, as the VM sees this machine's files.
          const again = hideBin(process.argv).filter((x) => x !== '--vm');
          code = await vmRun([process.execPath, process.argv[1]!, ...again], { memoryMiB: 2048 });
          return;
        }
        const loadedLabs = await Promise.all(files.map((f) => loadQuietly(f, a.proxyMode)));
        const lacking = await kernelShortfalls(loadedLabs.filter((l): l is Lab => l !== null));
        const runs: LabRun[] = [];
        const unsupported: { lab: string; missing: string[] }[] = [];
        for (const [i, f] of files.entries()) {
          const name = loadedLabs[i]?.name;
          const missing = name ? lacking.get(name) : undefined;
          if (name && missing) {
            unsupported.push({ lab: name, missing });
            if (!a.json) err(`SKIP ${shortfallLine(name, missing, a.prefix, a.proxyMode)}`);
          } else runs.push(await runOne(f, a.prefix, a.json, a.proxyMode));
        }
        const passed = runs.reduce((n, r) => n + r.checks.filter((c) => c.passed).length, 0);
        const skipped = runs.reduce((n, r) => n + r.checks.filter((c) => c.skipped).length, 0);
        const failed = runs.reduce((n, r) => n + r.checks.filter((c) => !c.passed && !c.skipped).length + (r.up.ok ? 0 : 1) + (r.down.ok ? 0 : 1), 0);
        if (a.json) out(JSON.stringify({ labs: runs, passed, failed, skipped, unsupported }, null, 2));
        else out(summary(passed, failed, skipped) + (unsupported.length ? `; ${unsupported.length} lab(s) not run: this kernel lacks what they need` : ''));
        if (failed) code = 1;
        else if (unsupported.length) code = 3;
      },
    )
    .command(
      'steps <lab>',
      'Print the exact commands that build the lab, grouped by phase, with the reasons',
      (y) =>
        proxyModeOption(
          prefixOption(y.positional('lab', { type: 'string', demandOption: true })).option('format', {
            choices: ['sh', 'md'] as const,
            default: 'sh' as const,
          }),
        ),
      async (a) => {
        const lab = (await loader()).withProxyMode(await load(a.lab), a.proxyMode);
        const inst = instanceFor(lab, a.prefix);
        const { renderMarkdown, renderScript } = await import('../run/tutorial.js');
        out(a.format === 'md' ? renderMarkdown(lab, inst) : renderScript(lab, inst));
      },
    )
    .command(
      'tutorial <lab>',
      "Bring the lab up, run its observe commands and checks, take it down, and print the steps as Markdown with each command's real output",
      (y) => proxyModeOption(prefixOption(y.positional('lab', { type: 'string', demandOption: true }))),
      async (a) => {
        const lab = (await loader()).withProxyMode(await load(a.lab), a.proxyMode);
        requireRoot('tutorial');
        const inst = instanceFor(lab, a.prefix);
        const [{ recordTutorial, unrecordedTutorial }, { DEFAULT_STATE_ROOT }, host] = await Promise.all([
          import('../run/tutorial-run.js'),
          import('../kernel/instance.js'),
          getHost(),
        ]);
        // The Markdown names things as `knetlab up LAB` does, whatever prefix this copy ran under.
        const plain = makeInstance(lab.name, '', DEFAULT_STATE_ROOT);
        const lacking = (await kernelShortfalls([lab])).get(lab.name);
        if (lacking) {
          // The commands still make a tutorial; the missing output is said, and the exit status says it too.
          out(unrecordedTutorial(lab, plain, `this kernel lacks ${lacking.join(', ')}`));
          throw new KnetlabError(shortfallLine(lab.name, lacking, a.prefix, a.proxyMode), 3);
        }
        const r = await recordTutorial(lab, inst, plain, {
          host,
          store: store(),
          progress: { phase: (i, n, title) => err(`${lab.name}: ${i}/${n} ${title}`), done() {}, fail: (m) => err(m) },
          onCheck: (c) => err(checkLine(lab.name, c)),
        });
        out(r.markdown);
        err(summary(r.passed, r.failed, r.skipped));
        if (!r.ok) code = 1;
      },
    )
    .command(
      'exec <lab> <node> [cmd..]',
      "Run a command inside one of a running lab's namespaces (knetlab exec LAB NODE -- CMD...)",
      (y) =>
        prefixOption(
          y
            .positional('lab', { type: 'string', demandOption: true })
            .positional('node', { type: 'string', demandOption: true })
            .positional('cmd', { type: 'string', array: true }),
        ),
      async (a) => {
        const lab = await load(a.lab);
        requireRoot('exec');
        const host = await getHost();
        const inst = running(lab, a.prefix);
        if (!lab.namespaces.some((n) => n.name === a.node)) {
          throw new InputError(`${lab.name} has no namespace "${a.node}"`, [`  hint: namespaces: ${lab.namespaces.map((n) => n.name).join(', ')}`]);
        }
        const given = [...((a.cmd as string[] | undefined) ?? []), ...(((a as { '--'?: unknown[] })['--'] ?? []) as unknown[])].map(String);
        const cmd = given.length ? given : [process.env.SHELL || '/bin/sh'];
        code = await host.interactive({ file: 'ip', args: ['netns', 'exec', inst.netns(a.node), ...cmd.map(String)] });
      },
    )
    .command(
      'apply <lab>',
      'Apply Kubernetes manifests to a running lab, like kubectl apply -f (create or change objects, scale Deployments); --proxy-mode restarts kube-proxy in another mode',
      (y) =>
        proxyModeOption(
          prefixOption(
            y
              .positional('lab', { type: 'string', demandOption: true })
              .option('filename', { alias: 'f', type: 'string', array: true, describe: 'Manifest file(s)' }),
          ),
        ),
      (a) => applyCommand(a, 'apply'),
    )
    .command(
      'delete <lab>',
      'Delete the objects in Kubernetes manifests from a running lab, like kubectl delete -f',
      (y) => manifestOptions(y),
      (a) => applyCommand(a, 'delete'),
    )
    .command(
      'get <lab> <resource> [names..]',
      'List pods, services, endpoints or ingresses of a running lab, like kubectl get',
      (y) =>
        prefixOption(
          y
            .positional('lab', { type: 'string', demandOption: true })
            .positional('resource', { type: 'string', demandOption: true, describe: 'pods (po), services (svc), endpoints (ep) or ingresses (ing)' })
            .positional('names', { type: 'string', array: true })
            .option('output', { alias: 'o', type: 'string', choices: ['wide', 'yaml', 'json'], describe: 'Output format' })
            .option('namespace', { alias: 'n', type: 'string', default: 'default', describe: 'The namespace to list' })
            .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'List every namespace (a NAMESPACE column comes first)' }),
        ),
      async (a) => {
        const lab = await load(a.lab);
        const inst = running(lab, a.prefix);
        const s = await apiState(inst);
        const RESOURCES = await resources();
        const opts = {
          output: (a.output ?? 'table') as 'table' | 'wide' | 'yaml' | 'json',
          now: new Date(),
          names: (a.names as string[] | undefined)?.length ? (a.names as string[]) : undefined,
          namespace: a.namespace,
          allNamespaces: a.allNamespaces,
          nodes: s.nodes,
        };
        const view = RESOURCES[a.resource as string];
        if (!view)
          throw new InputError(`error: the server doesn't have a resource type "${a.resource}"`, [
            '  hint: knetlab knows pods (po), services (svc), endpoints (ep) and ingresses (ing)',
          ]);
        out(view(s.state, opts));
      },
    )
    .command(
      'describe <lab> <resource> <name>',
      'Describe a Service or an Ingress of a running lab, like kubectl describe svc|ingress',
      (y) =>
        prefixOption(
          y
            .positional('lab', { type: 'string', demandOption: true })
            .positional('resource', { type: 'string', demandOption: true, describe: 'svc (service) or ing (ingress)' })
            .positional('name', { type: 'string', demandOption: true })
            .option('namespace', { alias: 'n', type: 'string', default: 'default', describe: "The object's namespace" }),
        ),
      async (a) => {
        const lab = await load(a.lab);
        const inst = running(lab, a.prefix);
        const [{ readEvents }, { describeIngress, describeService, humanDuration }] = await Promise.all([import('../k8s/store.js'), import('../k8s/views.js')]);
        const kind = ['svc', 'service', 'services'].includes(a.resource as string)
          ? 'service'
          : ['ing', 'ingress', 'ingresses'].includes(a.resource as string)
            ? 'ingress'
            : null;
        if (!kind)
          throw new InputError(`knetlab describes services and ingresses, not "${a.resource}"`, [
            '  hint: knetlab describe LAB svc NAME, or knetlab describe LAB ingress NAME',
          ]);
        const events = readEvents(inst.dir)
          .filter((e) => e.object === `${kind}/${a.name}` && e.namespace === a.namespace)
          .map((e) => ({
            type: e.type === 'Warning' ? ('Warning' as const) : ('Normal' as const),
            reason: e.reason,
            age: humanDuration(Date.now() - Date.parse(e.at)),
            from: e.source,
            message: e.message,
          }));
        try {
          const s = await apiState(inst);
          out(
            kind === 'service'
              ? describeService(s.state, a.name as string, a.namespace, events)
              : describeIngress(s.state, a.name as string, a.namespace, events, s.nodes),
          );
        } catch (e) {
          throw new KnetlabError((e as Error).message, 1);
        }
      },
    )
    .command(
      'doctor',
      'Which kernel features and tools this machine has, and what to install',
      (y) => y.option('json', { type: 'boolean', default: false }),
      async (a) => {
        requireRoot('doctor');
        const [{ doctor }, { table }, host] = await Promise.all([import('../run/doctor.js'), ui(), getHost()]);
        const r = await doctor(host);
        if (a.json) out(JSON.stringify(r, null, 2));
        else {
          out(
            table(
              ['KERNEL FEATURE', 'STATUS', 'USED BY', 'DETAIL'],
              r.features.map((f) => [f.feature, f.ok ? 'ok' : 'missing', f.usedBy, f.detail]),
            ),
          );
          out('');
          out(
            table(
              ['COMMAND', 'STATUS', 'PACKAGE', 'USED FOR'],
              r.tools.map((t) => [t.command, t.ok ? 'ok' : 'missing', t.pkg, t.why]),
            ),
          );
          const pkgs = [...new Set(r.tools.filter((t) => !t.ok).map((t) => t.pkg))];
          if (pkgs.length) out(`\nInstall what is missing: apt-get install ${pkgs.join(' ')}   (or run scripts/setup.sh)`);
          const gaps = r.features.filter((f) => !f.ok && f.feature !== 'network namespaces');
          if (gaps.length)
            out(
              `\nThis kernel lacks ${gaps.map((f) => f.feature).join(', ')}: labs that need ${gaps.length > 1 ? 'them' : 'it'} run in the kernel VM, e.g. knetlab run --vm LAB (or knetlab vm -- knetlab run LAB).`,
            );
          out(
            r.vm.available
              ? `\nKernel VM runner: available (Debian kernel ${r.vm.kernel}, ${r.vm.accel === 'kvm' ? 'KVM' : 'TCG emulation: no usable KVM here, about 3-4x slower than this machine'}).`
              : `\nKernel VM runner: not available (${r.vm.missing.join('; ')}). sudo bash scripts/setup.sh sets it up.`,
          );
        }
        if (r.tools.some((t) => !t.ok) || r.features.some((f) => !f.ok && ['network namespaces', 'veth', 'bridge'].includes(f.feature))) code = 1;
      },
    )
    .command(
      'list',
      'The labs shipped in labs/',
      (y) => y.option('json', { type: 'boolean', default: false }),
      async (a) => {
        const [{ shippedLabs }, { loadLabFile }, { labKernelFeatures }] = await Promise.all([labs(), loader(), import('../plan/requires.js')]);
        const recs = store().list();
        const list = shippedLabs().map((f) => {
          try {
            const { lab } = loadLabFile(f);
            return {
              name: lab.name,
              title: lab.title,
              source: lab.source,
              checks: lab.checks.length,
              /** Kernel features it needs (knetlab doctor says which this machine has). */
              requires: labKernelFeatures(lab) as string[],
              up: recs.some((r) => r.lab === lab.name),
              error: null as string | null,
            };
          } catch (e) {
            return { name: basename(dirname(f)), title: '', source: '', checks: 0, requires: [], up: false, error: (e as Error).message };
          }
        });
        if (a.json) return void out(JSON.stringify({ labs: list }, null, 2));
        const { table } = await ui();
        out(
          table(
            ['NAME', 'SOURCE', 'CHECKS', 'UP', 'TITLE'],
            list.map((l) => [l.name, l.source, l.checks, l.up ? 'yes' : '', l.error ? `invalid: ${l.error}` : l.title]),
          ),
        );
      },
    )
    .command(
      'validate <labs..>',
      'Check lab files and print every problem with its line and column',
      (y) => proxyModeOption(y.positional('labs', { type: 'string', array: true, demandOption: true })),
      async (a) => {
        const [{ resolveLabArg }, { loadLabFile, withProxyMode }] = await Promise.all([labs(), loader()]);
        for (const f of (a.labs as string[]).flatMap((l) => resolveLabArg(l, { many: true }))) {
          try {
            const { lab, warnings, moreWarnings } = loadLabFile(f);
            withProxyMode(lab, a.proxyMode);
            for (const w of formatWarnings(warnings, moreWarnings)) err(w);
            out(`${f}: ${lab.name} is valid (${lab.namespaces.length} namespaces, ${lab.checks.length} checks)`);
          } catch (e) {
            if (!(e instanceof LabFileError)) throw e;
            err(e.details.join('\n'));
            code = 2;
          }
        }
      },
    )
    .command(
      'vm [cmd..]',
      'Run a command in a VM with a stock Debian kernel, for labs that need a module this kernel lacks (knetlab vm -- knetlab run LAB)',
      (y) =>
        y
          .positional('cmd', { type: 'string', array: true })
          .option('memory', { type: 'number', default: 2048, describe: 'Memory of the VM, MiB' })
          .option('cpus', { type: 'number', describe: 'vCPUs (default: 2, or fewer if this machine has fewer)' })
          .option('timeout', { type: 'number', describe: 'Stop the VM after this many seconds (exit code 124)' })
          .option('timings', { type: 'boolean', default: false, describe: 'print how long the boot and the command took' }),
      async (a) => {
        requireRoot('vm');
        const argv = [...((a.cmd as string[] | undefined) ?? []), ...(((a as { '--'?: unknown[] })['--'] ?? []) as unknown[])].map(String);
        code = await vmRun(argv, { memoryMiB: a.memory, cpus: a.cpus, timeoutMs: a.timeout === undefined ? undefined : a.timeout * 1000, timings: a.timings });
      },
    )
    .command('schema', 'Print the JSON Schema for lab.yaml files', {}, async () =>
      out(JSON.stringify((await import('../labfile/schema.js')).jsonSchema(), null, 2)),
    )
    .fail((msg, e) => {
      if (e) throw e;
      throw new InputError(msg);
    })
    .help()
    .version(packageVersion())
    // Bundled, yargs cannot find its translations: English everywhere, not only where LANG says so.
    .locale('en')
    .wrap(Math.min(110, process.stdout.columns || 100));
  try {
    await cli.parseAsync();
    return code;
  } catch (e) {
    if (e instanceof KnetlabError) {
      err(`knetlab: ${e.message}`);
      if (e.details.length) err(e.details.join('\n'));
      return e.exitCode;
    }
    err(`knetlab: internal error (a bug; please report it):\n${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}

/** A lab file's lab, or null when it is invalid (runOne reports that). Loaded once per file. */
const quietly = new Map<string, Lab | null>();
async function loadQuietly(file: string, proxyMode?: string): Promise<Lab | null> {
  if (!quietly.has(file)) {
    const { loadLabFile, withProxyMode } = await loader();
    try {
      quietly.set(file, withProxyMode(loadLabFile(file).lab, proxyMode));
    } catch {
      quietly.set(file, null);
    }
  }
  return quietly.get(file)!;
}

/**
 * The labs this kernel cannot run, each with the features it lacks. Only the features the labs
 * need are probed, once per process, in a scratch namespace that is removed: nothing of a lab is
 * created before this says yes.
 */
async function kernelShortfalls(list: Lab[]): Promise<Map<string, string[]>> {
  const [{ labKernelFeatures }, { probeFeatures }, host] = await Promise.all([import('../plan/requires.js'), import('../run/doctor.js'), getHost()]);
  const needs = new Map(list.map((l) => [l.name, labKernelFeatures(l)]));
  const results = await probeFeatures(host, [...new Set([...needs.values()].flat())]);
  if (results[0]?.feature === 'network namespaces') throw new KnetlabError(`cannot probe the kernel: ${results[0].detail}`, 1);
  const missing = new Set(results.filter((r) => !r.ok).map((r) => r.feature));
  const lacking = new Map<string, string[]>();
  for (const [lab, features] of needs) {
    const gaps = features.filter((f) => missing.has(f));
    if (gaps.length) lacking.set(lab, gaps);
  }
  return lacking;
}

/** One line: what the lab needs that this kernel lacks, and the command that runs it in the VM. */
function shortfallLine(lab: string, missing: string[], prefix: string, proxyMode?: string): string {
  return `${lab} needs ${missing.join(', ')}, which this kernel lacks: run it in the kernel VM with "knetlab run --vm ${lab}${prefix ? ` --prefix ${prefix}` : ''}${proxyMode ? ` --proxy-mode ${proxyMode}` : ''}" (knetlab doctor says more)`;
}

/** knetlab vm: the command's exit status, or 124 when the timeout stopped the VM. */
async function vmRun(argv: string[], opts: { memoryMiB: number; cpus?: number; timeoutMs?: number; timings?: boolean }): Promise<number> {
  const { runInVm, IN_VM_ENV } = await import('../exec/vm.js');
  if (process.env[IN_VM_ENV]) throw new InputError('knetlab vm runs a VM from the machine, not from inside one (this is already the VM)');
  if (opts.memoryMiB < 256) throw new InputError(`--memory ${opts.memoryMiB}: the VM needs at least 256 MiB`);
  if (opts.cpus !== undefined && !(opts.cpus >= 1)) throw new InputError(`--cpus ${opts.cpus}: at least 1`);
  const r = await runInVm(await getHost(), argv, opts);
  if (r.timedOut) err(`knetlab: the VM was stopped after ${(r.ms / 1000).toFixed(0)}s (--timeout)`);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  if (opts.timings)
    err(
      `knetlab vm: ${r.accel.toUpperCase()}, boot ${r.bootMs === null ? '?' : s(r.bootMs)}, command ${r.bootMs === null ? '?' : s(r.ms - r.bootMs)} (with power-off), total ${s(r.ms)}`,
    );
  return r.exitCode;
}

/** The API contents of a running lab. */
async function apiState(inst: Instance): Promise<StateFile> {
  const { readState, stateFilePath } = await import('../k8s/store.js');
  try {
    return readState(stateFilePath(inst.dir));
  } catch {
    throw new KnetlabError(`lab ${inst.name} has no Kubernetes objects`, 1, ['  hint: labs with a cluster: section and manifests have them']);
  }
}

async function resources(): Promise<Record<string, (typeof import('../k8s/views.js'))['getPods']>> {
  const { getEndpoints, getIngresses, getPods, getServices } = await import('../k8s/views.js');
  return {
    po: getPods,
    pod: getPods,
    pods: getPods,
    svc: getServices,
    service: getServices,
    services: getServices,
    ep: getEndpoints,
    endpoints: getEndpoints,
    ing: getIngresses,
    ingress: getIngresses,
    ingresses: getIngresses,
  };
}

function age(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

/** A command that cleans up after itself when interrupted (trace) sets this while it runs. */
let interrupt: ((signal: NodeJS.Signals) => void) | null = null;

// Stop cleanly on Ctrl-C: the record already says what exists; `down` removes it. A command that
// removes what it made on its own (trace) is told instead, and exits once it has.
process.on('SIGINT', () => {
  if (interrupt) return interrupt('SIGINT');
  err('\ninterrupted; run "knetlab down LAB" to remove anything already created');
  process.exit(130);
});

process.exitCode = await main(hideBin(process.argv));
