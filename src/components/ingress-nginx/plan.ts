// ingress-nginx: its controller pods (the pods running registry.k8s.io/ingress-nginx/controller,
// which get no echo server) each run the controller agent (controller.ts) in their own network
// namespace, where it makes the fake certificate, renders nginx.conf and runs the real nginx.

import { join } from 'node:path';
import { runsIngressNginx, type Pod, type TLSSecret } from '../../api/objects.js';
import { certificateArgs, certificateFiles } from './template.js';
import { clusterDir, stateFilePath } from '../../k8s/store.js';
import type { Phase, Step } from '../../kernel/steps.js';
import { agentArgv } from '../../agent/names.js';
import type { Component } from '../component.js';
import type { Instance } from '../../kernel/instance.js';

/** The folder of one controller pod: its config, nginx.conf, certificates, logs. */
export const controllerDir = (instanceDir: string, pod: string): string => join(clusterDir(instanceDir), `ingress-nginx-${pod}`);

const controllerPods = (c: Parameters<Component['phases']>[0]) => (c.kubernetes?.state.pods ?? []).filter((p) => runsIngressNginx(p.containers));

/** The lab's own CA and certificates live with the API's files, in the lab's folder. */
export const pkiDir = (instanceDir: string): string => join(clusterDir(instanceDir), 'pki');

/** The lab's CA: its subject names the lab, so a check can tell it from any other issuer. */
export const caSubject = (lab: string): string => `/O=knetlab/CN=${lab} CA`;

export const ingressNginx: Component = {
  tools: (c) => (controllerPods(c).length ? ['nginx', 'openssl'] : []),
  phases: (c, inst) => [...certificatePhases(c.kubernetes?.state.ingress?.secrets ?? [], inst), ...controllerPhases(inst, controllerPods(c))],
  // Controller pods added by `knetlab apply` (a scaled controller Deployment) run the controller too.
  podPhases: (_c, inst, pods) =>
    controllerPhases(
      inst,
      pods.filter((p) => runsIngressNginx(p.containers)),
    ),
  // Secrets applied to a running lab get their certificates as at up, before the controller sees
  // them; the lab's CA is made only if no Secret asked for one before (else it signs them too).
  statePhases: (_c, inst, before, after) => {
    const had = new Map(
      (before.ingress?.secrets ?? []).filter((s) => s.generate).map((s) => [`${s.meta.namespace}/${s.meta.name}`, s.generate!.hosts.join(',')]),
    );
    const wanted = (after.ingress?.secrets ?? []).filter((s) => s.generate && had.get(`${s.meta.namespace}/${s.meta.name}`) !== s.generate.hosts.join(','));
    return certificatePhases(wanted, inst, { makeCA: had.size === 0 });
  },
};

const WHY_CERTIFICATES =
  "The Secrets annotated knetlab.dev/generate-certificate hold no data in the lab: their tls.key and tls.crt are made now with openssl, in the lab's folder. First a CA of the lab's own (a self-signed certificate with basicConstraints CA:TRUE), then for each Secret an RSA-2048 key and a certificate for its names (subjectAltName, which is what clients match; the first name is also the subject CN), signed by that CA. The controller reads them as it reads a kubernetes.io/tls Secret's tls.crt and tls.key, and a client given the CA (curl --cacert) can verify the chain and the name.";

/**
 * The certificates of the Secrets annotated knetlab.dev/generate-certificate: made here with
 * openssl, as an administrator makes them before `kubectl create secret tls` (seed 004 §6.4), but
 * signed by a CA of the lab's own rather than self-signed, so that a client can verify the chain.
 * Nothing private is part of the lab or of this plan: the keys are made at `up` (or at the `apply`
 * that adds the Secret), in the lab's folder.
 */
