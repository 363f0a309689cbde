// A pod reaches itself through its own Service (hairpin) under every CNI, with real packets.
// kube-proxy DNATs the ClusterIP back to the pod that sent the packet and masquerades it (its
// KUBE-SEP "-s <pod> -j KUBE-MARK-MASQ" rule). On a bridge (flannel's cni0, the bridge plugin's)
// the frame must then leave by the port it came in on, which only a port in hairpin mode does;
// Calico has no bridge: the packet is routed back out of the cali veth, masqueraded to the node's
// own address.
import t from 'tap';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, isRoot, netnsWithPrefix, processesUnder, stateDir } from './helpers.js';

/** Each CNI, and the address the pod sees its own request come from once masqueraded. */
const CASES = [
  { lab: 'hairpin-flannel-vxlan', cni: '{ type: flannel, backend: vxlan }', client: '10.244.1.1' },
  { lab: 'hairpin-flannel-udp', cni: '{ type: flannel, backend: udp }', client: '10.244.1.1' },
  { lab: 'hairpin-flannel-host-gw', cni: '{ type: flannel, backend: host-gw }', client: '10.244.1.1' },
  { lab: 'hairpin-bridge', cni: '{ type: bridge }', client: '10.244.1.1' },
  // No bridge and no address on the cali veth: MASQUERADE takes the node's eth0 address.
  { lab: 'hairpin-calico-bgp', cni: '{ type: calico, mode: bgp }', client: '192.168.56.11' },
  { lab: 'hairpin-calico-vxlan', cni: '{ type: calico, mode: vxlan }', client: '192.168.56.11' },
];

const MANIFEST = `apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  clusterIP: 10.96.100.1
  selector: { app: web }
  ports: [{ port: 80, targetPort: 80 }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, labels: { app: web } }
spec:
  nodeName: node1
  containers: [{ name: nginx, image: nginx, ports: [{ containerPort: 80 }] }]
`;

const labYaml = (name: string, cni: string, client: string) => `name: ${name}
title: A pod reaches itself through its own Service
cluster:
  cni: ${cni}
  nodes:
    node1: { pods: [pod1] }
    node2: {}
manifests: [web.yaml]
checks:
  - name: pod1 reaches web-1 through the Service, with its own address
    from: pod1
    http: http://10.96.100.1/
    expect: { status: 200, json: { pod: web-1, client: ${cni.includes('calico') ? '10.244.0.1' : '10.244.1.2'} } }
  - name: web-1 reaches itself through the Service, masqueraded
    from: web-1
    http: http://10.96.100.1/
    expect: { status: 200, json: { pod: web-1, client: ${client} } }
    timeout: 3s
`;

if (!isRoot) {
  t.skip('integration tests need root (run: sudo npm test)');
} else {
  const state = stateDir('hairpin');
  const dir = mkdtempSync('/tmp/knetlab-hairpin-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  for (const c of CASES) {
    t.test(`${c.cni}: a pod reaches itself through its Service`, async (t) => {
      const lab = join(dir, c.lab);
      mkdirSync(lab);
      writeFileSync(join(lab, 'lab.yaml'), labYaml(c.lab, c.cni, c.client));
      writeFileSync(join(lab, 'web.yaml'), MANIFEST);
      const r = cli(state, ['run', lab, '--prefix', 'ithp']);
      t.equal(r.code, 0, `exit 0\n${r.stdout}\n${r.stderr}`);
      t.equal(r.stdout.trim().split('\n').at(-1), '2 passed, 0 failed');
      t.same(netnsWithPrefix('ithp-'), [], 'no namespaces left');
      t.same(processesUnder(state), [], 'no processes left');
    });
  }
}
