// The pods' echo server: which ports a pod answers on (its containers' TCP and UDP ports) and the
// nginx configuration that answers them, HTTP in the http block, UDP datagrams in the stream block.
import t from 'tap';
import type { Pod } from '../../src/api/objects.js';
import { echoPorts, echoUdpPorts } from '../../src/k8s/lab.js';
import { NGINX_STREAM_MODULE, nginxConfig, portsKey } from '../../src/components/echo-server/nginx.js';
import type { Server } from '../../src/labfile/types.js';

const pod = (ports: Pod['containers'][number]['ports'][]): Pod => ({
  meta: { name: 'web-1', namespace: 'default', labels: {}, annotations: {}, creationTimestamp: '', uid: '' },
  nodeName: 'node1',
  podIP: '10.244.1.2',
  hostname: null,
  subdomain: null,
  dnsPolicy: 'ClusterFirst',
  dnsConfig: null,
  containers: ports.map((p, i) => ({ name: `c${i}`, image: 'nginx', ports: p, readinessProbe: null })),
  owner: null,
  replicaSet: null,
  ready: true,
});

t.test("a pod answers on its containers' TCP ports (80 when none) and on their UDP ports", async (t) => {
  t.same(echoPorts(pod([[]])), [80]);
  t.same(echoUdpPorts(pod([[]])), []);
  const dns = pod([
    [
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
    ],
    [{ name: 'sctp', containerPort: 9999, protocol: 'SCTP' }],
  ]);
  t.same(echoPorts(dns), [53, 9153]);
  t.same(echoUdpPorts(dns), [53], 'SCTP ports get no server');
  // A UDP-only pod still answers HTTP on 80, as the nginx image does whatever the manifest declares.
  t.same(echoPorts(pod([[{ name: 'echo', containerPort: 5353, protocol: 'UDP' }]])), [80]);
});

const server = (name: string, address: string, udpPorts: number[]): Server => ({
  ports: [80],
  udpPorts,
  pod: name,
  node: 'node1',
  addresses: [address],
  readinessPaths: ['/healthz'],
});

t.test('without UDP ports the configuration neither loads the stream module nor has a stream block', async (t) => {
  const conf = nginxConfig([server('web-1', '10.244.1.2', [])], '/run/knetlab/x');
  t.notMatch(conf, /load_module|stream/);
  t.equal(portsKey(server('a', '10.0.0.1', [])), '80');
});

t.test('UDP ports: the stream module answers each datagram with the same JSON, by the same address map', async (t) => {
  const conf = nginxConfig([server('web-1', '10.244.1.2', [5353, 53]), server('web-2', '10.244.2.2', [5353, 53])], '/run/knetlab/x');
  const lines = conf.split('\n');
  t.equal(lines[0], '# knetlab echo servers on port 80, udp 5353, 53: web-1, web-2');
  t.equal(lines[1], `load_module ${NGINX_STREAM_MODULE};`, 'load_module comes before any other directive');
  const stream = conf.slice(conf.indexOf('stream {'));
  t.match(stream, /map \$server_addr \$knetlab_pod \{\n {8}default unknown;\n {8}10\.244\.1\.2 web-1;\n {8}10\.244\.2\.2 web-2;\n {4}\}/);
  t.match(stream, /map \$server_addr \$knetlab_node \{/);
  t.match(stream, / {8}listen 5353 udp;\n {8}listen 53 udp;\n/);
  const http = conf.slice(conf.indexOf('http {'), conf.indexOf('stream {'));
  const echo = /return 200 '(\{.*)\}\\n';/.exec(http)![1]!;
  const datagram = /return '(\{.*)\}\\n';/.exec(stream)![1]!;
  t.ok(echo.startsWith(datagram), 'the datagram answer holds the fields of the HTTP body the stream module has (not the request URI and Host)');
  t.notMatch(stream, /unready/, 'readiness is HTTP only: an unready pod still answers datagrams');
  t.equal(portsKey(server('a', '10.0.0.1', [5353, 53])), '80-u5353-u53', 'servers with other UDP ports get another configuration');
});
