// The lab file's shape, "as written": one definition that gives both the TypeScript types and
// the published JSON Schema (schema/lab.schema.json) that editors use to complete and validate
// lab files. Cross-references (does this namespace exist? is this a valid CIDR?) are checked in
// validate.ts; this file only says what may be written where.
//
// A lab has a `topology` (namespaces and links written out by hand), a `cluster` (nodes, an
// underlay and a CNI, expanded into namespaces the way that CNI wires them), or both.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { KUBE_PROXY_MODES } from '../api/objects.js';

// Names. Kernel and shell safety are enforced here: no metacharacters anywhere, and the 15-byte
// IFNAMSIZ-1 limit for interface names.
const NAME = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';
const IFNAME = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$';

const hint = <T extends TSchema>(schema: T, h: string): T => ({ ...schema, 'x-hint': h }) as T;

export const LabName = hint(
  Type.String({ pattern: NAME, maxLength: 40, description: 'Lab name: lowercase letters, digits and dashes (at most 40).' }),
  'use lowercase letters, digits and dashes, e.g. "docker-bridge"',
);
export const NamespaceName = hint(
  Type.String({ pattern: NAME, maxLength: 24, description: 'A network namespace the lab creates (at most 24 characters).' }),
  'use lowercase letters, digits and dashes, at most 24 characters, e.g. "node1"',
);
export const InterfaceName = hint(
  Type.String({ pattern: IFNAME, description: 'A Linux interface name: at most 15 characters, letters, digits, "_", "." and "-".' }),
  'interface names are at most 15 characters (the kernel\'s IFNAMSIZ) of letters, digits, "_", "." and "-"',
);
const Cidr = hint(
  Type.String({ description: 'An IPv4 address with prefix length, e.g. 172.17.0.1/16.' }),
  'write an IPv4 address with its prefix length, e.g. 172.17.0.1/16',
);
const Mac = hint(
  Type.String({ pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$', description: 'A MAC address, e.g. 02:42:ac:11:00:02.' }),
  'write six hex bytes separated by ":", e.g. 02:42:ac:11:00:02',
);
const Mtu = Type.Integer({ minimum: 68, maximum: 65535, description: 'MTU in bytes.' });

export const Interface = Type.Object(
  {
    addresses: Type.Optional(Type.Array(Cidr, { description: 'IPv4 addresses with prefix length.' })),
    mac: Type.Optional(Mac),
    mtu: Type.Optional(Mtu),
    master: Type.Optional(Type.String({ description: 'A bridge in the same namespace to enslave this interface to.' })),
    up: Type.Optional(Type.Boolean({ description: 'Bring the interface up (default true).' })),
  },
  { additionalProperties: false, description: 'Settings for an interface created by a link.' },
);

export const Bridge = Type.Object(
  {
    addresses: Type.Optional(Type.Array(Cidr)),
    mac: Type.Optional(Mac),
    mtu: Type.Optional(Mtu),
  },
  { additionalProperties: false, description: 'A Linux bridge (like docker0 or cni0).' },
);

export const Route = Type.Object(
  {
    to: hint(Type.String({ description: '"default" or an IPv4 CIDR.' }), 'write "default" or a CIDR such as 10.244.1.0/24'),
    via: Type.Optional(Type.String({ description: 'Gateway address.' })),
    dev: Type.Optional(Type.String({ description: 'Output interface.' })),
    onlink: Type.Optional(Type.Boolean({ description: 'Treat the gateway as directly reachable on dev.' })),
    src: Type.Optional(Type.String({ description: 'Preferred source address.' })),
    metric: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'Route priority (a 32-bit number; lower wins).' })),
    proto: Type.Optional(Type.String({ pattern: '^[a-z0-9]+$', description: 'Routing protocol (ip route ... proto), e.g. static or 80.' })),
    type: Type.Optional(Type.Union([Type.Literal('unicast'), Type.Literal('blackhole'), Type.Literal('unreachable'), Type.Literal('prohibit')])),
  },
  { additionalProperties: false },
);

