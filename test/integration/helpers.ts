// Helpers for integration tests: they run the real CLI as root against real namespaces, each
// test file with its own state folder, prefix and cleanliness check.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const isRoot = process.getuid?.() === 0;
export const BIN = join(process.cwd(), 'bin', 'knetlab.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function stateDir(name: string): string {
  const dir = mkdtempSync(`/run/knetlab-test-${name}-`);
  // By the end every lab is down, so only empty record folders remain: remove them.
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function cli(state: string, args: string[], timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, KNETLAB_STATE_DIR: state }, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function cliAsync(state: string, args: string[]) {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, KNETLAB_STATE_DIR: state }, stdio: ['ignore', 'pipe', 'pipe'] });
}

const sh = (file: string, args: string[]) => execFileSync(file, args, { encoding: 'utf8' });

/** What must not change in the machine's own network namespace. */
export function rootSnapshot(): Record<string, string> {
  return {
    'ip addr': sh('ip', ['addr']).replace(/valid_lft \S+ preferred_lft \S+/g, ''),
    'ip route': sh('ip', ['route']),
    'ip -6 route': sh('ip', ['-6', 'route']),
    'iptables-save': sh('iptables-save', [])
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n'),
    'nft list ruleset': sh('nft', ['list', 'ruleset']),
  };
}

/** Folders of /etc/netns (files `ip netns exec` bind-mounts, e.g. a pod's resolv.conf) for namespaces with this prefix. */
export function netnsEtcWithPrefix(prefix: string): string[] {
  return existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(prefix)) : [];
}

export function netnsWithPrefix(prefix: string): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** Processes started with a config under this state folder, still running (zombies excluded). */
export function processesUnder(state: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(state)) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}
