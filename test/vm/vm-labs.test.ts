// Labs that need a kernel feature this machine lacks (kube-proxy's IPVS mode needs ip_vs, dummy and
// ipset) run in the kernel VM, all of them in one boot, with real packets: every check must pass
// there. They are found, not listed: `knetlab list --json` says what each lab needs, `knetlab
// doctor --json` what this kernel has. When no lab needs anything missing, one small lab still
// runs in the VM, so the path from `knetlab run` through the VM and back stays proven.
import t from 'tap';
import { vmAvailability } from '../../src/exec/vm.js';
import { cli, isRoot, netnsWithPrefix, rootSnapshot, stateDir } from '../integration/helpers.js';

/** Every Service lab runs in IPVS mode too (knetlab run --proxy-mode ipvs): in the VM here. */
const IPVS_MODE_LABS = [
  'service-clusterip',
  'service-nodeport',
  'service-affinity',
  'service-traffic-policy',
  'service-loadbalancer',
  'service-cloud-lb',
  'service-udp',
  'service-readiness',
  'service-externalname',
  'service-no-selector',
];

interface RunJson {
  labs: {
    lab: string;
    up: { ok: boolean; error?: string };
    checks: { name: string; passed: boolean; skipped: string | null; saw: string }[];
    down: { ok: boolean };
  }[];
  failed: number;
  unsupported: { lab: string; missing: string[] }[];
}

const missing = vmAvailability().missing;
if (!isRoot) t.skip('integration tests need root (run: sudo npm test)');
else if (missing.length) t.skip(`the kernel VM runner cannot start here (${missing.join('; ')}); sudo bash scripts/setup.sh sets it up`);
else {
  const state = stateDir('vm-labs');
  const before = rootSnapshot();
  const list = JSON.parse(cli(state, ['list', '--json']).stdout) as { labs: { name: string; requires: string[] }[] };
  const doctor = JSON.parse(cli(state, ['doctor', '--json']).stdout) as { features: { feature: string; ok: boolean }[] };
  const lacking = new Set(doctor.features.filter((f) => !f.ok).map((f) => f.feature));
  const needVm = list.labs.filter((l) => l.requires.some((f) => lacking.has(f)));
  // The Service labs in kube-proxy's IPVS mode too, when this kernel cannot run that mode.
  const ipvsHere = !['ip_vs', 'dummy'].some((f) => lacking.has(f));
  const labs = [...needVm.map((l) => l.name), ...(ipvsHere ? [] : IPVS_MODE_LABS)];
  if (!labs.length) labs.push('netns-veth');
  if (!needVm.length) t.comment(`no lab needs a kernel feature this machine lacks (${[...lacking].join(', ') || 'none'}); netns-veth runs in the VM instead`);
  else t.comment(`in the VM: ${needVm.map((l) => `${l.name} (needs ${l.requires.filter((f) => lacking.has(f)).join(', ')})`).join(', ')}`);
  // TCG runs Node 3-4 times slower than this machine: about a minute a Service lab.
  const timeoutS = 120 + 150 * labs.length;
  t.setTimeout((timeoutS + 120) * 1000);

  t.test(`knetlab vm -- knetlab run --json ${labs.join(' ')}`, async (t) => {
    const r = cli(
      state,
      [
        'vm',
        '--timeout',
        String(timeoutS),
        '--',
        process.execPath,
        'bin/knetlab.js',
        'run',
        '--json',
        '--prefix',
        'ivm',
        ...(labs.includes(IPVS_MODE_LABS[0]!) ? ['--proxy-mode', 'ipvs'] : []),
        ...labs,
      ],
      (timeoutS + 60) * 1000,
    );
    let report: RunJson;
    try {
      report = JSON.parse(r.stdout) as RunJson;
    } catch {
      t.fail(`no JSON report (exit ${r.code})\n${r.stdout}\n${r.stderr}`);
      return;
    }
    t.same(report.unsupported, [], 'the VM kernel has everything the labs need');
    t.same(
      report.labs.map((l) => l.lab),
      labs,
      'every lab ran',
    );
    for (const lab of report.labs) {
      t.ok(lab.up.ok, `${lab.lab} is up${lab.up.error ? `: ${lab.up.error}` : ''}`);
      t.ok(lab.checks.length > 0, `${lab.lab} ran its checks`);
      for (const c of lab.checks)
        if (c.skipped)
          t.match(
            c.skipped,
            /no SCTP sockets|this expectation holds in kube-proxy /,
            `${lab.lab}: only a missing kernel feature or another mode skips "${c.name}"`,
          );
        else t.ok(c.passed, `${lab.lab}: ${c.name}${c.passed ? '' : `\n${c.saw}`}`);
      t.ok(lab.down.ok, `${lab.lab} is down`);
    }
    t.equal(r.code, 0, `exit 0\n${r.stderr}`);
  });

  t.test('nothing is left on this machine', async (t) => {
    t.same(netnsWithPrefix('ivm-'), [], 'the labs ran in the VM, not here');
    t.same(rootSnapshot(), before, "the root namespace's addresses, routes and rulesets are unchanged");
  });
}
