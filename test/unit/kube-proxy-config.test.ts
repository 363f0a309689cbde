// kube-proxy's mode, chosen the way a cluster chooses it: a KubeProxyConfiguration document among
// the lab's manifests. Until the other modes land, only iptables (and "", the default) runs.
import t from 'tap';
import { readManifests } from '../../src/k8s/manifest.js';
import { formatDiagnostic } from '../../src/labfile/diagnostics.js';
import { loadLabFile } from '../../src/plan/load.js';
import { LabFileError } from '../../src/labfile/diagnostics.js';
import { PROXIERS } from '../../src/components/kube-proxy/modes.js';
import { PROXY_MODES } from '../../src/api/objects.js';

const config = (body: string) => `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n${body}`;
const diagnostics = (text: string) => readManifests([{ file: 'kp.yaml', text }]).diagnostics.map(formatDiagnostic);

t.test('mode "" and iptables are iptables; no mode at all too', async (t) => {
  for (const body of ['mode: ""\n', 'mode: iptables\n', '']) {
    const r = readManifests([{ file: 'kp.yaml', text: config(body) }]);
    t.same(r.diagnostics, [], JSON.stringify(body));
    const kp = r.objects.find((o) => o.kind === 'KubeProxyConfiguration');
    t.same(kp?.resolved, { mode: 'iptables' }, JSON.stringify(body));
  }
});

t.test('the other real modes are named as not yet available, at their line and column', async (t) => {
  for (const mode of ['ipvs', 'nftables', 'userspace']) {
    t.same(diagnostics(config(`mode: ${mode}\n`)), [
      `kp.yaml:3:7  error  kube-proxy mode "${mode}" is not available in knetlab yet\n  hint: knetlab runs iptables (the default); ipvs, nftables, userspace are not yet available`,
    ]);
  }
});

t.test('a mode kube-proxy does not have is an error listing the real ones', async (t) => {
  t.match(diagnostics(config('mode: iptable\n')), [
    /3:7  error  unknown kube-proxy mode "iptable"\n  hint: kube-proxy's modes on Linux are iptables, ipvs, nftables, userspace/,
  ]);
});

t.test('fields kube-proxy has but knetlab keeps at their defaults are warned about; unknown ones are errors', async (t) => {
  t.match(diagnostics(config('mode: iptables\niptables:\n  masqueradeAll: true\n')), [/4:1  warning  iptables is not modelled by knetlab and is ignored/]);
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
  t.throws(() => loadLabFile('lab.yaml', lab(config('mode: ipvs\n'))), LabFileError);
  try {
    loadLabFile('lab.yaml', lab(config('mode: ipvs\n')));
  } catch (e) {
    t.match((e as LabFileError).details.join('\n'), /lab\.yaml:15:7  error  kube-proxy mode "ipvs" is not available in knetlab yet/);
  }
  t.throws(() => loadLabFile('lab.yaml', lab(config('mode: iptables\n') + '\n---\n' + config('mode: ""\n'))), LabFileError, 'one configuration per lab');
});

t.test('every mode knetlab accepts has a proxier', async (t) => {
  t.same(Object.keys(PROXIERS).sort(), [...PROXY_MODES].sort());
  t.equal(PROXIERS.iptables.mode, 'iptables');
});
