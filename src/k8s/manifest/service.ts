// A Service's spec, checked the way the API server validates it (ValidateService): type, cluster
// IP, ports and node ports, selector, session affinity, external IPs and traffic policies, load
// balancer fields, the health check node port, ExternalName. And one part of its status: the
// load balancer addresses of a LoadBalancer Service (ValidateLoadBalancerStatus), which stand for
// what a cloud provider's load balancer wrote there.

import { parseCidr, parseIPv4 } from '../../labfile/net.js';
import { DEFAULT_AFFINITY_TIMEOUT, LOAD_BALANCER_IP_MODES, type LoadBalancerIngress, type ServicePort, type ServiceType } from '../../api/objects.js';
import { fieldPath, type ServiceSpec } from './types.js';
import { LB_INGRESS_UNMODELLED, PROTOCOLS, SERVICE_SPEC_UNMODELLED, SERVICE_STATUS_UNMODELLED, SERVICE_TYPES } from './fields.js';
import { LABEL_HINT, SUBDOMAIN_HINT, isDns1123Label, isDns1123Subdomain } from './names.js';
import { warnStatusIgnored, type ObjectReader, type Path } from './object-reader.js';

export function readService(r: ObjectReader, value: unknown, status?: unknown): ServiceSpec | undefined {
  const spec = r.map(value, ['spec'], 'a Service needs a spec with its ports');
  if (!spec) return undefined;
  const S = (...p: Path): Path => ['spec', ...p];
  r.fields(
    spec,
    ['spec'],
    [
      'type',
      'ports',
      'selector',
      'clusterIP',
      'clusterIPs',
      'ipFamilies',
      'ipFamilyPolicy',
      'sessionAffinity',
      'sessionAffinityConfig',
      'externalTrafficPolicy',
      'internalTrafficPolicy',
      'loadBalancerIP',
      'loadBalancerSourceRanges',
      'externalIPs',
      'publishNotReadyAddresses',
      'healthCheckNodePort',
      'externalName',
    ],
    SERVICE_SPEC_UNMODELLED,
  );
  const type = r.oneOf(spec.type ?? 'ClusterIP', S('type'), SERVICE_TYPES) ?? 'ClusterIP';
  const externalName = type === 'ExternalName';
  const needsNodePorts = type === 'NodePort' || type === 'LoadBalancer';

  // clusterIP / clusterIPs: knetlab's clusters are IPv4 single-stack.
  let clusterIP = r.string(spec.clusterIP, S('clusterIP'));
  const clusterIPs = r.list(spec.clusterIPs, S('clusterIPs'));
  if (clusterIPs && clusterIPs.length > 0) {
    const first = r.string(clusterIPs[0], S('clusterIPs', 0));
    if (clusterIPs.length > 1)
      r.error(S('clusterIPs', 1), 'spec.clusterIPs may hold one address: knetlab clusters are IPv4 single-stack', 'remove the second address');
    if (clusterIP !== undefined && first !== undefined && first !== clusterIP) {
      r.error(
        S('clusterIPs', 0),
        `spec.clusterIPs[0] "${first}" must match spec.clusterIP "${clusterIP}"`,
        'write the same address in both, or only in clusterIP',
      );
    }
    clusterIP ??= first;
  }
  const clusterIPPath = spec.clusterIP !== undefined ? S('clusterIP') : S('clusterIPs', 0);
  const headless = clusterIP === 'None';
  if (clusterIP !== undefined && clusterIP !== '' && !headless && parseIPv4(clusterIP) === undefined) {
    r.error(
      clusterIPPath,
      `${fieldPath(clusterIPPath)} "${clusterIP}" is not an IPv4 address`,
      'omit clusterIP to have one allocated, write None for a headless Service, or give an address in the service CIDR',
    );
  }
  if (externalName && clusterIP !== undefined && clusterIP !== '') {
    r.error(
      clusterIPPath,
      `${fieldPath(clusterIPPath)} may not be set for ExternalName services`,
      'an ExternalName Service is a DNS CNAME and has no cluster IP; remove clusterIP',
      'key',
    );
  }
  if (headless && needsNodePorts) {
    r.error(
      clusterIPPath,
      `spec.clusterIP may not be set to 'None' for ${type} services`,
      `a ${type} Service needs a cluster IP; remove clusterIP: None or use type: ClusterIP`,
    );
  }
  const families = r.list(spec.ipFamilies, S('ipFamilies')) ?? [];
  families.forEach((f, i) => {
    if (r.oneOf(f, S('ipFamilies', i), ['IPv4', 'IPv6']) === 'IPv6')
      r.error(S('ipFamilies', i), 'spec.ipFamilies: IPv6 is not supported: knetlab clusters are IPv4 single-stack', 'remove ipFamilies or write [IPv4]');
  });
  const familyPolicy = r.oneOf(spec.ipFamilyPolicy, S('ipFamilyPolicy'), ['SingleStack', 'PreferDualStack', 'RequireDualStack']);
  if (familyPolicy === 'RequireDualStack')
    r.error(
      S('ipFamilyPolicy'),
      'spec.ipFamilyPolicy RequireDualStack cannot be met: knetlab clusters are IPv4 single-stack',
      'use SingleStack or PreferDualStack',
    );

  // Ports: ValidateService / validateServicePort.
  const portList = r.list(spec.ports, S('ports')) ?? [];
  if (portList.length === 0 && !headless && !externalName) {
    r.error(S('ports'), 'spec.ports is required', 'add ports: - port: 80 (only headless and ExternalName Services may have none)', 'key');
  }
  const ports: ServicePort[] = [];
  const names = new Set<string>();
  const seen = new Set<string>();
  const nodePorts = new Set<string>();
  portList.forEach((value, i) => {
    const p = S('ports', i);
    const m = r.map(value, p);
    if (!m) return;
    r.fields(m, p, ['name', 'port', 'targetPort', 'nodePort', 'protocol'], ['appProtocol']);
    const name = r.string(m.name, [...p, 'name']) ?? '';
    if (name === '' && portList.length > 1) {
      r.error(
        m.name === undefined ? p : [...p, 'name'],
        `${fieldPath([...p, 'name'])} is required when a Service has more than one port`,
        'name every port, e.g. name: http',
      );
    } else if (name !== '' && !isDns1123Label(name)) {
      r.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${name}" is not a DNS-1123 label`, LABEL_HINT);
    } else if (name !== '' && names.has(name)) {
      r.error([...p, 'name'], `${fieldPath([...p, 'name'])} "${name}" is used by another port of this Service`, 'port names are unique within a Service');
    }
    names.add(name);
    const port = r.port(m.port, [...p, 'port'], 'add port: the port the Service listens on');
    const protocol = r.oneOf(m.protocol ?? 'TCP', [...p, 'protocol'], PROTOCOLS) ?? 'TCP';
    if (port !== undefined) {
      if (seen.has(`${port}/${protocol}`))
        r.error(
          [...p, 'port'],
          `${fieldPath(p)}: port ${port}/${protocol} is used by another port of this Service`,
          'each port and protocol pair appears once',
        );
      seen.add(`${port}/${protocol}`);
    }
    const targetPort = m.targetPort === undefined || m.targetPort === null ? port : r.portOrName(m.targetPort, [...p, 'targetPort']);
    let nodePort: number | null = null;
    const np = r.integer(m.nodePort, [...p, 'nodePort']);
    if (np !== undefined && np !== 0) {
      const at: Path = [...p, 'nodePort'];
      const [lo, hi] = r.nodePortRange;
      if (type === 'ClusterIP') {
        r.error(at, `${fieldPath(at)} may not be used when type is 'ClusterIP'`, 'remove nodePort, or set type: NodePort', 'key');
      } else if (externalName) {
        r.warn(at, `${fieldPath(at)} is ignored: an ExternalName Service has no node ports`);
      } else if (np < lo || np > hi) {
        r.error(at, `${fieldPath(at)} ${np} is outside ${lo}-${hi}`, 'omit nodePort to have one allocated, or pick a port in the NodePort range');
      } else if (nodePorts.has(`${np}/${protocol}`)) {
        r.error(at, `${fieldPath(at)} ${np} is used by another port of this Service`, 'omit nodePort to have one allocated');
      } else {
        nodePorts.add(`${np}/${protocol}`);
        nodePort = np;
      }
    }
    if (port !== undefined && targetPort !== undefined) ports.push({ name, protocol, port, targetPort, nodePort: needsNodePorts ? nodePort : null });
  });

  const selectorMap = r.stringMap(spec.selector, S('selector'), 'labels');
  // An empty selector is stored as none (omitempty): the Service gets no endpoints from pods.
  const selector = Object.keys(selectorMap).length > 0 ? selectorMap : null;

  const sessionAffinity = r.oneOf(spec.sessionAffinity ?? 'None', S('sessionAffinity'), ['None', 'ClientIP']) ?? 'None';
  let affinityTimeoutSeconds = DEFAULT_AFFINITY_TIMEOUT;
  const affinityConfig = r.map(spec.sessionAffinityConfig, S('sessionAffinityConfig'));
  if (affinityConfig) {
    r.fields(affinityConfig, S('sessionAffinityConfig'), ['clientIP'], []);
    if (sessionAffinity !== 'ClientIP') {
      r.error(
        S('sessionAffinityConfig'),
        "spec.sessionAffinityConfig must not be set when sessionAffinity is 'None'",
        'set sessionAffinity: ClientIP, or remove sessionAffinityConfig',
        'key',
      );
    }
    const clientIP = r.map(affinityConfig.clientIP, S('sessionAffinityConfig', 'clientIP'));
    if (clientIP) {
      const at = S('sessionAffinityConfig', 'clientIP', 'timeoutSeconds');
      r.fields(clientIP, S('sessionAffinityConfig', 'clientIP'), ['timeoutSeconds'], []);
      const timeout = r.integer(clientIP.timeoutSeconds, at);
      if (timeout !== undefined && (timeout < 1 || timeout > 86400)) {
        r.error(at, `${fieldPath(at)} ${timeout} must be greater than 0 and less than or equal to 86400`, 'the default is 10800 (3 hours)');
      } else if (timeout !== undefined) affinityTimeoutSeconds = timeout;
    }
  }

  const externalIPs: string[] = [];
  (r.list(spec.externalIPs, S('externalIPs')) ?? []).forEach((v, i) => {
    const ip = r.string(v, S('externalIPs', i));
    if (ip === undefined) return;
    if (parseIPv4(ip) === undefined) r.error(S('externalIPs', i), `spec.externalIPs[${i}] "${ip}" is not an IPv4 address`);
    else externalIPs.push(ip);
  });

  // validateServiceExternalTrafficPolicy: only externally reachable Services take one.
  const externallyAccessible = needsNodePorts || (type === 'ClusterIP' && externalIPs.length > 0);
  const etp = r.oneOf(spec.externalTrafficPolicy, S('externalTrafficPolicy'), ['Cluster', 'Local']);
  if (etp !== undefined && !externallyAccessible) {
    r.error(
      S('externalTrafficPolicy'),
      'spec.externalTrafficPolicy may only be set for externally-accessible services',
      'it applies to NodePort and LoadBalancer Services (and to externalIPs); remove it or change the type',
      'key',
    );
  }
  const externalTrafficPolicy = etp ?? 'Cluster';
  const internalTrafficPolicy = r.oneOf(spec.internalTrafficPolicy, S('internalTrafficPolicy'), ['Cluster', 'Local']) ?? 'Cluster';

  const lbIP = r.string(spec.loadBalancerIP, S('loadBalancerIP'));
  let loadBalancerIP: string | null = null;
  if (lbIP !== undefined && lbIP !== '') {
    if (parseIPv4(lbIP) === undefined) r.error(S('loadBalancerIP'), `spec.loadBalancerIP "${lbIP}" is not an IPv4 address`);
    else if (type !== 'LoadBalancer') r.warn(S('loadBalancerIP'), `spec.loadBalancerIP is ignored: the Service is of type ${type}, not LoadBalancer`);
    else loadBalancerIP = lbIP;
  }
  const loadBalancerSourceRanges: string[] = [];
  const ranges = r.list(spec.loadBalancerSourceRanges, S('loadBalancerSourceRanges')) ?? [];
  if (ranges.length > 0 && type !== 'LoadBalancer') {
    r.error(
      S('loadBalancerSourceRanges'),
      "spec.loadBalancerSourceRanges may only be used when type is 'LoadBalancer'",
      'remove it, or set type: LoadBalancer',
      'key',
    );
  }
  ranges.forEach((v, i) => {
    const range = r.string(v, S('loadBalancerSourceRanges', i));
    if (range === undefined) return;
    // kube-proxy trims the ranges (" 203.0.113.0/25" works), so the API accepts them padded.
    const trimmed = range.trim();
    if (parseCidr(trimmed) === undefined) {
      r.error(
        S('loadBalancerSourceRanges', i),
        `spec.loadBalancerSourceRanges[${i}] "${range}" is not an IPv4 CIDR`,
        'must be a list of IP ranges, e.g. 10.240.0.0/24',
      );
    } else loadBalancerSourceRanges.push(trimmed);
  });

  const publishNotReadyAddresses = r.boolean(spec.publishNotReadyAddresses, S('publishNotReadyAddresses')) ?? false;

  let healthCheckNodePort: number | null = null;
  const hc = r.integer(spec.healthCheckNodePort, S('healthCheckNodePort'));
  if (hc !== undefined && hc !== 0) {
    const [lo, hi] = r.nodePortRange;
    if (type !== 'LoadBalancer' || externalTrafficPolicy !== 'Local') {
      r.error(
        S('healthCheckNodePort'),
        "spec.healthCheckNodePort may only be set when type is 'LoadBalancer' and externalTrafficPolicy is 'Local'",
        'remove healthCheckNodePort',
        'key',
      );
    } else if (hc < lo || hc > hi) {
      r.error(
        S('healthCheckNodePort'),
        `spec.healthCheckNodePort ${hc} is outside ${lo}-${hi}`,
        'omit healthCheckNodePort to have one allocated, or pick a port in the NodePort range',
      );
    } else if ([...nodePorts].some((np) => np.startsWith(`${hc}/`))) {
      r.error(S('healthCheckNodePort'), `spec.healthCheckNodePort ${hc} is also a nodePort of this Service`, 'omit healthCheckNodePort to have one allocated');
    } else healthCheckNodePort = hc;
  }

  const en = r.string(spec.externalName, S('externalName'));
  let externalNameValue: string | null = null;
  if (externalName) {
    if (en === undefined || en === '') {
      r.error(
        S('externalName'),
        'spec.externalName is required for ExternalName services',
        'add externalName: the DNS name the Service is an alias for (e.g. my.database.example.com)',
        'key',
      );
    } else if (!isDns1123Subdomain(en.replace(/\.$/, ''))) {
      r.error(S('externalName'), `spec.externalName "${en}" is not a valid DNS name`, SUBDOMAIN_HINT);
    } else externalNameValue = en;
  } else if (en !== undefined && en !== '') {
    r.warn(S('externalName'), `spec.externalName is ignored: the Service is of type ${type}, not ExternalName`);
  }

  const statusIngress = readLoadBalancerStatus(r, status, type);

  return {
    type,
    clusterIP: externalName || clusterIP === undefined || clusterIP === '' ? null : clusterIP,
    ports,
    selector,
    sessionAffinity,
    affinityTimeoutSeconds,
    externalTrafficPolicy,
    internalTrafficPolicy,
    externalIPs,
    loadBalancerIP,
    loadBalancerSourceRanges,
    publishNotReadyAddresses,
    healthCheckNodePort,
    externalName: externalNameValue,
    statusIngress,
  };
}