export const NatRule = Type.Object(
  {
    chain: Type.Union([Type.Literal('PREROUTING'), Type.Literal('POSTROUTING'), Type.Literal('OUTPUT')], { description: 'The nat table chain.' }),
    source: Type.Optional(Cidr),
    destination: Type.Optional(Cidr),
    inInterface: Type.Optional(Type.String()),
    notInInterface: Type.Optional(Type.String()),
    outInterface: Type.Optional(Type.String()),
    notOutInterface: Type.Optional(Type.String()),
    protocol: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('udp')])),
    dport: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    jump: Type.Union([Type.Literal('MASQUERADE'), Type.Literal('SNAT'), Type.Literal('DNAT'), Type.Literal('RETURN')]),
    toSource: Type.Optional(Type.String({ description: 'SNAT target address.' })),
    toDestination: Type.Optional(Type.String({ description: 'DNAT target address[:port].' })),
    comment: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false, description: "One rule in the namespace's iptables nat table." },
);

/** The tables iptables knows, in the order their chains meet a packet at each hook (raw first, security last). */
const IptablesChains = hint(
  Type.Record(
    Type.String(),
    Type.Array(
      Type.String({
        description:
          'One rule as iptables-restore takes it after "-A CHAIN": matches and an optional target, e.g. -p icmp -m comment --comment "counted" or -s 10.0.0.0/8 -j DROP.',
      }),
    ),
    {
      description:
        "Chains of this table, by name: a built-in chain the kernel gives this table (PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING as the table has them) or a chain of the lab's own that rules jump to; each with its rules in order.",
    },
  ),
  'write chains with their rules, e.g. { FORWARD: [-s 10.0.1.0/24 -j ACCEPT] }',
);

export const Iptables = Type.Object(
  {
    raw: Type.Optional(IptablesChains),
    mangle: Type.Optional(IptablesChains),
    nat: Type.Optional(IptablesChains),
    filter: Type.Optional(IptablesChains),
    security: Type.Optional(IptablesChains),
  },
  {
    additionalProperties: false,
    description:
      "The namespace's own iptables rules, per table, appended with iptables-restore --noflush. Tables meet a packet in the order raw, mangle, nat, filter, security at each hook.",
  },
);

export const IpSet = Type.Object(
  {
    type: Type.Union([Type.Literal('hash:ip'), Type.Literal('hash:net')], { description: 'hash:ip holds addresses, hash:net CIDRs.' }),
    members: Type.Optional(Type.Array(Type.String(), { description: 'Addresses (hash:ip) or CIDRs (hash:net).' })),
    range: Type.Optional(
      Type.Object(
        {
          from: Type.String({ description: 'The first address.' }),
          count: Type.Integer({ minimum: 1, maximum: 65536, description: 'How many consecutive addresses, from "from" on.' }),
        },
        { additionalProperties: false, description: 'hash:ip: consecutive addresses, added by ipset as one range ("add SET A-B").' },
      ),
    ),
  },
  { additionalProperties: false, description: 'An ipset in this namespace, for -m set --match-set NAME src|dst rules.' },
);

export const Server = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port (default 80).' })),
    pod: Type.Optional(Type.String({ description: 'Name reported as "pod" (default: the namespace name).' })),
    node: Type.Optional(Type.String({ description: 'Name reported as "node" (default: the namespace name).' })),
  },
  { additionalProperties: false, description: 'An nginx echo server answering JSON with pod, node, ip and the client address it saw.' },
);

export const Namespace = Type.Object(
  {
    description: Type.Optional(Type.String()),
    sysctls: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Integer()]), {
        description: 'Per-namespace network sysctls (net.ipv4.*, net.ipv6.*, net.bridge.*).',
      }),
    ),
    bridges: Type.Optional(Type.Record(Type.String(), Bridge)),
    interfaces: Type.Optional(Type.Record(Type.String(), Interface)),
    routes: Type.Optional(Type.Array(Route)),
    nat: Type.Optional(Type.Array(NatRule)),
    iptables: Type.Optional(Iptables),
    ipsets: Type.Optional(
      Type.Record(Type.String(), IpSet, {
        description: 'ipsets by name (letters, digits, "_" and "-", at most 31 characters), created before the iptables rules.',
      }),
    ),
    server: Type.Optional(Server),
  },
  { additionalProperties: false },
);

