// Calico's node-side naming and BIRD configuration, as pure functions (no I/O).
//
// Sources (projectcalico/calico 87c15906, v3.34.0-0.dev; the BIRD parts match released v3.32):
//   cni-plugin dataplane_linux.go / libcalico-go VethNameForWorkload: veth name, MAC, sysctls
//   node/filesystem/etc/calico/confd/templates/bird{,_aggr,_ipam}.cfg.template
//   confd/pkg/backends/calico/bgp_processor.go (peer names, passive, rr client, filters)
//   confd/tests/compiled_templates/mesh/ipip-off/*, mesh/vxlan-always/*, explicit_peering/route_reflector/*
//
// Calico ships a BIRD 1.6 fork. The labs run Debian 12's BIRD 2.0.12, so birdConfig() keeps
// Calico's structure, names, filters and timers and only changes what BIRD 2's grammar forces;
// the generated file lists those differences in its header comment.

import { CALI_MAC, caliName, NORMAL_ROUTE_PRIORITY, POD_GATEWAY } from '../../labfile/pod-wiring.js';
import { network, parseCidr, parseIPv4 } from '../../labfile/net.js';

export { CALI_MAC, caliName, NORMAL_ROUTE_PRIORITY, POD_GATEWAY };

/** Default BGP AS number (BGPConfiguration asNumber). */
export const AS_NUMBER = 64512;
/** Felix VXLANVNI / VXLANPort defaults. */
export const VXLAN_VNI = 4096;
export const VXLAN_PORT = 4789;
/** template.BirdIntMaxValue: bgp_local_pref = BIRD_INT_MAX - krt_metric. */
const BIRD_INT_MAX = 2147483647;
/** birdOverridePreference in bgp_processor.go. */
const OVERRIDE_PREFERENCE = 200;

/** The IPv4 sysctls the Calico CNI plugin sets on the host side of a pod's veth. */
export function hostSideSysctls(ifname: string): [string, string][] {
  // A dot or slash would change the meaning of a sysctl key (and of its /proc/sys path).
  if (!/^[A-Za-z0-9_-]{1,15}$/.test(ifname)) throw new Error(`not a usable interface name for sysctl keys: ${JSON.stringify(ifname)}`);
  return [
    [`net.ipv4.conf.${ifname}.proxy_arp`, '1'],
    [`net.ipv4.neigh.${ifname}.proxy_delay`, '0'],
    [`net.ipv4.conf.${ifname}.forwarding`, '1'],
    [`net.ipv4.conf.${ifname}.route_localnet`, '1'],
  ];
}

export interface BirdPeer {
  ip: string;
  /**
   * mesh: node-to-node mesh peer, protocol `Mesh_<ip>`, passive when its IP sorts after ours.
   * rr: this node's BGPPeer to a route reflector, protocol `Node_<ip>`.
   * rr-client: on the route reflector, one of its clients, `Node_<ip>` with `rr client; rr cluster id`.
   */
  kind: 'mesh' | 'rr-client' | 'rr';
}

export interface BirdOptions {
  routerId: string;
  /** The node's BGP address: `source address` of every session, and the key of the passive rule. */
  nodeIP: string;
  /** This node's affine IPAM blocks, originated as `route <block> blackhole;`. */
  blocks: string[];
  /** IP pools: exported to peers, and programmed into the kernel (or not, for VXLAN pools). */
  pools: string[];
  /** A peer whose IP equals nodeIP is skipped, as confd skips itself. */
  peers: BirdPeer[];
  /** Route reflector cluster ID (Calico's routeReflectorClusterID). Setting it makes this BIRD a route reflector. */
  clusterId?: string;
  /** This BIRD is a route reflector: needs clusterId, and has no mesh (confd skips the mesh for RR nodes). */
  routeReflector?: boolean;
  /** The pools are VXLAN pools: BIRD advertises them but Felix programs their routes, so the kernel export rejects them. */
  vxlanPools?: boolean;
  /**
   * Install the best routes into this namespace's kernel table (default true, as on every calico-node,
   * route reflectors included). Set false for a pure route server that only reflects and never forwards.
   */
  exportToKernel?: boolean;
  /** The control socket this BIRD will be started with; only named in the header comment. */
  socketHint?: string;
  /** Write BIRD's log here (`log "<file>" all;`). Without it a daemonized BIRD logs to syslog. */
  logFile?: string;
  /** AS number for this node and its peers (all iBGP); default 64512. */
  asNumber?: number;
}

function checkIPv4(ip: string, what: string): void {
  if (parseIPv4(ip) === undefined) throw new Error(`${what}: not an IPv4 address: ${JSON.stringify(ip)}`);
}