/**
 * status.loadBalancer.ingress of a LoadBalancer Service. In a cluster the load balancer's
 * controller writes it (kubectl apply leaves status alone); in a lab the manifest writes it, and
 * it stands for a cloud provider's load balancer: MetalLB does not allocate for such a Service.
 * Each entry is an IPv4 ip with its ipMode (VIP when unset, as the API server defaults it);
 * hostname entries (an AWS ELB's name) are not modelled. null: no entry is written. A status on
 * any other type of Service is ignored, as before.
 */
function readLoadBalancerStatus(r: ObjectReader, value: unknown, type: ServiceType): LoadBalancerIngress[] | null {
  if (value === undefined || value === null) return null;
  if (type !== 'LoadBalancer') {
    warnStatusIgnored(r, "only a LoadBalancer Service's status.loadBalancer.ingress is read: the addresses of a cloud provider's load balancer");
    return null;
  }
  const status = r.map(value, ['status']);
  if (!status) return null;
  r.fields(status, ['status'], ['loadBalancer'], SERVICE_STATUS_UNMODELLED);
  const lb = r.map(status.loadBalancer, ['status', 'loadBalancer']);
  if (!lb) return null;
  r.fields(lb, ['status', 'loadBalancer'], ['ingress'], []);
  const list = r.list(lb.ingress, ['status', 'loadBalancer', 'ingress']) ?? [];
  if (list.length === 0) return null;
  const out: LoadBalancerIngress[] = [];
  const seen = new Map<string, number>();
  list.forEach((v, i) => {
    const p: Path = ['status', 'loadBalancer', 'ingress', i];
    const m = r.map(v, p);
    if (!m) return;
    r.fields(m, p, ['ip', 'ipMode', 'hostname'], LB_INGRESS_UNMODELLED);
    const ip = r.string(m.ip, [...p, 'ip']) ?? '';
    const hostname = r.string(m.hostname, [...p, 'hostname']) ?? '';
    if (hostname !== '') {
      r.warn(
        [...p, 'hostname'],
        `${fieldPath([...p, 'hostname'])} is not modelled by knetlab and is ignored`,
        'a load balancer known by a DNS name needs DNS, which the labs do not run: give its address as ip',
      );
    }
    if (m.ipMode !== undefined && m.ipMode !== null && ip === '') {
      r.error([...p, 'ipMode'], `${fieldPath([...p, 'ipMode'])} may not be specified when \`ip\` is not set`, 'add the ip the mode applies to', 'key');
      return;
    }
    const ipMode = r.oneOf(m.ipMode ?? 'VIP', [...p, 'ipMode'], LOAD_BALANCER_IP_MODES);
    if (ip === '') {
      if (hostname === '') r.warn(p, `${fieldPath(p)} has neither ip nor hostname and is ignored`);
      return;
    }
    if (parseIPv4(ip) === undefined) {
      r.error(
        [...p, 'ip'],
        `${fieldPath([...p, 'ip'])} "${ip}" is not an IPv4 address`,
        ip.includes(':') ? 'knetlab clusters are IPv4 single-stack' : 'e.g. 203.0.113.10',
      );
      return;
    }
    if (seen.has(ip)) {
      r.error(
        [...p, 'ip'],
        `${fieldPath([...p, 'ip'])} ${ip} is already status.loadBalancer.ingress[${seen.get(ip)}]`,
        'a load balancer lists each address once',
      );
      return;
    }
    seen.set(ip, i);
    if (ipMode !== undefined) out.push({ ip, ipMode });
  });
  return out;
}
