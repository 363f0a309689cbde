// Every kube-proxy mode knetlab runs, by its KubeProxyConfiguration name: a mode named in
// ProxyMode but missing here fails to compile.

import type { ProxyMode } from '../../api/objects.js';
import { iptablesProxier } from './iptables.js';
import { ipvsProxier } from './ipvs.js';
import { nftablesProxier } from './nftables.js';
import type { Proxier } from './proxier.js';
import { userspaceProxier } from './userspace.js';

export const PROXIERS: Record<ProxyMode, Proxier> = {
  iptables: iptablesProxier,
  ipvs: ipvsProxier,
  nftables: nftablesProxier,
  userspace: userspaceProxier,
};
