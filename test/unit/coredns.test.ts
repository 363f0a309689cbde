// The cluster DNS server's answers (src/components/coredns/answer.ts), record by record as
// ../shared/reference/cni-dns-ingress.md §4 gives them (CoreDNS's kubernetes plugin with kubeadm's
// Corefile: pods insecure, ttl 30), on the shapes of CoreDNS's handler_test.go: a ClusterIP
// Service, one without endpoints, a headless one with a named pod and an unready one, an
// ExternalName out of and one into the zone. Then the wire layer: what garbage, truncated
// packets, responses, wrong opcodes and question counts get, and a real server on loopback
// that keeps answering after them and forwards what is not its own.
import dgram from 'node:dgram';
import net from 'node:net';
import t from 'tap';
import * as packet from 'dns-packet';
import type { Pod, StateFile } from '../../src/api/objects.js';
import { DEFAULT_KUBE_PROXY_CONFIGURATION } from '../../src/api/objects.js';
import { answer, indexState, type Record as Rr, type Reply } from '../../src/components/coredns/answer.js';
import { encodeReply, parseQuery } from '../../src/components/coredns/wire.js';
import { startDnsServer } from '../../src/components/coredns/server.js';
import { podResolver, resolvConf } from '../../src/components/coredns/plan.js';
import { endpoint, meta, port, READY, service, slice } from './lib/kube-api.js';

const NOT_READY = { ready: false, serving: false, terminating: false };

const pod = (ns: string, name: string, ip: string, hostname: string | null = null, subdomain: string | null = null): Pod => ({
  meta: meta(ns, name),
  nodeName: 'node1',
  podIP: ip,
  hostname,
  subdomain,
  dnsPolicy: 'ClusterFirst',
  dnsConfig: null,
  containers: [],
  owner: null,
  replicaSet: null,
  ready: true,
});

