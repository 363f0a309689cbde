// Kernel features a lab can need and `knetlab doctor` probes for (some kernels lack ip_vs, ipip
// or dummy). Components name what they need from this list; plan/requires.ts finds what a lab needs.

export const KERNEL_FEATURES = [
  'veth',
  'bridge',
  'vxlan',
  'tun',
  'macvlan',
  'dummy',
  'ipip',
  'iptables nat',
  'nftables',
  'ipset',
  'ip_vs',
  'conntrack',
  'sctp',
] as const;

export type KernelFeature = (typeof KERNEL_FEATURES)[number];
