// ingress-nginx's controller, in its pod's network namespace: it makes the default fake
// certificate at start (as internal/net/ssl does: self-signed RSA-2048, CN "Kubernetes Ingress
// Controller Fake Certificate", O "Acme Co", SAN ingress.local, 365 days), then follows the API
// (the state file), renders nginx.conf from the Ingresses of its class with their Services'
// ready endpoints (template.ts), and starts the real nginx. On every change it writes the new
// certificates, tests the new configuration with `nginx -t` and only then puts it in place and
// reloads nginx: a graceful reload, where new workers take new connections and the old ones finish
// theirs, so no request in flight is dropped. A configuration nginx refuses is logged and the
// running one kept, as the controller does.
//
// Config JSON: { stateFile, dir, pkiDir, syncedFile, pidfile, log }.

import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterState, StateFile } from '../../api/objects.js';
import { readConfig } from '../../agent/config.js';
import { logger, writeAtomic, type Agent, type AgentFiles } from '../../agent/runtime.js';
import { watchState } from '../../agent/watch.js';
import { runSync } from '../../exec/process.js';
import { certificateArgs, certificateFiles, renderNginx } from './template.js';

const PROG = 'nginx-ingress-controller';
const log = logger(PROG);

interface Config extends AgentFiles {
  stateFile: string;
  dir: string;
  /** Where knetlab made the certificates of the Secrets annotated knetlab.dev/generate-certificate. */
  pkiDir: string;
  syncedFile: string;
}

function load(file: string): Config {
  return readConfig(file, { stateFile: 'path', dir: 'path', pkiDir: 'path', syncedFile: 'path', pidfile: 'path', log: 'path' }) as unknown as Config;
}

/** The files the controller keeps in its folder, as /etc/nginx and /etc/ingress-controller hold them. */
export function controllerFiles(dir: string) {
  return {
    dir,
    conf: join(dir, 'nginx.conf'),
    fakeCert: join(dir, 'ssl', 'default-fake-certificate.pem'),
    nginxPid: join(dir, 'nginx.pid'),
    nginxLog: join(dir, 'nginx.error.log'),
  };
}

export const FAKE_CERT_SUBJECT = '/O=Acme Co/CN=Kubernetes Ingress Controller Fake Certificate';

/** openssl's arguments for the fake certificate, written as one PEM (certificate, then key). */
export function fakeCertArgv(keyOut: string, certOut: string): string[] {
  return [
    'openssl',
    ...certificateArgs({
      subject: FAKE_CERT_SUBJECT,
      extensions: ['subjectAltName=DNS:ingress.local', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth'],
      keyOut,
      certOut,
    }),
  ];
}

function run(argv: string[]): string | null {
  const r = runSync({ file: argv[0]!, args: argv.slice(1) });
  return r.code === 0 ? null : (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ');
}

/**
 * The state with the PEMs of the Secrets knetlab made certificates for read from their files. One
 * whose files are missing (its openssl step failed, or someone removed them) is left out, so its hosts get the
 * default certificate, as ingress-nginx serves it for a Secret it cannot read.
 */
function withGeneratedCerts(state: ClusterState, pkiDir: string): ClusterState {
  if (!state.ingress?.secrets.some((x) => x.generate)) return state;
  const pki = certificateFiles(pkiDir);
  const secrets = state.ingress.secrets.flatMap((x) => {
    if (!x.generate) return [x];
    const files = pki.secret(x.meta.namespace, x.meta.name);
    try {
      return [{ ...x, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') }];
    } catch (e) {
      log(
        'W',
        `Secret ${x.meta.namespace}/${x.meta.name}: no certificate files for it (${(e as NodeJS.ErrnoException).code ?? String(e)}); its hosts get the default certificate`,
      );
      return [];
    }
  });
  return { ...state, ingress: { ...state.ingress, secrets } };
}

async function start(cfg: Config): Promise<{ stop(why: string): void }> {
  const f = controllerFiles(cfg.dir);
  for (const d of [cfg.dir, join(cfg.dir, 'ssl'), join(cfg.dir, 'tmp')]) mkdirSync(d, { recursive: true, mode: 0o700 });
  if (!existsSync(f.fakeCert)) {
    const [key, crt] = [f.fakeCert + '.key', f.fakeCert + '.crt'];
    const err = run(fakeCertArgv(key, crt));
    if (err) throw new Error(`cannot make the default fake certificate: ${err}`);
    writeAtomic(f.fakeCert, readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'));
    log('I', `made the default fake certificate ${f.fakeCert}`);
  }
  const nginx = (conf: string, ...more: string[]) => ['nginx', '-c', conf, '-g', `pid ${f.nginxPid}; error_log ${f.nginxLog} warn;`, ...more];
  let current = '';
  let running = false;

  const sync = (s: StateFile): boolean => {
    const { conf, certs } = renderNginx(withGeneratedCerts(s.state, cfg.pkiDir), f);
    const certsText = certs.map((c) => c.path + c.pem).join('');
    if (conf + certsText === current) return true;
    for (const c of certs) writeAtomic(c.path, c.pem);
    const next = f.conf + '.next';
    writeAtomic(next, conf);
    const bad = run(nginx(next, '-t', '-q'));
    if (bad) {
      log('E', `generation ${s.generation}: nginx refuses the new configuration, keeping the running one: ${bad}`);
      return false;
    }
    renameSync(next, f.conf);
    const err = running ? run(nginx(f.conf, '-s', 'reload')) : run(nginx(f.conf));
    if (err) {
      log('E', `nginx ${running ? 'reload' : 'start'} failed: ${err}`);
      return false;
    }
    log('I', `generation ${s.generation}: ${running ? 'reloaded' : 'started'} nginx (${(conf.match(/^ {4}## start server /gm) ?? []).length} servers)`);
    running = true;
    current = conf + certsText;
    return true;
  };
  const watch = watchState({ stateFile: cfg.stateFile, sync, syncedFile: cfg.syncedFile, pollMs: 500, warn: (m) => log('W', m) });
  if (watch.synced() < 0) {
    watch.stop();
    throw new Error(`nginx did not start; see ${f.nginxLog}`);
  }
  return {
    stop(why: string) {
      log('I', why);
      watch.stop();
      // Graceful: the workers finish the requests they hold.
      const err = run(nginx(f.conf, '-s', 'quit'));
      if (err) log('W', `nginx -s quit: ${err}`);
    },
  };
}

export const ingressNginxAgent: Agent<Config> = { prog: PROG, load, start };
