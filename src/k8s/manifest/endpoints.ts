// Endpoints (subsets of addresses and ports) and EndpointSlices (endpoints with conditions, ports,
// the kubernetes.io/service-name label), as written by hand for a Service without a selector.

import { parseIPv4 } from '../../labfile/net.js';
import type { SliceEndpoint, SlicePort } from '../../api/objects.js';
import { fieldPath, type EndpointAddress, type EndpointSliceSpec, type EndpointsSpec } from './types.js';
import { PROTOCOLS, TARGET_REF_UNMODELLED } from './fields.js';
import { LABEL_HINT, isDns1123Label } from './names.js';
import type { Json, ObjectReader, Path } from './object-reader.js';

export function readEndpoints(r: ObjectReader, value: unknown): EndpointsSpec {
  const subsets: EndpointsSpec['subsets'] = [];
  (r.list(value, ['subsets']) ?? []).forEach((v, i) => {
    const p: Path = ['subsets', i];
    const m = r.map(v, p);
    if (!m) return;
    r.fields(m, p, ['addresses', 'notReadyAddresses', 'ports'], []);
    const addresses = readEndpointAddresses(r, m.addresses, [...p, 'addresses']);
    const notReadyAddresses = readEndpointAddresses(r, m.notReadyAddresses, [...p, 'notReadyAddresses']);
    if (addresses.length === 0 && notReadyAddresses.length === 0)
      r.error(p, `subsets[${i}] must specify addresses or notReadyAddresses`, 'add addresses: - ip: 10.0.0.1');
    const ports = readSlicePorts(r, m.ports, [...p, 'ports'], 'Endpoints');
    subsets.push({ addresses, notReadyAddresses, ports });
  });
  return { subsets };
}

function readEndpointAddresses(r: ObjectReader, value: unknown, path: Path): EndpointAddress[] {
  const out: EndpointAddress[] = [];
  (r.list(value, path) ?? []).forEach((v, i) => {
    const p = [...path, i];
    const m = r.map(v, p);
    if (!m) return;
    r.fields(m, p, ['ip', 'nodeName', 'hostname', 'targetRef'], []);
    const ip = readEndpointIP(r, m.ip, [...p, 'ip']);
    const nodeName = r.string(m.nodeName, [...p, 'nodeName']) ?? null;
    const hostname = r.dnsLabel(m.hostname, [...p, 'hostname']);
    const pod = readTargetRef(r, m.targetRef, [...p, 'targetRef']);
    if (ip !== undefined) out.push({ ip, nodeName, hostname, pod });
  });
  return out;
}

/** validateNonSpecialIP: an endpoint must be an address a packet can be sent to. */
function readEndpointIP(r: ObjectReader, value: unknown, path: Path): string | undefined {
  const ip = r.string(value, path, 'add ip: the endpoint address');
  if (ip === undefined) return undefined;
  const n = parseIPv4(ip);
  if (n === undefined) {
    r.error(path, `${fieldPath(path)} "${ip}" is not an IPv4 address`);
    return undefined;
  }
  const special =
    n === 0
      ? 'may not be unspecified (0.0.0.0)'
      : n >>> 24 === 127
        ? 'may not be in the loopback range (127.0.0.0/8)'
        : n >>> 16 === 0xa9fe
          ? 'may not be in the link-local range (169.254.0.0/16)'
          : n >>> 8 === 0xe00000
            ? 'may not be in the link-local multicast range (224.0.0.0/24)'
            : undefined;
  if (special) r.error(path, `${fieldPath(path)} "${ip}" ${special}`, 'use the address of a pod or of a server outside the cluster');
  return special ? undefined : ip;
}

function readTargetRef(r: ObjectReader, value: unknown, path: Path): string | null {
  const m = r.map(value, path);
  if (!m) return null;
  r.fields(m, path, ['kind', 'name', 'namespace'], TARGET_REF_UNMODELLED);
  const kind = r.string(m.kind, [...path, 'kind']);
  const name = r.string(m.name, [...path, 'name']);
  r.string(m.namespace, [...path, 'namespace']);
  return kind === 'Pod' && name !== undefined ? name : null;
}