function state(): StateFile {
  const podEp = (ip: string, podName: string) => ({ ...endpoint(ip), pod: podName });
  return {
    generation: 1,
    clusterCIDR: '10.244.0.0/16',
    serviceCIDR: '10.96.0.0/12',
    nodes: [],
    lbPool: [],
    kubeProxy: DEFAULT_KUBE_PROXY_CONFIGURATION,
    state: {
      pods: [pod('testns', 'web-0', '172.0.0.2', 'web-0', 'hdls1'), pod('testns', 'other', '172.0.0.3'), pod('testns', 'lazy', '172.0.0.4')],
      deployments: [],
      services: [
        service('testns', 'svc1', { clusterIP: '10.0.0.1', ports: [port('http', 80, { targetPort: 8080 }), port('', 81, { protocol: 'UDP' })] }),
        service('testns', 'svcempty', { clusterIP: '10.0.0.2', ports: [port('http', 80)] }),
        service('testns', 'hdls1', { clusterIP: 'None', ports: [port('http', 80)] }),
        service('testns', 'hdlsempty', { clusterIP: 'None', ports: [port('http', 80)] }),
        service('testns', 'external', { type: 'ExternalName', clusterIP: null, externalName: 'ext.interwebs.test', ports: [port('http', 80)] }),
        service('testns', 'ext-in', { type: 'ExternalName', clusterIP: null, externalName: 'svc1.testns.svc.cluster.local', ports: [] }),
        service('kube-system', 'kube-dns', { clusterIP: '10.96.0.10', ports: [port('dns', 53, { protocol: 'UDP' })] }),
      ],
      slices: [
        slice('testns', 'svc1', [podEp('172.0.0.3', 'other')], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
        slice(
          'testns',
          'hdls1',
          [podEp('172.0.0.2', 'web-0'), podEp('172.0.0.3', 'other'), { ...podEp('172.0.0.4', 'lazy'), conditions: NOT_READY }],
          [{ name: 'http', port: 80, protocol: 'TCP' }],
        ),
        slice('testns', 'hdlsempty', [{ ...endpoint('172.0.0.9'), conditions: NOT_READY }]),
      ],
    },
  };
}

const OPTS = { domain: 'cluster.local', ttl: 30, nameserver: '10.96.0.10' };
const SERIAL = 1700000000;
const ix = indexState(state(), OPTS);
const ask = (name: string, type: string): Reply => {
  const r = answer(ix, name, type, SERIAL);
  if ('forward' in r) throw new Error(`${name} ${type} was forwarded`);
  return r;
};
/** Records as zone-file lines, sorted: answers are compared as sets. */
const lines = (rs: Rr[]) =>
  rs
    .map((r) => {
      const d = r.data;
      const rdata =
        d.type === 'A'
          ? d.address
          : d.type === 'SRV'
            ? `${d.priority} ${d.weight} ${d.port} ${d.target}`
            : d.type === 'TXT'
              ? `"${d.text}"`
              : d.type === 'SOA'
                ? `${d.mname} ${d.rname} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`
                : d.target;
      return `${r.name} ${r.ttl} IN ${d.type} ${rdata}`;
    })
    .sort();
const SOA = `cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 30`;

type Test = Parameters<Parameters<typeof t.test>[1]>[0];
const expectReply = (t: Test, name: string, type: string, rcode: string, answers: string[], extra: string[] = []) => {
  const r = ask(name, type);
  t.equal(r.rcode, rcode, `${name} ${type}: ${rcode}`);
  t.ok(r.authoritative, 'authoritative (aa)');
  t.same(lines(r.answer), [...answers].sort(), `${name} ${type}: the answer`);
  t.same(lines(r.additional), [...extra].sort(), `${name} ${type}: the additional section`);
  t.same(lines(r.authority), answers.length ? [] : [SOA], answers.length ? 'no authority' : 'the SOA in the authority section');
};

t.test('ClusterIP Services', async (t) => {
  expectReply(t, 'svc1.testns.svc.cluster.local.', 'A', 'NOERROR', ['svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1']);
  // Even with no endpoints at all.
  expectReply(t, 'svcempty.testns.svc.cluster.local.', 'A', 'NOERROR', ['svcempty.testns.svc.cluster.local. 30 IN A 10.0.0.2']);
  // Case-insensitive, answered in the case asked.
  expectReply(t, 'SVC1.TestNS.svc.cluster.local.', 'A', 'NOERROR', ['SVC1.TestNS.svc.cluster.local. 30 IN A 10.0.0.1']);
  // IPv4 only: AAAA is NODATA, as is TXT for a name that exists.
  expectReply(t, 'svc1.testns.svc.cluster.local.', 'AAAA', 'NOERROR', []);
  expectReply(t, 'svc1.testns.svc.cluster.local.', 'TXT', 'NOERROR', []);
  expectReply(t, 'svc1.testns.svc.cluster.local.', 'MX', 'NOERROR', []);
  expectReply(t, 'nosvc.testns.svc.cluster.local.', 'A', 'NXDOMAIN', []);
  expectReply(t, 'nosvc.testns.svc.cluster.local.', 'TXT', 'NXDOMAIN', []);
  expectReply(t, 'svc1.nons.svc.cluster.local.', 'A', 'NXDOMAIN', []);
  // An endpoint of a ClusterIP Service by its dashed address (a CoreDNS extension).
  expectReply(t, '172-0-0-3.svc1.testns.svc.cluster.local.', 'A', 'NOERROR', ['172-0-0-3.svc1.testns.svc.cluster.local. 30 IN A 172.0.0.3']);
  expectReply(t, '172-0-0-9.svc1.testns.svc.cluster.local.', 'A', 'NXDOMAIN', []);
});

t.test('SRV: the Service port of named ports; a bare name gets every port', async (t) => {
  expectReply(
    t,
    '_http._tcp.svc1.testns.svc.cluster.local.',
    'SRV',
    'NOERROR',
    ['_http._tcp.svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.'],
    ['svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1'],
  );
  expectReply(
    t,
    '_HTTP._TCP.svc1.testns.svc.cluster.local.',
    'SRV',
    'NOERROR',
    ['_HTTP._TCP.svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.'],
    ['svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1'],
  );
  // The protocol must match, and the unnamed port has no _port._proto name.
  expectReply(t, '_http._udp.svc1.testns.svc.cluster.local.', 'SRV', 'NXDOMAIN', []);
  expectReply(t, '_81._udp.svc1.testns.svc.cluster.local.', 'SRV', 'NXDOMAIN', []);
  expectReply(
    t,
    'svc1.testns.svc.cluster.local.',
    'SRV',
    'NOERROR',
    [
      'svc1.testns.svc.cluster.local. 30 IN SRV 0 50 80 svc1.testns.svc.cluster.local.',
      'svc1.testns.svc.cluster.local. 30 IN SRV 0 50 81 svc1.testns.svc.cluster.local.',
    ],
    ['svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1'],
  );
  // Too many labels.
  expectReply(t, 'a.b._http._tcp.svc1.testns.svc.cluster.local.', 'SRV', 'NXDOMAIN', []);
});

t.test('headless Services: one A per ready endpoint, hostnames, SRV per endpoint', async (t) => {
  expectReply(t, 'hdls1.testns.svc.cluster.local.', 'A', 'NOERROR', [
    'hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.2',
    'hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.3',
  ]);
  expectReply(t, 'web-0.hdls1.testns.svc.cluster.local.', 'A', 'NOERROR', ['web-0.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.2']);
  expectReply(t, '172-0-0-3.hdls1.testns.svc.cluster.local.', 'A', 'NOERROR', ['172-0-0-3.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.3']);
  // The named pod has no dashed name; the unready one none at all.
  expectReply(t, '172-0-0-2.hdls1.testns.svc.cluster.local.', 'A', 'NXDOMAIN', []);
  expectReply(t, '172-0-0-4.hdls1.testns.svc.cluster.local.', 'A', 'NXDOMAIN', []);
  // No ready endpoints: NXDOMAIN (not an empty NOERROR).
  expectReply(t, 'hdlsempty.testns.svc.cluster.local.', 'A', 'NXDOMAIN', []);
  expectReply(t, 'hdls1.testns.svc.cluster.local.', 'AAAA', 'NOERROR', []);
  expectReply(
    t,
    '_http._tcp.hdls1.testns.svc.cluster.local.',
    'SRV',
    'NOERROR',
    [
      '_http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 50 80 web-0.hdls1.testns.svc.cluster.local.',
      '_http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 50 80 172-0-0-3.hdls1.testns.svc.cluster.local.',
    ],
    ['web-0.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.2', '172-0-0-3.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.3'],
  );
});

t.test('publishNotReadyAddresses: the endpoints controller marks every address ready, so DNS lists them', async (t) => {
  const s = state();
  s.state.slices = s.state.slices.map((x) => (x.service === 'hdlsempty' ? { ...x, endpoints: x.endpoints.map((e) => ({ ...e, conditions: READY })) } : x));
  const r = answer(indexState(s, OPTS), 'hdlsempty.testns.svc.cluster.local.', 'A', SERIAL) as Reply;
  t.same(lines(r.answer), ['hdlsempty.testns.svc.cluster.local. 30 IN A 172.0.0.9']);
});

t.test('ExternalName: a CNAME; chased inside the zone, left for upstream outside it', async (t) => {
  const r = ask('external.testns.svc.cluster.local.', 'A');
  t.same(lines(r.answer), ['external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test.']);
  t.same(r.chase, { name: 'ext.interwebs.test.', type: 'A' }, 'the target is resolved upstream');
  expectReply(t, 'external.testns.svc.cluster.local.', 'CNAME', 'NOERROR', ['external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test.']);
  // No SRV for an ExternalName, and no sub-names.
  expectReply(t, 'external.testns.svc.cluster.local.', 'SRV', 'NOERROR', []);
  expectReply(t, 'x.external.testns.svc.cluster.local.', 'A', 'NXDOMAIN', []);
  expectReply(t, 'ext-in.testns.svc.cluster.local.', 'A', 'NOERROR', [
    'ext-in.testns.svc.cluster.local. 30 IN CNAME svc1.testns.svc.cluster.local.',
    'svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1',
  ]);
  t.equal(ask('ext-in.testns.svc.cluster.local.', 'A').chase, null);
});

t.test('PTR: ClusterIPs, endpoints; unknown addresses fall through to upstream', async (t) => {
  expectReply(t, '1.0.0.10.in-addr.arpa.', 'PTR', 'NOERROR', ['1.0.0.10.in-addr.arpa. 30 IN PTR svc1.testns.svc.cluster.local.']);
  // A pod behind two Services has two names (seed 004 §7.3).
  expectReply(t, '3.0.0.172.in-addr.arpa.', 'PTR', 'NOERROR', [
    '3.0.0.172.in-addr.arpa. 30 IN PTR 172-0-0-3.svc1.testns.svc.cluster.local.',
    '3.0.0.172.in-addr.arpa. 30 IN PTR 172-0-0-3.hdls1.testns.svc.cluster.local.',
  ]);
  expectReply(t, '2.0.0.172.in-addr.arpa.', 'PTR', 'NOERROR', ['2.0.0.172.in-addr.arpa. 30 IN PTR web-0.hdls1.testns.svc.cluster.local.']);
  t.same(answer(ix, '9.9.9.9.in-addr.arpa.', 'PTR', SERIAL), { forward: true });
  t.same(answer(ix, '4.0.0.172.in-addr.arpa.', 'PTR', SERIAL), { forward: true }, 'an unready endpoint has no PTR');
});

t.test('pods insecure: any dashed address in an existing namespace', async (t) => {
  expectReply(t, '10-244-1-5.testns.pod.cluster.local.', 'A', 'NOERROR', ['10-244-1-5.testns.pod.cluster.local. 30 IN A 10.244.1.5']);
  expectReply(t, '10-244-1-5.default.pod.cluster.local.', 'A', 'NOERROR', ['10-244-1-5.default.pod.cluster.local. 30 IN A 10.244.1.5']);
  expectReply(t, '10-244-1-5.nons.pod.cluster.local.', 'A', 'NXDOMAIN', []);
  expectReply(t, '10-244-1-500.testns.pod.cluster.local.', 'A', 'NXDOMAIN', []);
  expectReply(t, 'web.testns.pod.cluster.local.', 'A', 'NXDOMAIN', []);
});

t.test('the zone, its empty non-terminals, the schema version', async (t) => {
  expectReply(t, 'dns-version.cluster.local.', 'TXT', 'NOERROR', ['dns-version.cluster.local. 28800 IN TXT "1.1.0"']);
  expectReply(t, 'cluster.local.', 'SOA', 'NOERROR', [SOA]);
  expectReply(t, 'cluster.local.', 'NS', 'NOERROR', ['cluster.local. 30 IN NS ns.dns.cluster.local.']);
  expectReply(t, 'ns.dns.cluster.local.', 'A', 'NOERROR', ['ns.dns.cluster.local. 30 IN A 10.96.0.10']);
  for (const n of ['cluster.local.', 'svc.cluster.local.', 'pod.cluster.local.', 'testns.svc.cluster.local.', 'testns.pod.cluster.local.'])
    expectReply(t, n, 'A', 'NOERROR', []);
  expectReply(t, 'nons.svc.cluster.local.', 'A', 'NXDOMAIN', []);
  expectReply(t, 'foo.cluster.local.', 'A', 'NXDOMAIN', []);
  expectReply(t, 'dns-version.cluster.local.', 'A', 'NXDOMAIN', []);
  t.same(answer(ix, 'example.com.', 'A', SERIAL), { forward: true }, 'outside the zone: forwarded');
  t.same(answer(ix, 'cluster.localx.', 'A', SERIAL), { forward: true });
});

t.test('another cluster domain', async (t) => {
  const other = indexState(state(), { ...OPTS, domain: 'k8s.example' });
  t.same(lines((answer(other, 'svc1.testns.svc.k8s.example.', 'A', SERIAL) as Reply).answer), ['svc1.testns.svc.k8s.example. 30 IN A 10.0.0.1']);
  t.same(answer(other, 'svc1.testns.svc.cluster.local.', 'A', SERIAL), { forward: true });
});

// The wire.
const query = (name: string, type: packet.RecordType, edns = true): Buffer =>
  packet.encode({
    type: 'query',
    id: 4242,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name, type }],
    ...(edns
      ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] }
      : {}),
  });

