// A KubeProxyConfiguration document (kubeproxy.config.k8s.io/v1alpha1), read as kube-proxy reads
// its --config file: defaults filled in (pkg/proxy/apis/config/v1alpha1/defaults.go), values
// checked as pkg/proxy/apis/config/validation does, durations in Go's syntax ("30s", "1m30s",
// "500ms"). Every field kube-proxy has is either modelled or warned about by name; a field it
// does not have is an error.

import { KUBE_PROXY_MODES, PLANNED_PROXY_MODES, PROXY_MODES, IPVS_SCHEDULERS, LOCAL_MODES, DEFAULT_KUBE_PROXY_CONFIGURATION } from '../../api/objects.js';
import type { KubeProxyConfiguration, ProxyMode } from '../../api/objects.js';
import { parseCidr } from '../../labfile/net.js';
import { fieldPath } from './types.js';
import { KUBE_PROXY_UNMODELLED, TOP_FIELDS } from './fields.js';
import type { Json, ObjectReader, Path } from './object-reader.js';

/** What an unmodelled field means here, when more can be said than "ignored". */
const UNMODELLED_WHY: Record<string, string> = {
  metricsBindAddress: 'knetlab\'s kube-proxy serves no metrics (:10249); the sync log ("synced generation …") says what a sync wrote',
  hostnameOverride: "each node's kube-proxy is named after its node",
  bindAddress: "the node's primary IP is its underlay address",
  clientConnection: "kube-proxy reads the lab's API contents from the state file, not from an API server",
  configSyncPeriod: 'kube-proxy follows every change of the state file at once',
};

/** Go's time.ParseDuration units, in milliseconds. */
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_HINT = 'a duration is a number with a unit, as Go writes it: "30s", "1m30s", "500ms", "2h"';

/** time.ParseDuration: "300ms", "1.5h", "2h45m"; "0" alone needs no unit. Milliseconds, or undefined. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * UNITS[part[2]!]!;
  return m[1] === '-' ? -total : total;
}

/** A duration field; absent or null keeps `fallback`. */
function duration(r: ObjectReader, value: unknown, path: Path, fallback: number, rule: 'positive' | 'nonNegative'): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') {
    r.error(
      path,
      `${fieldPath(path)} must be a duration string, not ${typeof value === 'number' ? `the number ${value}` : JSON.stringify(value)}`,
      DURATION_HINT,
    );
    return fallback;
  }
  const ms = parseGoDuration(value.trim());
  if (ms === undefined) {
    r.error(path, `${fieldPath(path)} "${value}" is not a duration`, DURATION_HINT);
    return fallback;
  }
  if (rule === 'positive' ? ms <= 0 : ms < 0) {
    r.error(path, `${fieldPath(path)} ${value} must be ${rule === 'positive' ? 'greater than 0' : 'greater than or equal to 0'}`);
    return fallback;
  }
  return ms;
}

/** A section (iptables, ipvs, …): its fields checked, or {} when absent. */
function section(r: ObjectReader, value: unknown, path: Path, modelled: readonly string[], unmodelled: readonly string[] = []): Json {
  const m = r.map(value, path);
  if (!m) return {};
  r.fields(m, path, modelled, unmodelled);
  return m;
}

function masqueradeBit(r: ObjectReader, value: unknown, path: Path): number {
  const bit = r.integer(value, path);
  if (bit === undefined) return DEFAULT_KUBE_PROXY_CONFIGURATION.iptables.masqueradeBit;
  if (bit < 0 || bit > 31) {
    r.error(
      path,
      `${fieldPath(path)} ${bit} must be within the range [0, 31]`,
      'the bit of the 32-bit fwmark that KUBE-MARK-MASQ sets (14, 0x4000, by default)',
    );
    return DEFAULT_KUBE_PROXY_CONFIGURATION.iptables.masqueradeBit;
  }
  return bit;
}

function cidrs(r: ObjectReader, value: unknown, path: Path, keywords: readonly string[]): string[] {
  const list = r.list(value, path) ?? [];
  const out: string[] = [];
  list.forEach((item, i) => {
    const s = r.string(item, [...path, i]);
    if (s === undefined) return;
    if (keywords.includes(s) || parseCidr(s) !== undefined) out.push(s);
    else if (s.includes(':')) r.warn([...path, i], `${fieldPath([...path, i])} "${s}" is IPv6; knetlab's kube-proxy is IPv4 only and skips it`);
    else
      r.error(
        [...path, i],
        `${fieldPath([...path, i])} "${s}" is not a CIDR${keywords.length ? ` or one of ${keywords.map((k) => `"${k}"`).join(', ')}` : ''}`,
        'write a network with its prefix length, e.g. 192.168.56.0/24',
      );
  });
  return out;
}