/** Endpoints and EndpointSlice ports: names are DNS-1123 labels, unique; required when several. */
function readSlicePorts(r: ObjectReader, value: unknown, path: Path, kind: 'Endpoints' | 'EndpointSlice'): SlicePort[] {
  const list = r.list(value, path) ?? [];
  const out: SlicePort[] = [];
  const names = new Set<string>();
  list.forEach((v, i) => {
    const p = [...path, i];
    const m = r.map(v, p);
    if (!m) return;
    r.fields(m, p, ['name', 'port', 'protocol'], ['appProtocol']);
    // EndpointSlice ports default a missing name to "" (SetDefaults_EndpointPort), which is
    // what matches an unnamed Service port.
    const name = r.string(m.name, [...p, 'name']) ?? '';
    if (name === '' && kind === 'Endpoints' && list.length > 1) {
      r.error(p, `${fieldPath([...p, 'name'])} is required when there is more than one port`, "use the Service port's name");
    } else if (name !== '' && !isDns1123Label(name)) {
      r.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${name}" is not a DNS-1123 label`, LABEL_HINT);
    } else if (names.has(name)) {
      r.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${name}" is used by another port`, 'port names are unique');
    }
    names.add(name);
    const port = r.port(
      m.port,
      [...p, 'port'],
      kind === 'EndpointSlice'
        ? 'knetlab does not model all-ports slices: give the port the endpoints listen on'
        : 'add port: the port the endpoints listen on',
    );
    const protocol = r.oneOf(m.protocol ?? 'TCP', [...p, 'protocol'], PROTOCOLS) ?? 'TCP';
    if (port !== undefined) out.push({ name, port, protocol });
  });
  return out;
}

export function readEndpointSlice(r: ObjectReader, obj: Json, labels: Record<string, string>): EndpointSliceSpec | undefined {
  const addressType = r.string(obj.addressType, ['addressType'], 'add addressType: IPv4');
  if (addressType !== undefined && addressType !== 'IPv4') {
    r.error(
      ['addressType'],
      `addressType "${addressType}" is not supported`,
      addressType === 'IPv6' || addressType === 'FQDN'
        ? 'knetlab clusters are IPv4 single-stack; use addressType: IPv4'
        : 'the values are IPv4, IPv6 and FQDN; knetlab supports IPv4',
    );
  }
  const endpoints: SliceEndpoint[] = [];
  (r.list(obj.endpoints, ['endpoints']) ?? []).forEach((v, i) => {
    const p: Path = ['endpoints', i];
    const m = r.map(v, p);
    if (!m) return;
    r.fields(m, p, ['addresses', 'conditions', 'nodeName', 'targetRef'], ['hostname', 'zone', 'hints', 'deprecatedTopology']);
    const addresses = r.list(m.addresses, [...p, 'addresses'], 'add addresses: [the endpoint IP]') ?? [];
    if (m.addresses !== undefined && addresses.length === 0) r.error([...p, 'addresses'], `endpoints[${i}].addresses must have at least one address`);
    if (addresses.length > 1) r.warn([...p, 'addresses', 1], `endpoints[${i}].addresses has more than one address: kube-proxy uses only the first`);
    const address = addresses.length > 0 ? readEndpointIP(r, addresses[0], [...p, 'addresses', 0]) : undefined;
    const c = r.map(m.conditions, [...p, 'conditions']) ?? {};
    r.fields(c, [...p, 'conditions'], ['ready', 'serving', 'terminating'], []);
    // kube-proxy reads an unset ready or serving as true, an unset terminating as false.
    const conditions = {
      ready: r.boolean(c.ready, [...p, 'conditions', 'ready']) ?? true,
      serving: r.boolean(c.serving, [...p, 'conditions', 'serving']) ?? true,
      terminating: r.boolean(c.terminating, [...p, 'conditions', 'terminating']) ?? false,
    };
    const nodeName = r.string(m.nodeName, [...p, 'nodeName']) ?? null;
    const pod = readTargetRef(r, m.targetRef, [...p, 'targetRef']);
    if (address !== undefined) endpoints.push({ address, conditions, nodeName, pod });
  });
  const ports = readSlicePorts(r, obj.ports, ['ports'], 'EndpointSlice');
  const service = labels['kubernetes.io/service-name'];
  if (service === undefined) {
    r.error(
      ['metadata', 'labels'],
      'an EndpointSlice needs the label kubernetes.io/service-name',
      "kube-proxy finds a Service's slices by this label: add kubernetes.io/service-name: <service name> under metadata.labels",
    );
    return undefined;
  }
  return { service, ports, endpoints };
}