t.test("the kubelet's resolv.conf per dnsPolicy, with dnsConfig merged (GetPodDNS, appendDNSConfig)", async (t) => {
  const dns = { domain: 'cluster.local', serviceIP: '10.96.0.10', upstream: '192.168.56.53', hosts: [] };
  const conf = (dnsPolicy: Pod['dnsPolicy'], dnsConfig: Pod['dnsConfig'] = null, ns = 'default') =>
    resolvConf(podResolver(dns, { meta: meta(ns, 'p'), dnsPolicy, dnsConfig }));
  const clusterFirst = 'search web.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n';
  t.equal(conf('ClusterFirst', null, 'web'), clusterFirst);
  t.equal(conf('ClusterFirstWithHostNet', null, 'web'), clusterFirst, 'hostNetwork is not modelled: the same as ClusterFirst');
  t.equal(conf('Default'), 'nameserver 192.168.56.53\n', "the node's resolver");
  // The documentation's example for None.
  const docs = {
    nameservers: ['1.2.3.4'],
    searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'],
    options: [
      { name: 'ndots', value: '2' },
      { name: 'edns0', value: null },
    ],
  };
  t.equal(conf('None', docs), 'search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.2.3.4\noptions ndots:2 edns0\n');
  t.equal(
    conf('ClusterFirst', {
      nameservers: ['10.96.0.10', '192.168.56.53'],
      searches: ['svc.cluster.local', 'corp.example'],
      options: [
        { name: 'ndots', value: '1' },
        { name: 'timeout', value: '2' },
      ],
    }),
    'search default.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\nnameserver 192.168.56.53\noptions ndots:1 timeout:2\n',
    'appended without duplicates; an option of the same name overrides',
  );
  t.equal(
    conf('Default', { nameservers: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], searches: [], options: [] }),
    'nameserver 192.168.56.53\nnameserver 10.0.0.1\nnameserver 10.0.0.2\n',
    'trimmed to three nameservers, as the kubelet does',
  );
});

