// kube-proxy's mode, chosen the way a cluster chooses it: a KubeProxyConfiguration document among
// the lab's manifests. Until the other modes land, only iptables (and "", the default) runs.
import t from 'tap';
import { readManifests } from '../../src/k8s/manifest.js';
import { formatDiagnostic } from '../../src/labfile/diagnostics.js';
import { loadLabFile } from '../../src/plan/load.js';
import { LabFileError } from '../../src/labfile/diagnostics.js';
import { PROXIERS } from '../../src/components/kube-proxy/modes.js';
import { DEFAULT_KUBE_PROXY_CONFIGURATION, PLANNED_PROXY_MODES, PROXY_MODES, type NodeInfo } from '../../src/api/objects.js';

const config = (body: string) => `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n${body}`;
const diagnostics = (text: string) => readManifests([{ file: 'kp.yaml', text }]).diagnostics.map(formatDiagnostic);

t.test('mode "" and iptables are iptables; no mode at all too', async (t) => {
  for (const body of ['mode: ""\n', 'mode: iptables\n', '']) {
    const r = readManifests([{ file: 'kp.yaml', text: config(body) }]);
    t.same(r.diagnostics, [], JSON.stringify(body));
    const kp = r.objects.find((o) => o.kind === 'KubeProxyConfiguration');
    t.same(kp?.resolved, DEFAULT_KUBE_PROXY_CONFIGURATION, JSON.stringify(body));
  }
});

t.test('the other real modes are named as not yet available, at their line and column', async (t) => {
  for (const mode of PLANNED_PROXY_MODES) {
    t.same(diagnostics(config(`mode: ${mode}\n`)), [
      `kp.yaml:3:7  error  kube-proxy mode "${mode}" is not available in knetlab yet\n  hint: knetlab runs ${PROXY_MODES.join(', ')} (iptables is the default); ${PLANNED_PROXY_MODES.join(', ')} ${PLANNED_PROXY_MODES.length === 1 ? 'is' : 'are'} not yet available`,
    ]);
  }
});