function certificatePhases(secrets: TLSSecret[], inst: Instance, opts = { makeCA: true }): Phase[] {
  const wanted = secrets.filter((s) => s.generate);
  if (!wanted.length) return [];
  const f = certificateFiles(pkiDir(inst.dir));
  const openssl = (args: string[], label: string): Step => ({ kind: 'exec', netns: '', command: { file: 'openssl', args }, label });
  const ca: Step[] = [
    { kind: 'dir.create', paths: [f.dir] },
    openssl(
      certificateArgs({
        subject: caSubject(inst.lab),
        extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
        keyOut: f.caKey,
        certOut: f.caCert,
      }),
      "make the lab's CA",
    ),
  ];
  return [
    {
      title: opts.makeCA ? "Make the lab's CA and its certificates" : 'Make the certificates of the Secrets applied',
      why: opts.makeCA
        ? WHY_CERTIFICATES
        : "These Secrets, applied to the running lab, are annotated knetlab.dev/generate-certificate: their tls.key and tls.crt are made now, as at up, with openssl in the lab's folder and signed by the lab's CA made before, so that the controller finds them when it reads the new Secrets.",
      sequential: true,
      steps: [
        ...(opts.makeCA ? ca : []),
        ...wanted.map((s) => {
          const out = f.secret(s.meta.namespace, s.meta.name);
          const hosts = s.generate!.hosts;
          return openssl(
            certificateArgs({
              subject: `/CN=${hosts[0]!}`,
              extensions: [`subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}`, 'basicConstraints=critical,CA:FALSE', 'extendedKeyUsage=serverAuth'],
              keyOut: out.key,
              certOut: out.cert,
              ca: { cert: f.caCert, key: f.caKey },
            }),
            `make the certificate of Secret ${s.meta.namespace}/${s.meta.name} (${hosts.join(', ')})`,
          );
        }),
      ],
    },
  ];
}

/** The controller agent's config and start in each of `pods`. */
function controllerPhases(inst: Instance, pods: Pod[]): Phase[] {
  if (!pods.length) return [];
  const stateFile = stateFilePath(inst.dir);
  const dir = (pod: string) => controllerDir(inst.dir, pod);
  return [
    {
      title: 'Configure the ingress-nginx controllers',
      why: "The pods running ingress-nginx's controller image run no echo server: each runs the controller, which follows the API (the state file) for Ingresses of its class (an IngressClass with controller k8s.io/ingress-nginx), renders nginx.conf as ingress-nginx's template does and runs nginx in the pod. Upstreams are the Services' ready endpoints, not their cluster IPs: nginx connects to the pods directly.",
      steps: [
        { kind: 'dir.create', paths: pods.map((p) => dir(p.meta.name)) },
        ...pods.map((p): Step => ({
          kind: 'file.write',
          path: join(dir(p.meta.name), 'controller.json'),
          content:
            JSON.stringify(
              {
                stateFile,
                dir: dir(p.meta.name),
                pkiDir: pkiDir(inst.dir),
                syncedFile: join(dir(p.meta.name), 'synced'),
                pidfile: join(dir(p.meta.name), 'controller.pid'),
                log: join(dir(p.meta.name), 'controller.log'),
              },
              null,
              2,
            ) + '\n',
        })),
      ],
    },
    {
      title: 'Run the ingress-nginx controllers',
      why: 'At start the controller makes the default "Kubernetes Ingress Controller Fake Certificate" (O = Acme Co, SAN ingress.local, RSA-2048) with openssl, for hosts without a certificate of their own and clients without SNI. It starts nginx once its first configuration passes nginx -t, and on every change tests the new one and reloads nginx gracefully.',
      steps: pods.map((p): Step => ({
        kind: 'process.start',
        netns: inst.netns(p.meta.name),
        name: 'ingress-nginx',
        argv: agentArgv('ingress-nginx', join(dir(p.meta.name), 'controller.json')),
        pidfile: join(dir(p.meta.name), 'controller.pid'),
      })),
    },
  ];
}