t.test('the wire: malformed queries get what miekg/dns gives them', async (t) => {
  const rcodeOf = (b: Buffer) => b.readUInt16BE(2) & 0xf;
  t.same(parseQuery(Buffer.from([1, 2, 3])), { reply: null, why: 'short packet (3 bytes)' }, 'no whole header: dropped');
  const resp = query('svc1.testns.svc.cluster.local', 'A');
  resp.writeUInt16BE(resp.readUInt16BE(2) | 0x8000, 2);
  t.equal((parseQuery(resp) as { reply: Buffer | null }).reply, null, 'a response: dropped');
  const truncated = query('svc1.testns.svc.cluster.local', 'A').subarray(0, 20);
  const r = (parseQuery(truncated) as { reply: Buffer }).reply;
  t.equal(rcodeOf(r), 1, 'a truncated question: FORMERR');
  t.equal(r.readUInt16BE(0), 4242, 'with the id');
  t.equal(r.length, 12, 'header only');
  const two = Buffer.from(query('a', 'A'));
  two.writeUInt16BE(2, 4);
  t.equal(rcodeOf((parseQuery(two) as { reply: Buffer }).reply), 1, 'two questions: FORMERR');
  const notify = Buffer.from(query('a', 'A'));
  notify.writeUInt16BE(notify.readUInt16BE(2) | (2 << 11), 2);
  t.equal(rcodeOf((parseQuery(notify) as { reply: Buffer }).reply), 4, 'opcode STATUS: NOTIMP');
  const garbage = Buffer.concat([Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 0xff, 0xff, 0xff, 0x3f])]);
  t.equal(rcodeOf((parseQuery(garbage) as { reply: Buffer }).reply), 1, 'a pointer loop: FORMERR');
});