/** host:port, as net.SplitHostPort takes it; IPv4 (or empty host: every address). */
function bindAddress(r: ObjectReader, value: unknown, path: Path, fallback: string, defaultPort: number): string {
  const s = r.string(value, path);
  if (s === undefined || s === '') return fallback;
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})?(?::(\d+))?$/.exec(s);
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (!m || port < 1 || port > 65535) {
    r.error(path, `${fieldPath(path)} "${s}" is not an IPv4 address with an optional port`, `e.g. "0.0.0.0:${defaultPort}"`);
    return fallback;
  }
  return `${m[1] ?? '0.0.0.0'}:${port}`;
}

function readMode(r: ObjectReader, value: unknown): ProxyMode | undefined {
  if (value === undefined || value === null || value === '') return 'iptables';
  const mode = r.string(value, ['mode'], `mode is one of ${PROXY_MODES.join(', ')} (or "" for the default, iptables)`);
  if (mode === undefined) return undefined;
  if (mode === 'userspace')
    r.warn(['mode'], "kube-proxy's userspace mode was removed in Kubernetes 1.26; knetlab runs it to show what it did (and why it was left)");
  if ((PROXY_MODES as readonly string[]).includes(mode)) return mode as ProxyMode;
  if (PLANNED_PROXY_MODES.includes(mode)) {
    r.error(
      ['mode'],
      `kube-proxy mode "${mode}" is not available in knetlab yet`,
      `knetlab runs ${PROXY_MODES.join(', ')} (iptables is the default); ${PLANNED_PROXY_MODES.join(', ')} ${PLANNED_PROXY_MODES.length === 1 ? 'is' : 'are'} not yet available`,
    );
  } else {
    r.error(['mode'], `unknown kube-proxy mode "${mode}"`, `kube-proxy's modes on Linux are ${KUBE_PROXY_MODES.join(', ')} ("" means iptables)`);
  }
  return undefined;
}