export const Link = Type.Object(
  {
    endpoints: hint(
      Type.Array(Type.String({ description: '"namespace:interface"' }), { minItems: 2, maxItems: 2 }),
      'a veth link has two endpoints written "namespace:interface", e.g. [test1:veth-test1, test2:veth-test2]',
    ),
    mtu: Type.Optional(Mtu),
  },
  { additionalProperties: false, description: 'A veth pair joining two namespaces.' },
);

const AddressPair = Type.Object(
  { src: Type.Optional(Type.String()), dst: Type.Optional(Type.String()) },
  { additionalProperties: false, description: 'Source and destination IPv4 addresses of a captured packet.' },
);

const Duration = hint(
  Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s)$' })]),
  'write seconds as a number or a string like "5s" or "500ms"',
);

export const Expect = Type.Object(
  {
    reachable: Type.Optional(Type.Boolean()),
    status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
    bodyContains: Type.Optional(Type.String()),
    json: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { description: 'Fields the JSON body must have.' }),
    ),
    backends: Type.Optional(
      Type.Union([Type.Array(Type.String()), Type.Integer({ minimum: 1 })], {
        description: 'Every one of these "pod" names must answer; or a number: exactly that many different pods must answer.',
      }),
    ),
    failure: Type.Optional(
      Type.Union([Type.Literal('refused'), Type.Literal('timeout'), Type.Literal('untrusted')], {
        description:
          'tcp, http, sctp with reachable: false: how the connection must fail (REJECT → refused at once, DROP → timeout; https with cacert: untrusted, the certificate does not verify against that CA).',
      }),
    ),
    minShare: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Each expected backend answers at least this share of requests.' })),
    master: Type.Optional(Type.String()),
    state: Type.Optional(
      Type.String({
        description: 'link: UP, DOWN or UNKNOWN; neigh: PERMANENT, REACHABLE, STALE, INCOMPLETE, FAILED…; fdb: permanent; bgp: Established, Active, Connect…',
      }),
    ),
    mtu: Type.Optional(Type.Integer()),
    present: Type.Optional(Type.Boolean({ description: 'route, neigh, fdb, conntrack: false to require that no such entry exists.' })),
    via: Type.Optional(Type.String({ description: 'route: the gateway.' })),
    dev: Type.Optional(Type.String({ description: 'route, neigh: the device.' })),
    onlink: Type.Optional(Type.Boolean({ description: 'route: has the onlink flag.' })),
    proto: Type.Optional(Type.String({ description: 'route: the protocol that installed it (kernel, boot, static, bird, …).' })),
    type: Type.Optional(Type.String({ description: 'route: unicast, blackhole, …' })),
    lladdr: Type.Optional(Mac),
    dst: Type.Optional(Type.String({ description: 'fdb: the remote VTEP (underlay) address.' })),
    encap: Type.Optional(Type.Union([Type.Literal('vxlan'), Type.Literal('udp'), Type.Literal('none')], { description: 'capture: how the packets crossed.' })),
    vni: Type.Optional(Type.Integer({ minimum: 0, maximum: 16777215 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'capture: the UDP destination port of the encapsulation.' })),
    outer: Type.Optional(AddressPair),
    inner: Type.Optional(AddressPair),
    sport: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: "conntrack: the flow's original source port." })),
    dstNat: Type.Optional(Type.String({ description: 'conntrack: the address the flow was DNATed to (conntrack --dst-nat), e.g. a pod IP.' })),
    rcode: Type.Optional(
      Type.Union(
        ['NOERROR', 'NXDOMAIN', 'SERVFAIL', 'FORMERR', 'NOTIMP', 'REFUSED'].map((r) => Type.Literal(r)),
        {
          description: 'dns: the response code (NOERROR unless told).',
        },
      ),
    ),
    answers: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'dns: exactly these records of the asked type, as dig prints their data (an address, "0 100 80 web.default.svc.cluster.local.", a PTR target…), in any order.',
      }),
    ),
    includes: Type.Optional(Type.Array(Type.String(), { description: 'dns: at least these records of the asked type, in any order.' })),
    cname: Type.Optional(Type.Array(Type.String(), { description: 'dns: the CNAME chain the answer starts with, target by target.' })),
    qname: Type.Optional(
      Type.String({ description: 'dns: the fully qualified name that answered, after the search path (e.g. web.default.svc.cluster.local.).' }),
    ),
    authoritative: Type.Optional(Type.Boolean({ description: 'dns: the aa flag.' })),
    location: Type.Optional(Type.String({ description: 'http: the Location header of the response, exactly (a redirect).' })),
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String(), {
        description: 'http: response headers (names case-insensitive) and their exact values, e.g. Strict-Transport-Security.',
      }),
    ),
    certSubject: Type.Optional(
      Type.String({ description: 'https: text the server certificate\'s subject contains, as curl -v prints it, e.g. "CN=foo.bar.com".' }),
    ),
    certIssuer: Type.Optional(Type.String({ description: 'https: text the server certificate\'s issuer contains, e.g. "O=Acme Co".' })),
    path: Type.Optional(
      hint(
        Type.Array(
          Type.Record(Type.String(), Type.Array(Type.String()), {
            minProperties: 1,
            maxProperties: 1,
            description: 'A namespace the packet crosses, and the "HOOK table" pairs it met there in order ("HOOK" alone: a hook with no table of iptables).',
          }),
          { minItems: 1 },
        ),
        'a list of namespaces in the order the packet crosses them, each with its hooks and tables, e.g. [router: [PREROUTING raw, FORWARD filter]]',
      ),
    ),
    rule: Type.Optional(
      Type.String({ description: 'counters: the rule whose counter is read, as a part of its line in iptables -S (e.g. "--match-set many src").' }),
    ),
    minPackets: Type.Optional(Type.Integer({ minimum: 0, description: 'counters: the rule counted at least this many packets.' })),
    maxPackets: Type.Optional(Type.Integer({ minimum: 0, description: 'counters: the rule counted at most this many packets.' })),
    maxAnswered: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'http with requests: at most this many of the requests may be answered, so at least the rest failed (refused or timed out), e.g. a Service with a dead endpoint; the answers still meet the other expectations.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Check = Type.Object(
  {
    name: Type.Optional(Type.String()),
    from: Type.String({ description: 'The namespace the check runs in.' }),
    ping: Type.Optional(Type.String({ description: 'Address to ping.' })),
    tcp: Type.Optional(Type.String({ description: 'address:port to open a TCP connection to.' })),
    http: Type.Optional(Type.String({ description: 'URL to GET with curl.' })),
    host: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9.*:_-]+$',
        description: 'http: the Host header to send (curl -H "Host: …"), e.g. to reach an Ingress host by address.',
      }),
    ),
    resolve: Type.Optional(
      Type.String({
        description:
          "http: the address the URL's host name is pinned to (curl --resolve NAME:PORT:ADDRESS), so the name is both the Host header and the TLS SNI.",
      }),
    ),
    cacert: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "https: trust only this CA file (curl --cacert) instead of accepting any certificate (curl -k), so the check fails unless the chain and the name verify; {labdir} stands for the running lab's folder, e.g. {labdir}/cluster/pki/ca.crt (the CA knetlab makes for Secrets annotated knetlab.dev/generate-certificate).",
      }),
    ),
    body: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 64 * 1024 * 1024, description: 'http: POST a body of this many bytes (curl --data-binary) instead of a GET.' }),
    ),
    udp: Type.Optional(
      Type.String({ description: 'address:port to send UDP datagrams to (nc -u); each must be answered by a datagram (the echo servers answer JSON).' }),
    ),
    sctp: Type.Optional(
      Type.String({ description: 'address:port to open an SCTP association to (socat). Skipped, and reported so, on a kernel without SCTP sockets.' }),
    ),
    conntrack: Type.Optional(
      Type.String({
        description: 'Connection tracking entries in "from" for flows to "PROTOCOL ADDRESS[:PORT]" (their original destination), e.g. "udp 10.96.0.53:5353".',
      }),
    ),
    dns: Type.Optional(
      Type.String({
        description:
          'A name to look up with dig from "from", through its resolv.conf (the search path and ndots, as a pod\'s resolver would) unless it ends with a dot; an IPv4 address with qtype PTR is a reverse lookup.',
      }),
    ),
    qtype: Type.Optional(
      Type.Union(
        ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'SOA', 'NS', 'MX'].map((r) => Type.Literal(r)),
        { description: 'dns: the record type (default A).' },
      ),
    ),
    server: Type.Optional(Type.String({ description: 'dns: ask this server (dig @server) instead of the resolv.conf nameserver.' })),
    search: Type.Optional(Type.Boolean({ description: 'dns: false to ask the name as written, without the search path (default true).' })),
    trace: Type.Optional(
      Type.String({
        description:
          'One probe sent from "from" and traced as knetlab trace does ("http://ADDRESS[:PORT]/PATH", "ping ADDRESS" or "tcp ADDRESS:PORT"); expect.path is judged from the kernel\'s trace events.',
      }),
    ),
    counters: Type.Optional(
      Type.String({ description: 'An iptables chain in "from", as "TABLE CHAIN" (e.g. "filter FORWARD"), whose rule counters are read (iptables -S -v).' }),
    ),
    link: Type.Optional(Type.String({ description: 'An interface in "from" whose state is checked.' })),
    route: Type.Optional(Type.String({ description: 'A route (destination CIDR or "default") in "from" whose presence and shape are checked.' })),
    neigh: Type.Optional(Type.String({ description: 'A neighbour (ARP) entry for this IPv4 address in "from".' })),
    fdb: Type.Optional(Type.String({ description: 'A device in "from" (a VXLAN device) whose forwarding database must hold an entry.' })),
    bgp: Type.Optional(Type.String({ description: 'A BIRD protocol name on the node "from" (e.g. Mesh_192_168_56_12) whose BGP state is checked.' })),
    capture: Type.Optional(Type.String({ description: 'An interface in "from" to capture on with tcpdump while the "during" probe runs.' })),
    exec: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        description:
          'A step rather than a probe: run this command in "from" (e.g. make a pod fail its readiness probe) and require exit status 0. "{labdir}" names the running lab\'s folder, "{knetlab}" the knetlab command (e.g. [{knetlab}, apply, "{labdir}", --proxy-mode, iptables] restarts kube-proxy in another mode).',
      }),
    ),
    wait: Type.Optional(Duration),
    filter: Type.Optional(Type.String({ description: 'capture: a tcpdump filter expression, e.g. "udp port 8472".' })),
    during: Type.Optional(
      Type.Object(
        {
          from: Type.String(),
          ping: Type.Optional(Type.String()),
          http: Type.Optional(Type.String()),
        },
        { additionalProperties: false, description: 'capture: the traffic to send while capturing.' },
      ),
    ),
    expect: Type.Optional(Type.Union([Type.Literal('reachable'), Type.Literal('unreachable'), Expect])),
    requests: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description: 'Number of HTTP requests (each on a new connection) or UDP datagrams (each from a new source port unless sourcePort is set).',
      }),
    ),
    sourcePort: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: 'udp: send every datagram from this source port, so that all of them belong to one conntrack flow.',
      }),
    ),
    timeout: Type.Optional(Duration),
    proxyModes: Type.Optional(
      Type.Array(Type.Union(KUBE_PROXY_MODES.map((m) => Type.Literal(m))), {
        minItems: 1,
        description:
          "The kube-proxy modes this check's expectation holds in (where the modes truly differ, e.g. a ClusterIP answers ping in ipvs mode only); in any other mode the check is skipped and says why.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'A check proven with real packets or kernel state: exactly one of ping, tcp, http, udp, sctp, dns, trace, link, route, neigh, fdb, conntrack, counters, bgp or capture (or an exec step).',
  },
);

const NodeName = hint(
  Type.String({ pattern: NAME, maxLength: 24 }),
  'use lowercase letters, digits and dashes, at most 24 characters, e.g. "node1" or "web-0"',
);

export const ClusterNode = Type.Object(
  {
    address: Type.Optional(Type.String({ description: 'The node IP on the underlay (default: .11, .12, … of the first subnet).' })),
    podCIDR: Type.Optional(
      hint(
        Type.String({ description: "The node's pod subnet: flannel's lease or the bridge plugin's range (default: 10.244.<n>.0/24), Calico's first block." }),
        'write a CIDR inside the pod network, e.g. 10.244.1.0/24',
      ),
    ),
    pods: Type.Optional(Type.Array(NodeName, { description: 'Pods on this node. Each runs an nginx echo server on port 80.' })),
  },
  { additionalProperties: false },
);

export const Cni = Type.Object(
  {
    type: Type.Union([Type.Literal('flannel'), Type.Literal('calico'), Type.Literal('bridge')], {
      description:
        'flannel (flanneld + the flannel CNI plugin), calico (Calico CNI + Felix + BIRD) or bridge (the reference bridge + host-local plugins, called for real).',
    }),
    backend: Type.Optional(
      Type.Union([Type.Literal('vxlan'), Type.Literal('udp'), Type.Literal('host-gw')], { description: 'flannel: the backend (default vxlan).' }),
    ),
    mode: Type.Optional(Type.Union([Type.Literal('bgp'), Type.Literal('vxlan')], { description: 'calico: BGP routing (default) or VXLAN.' })),
    routeReflector: Type.Optional(
      Type.String({ description: 'calico bgp: the namespace that reflects routes ("router" or a node); without it nodes form a full mesh.' }),
    ),
    blockSize: Type.Optional(Type.Integer({ minimum: 20, maximum: 30, description: 'calico: IPAM block prefix length (default 26).' })),
  },
  { additionalProperties: false },
);

export const Cluster = Type.Object(
  {
    podNetwork: Type.Optional(hint(Type.String({ description: 'The cluster pod CIDR (default 10.244.0.0/16).' }), 'e.g. 10.244.0.0/16')),
    underlay: Type.Optional(
      Type.Object(
        {
          subnets: Type.Array(Cidr, {
            minItems: 1,
            maxItems: 8,
            description: 'One subnet: all nodes on one L2 segment (a switch). Several: one segment each, joined by a router.',
          }),
          mtu: Type.Optional(Mtu),
          routes: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  to: hint(
                    Type.String({ description: "An IPv4 address or CIDR outside the underlay subnets, e.g. a cloud load balancer's address 203.0.113.10." }),
                    'write an address or a CIDR, e.g. 203.0.113.10 or 203.0.113.0/28',
                  ),
                  via: hint(
                    Type.Array(Type.String(), {
                      minItems: 1,
                      maxItems: 16,
                      description: "Nodes' addresses: one next hop, or several for an ECMP route (the router picks a node per connection).",
                    }),
                    'a list of node addresses, e.g. [192.168.56.11, 192.168.56.12]',
                  ),
                },
                { additionalProperties: false },
              ),
              {
                description:
                  "Static routes in the underlay's router towards the nodes, for addresses the nodes answer for without owning them (a cloud load balancer's VIPs, which kube-proxy captures). Needs a routed underlay: two or more subnets.",
              },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    cni: Cni,
    // A key that does not match the name pattern is refused, not silently left unchecked.
    nodes: Type.Record(NodeName, ClusterNode, { additionalProperties: false, description: 'The nodes, by name (node1, node2, …).' }),
    serviceCIDR: Type.Optional(
      hint(Type.String({ description: 'Where ClusterIPs are allocated from (default 10.96.0.0/12, as kubeadm).' }), 'e.g. 10.96.0.0/12'),
    ),
    clients: Type.Optional(
      Type.Record(
        NodeName,
        Type.Object(
          {
            address: Type.Optional(Type.String({ description: 'Its address on the underlay (default .100, .101, … of the first subnet).' })),
            server: Type.Optional(
              Type.Object(
                { port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port (default 80).' })) },
                { additionalProperties: false, description: 'Run an echo server: an "external" backend for a Service without a selector.' },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        {
          additionalProperties: false,
          description: 'Machines on the underlay outside the cluster: clients of NodePorts and LoadBalancer IPs, or external backends.',
        },
      ),
    ),
    dns: Type.Optional(
      Type.Object(
        {
          domain: Type.Optional(
            hint(
              Type.String({
                pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$',
                description: 'The cluster domain (default cluster.local).',
              }),
              'a DNS domain of lowercase labels, e.g. cluster.local',
            ),
          ),
          upstream: Type.Optional(
            Type.String({
              description: 'The upstream resolver\'s address on the underlay (default .53 of the first subnet): a dnsmasq in the namespace "upstream".',
            }),
          ),
          hosts: Type.Optional(
            Type.Record(Type.String(), Type.String(), {
              description: 'Names outside the cluster the upstream resolver answers, each with its IPv4 address, e.g. { db.example.com: 192.168.56.100 }.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            "Cluster DNS as kubeadm installs it: CoreDNS (knetlab's own server answering as CoreDNS's kubernetes plugin) in kube-system, the kube-dns Service at the 10th address of the service CIDR, every pod's resolv.conf pointing at it, and an upstream resolver outside the cluster.",
        },
      ),
    ),
    loadBalancer: Type.Optional(
      Type.Object(
        {
          addresses: Type.Array(Cidr, {
            minItems: 1,
            description: "MetalLB's IPAddressPool in layer 2 mode: CIDRs on the underlay subnet, e.g. 192.168.56.240/28.",
          }),
        },
        { additionalProperties: false, description: 'A MetalLB layer 2 load balancer for Services of type LoadBalancer.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'A Kubernetes cluster: nodes on an underlay, pods on nodes, wired by a CNI.' },
);

export const Observe = Type.Object(
  {
    from: Type.String(),
    run: Type.Array(Type.String(), { minItems: 1, description: 'argv of a read-only command to show in the tutorial.' }),
    why: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const LabSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    name: LabName,
    title: Type.String({ minLength: 1 }),
    source: Type.Optional(Type.String({ description: 'The seed section this lab reproduces, e.g. "004 §3".' })),
    description: Type.Optional(Type.String()),
    cluster: Type.Optional(Cluster),
    topology: Type.Optional(
      Type.Object(
        {
          namespaces: Type.Record(Type.String(), Namespace, { description: 'Network namespaces, by name.' }),
          links: Type.Optional(Type.Array(Link)),
        },
        { additionalProperties: false },
      ),
    ),
    manifests: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          'Kubernetes YAML files (Pods, Deployments, Services, Endpoints, EndpointSlices), relative to the lab folder, applied in order at up. Manifests may also follow the lab in lab.yaml as further "---" documents.',
      }),
    ),
    observe: Type.Optional(Type.Array(Observe, { description: 'Read-only commands the tutorial shows after the lab is up.' })),
    checks: Type.Optional(Type.Array(Check)),
  },
  {
    additionalProperties: false,
    $id: 'https://knetlab.dev/schema/lab.schema.json',
    title: 'knetlab lab',
    description: 'A knetlab lab: a topology of network namespaces built from real kernel objects, and checks proven with real packets.',
  },
);

export type RawLab = Static<typeof LabSchema>;
export type RawNamespace = Static<typeof Namespace>;
export type RawCheck = Static<typeof Check>;
export type RawExpect = Static<typeof Expect>;
export type RawRoute = Static<typeof Route>;
export type RawNatRule = Static<typeof NatRule>;
export type RawIptables = Static<typeof Iptables>;
export type RawIpSet = Static<typeof IpSet>;
export type RawCluster = Static<typeof Cluster>;

/** The published JSON Schema document. */
export function jsonSchema(): object {
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(LabSchema)) };
}