t.test('the wire: flags qr aa rd, the SOA in authority, EDNS echoed, TC when it does not fit', async (t) => {
  const q = parseQuery(query('nosvc.testns.svc.cluster.local', 'A')) as { query: Parameters<typeof encodeReply>[0] };
  const d = packet.decode(encodeReply(q.query, ask('nosvc.testns.svc.cluster.local', 'A'), [], true));
  t.equal(d.id, 4242);
  t.equal(d.rcode, 'NXDOMAIN');
  t.same([d.flag_qr, d.flag_aa, d.flag_rd, d.flag_ra], [true, true, true, false]);
  t.equal(d.authorities?.[0]?.type, 'SOA');
  t.equal(d.additionals?.find((a) => a.type === 'OPT')?.type, 'OPT', 'an OPT record since the query had one');
  // 40 endpoints do not fit in 512 bytes over UDP without EDNS.
  const s = state();
  s.state.slices.push(
    slice(
      'testns',
      'hdlsempty',
      Array.from({ length: 40 }, (_, i) => endpoint(`10.1.0.${i + 1}`)),
    ),
  );
  const big = answer(indexState(s, OPTS), 'hdlsempty.testns.svc.cluster.local.', 'A', SERIAL) as Reply;
  const q2 = parseQuery(query('hdlsempty.testns.svc.cluster.local', 'A', false)) as { query: Parameters<typeof encodeReply>[0] };
  const udp = encodeReply(q2.query, big, [], true);
  t.ok(udp.length <= 512, `UDP reply within 512 bytes (${udp.length})`);
  t.ok(packet.decode(udp).flag_tc, 'TC set');
  t.equal(packet.decode(encodeReply(q2.query, big, [], false)).answers?.length, 40, 'TCP carries all 40');
});

