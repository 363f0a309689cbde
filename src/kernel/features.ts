// Kernel features a lab can need and `knetlab doctor` probes for (some kernels lack ip_vs, ipip
// or dummy). Components name what they need from this list.

export type KernelFeature =
  'veth' | 'bridge' | 'vxlan' | 'tun' | 'macvlan' | 'dummy' | 'ipip' | 'iptables nat' | 'nftables' | 'ipset' | 'ip_vs' | 'conntrack' | 'sctp';