function checkCIDR(cidr: string, what: string): void {
  const c = parseCidr(cidr);
  if (c === undefined) throw new Error(`${what}: not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  if (c.address !== network(c)) throw new Error(`${what}: ${cidr} has host bits set (BIRD rejects it)`);
}

/** BIRD protocol name for a peer: Calico replaces the dots of the IP with underscores. */
export function birdPeerName(peer: BirdPeer): string {
  return `${peer.kind === 'mesh' ? 'Mesh' : 'Node'}_${peer.ip.replaceAll('.', '_')}`;
}

/**
 * Calico's mesh is made unidirectional: the side whose peer has the greater IP, compared as
 * strings (Go `peerIP > currentNodeIP`), waits passively. So "192.168.56.9" > "192.168.56.10".
 */
export function meshPassive(nodeIP: string, peerIP: string): boolean {
  return peerIP > nodeIP;
}

/** Render a Calico-equivalent bird.cfg (with bird_aggr.cfg and bird_ipam.cfg inlined) for BIRD 2. */
export function birdConfig(opts: BirdOptions): string {
  const as = opts.asNumber ?? AS_NUMBER;
  const isRR = opts.routeReflector === true || opts.clusterId !== undefined;
  const exportToKernel = opts.exportToKernel ?? true;
  checkIPv4(opts.routerId, 'routerId');
  checkIPv4(opts.nodeIP, 'nodeIP');
  opts.blocks.forEach((b) => checkCIDR(b, 'block'));
  opts.pools.forEach((p) => checkCIDR(p, 'pool'));
  if (isRR && opts.clusterId === undefined) throw new Error('a route reflector needs a clusterId');
  if (opts.clusterId !== undefined) checkIPv4(opts.clusterId, 'clusterId');
  if (opts.logFile !== undefined && /["\\\n]/.test(opts.logFile)) throw new Error(`logFile: unusable path ${JSON.stringify(opts.logFile)}`);
  const peers = opts.peers.filter((p) => p.ip !== opts.nodeIP);
  const names = new Set<string>();
  for (const p of peers) {
    checkIPv4(p.ip, `peer ${p.kind}`);
    if (p.kind === 'mesh' && isRR) throw new Error(`route reflector ${opts.nodeIP} cannot have mesh peer ${p.ip} (confd skips the mesh on RR nodes)`);
    if (p.kind === 'rr-client' && !isRR) throw new Error(`rr-client peer ${p.ip} needs routeReflector/clusterId on this node`);
    const name = birdPeerName(p);
    if (names.has(name)) throw new Error(`duplicate peer ${name}`);
    names.add(name);
  }

  const header = [
    `# knetlab: BIRD 2 configuration for Calico node ${opts.nodeIP}${isRR ? ` (route reflector, cluster id ${opts.clusterId})` : ''}.`,
    '# Mirrors calico-node confd output: bird.cfg with bird_aggr.cfg and bird_ipam.cfg inlined where bird.cfg',
    '# includes them (node/filesystem/etc/calico/confd/templates/*.template, projectcalico/calico 87c15906 ~ v3.32+).',
    '# Calico runs its BIRD 1.6 fork; this file is for BIRD 2.0. What BIRD 2 forces to differ:',
    '#  - import/export filters, "gateway recursive" and "add paths on" live in ipv4 { } channel blocks;',
    '#    direct and static need an explicit "ipv4;" channel.',
    '#  - kernel "metric 0;": BIRD 2 defaults to metric 32, which would override krt_metric; BIRD 1.x defaults',
    '#    to 0, so BGP routes get krt_metric 1024 from calico_kernel_programming exactly as on a Calico node.',
    '#  - one file instead of include "bird_aggr.cfg"; include "bird_ipam.cfg"; (sections marked below).',
    '#  - calico_kernel_programming first rejects RTS_DEVICE (direct) routes, which BIRD 1.x never exports.',
    "#  - no krt_tunnel (a Calico-fork attribute): IPIP routes are not rendered; VXLAN routes are Felix's anyway.",
    ...(isRR && exportToKernel
      ? [
          '# Route reflector: like a calico-node RR it installs the routes it reflects into its own kernel table,',
          '# so a router namespace running it can forward pod traffic (exportToKernel, the default).',
        ]
      : []),
    ...(isRR && opts.pools.length === 0
      ? ['# WARNING: no pools. calico_export_to_bgp_peers accepts only pool routes, so this route reflector reflects nothing.']
      : []),
    ...(!exportToKernel ? ['#  - knetlab: kernel export disabled (export none): this BIRD reflects routes but never installs them.'] : []),
    ...(opts.socketHint ? [`# Query it with: birdc -s ${opts.socketHint} show protocols`] : []),
  ];

  const lines: string[] = [...header, ''];
  if (opts.logFile !== undefined) lines.push(`log "${opts.logFile}" all;`, '');

  // ---- bird.cfg (head) ----
  lines.push('function apply_communities ()', '{', '}', '');
  lines.push(
    'template kernel kernel_template {',
    '  learn;             # Learn all alien routes from the kernel',
    "  persist;           # Don't remove routes on bird shutdown",
    '  scan time 2;       # Scan kernel routing table every 2 seconds',
    '  ipv4 {',
    '    import all;',
    '  };',
    '}',
    '',
    'template direct direct_template {',
    '  debug { states };',
    '  ipv4;',
    '  interface -"cali*", -"kube-ipvs*", "*"; # Exclude cali* and kube-ipvs* but',
    '                                          # include everything else.  In',
    '                                          # IPVS-mode, kube-proxy creates a',
    '                                          # kube-ipvs0 interface. We exclude',
    '                                          # kube-ipvs0 because this interface',
    '                                          # gets an address for every in use',
    '                                          # cluster IP. We use static routes',
    '                                          # for when we legitimately want to',
    '                                          # export cluster IPs.',
    '}',
    '',
  );

  // ---- bird_aggr.cfg ----
  lines.push('# ---- bird_aggr.cfg ----');
  const blocks = opts.blocks.filter((b) => !b.endsWith('/32'));
  if (blocks.length > 0) {
    lines.push('template static static_template {', '   ipv4;', '   # IP blocks for this host.', ...blocks.map((b) => `   route ${b} blackhole;`), '}', '');
    lines.push('protocol static from static_template {', '}', '');
  } else {
    lines.push('# No IP blocks or static routes for this host.', '');
  }
  lines.push('# Aggregation of routes on this host; export the block, nothing beneath it.', 'function calico_aggr ()', '{');
  for (const b of opts.blocks) {
    lines.push(
      `      # Block ${b} is implicitly confirmed.`,
      `      if ( net = ${b} ) then { accept; }`,
      `      if ( net ~ ${b} && krt_metric < ${NORMAL_ROUTE_PRIORITY} ) then { accept; }`,
      `      if ( net ~ ${b} ) then { reject; }`,
    );
  }
  lines.push('}', '');

  // ---- bird_ipam.cfg ----
  lines.push(
    '# ---- bird_ipam.cfg ----',
    'function reject_local_routes () {',
    "  # Don't export local routes learned via BPF as they should never leave the node.",
    '  if (defined(ifname)) then {',
    '     if (ifname ~ "bpf*.cali") then {',
    '        reject;',
    '     }',
    '  }',
    '}',
    '',
    'function calico_export_to_bgp_peers(bool internal_peer) {',
    '  # filter code terminates when it calls `accept;` or `reject;`,',
    '  if (internal_peer) then {',
    '    if (defined(ifname)) then {',
    '      if ((ifname ~ "*.cali") || (ifname ~ "*.calico") || (ifname ~ "tunl0")) then {',
    '        reject;',
    '      }',
    '    }',
    '  }',
    '  reject_local_routes();',
    '  apply_communities();',
    '  calico_aggr();',
    ...opts.pools.map((p) => `  if (net ~ ${p}) then { accept; }`),
    '}',
    '',
    'filter calico_kernel_programming {',
    '  # knetlab: BIRD 1.x never exports device routes to the kernel ("device routes" defaults to off); BIRD 2',
    '  # has no such switch and would retry the connected subnets every scan ("Netlink: File exists").',
    '  if (source = RTS_DEVICE) then { reject; }',
    '  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {',
    `      krt_metric = ${NORMAL_ROUTE_PRIORITY};`,
    '      if (defined(bgp_local_pref)) then {',
    `          krt_metric = ${BIRD_INT_MAX} - bgp_local_pref;`,
    '      }',
    `      if (krt_metric < ${NORMAL_ROUTE_PRIORITY}) then {`,
    `          preference = ${OVERRIDE_PREFERENCE};`,
    '      }',
    '  }',
    ...opts.pools.map((p) =>
      opts.vxlanPools ? `  if (net ~ ${p}) then { reject; } # VXLAN routes are handled by Felix.` : `  if (net ~ ${p}) then { accept; }`,
    ),
    '  accept;',
    '}',
    '',
  );

  // ---- bird.cfg (rest) ----
  lines.push(
    '# ---- bird.cfg ----',
    `router id ${opts.routerId};`,
    '',
    '# Configure synchronization between routing tables and kernel.',
    'protocol kernel from kernel_template {',
    '  ipv4 {',
    exportToKernel ? '    export filter calico_kernel_programming; # Default is export none' : '    export none;     # knetlab: reflect only, never install',
    '  };',
    '  metric 0;          # BIRD 2 defaults to 32; 0 lets krt_metric decide, as in BIRD 1.x',
    '  graceful restart;  # Turn on graceful restart to reduce potential flaps in',
    '                     # routes when reloading BIRD configuration.  With a full',
    '                     # automatic mesh, there is no way to prevent BGP from',
    '                     # flapping since multiple nodes update their BGP',
    '                     # configuration at the same time, GR is not guaranteed to',
    '                     # work correctly in this scenario.',
    '  merge paths on;    # Allow export multipath routes (ECMP)',
    '}',
    '',
    '# Watch interface up/down events.',
    'protocol device {',
    '  debug { states };',
    '  scan time 2;    # Scan interfaces every 2 seconds',
    '}',
    '',
    'protocol direct from direct_template {',
    '}',
    '',
    '# Template for all BGP clients',
    'template bgp bgp_template {',
    '  debug { states, routes, filters, events };',
    '  description "Connection to BGP peer";',
    `  local as ${as};`,
    '  ipv4 {',
    '    gateway recursive; # This should be the default, but just in case.',
    '    add paths on;',
    '  };',
    '  graceful restart;  # See comment in kernel section about graceful restart.',
    '  connect delay time 2;',
    '  connect retry time 5;',
    '  error wait time 5,30;',
    '}',
    '',
    '# -------------- BGP Filters ------------------',
    '# No v4 BGPFilters configured',
  );

  if (peers.length === 0) {
    lines.push('# No BGP peers configured for this node');
  } else {
    lines.push('# BGP Protocol Configurations');
    for (const p of peers) {
      lines.push(
        `protocol bgp ${birdPeerName(p)} from bgp_template {`,
        `  neighbor ${p.ip} as ${as};`,
        `  source address ${opts.nodeIP};  # The local address we use for the TCP connection`,
        '  ttl security off;',
        '  multihop;',
        '  ipv4 {',
        '    import filter {',
        `      if (defined(bgp_local_pref)&&(bgp_local_pref > ${BIRD_INT_MAX - NORMAL_ROUTE_PRIORITY})) then`,
        `        preference = ${OVERRIDE_PREFERENCE};`,
        '      accept;',
        '    };',
        '    export filter {',
        '      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {',
        `        krt_metric = ${BIRD_INT_MAX} - bgp_local_pref;`,
        '      } else {',
        `        if (!defined(krt_metric)) then { krt_metric = ${NORMAL_ROUTE_PRIORITY}; }`,
        `        bgp_local_pref = ${BIRD_INT_MAX} - krt_metric;`,
        '      }',
        '      calico_export_to_bgp_peers(true);',
        '      reject;',
        '    };  # Only want to export routes for workloads.',
        '  };',
      );
      if (p.kind === 'mesh' && meshPassive(opts.nodeIP, p.ip)) lines.push('  passive on;');
      if (p.kind === 'rr-client') lines.push('  rr client;', `  rr cluster id ${opts.clusterId};`);
      lines.push('}', '');
    }
  }
  return lines.join('\n').replace(/\n+$/, '\n');
}

export interface BirdProtocol {
  name: string;
  proto: string;
  state: string;
  info: string;
}

/**
 * Parse `birdc -s SOCK show protocols` (BIRD 2): skips the "BIRD x ready." banner and the header,
 * and takes Since as one token ("12:00:01.123") or two ("2024-05-01 12:00:01").
 * Info is the rest of the line, e.g. "Established" or "Active        Socket: Connection refused".
 */
export function birdProtocolState(showProtocolsOutput: string): BirdProtocol[] {
  const out: BirdProtocol[] = [];
  for (const raw of showProtocolsOutput.split('\n')) {
    // birdc -v prefixes lines with reply codes ("1002-"); strip them too.
    const line = raw.replace(/^(\d{4}[- ]| )/, '').trimEnd();
    if (line.trim() === '' || /^BIRD .* ready\.$/.test(line) || /^Name\s+Proto\s+Table\s+State/.test(line)) continue;
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(?:(\d{4}-\d{2}-\d{2}\s+\S+|\S+)(?:\s+(.*))?)?$/.exec(line);
    if (!m) continue;
    out.push({ name: m[1]!, proto: m[2]!, state: m[4]!, info: (m[6] ?? '').trim() });
  }
  return out;
}