/** One UDP exchange with a server on loopback. */
function udpAsk(port: number, msg: Buffer, timeoutMs = 500): Promise<Buffer | null> {
  return new Promise((res) => {
    const s = dgram.createSocket('udp4');
    const done = (b: Buffer | null) => {
      clearTimeout(timer);
      s.close();
      res(b);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    s.on('message', (m) => done(m));
    s.send(msg, port, '127.0.0.1');
  });
}

t.test('the server: survives garbage, answers over UDP and TCP, forwards the rest upstream', async (t) => {
  // A stand-in upstream that answers every query with one A record.
  const up = dgram.createSocket('udp4');
  await new Promise<void>((r) => up.bind(0, '127.0.0.1', () => r()));
  up.on('message', (m, rinfo) => {
    const q = packet.decode(m);
    const name = q.questions![0]!.name;
    up.send(
      packet.encode({
        type: 'response',
        id: q.id,
        flags: packet.RECURSION_AVAILABLE,
        questions: q.questions,
        answers: [{ type: 'A', name, ttl: 60, data: '192.0.2.7' }],
      }),
      rinfo.port,
      rinfo.address,
    );
  });
  const server = await startDnsServer(
    { host: '127.0.0.1', port: 0, domain: 'cluster.local', ttl: 30, upstream: { address: '127.0.0.1', port: up.address().port } },
    state(),
  );
  t.teardown(async () => {
    await server.close();
    up.close();
  });
  for (const junk of [Buffer.alloc(0), Buffer.from([0xff]), Buffer.alloc(12, 0xff), Buffer.from('GET / HTTP/1.1\r\n\r\n'), query('x', 'A').subarray(0, 15)])
    await udpAsk(server.udpPort, junk, 100);
  const ok = await udpAsk(server.udpPort, query('svc1.testns.svc.cluster.local', 'A'));
  t.ok(ok, 'still answering after garbage');
  t.same(
    packet.decode(ok!).answers?.map((a) => a.data),
    ['10.0.0.1'],
  );
  const fwd = packet.decode((await udpAsk(server.udpPort, query('www.example.org', 'A')))!);
  t.equal(fwd.id, 4242, "forwarded, the reply carries the asker's id");
  t.same(
    fwd.answers?.map((a) => a.data),
    ['192.0.2.7'],
  );
  const ext = packet.decode((await udpAsk(server.udpPort, query('external.testns.svc.cluster.local', 'A')))!);
  t.same(
    ext.answers?.map((a) => `${a.name} ${a.type} ${String(a.data)}`),
    ['external.testns.svc.cluster.local CNAME ext.interwebs.test', 'ext.interwebs.test A 192.0.2.7'],
    'the ExternalName CNAME and its target resolved upstream',
  );
  // TCP: two queries on one connection, the second one split across writes.
  const replies = await new Promise<Buffer[]>((res, rej) => {
    const c = net.connect(server.tcpPort, '127.0.0.1');
    const frame = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
    const a = frame(query('svc1.testns.svc.cluster.local', 'A'));
    const b = frame(query('_http._tcp.hdls1.testns.svc.cluster.local', 'SRV'));
    let got = Buffer.alloc(0);
    const out: Buffer[] = [];
    c.on('data', (d) => {
      got = Buffer.concat([got, d]);
      while (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        out.push(got.subarray(2, 2 + got.readUInt16BE(0)));
        got = got.subarray(2 + got.readUInt16BE(0));
      }
      if (out.length === 2) {
        c.destroy();
        res(out);
      }
    });
    c.on('error', rej);
    c.write(Buffer.concat([a, b.subarray(0, 5)]));
    setTimeout(() => c.write(b.subarray(5)), 20);
  });
  t.same(
    packet.decode(replies[0]!).answers?.map((a) => a.data),
    ['10.0.0.1'],
  );
  t.equal(packet.decode(replies[1]!).answers?.length, 2);
  // A repeated query is answered from the kept reply, with its own id; a new generation drops them.
  const again = query('svc1.testns.svc.cluster.local', 'A');
  again.writeUInt16BE(777, 0);
  const kept = packet.decode((await udpAsk(server.udpPort, again))!);
  t.same([kept.id, kept.answers?.map((a) => a.data)], [777, ['10.0.0.1']], 'a repeat gets its own id');
  const changed = state();
  changed.state.services = changed.state.services.map((x) => (x.meta.name === 'svc1' ? { ...x, clusterIP: '10.0.0.99' } : x));
  server.update(changed);
  t.same(
    packet.decode((await udpAsk(server.udpPort, again))!).answers?.map((a) => a.data),
    ['10.0.0.99'],
    'after an update the same query gets the new data',
  );
  t.ok(server.counters().dropped >= 3, 'the short packets were dropped');
  t.ok(server.counters().formerr >= 1, 'the truncated one got FORMERR');

  // A burst from three clients, sent before the server reads any: most of it is read and answered
  // in batches (recvmmsg/sendmmsg). Kept replies, fresh ones, NXDOMAIN and forwarded queries
  // (answered later, after the batch) each reach their own client with their own id.
  const shapes: [string, packet.RecordType, string[] | 'NXDOMAIN'][] = [
    ['svc1.testns.svc.cluster.local', 'A', ['10.0.0.99']],
    ['www.example.org', 'A', ['192.0.2.7']],
    ['nosuch.testns.svc.cluster.local', 'A', 'NXDOMAIN'],
    ['hdls1.testns.svc.cluster.local', 'A', ['172.0.0.2', '172.0.0.3']],
  ];
  const clients = await Promise.all(
    [0, 1, 2].map(async () => {
      const c = dgram.createSocket('udp4');
      await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
      return c;
    }),
  );
  const wrong: string[] = [];
  let answered = 0;
  const all = await new Promise<boolean>((res) => {
    const timer = setTimeout(() => res(false), 3000);
    clients.forEach((c, ci) =>
      c.on('message', (m) => {
        const r = packet.decode(m);
        const [, , want] = shapes[r.id! % shapes.length]!;
        const got = want === 'NXDOMAIN' ? r.rcode : (r.answers ?? []).map((a) => a.data).sort();
        if (Math.floor(r.id! / 1000) !== ci || JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`client ${ci} id ${r.id}: ${JSON.stringify(got)}`);
        if (++answered === 150) {
          clearTimeout(timer);
          res(true);
        }
      }),
    );
    for (let i = 0; i < 50; i++)
      clients.forEach((c, ci) => {
        const [name, type] = shapes[i % shapes.length]!;
        const q = query(name, type);
        q.writeUInt16BE(ci * 1000 + i, 0);
        c.send(q, server.udpPort, '127.0.0.1');
      });
  });
  for (const c of clients) c.close();
  t.ok(all, `all 150 answered (${answered})`);
  t.same(wrong, [], 'each reply to its own client, with its own id and answer');
  t.ok(server.counters().drained > 0, `read in batches: ${server.counters().drained}`);
});