t.test('userspace mode reads, with a warning that Kubernetes removed it in 1.26', async (t) => {
  const r = readManifests([{ file: 'kp.yaml', text: config('mode: userspace\n') }]);
  t.equal(r.objects.find((o) => o.kind === 'KubeProxyConfiguration')?.resolved?.mode, 'userspace');
  t.match(r.diagnostics.map(formatDiagnostic), [/warning  kube-proxy's userspace mode was removed in Kubernetes 1\.26/]);
});

t.test('a mode kube-proxy does not have is an error listing the real ones', async (t) => {
  t.match(diagnostics(config('mode: iptable\n')), [
    /3:7  error  unknown kube-proxy mode "iptable"\n  hint: kube-proxy's modes on Linux are iptables, ipvs, nftables, userspace/,
  ]);
});

t.test('fields kube-proxy has but knetlab keeps at their defaults are warned about; unknown ones are errors', async (t) => {
  t.match(diagnostics(config('mode: iptables\noomScoreAdj: -999\n')), [/4:1  warning  oomScoreAdj is not modelled by knetlab and is ignored/]);
  t.match(diagnostics(config('mode: iptables\nmetadata:\n  name: kp\n')), [/4:1  error  unknown field "metadata"/]);
  t.match(diagnostics('apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\n'), [
    /1:13  error  no matches for kind "KubeProxyConfiguration" in version "kubeproxy.config.k8s.io\/v1alpha2"/,
  ]);
});

const lab = (manifests: string) => `name: kp
title: kube-proxy's mode
cluster:
  cni: { type: flannel, backend: vxlan }
  nodes:
    node1: {}
---
apiVersion: v1
kind: Pod
metadata: { name: web, labels: { app: web } }
spec: { containers: [{ name: nginx, image: nginx }] }
---
${manifests}`;

t.test('a lab takes its mode from the document; without one kube-proxy runs iptables', async (t) => {
  t.equal(loadLabFile('lab.yaml', lab('')).lab.cluster?.kubernetes?.kubeProxy.mode, 'iptables');
  t.equal(loadLabFile('lab.yaml', lab(config('mode: iptables\n'))).lab.cluster?.kubernetes?.kubeProxy.mode, 'iptables');
  t.equal(loadLabFile('lab.yaml', lab(config('mode: ipvs\n'))).lab.cluster?.kubernetes?.kubeProxy.mode, 'ipvs');
  for (const planned of PLANNED_PROXY_MODES) {
    t.throws(() => loadLabFile('lab.yaml', lab(config(`mode: ${planned}\n`))), LabFileError);
    try {
      loadLabFile('lab.yaml', lab(config(`mode: ${planned}\n`)));
    } catch (e) {
      t.match((e as LabFileError).details.join('\n'), `lab.yaml:15:7  error  kube-proxy mode "${planned}" is not available in knetlab yet`);
    }
  }
  t.match(
    (() => {
      try {
        loadLabFile('lab.yaml', lab(config('mode: kernelspace\n')));
        return '';
      } catch (e) {
        return (e as LabFileError).details.join('\n');
      }
    })(),
    /lab\.yaml:15:7  error  unknown kube-proxy mode "kernelspace"/,
  );
  t.throws(() => loadLabFile('lab.yaml', lab(config('mode: iptables\n') + '\n---\n' + config('mode: ""\n'))), LabFileError, 'one configuration per lab');
});

t.test('every mode knetlab accepts has a proxier', async (t) => {
  t.same(Object.keys(PROXIERS).sort(), [...PROXY_MODES].sort());
  t.equal(PROXIERS.iptables.mode, 'iptables');
});

t.test('the modes knetlab runs and the ones it names as not yet available do not overlap', async (t) => {
  t.same(
    PROXY_MODES.filter((m) => PLANNED_PROXY_MODES.includes(m)),
    [],
  );
});

t.test('iptables mode through the seam: setup adds only missing jumps; a sync deletes chains that went away', async (t) => {
  const p = PROXIERS.iptables;
  t.same(
    p.observe.map((c) => c.file),
    ['iptables-save'],
  );
  const [fresh] = p.setup(null);
  t.same([fresh!.file, ...fresh!.args], ['iptables-restore', '--noflush']);
  t.match(fresh!.input, /-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/);
  // A node where kube-proxy ran before: its jumps are there, so setup inserts none again.
  const save = fresh!.input!.replace(/^-I (\S+) 1 /gm, '-A $1 ');
  const [again] = p.setup([save]);
  t.notMatch(again!.input, /^-I /m, 'no jump inserted twice');
  const node: NodeInfo = { name: 'node1', address: '192.168.56.11', netns: 'node1', podCIDR: '10.244.1.0/24' };
  const cfg = { config: DEFAULT_KUBE_PROXY_CONFIGURATION, clusterCIDR: '10.244.0.0/16', nodeAddresses: ['127.0.0.1', node.address] };
  const none = p.sync(node, { services: [], slices: [] }, null, cfg);
  t.same([none.commands[0]!.file, ...none.commands[0]!.args], ['iptables-restore', '--noflush', '--counters']);
  // The stats count what the payload holds: its -A rules per table.
  const appends = (table: string) => {
    const section = none.commands[0]!.input!.split(/^\*/m).find((t) => t.startsWith(`${table}\n`)) ?? '';
    return section.split('\n').filter((l) => l.startsWith('-A ')).length;
  };
  t.ok(appends('nat') > 0 && appends('filter') > 0, 'the fixed chains have rules even without Services');
  t.same(none.stats, { services: 0, endpoints: 0, written: `${appends('nat')} nat and ${appends('filter')} filter rules` });
  // A service chain left from an earlier sync is declared and deleted.
  const stale = '*nat\n:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\nCOMMIT\n';
  const cleaned = p.sync(node, { services: [], slices: [] }, [stale], cfg);
  t.match(cleaned.commands[0]!.input, /^-X KUBE-SVC-AAAAAAAAAAAAAAAA$/m);
  t.notMatch(none.commands[0]!.input, /^-X /m, 'a fresh node has nothing to delete');
});