/** The document, resolved; undefined when it has errors (they are in the reader's diagnostics). */
export function readKubeProxyConfiguration(r: ObjectReader, obj: Json): KubeProxyConfiguration | undefined {
  const d = DEFAULT_KUBE_PROXY_CONFIGURATION;
  r.fields(obj, [], TOP_FIELDS.KubeProxyConfiguration, KUBE_PROXY_UNMODELLED);
  for (const k of Object.keys(obj)) if (UNMODELLED_WHY[k]) r.warn([k], `${k}: ${UNMODELLED_WHY[k]}`);
  const mode = readMode(r, obj.mode);

  let clusterCIDR: string | null = d.clusterCIDR;
  if (obj.clusterCIDR !== undefined && obj.clusterCIDR !== null) {
    const s = r.string(obj.clusterCIDR, ['clusterCIDR']);
    // A dual-stack pair is "v4,v6": the IPv4 proxier takes the IPv4 one.
    const v4 = s
      ?.split(',')
      .map((x) => x.trim())
      .find((x) => !x.includes(':'));
    if (s === '') clusterCIDR = '';
    else if (v4 !== undefined && parseCidr(v4) !== undefined) clusterCIDR = v4;
    else if (s !== undefined)
      r.error(['clusterCIDR'], `clusterCIDR "${s}" is not a CIDR`, 'the pod network, e.g. 10.244.0.0/16 (or "" for no local-traffic detector)');
  }

  const detectLocalMode =
    obj.detectLocalMode === undefined || obj.detectLocalMode === null || obj.detectLocalMode === ''
      ? d.detectLocalMode
      : (r.oneOf(obj.detectLocalMode, ['detectLocalMode'], LOCAL_MODES) ?? d.detectLocalMode);
  const dl = section(r, obj.detectLocal, ['detectLocal'], ['bridgeInterface', 'interfaceNamePrefix']);
  const detectLocal = {
    bridgeInterface: r.string(dl.bridgeInterface, ['detectLocal', 'bridgeInterface']) ?? '',
    interfaceNamePrefix: r.string(dl.interfaceNamePrefix, ['detectLocal', 'interfaceNamePrefix']) ?? '',
  };
  if (detectLocalMode === 'BridgeInterface' && detectLocal.bridgeInterface === '')
    r.error(
      ['detectLocalMode'],
      'detectLocalMode BridgeInterface needs detectLocal.bridgeInterface',
      'name the bridge pods are attached to, e.g. bridgeInterface: cni0',
    );
  if (detectLocalMode === 'InterfaceNamePrefix' && detectLocal.interfaceNamePrefix === '')
    r.error(
      ['detectLocalMode'],
      'detectLocalMode InterfaceNamePrefix needs detectLocal.interfaceNamePrefix',
      "name the prefix of the pods' host-side interfaces, e.g. interfaceNamePrefix: cali",
    );
  for (const [field, iface] of Object.entries(detectLocal))
    if (iface.length > 15) r.error(['detectLocal', field], `detectLocal.${field} "${iface}" is longer than an interface name can be (15 characters)`);

  const ipt = section(
    r,
    obj.iptables,
    ['iptables'],
    ['masqueradeAll', 'masqueradeBit', 'localhostNodePorts', 'syncPeriod', 'minSyncPeriod'],
    ['snatNodeInternalIP'],
  );
  const ipvs = section(
    r,
    obj.ipvs,
    ['ipvs'],
    ['scheduler', 'strictARP', 'syncPeriod', 'minSyncPeriod', 'excludeCIDRs', 'tcpTimeout', 'tcpFinTimeout', 'udpTimeout'],
  );
  const nft = section(r, obj.nftables, ['nftables'], ['masqueradeAll', 'masqueradeBit', 'syncPeriod', 'minSyncPeriod']);
  const ct = section(
    r,
    obj.conntrack,
    ['conntrack'],
    ['maxPerCore', 'min', 'tcpEstablishedTimeout', 'tcpCloseWaitTimeout', 'tcpBeLiberal', 'udpTimeout', 'udpStreamTimeout'],
  );
  // Sections of the modes not in use are read (and checked) but do nothing, as in kube-proxy.
  // Only against a mode the document names: without one (or ""), the mode may come from the
  // command line (--proxy-mode), and kubeadm's default document carries every section.
  const named = typeof obj.mode === 'string' && obj.mode !== '';
  if (obj.ipvs !== undefined && named && mode !== undefined && (mode as string) !== 'ipvs')
    r.warn(['ipvs'], `ipvs settings take effect only in ipvs mode; kube-proxy runs in ${mode} mode here`);
  if (obj.nftables !== undefined && mode !== undefined && (mode as string) !== 'nftables')
    r.warn(['nftables'], `nftables settings take effect only in nftables mode; kube-proxy runs in ${mode} mode here`);

  const scheduler = r.string(ipvs.scheduler, ['ipvs', 'scheduler']) ?? '';
  if (scheduler !== '' && !(IPVS_SCHEDULERS as readonly string[]).includes(scheduler))
    r.error(['ipvs', 'scheduler'], `ipvs.scheduler "${scheduler}" is not an IPVS scheduler`, `one of ${IPVS_SCHEDULERS.join(', ')} ("" means rr)`);

  const nonNegative = (value: unknown, path: Path, fallback: number): number => {
    const n = r.integer(value, path);
    if (n === undefined) return fallback;
    if (n < 0) {
      r.error(path, `${fieldPath(path)} ${n} must be greater than or equal to 0`);
      return fallback;
    }
    return n;
  };
  const conntrack = {
    maxPerCore: nonNegative(ct.maxPerCore, ['conntrack', 'maxPerCore'], d.conntrack.maxPerCore),
    min: nonNegative(ct.min, ['conntrack', 'min'], d.conntrack.min),
    tcpEstablishedTimeoutMs: duration(r, ct.tcpEstablishedTimeout, ['conntrack', 'tcpEstablishedTimeout'], d.conntrack.tcpEstablishedTimeoutMs, 'nonNegative'),
    tcpCloseWaitTimeoutMs: duration(r, ct.tcpCloseWaitTimeout, ['conntrack', 'tcpCloseWaitTimeout'], d.conntrack.tcpCloseWaitTimeoutMs, 'nonNegative'),
    tcpBeLiberal: r.boolean(ct.tcpBeLiberal, ['conntrack', 'tcpBeLiberal']) ?? d.conntrack.tcpBeLiberal,
    udpTimeoutMs: duration(r, ct.udpTimeout, ['conntrack', 'udpTimeout'], d.conntrack.udpTimeoutMs, 'nonNegative'),
    udpStreamTimeoutMs: duration(r, ct.udpStreamTimeout, ['conntrack', 'udpStreamTimeout'], d.conntrack.udpStreamTimeoutMs, 'nonNegative'),
  };
  if (ct.maxPerCore !== undefined || ct.min !== undefined)
    r.warn(
      ['conntrack', ct.maxPerCore !== undefined ? 'maxPerCore' : 'min'],
      'conntrack.maxPerCore and conntrack.min size the conntrack table, which is global to the machine (nf_conntrack_max is read-only in a network namespace); knetlab leaves it alone',
    );

  const config: KubeProxyConfiguration = {
    mode: mode ?? d.mode,
    clusterCIDR,
    detectLocalMode,
    detectLocal,
    nodePortAddresses: cidrs(r, obj.nodePortAddresses, ['nodePortAddresses'], ['primary', 'localhost', 'all']),
    healthzBindAddress: bindAddress(r, obj.healthzBindAddress, ['healthzBindAddress'], d.healthzBindAddress, 10256),
    iptables: {
      masqueradeAll: r.boolean(ipt.masqueradeAll, ['iptables', 'masqueradeAll']) ?? d.iptables.masqueradeAll,
      masqueradeBit: ipt.masqueradeBit === undefined ? d.iptables.masqueradeBit : masqueradeBit(r, ipt.masqueradeBit, ['iptables', 'masqueradeBit']),
      localhostNodePorts: r.boolean(ipt.localhostNodePorts, ['iptables', 'localhostNodePorts']) ?? d.iptables.localhostNodePorts,
      syncPeriodMs: duration(r, ipt.syncPeriod, ['iptables', 'syncPeriod'], d.iptables.syncPeriodMs, 'positive'),
      minSyncPeriodMs: duration(r, ipt.minSyncPeriod, ['iptables', 'minSyncPeriod'], d.iptables.minSyncPeriodMs, 'nonNegative'),
    },
    ipvs: {
      scheduler,
      strictARP: r.boolean(ipvs.strictARP, ['ipvs', 'strictARP']) ?? d.ipvs.strictARP,
      syncPeriodMs: duration(r, ipvs.syncPeriod, ['ipvs', 'syncPeriod'], d.ipvs.syncPeriodMs, 'positive'),
      minSyncPeriodMs: duration(r, ipvs.minSyncPeriod, ['ipvs', 'minSyncPeriod'], d.ipvs.minSyncPeriodMs, 'nonNegative'),
      excludeCIDRs: cidrs(r, ipvs.excludeCIDRs, ['ipvs', 'excludeCIDRs'], []),
      tcpTimeoutMs: duration(r, ipvs.tcpTimeout, ['ipvs', 'tcpTimeout'], d.ipvs.tcpTimeoutMs, 'nonNegative'),
      tcpFinTimeoutMs: duration(r, ipvs.tcpFinTimeout, ['ipvs', 'tcpFinTimeout'], d.ipvs.tcpFinTimeoutMs, 'nonNegative'),
      udpTimeoutMs: duration(r, ipvs.udpTimeout, ['ipvs', 'udpTimeout'], d.ipvs.udpTimeoutMs, 'nonNegative'),
    },
    nftables: {
      masqueradeAll: r.boolean(nft.masqueradeAll, ['nftables', 'masqueradeAll']) ?? d.nftables.masqueradeAll,
      masqueradeBit: nft.masqueradeBit === undefined ? d.nftables.masqueradeBit : masqueradeBit(r, nft.masqueradeBit, ['nftables', 'masqueradeBit']),
      syncPeriodMs: duration(r, nft.syncPeriod, ['nftables', 'syncPeriod'], d.nftables.syncPeriodMs, 'positive'),
      minSyncPeriodMs: duration(r, nft.minSyncPeriod, ['nftables', 'minSyncPeriod'], d.nftables.minSyncPeriodMs, 'nonNegative'),
    },
    conntrack,
  };
  return mode === undefined ? undefined : config;
}
