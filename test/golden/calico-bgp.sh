#!/bin/sh
# calico-bgp: Calico with BIRD in a node-to-node BGP mesh
# Reproduces seed 004 §4.5 Calico routing (Node-to-Node Mesh).
# Calico pods (a /32 on eth0, default route via 169.254.1.1 answered by proxy ARP on the cali…
# veth, a /32 host route per pod) on three nodes. Each node owns a /26 block, blackholed locally,
# and runs real BIRD (Debian bird2) with a BGP session to every other node in AS 64512. Each node
# learns the other blocks as "proto bird" routes via the owning node: no tunnel, the underlay
# carries pod addresses.
# The exact commands "knetlab up calico-bgp" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add pod1
netns add pod2
netns add node2
netns add pod3
netns add node3
netns add pod4
EOF

# 2. Set per-namespace kernel parameters
#    Network sysctls are per namespace. A namespace only forwards packets between its interfaces
#    (acts as a router) when net.ipv4.ip_forward is 1.
ip netns exec node1 sysctl -q -w net.ipv4.ip_forward=1
ip netns exec node2 sysctl -q -w net.ipv4.ip_forward=1
ip netns exec node3 sysctl -q -w net.ipv4.ip_forward=1

# 3. Create the bridges
#    A Linux bridge is a virtual switch: it learns MAC addresses on its ports and forwards frames
#    between them. Given an address, it is also the gateway its ports' namespaces route through
#    (docker0, cni0).
ip -n switch -batch - <<'EOF'
link add br0 type bridge
addr add 192.168.56.1/24 dev br0
link set br0 up
EOF

# 4. Create the veth pairs
#    A veth pair is a virtual cable: a frame sent into one end comes out of the other. Each pair is
#    created with its ends already in their namespaces, so the machine's own namespace is never
#    touched (creating it there and moving the ends with "ip link set ... netns" gives the same
#    result).
ip -n switch -batch - <<'EOF'
link add node1 type veth peer name eth0 netns node1
link add node2 type veth peer name eth0 netns node2
link add node3 type veth peer name eth0 netns node3
EOF
ip -n node1 link add calice0906292e2 type veth peer name eth0 netns pod1
ip -n node1 link add calibd2348b4f67 type veth peer name eth0 netns pod2
ip -n node2 link add cali49778cadcf1 type veth peer name eth0 netns pod3
ip -n node3 link add cali3a3e66463d6 type veth peer name eth0 netns pod4

# 5. Configure the interfaces and routes
#    An interface carries traffic only once it is up. Assigning an address also installs the
#    connected route for its subnet. A veth end with "master" becomes a port of that bridge and
#    carries no address of its own: the bridge switches its frames. Routes then pick the next hop for
#    everything not on a connected subnet: a container's default route points at its bridge's
#    address.
ip -n switch -batch - <<'EOF'
link set lo up
link set node1 master br0
link set node1 up
link set node2 master br0
link set node2 up
link set node3 master br0
link set node3 up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
link set calice0906292e2 address ee:ee:ee:ee:ee:ee
link set calice0906292e2 up
link set calibd2348b4f67 address ee:ee:ee:ee:ee:ee
link set calibd2348b4f67 up
route add default via 192.168.56.1
route add 10.244.0.1 dev calice0906292e2 metric 1024
route add 10.244.0.2 dev calibd2348b4f67 metric 1024
EOF
ip -n pod1 -batch - <<'EOF'
link set lo up
addr add 10.244.0.1/32 dev eth0
link set eth0 up
route add 169.254.1.1/32 dev eth0
route add default via 169.254.1.1 dev eth0
EOF
ip -n pod2 -batch - <<'EOF'
link set lo up
addr add 10.244.0.2/32 dev eth0
link set eth0 up
route add 169.254.1.1/32 dev eth0
route add default via 169.254.1.1 dev eth0
EOF
ip -n node2 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0c
addr add 192.168.56.12/24 dev eth0
link set eth0 up
link set cali49778cadcf1 address ee:ee:ee:ee:ee:ee
link set cali49778cadcf1 up
route add default via 192.168.56.1
route add 10.244.0.65 dev cali49778cadcf1 metric 1024
EOF
ip -n pod3 -batch - <<'EOF'
link set lo up
addr add 10.244.0.65/32 dev eth0
link set eth0 up
route add 169.254.1.1/32 dev eth0
route add default via 169.254.1.1 dev eth0
EOF
ip -n node3 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0d
addr add 192.168.56.13/24 dev eth0
link set eth0 up
link set cali3a3e66463d6 address ee:ee:ee:ee:ee:ee
link set cali3a3e66463d6 up
route add default via 192.168.56.1
route add 10.244.0.129 dev cali3a3e66463d6 metric 1024
EOF
ip -n pod4 -batch - <<'EOF'
link set lo up
addr add 10.244.0.129/32 dev eth0
link set eth0 up
route add 169.254.1.1/32 dev eth0
route add default via 169.254.1.1 dev eth0
EOF

# 6. Calico CNI: proxy ARP on the host side of every pod veth
#    A Calico pod has a /32 address and a default route via 169.254.1.1, an address nobody owns. The
#    host end of its veth (cali…, MAC ee:ee:ee:ee:ee:ee, no address) answers ARP for it by proxy ARP,
#    with no delay, so every packet from the pod lands in the node's routing table, which holds a /32
#    route per local pod. Proxy ARP only answers when the node routes 169.254.1.1 out of another
#    interface: the node's default route via eth0 is what makes it work.
ip netns exec node1 sysctl -q -w net.ipv4.conf.calice0906292e2.proxy_arp=1 net.ipv4.neigh.calice0906292e2.proxy_delay=0 net.ipv4.conf.calice0906292e2.forwarding=1 net.ipv4.conf.calice0906292e2.route_localnet=1 net.ipv4.conf.calibd2348b4f67.proxy_arp=1 net.ipv4.neigh.calibd2348b4f67.proxy_delay=0 net.ipv4.conf.calibd2348b4f67.forwarding=1 net.ipv4.conf.calibd2348b4f67.route_localnet=1
ip netns exec node2 sysctl -q -w net.ipv4.conf.cali49778cadcf1.proxy_arp=1 net.ipv4.neigh.cali49778cadcf1.proxy_delay=0 net.ipv4.conf.cali49778cadcf1.forwarding=1 net.ipv4.conf.cali49778cadcf1.route_localnet=1
ip netns exec node3 sysctl -q -w net.ipv4.conf.cali3a3e66463d6.proxy_arp=1 net.ipv4.neigh.cali3a3e66463d6.proxy_delay=0 net.ipv4.conf.cali3a3e66463d6.forwarding=1 net.ipv4.conf.cali3a3e66463d6.route_localnet=1

# 7. confd: write bird.cfg for every BGP speaker
#    calico-node's confd renders BIRD's configuration: a static protocol originating each of the
#    node's IPAM blocks as a blackhole route (so unallocated addresses are dropped, not looped), a
#    kernel protocol installing learned routes, and one BGP session per peer in AS 64512 — a full
#    node-to-node mesh ("Mesh_<peer IP>" sessions). Exported: the node's own blocks; learned routes
#    keep the originating node as next hop.
mkdir -p -m 0700 /run/knetlab/labs/calico-bgp/node1 /run/knetlab/labs/calico-bgp/node2 /run/knetlab/labs/calico-bgp/node3
tee /run/knetlab/labs/calico-bgp/node1/bird.cfg >/dev/null <<'EOF'
# knetlab: BIRD 2 configuration for Calico node 192.168.56.11.
# Mirrors calico-node confd output: bird.cfg with bird_aggr.cfg and bird_ipam.cfg inlined where bird.cfg
# includes them (node/filesystem/etc/calico/confd/templates/*.template, projectcalico/calico 87c15906 ~ v3.32+).
# Calico runs its BIRD 1.6 fork; this file is for BIRD 2.0. What BIRD 2 forces to differ:
#  - import/export filters, "gateway recursive" and "add paths on" live in ipv4 { } channel blocks;
#    direct and static need an explicit "ipv4;" channel.
#  - kernel "metric 0;": BIRD 2 defaults to metric 32, which would override krt_metric; BIRD 1.x defaults
#    to 0, so BGP routes get krt_metric 1024 from calico_kernel_programming exactly as on a Calico node.
#  - one file instead of include "bird_aggr.cfg"; include "bird_ipam.cfg"; (sections marked below).
#  - calico_kernel_programming first rejects RTS_DEVICE (direct) routes, which BIRD 1.x never exports.
#  - no krt_tunnel (a Calico-fork attribute): IPIP routes are not rendered; VXLAN routes are Felix's anyway.
# Query it with: birdc -s /run/knetlab/labs/calico-bgp/node1/bird.ctl show protocols

log "/run/knetlab/labs/calico-bgp/node1/bird.log" all;

function apply_communities ()
{
}

template kernel kernel_template {
  learn;             # Learn all alien routes from the kernel
  persist;           # Don't remove routes on bird shutdown
  scan time 2;       # Scan kernel routing table every 2 seconds
  ipv4 {
    import all;
  };
}

template direct direct_template {
  debug { states };
  ipv4;
  interface -"cali*", -"kube-ipvs*", "*"; # Exclude cali* and kube-ipvs* but
                                          # include everything else.  In
                                          # IPVS-mode, kube-proxy creates a
                                          # kube-ipvs0 interface. We exclude
                                          # kube-ipvs0 because this interface
                                          # gets an address for every in use
                                          # cluster IP. We use static routes
                                          # for when we legitimately want to
                                          # export cluster IPs.
}

# ---- bird_aggr.cfg ----
template static static_template {
   ipv4;
   # IP blocks for this host.
   route 10.244.0.0/26 blackhole;
}

protocol static from static_template {
}

# Aggregation of routes on this host; export the block, nothing beneath it.
function calico_aggr ()
{
      # Block 10.244.0.0/26 is implicitly confirmed.
      if ( net = 10.244.0.0/26 ) then { accept; }
      if ( net ~ 10.244.0.0/26 && krt_metric < 1024 ) then { accept; }
      if ( net ~ 10.244.0.0/26 ) then { reject; }
}

# ---- bird_ipam.cfg ----
function reject_local_routes () {
  # Don't export local routes learned via BPF as they should never leave the node.
  if (defined(ifname)) then {
     if (ifname ~ "bpf*.cali") then {
        reject;
     }
  }
}

function calico_export_to_bgp_peers(bool internal_peer) {
  # filter code terminates when it calls `accept;` or `reject;`,
  if (internal_peer) then {
    if (defined(ifname)) then {
      if ((ifname ~ "*.cali") || (ifname ~ "*.calico") || (ifname ~ "tunl0")) then {
        reject;
      }
    }
  }
  reject_local_routes();
  apply_communities();
  calico_aggr();
  if (net ~ 10.244.0.0/16) then { accept; }
}

filter calico_kernel_programming {
  # knetlab: BIRD 1.x never exports device routes to the kernel ("device routes" defaults to off); BIRD 2
  # has no such switch and would retry the connected subnets every scan ("Netlink: File exists").
  if (source = RTS_DEVICE) then { reject; }
  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {
      krt_metric = 1024;
      if (defined(bgp_local_pref)) then {
          krt_metric = 2147483647 - bgp_local_pref;
      }
      if (krt_metric < 1024) then {
          preference = 200;
      }
  }
  if (net ~ 10.244.0.0/16) then { accept; }
  accept;
}

# ---- bird.cfg ----
router id 192.168.56.11;

# Configure synchronization between routing tables and kernel.
protocol kernel from kernel_template {
  ipv4 {
    export filter calico_kernel_programming; # Default is export none
  };
  metric 0;          # BIRD 2 defaults to 32; 0 lets krt_metric decide, as in BIRD 1.x
  graceful restart;  # Turn on graceful restart to reduce potential flaps in
                     # routes when reloading BIRD configuration.  With a full
                     # automatic mesh, there is no way to prevent BGP from
                     # flapping since multiple nodes update their BGP
                     # configuration at the same time, GR is not guaranteed to
                     # work correctly in this scenario.
  merge paths on;    # Allow export multipath routes (ECMP)
}

# Watch interface up/down events.
protocol device {
  debug { states };
  scan time 2;    # Scan interfaces every 2 seconds
}

protocol direct from direct_template {
}

# Template for all BGP clients
template bgp bgp_template {
  debug { states, routes, filters, events };
  description "Connection to BGP peer";
  local as 64512;
  ipv4 {
    gateway recursive; # This should be the default, but just in case.
    add paths on;
  };
  graceful restart;  # See comment in kernel section about graceful restart.
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
}

# -------------- BGP Filters ------------------
# No v4 BGPFilters configured
# BGP Protocol Configurations
protocol bgp Mesh_192_168_56_12 from bgp_template {
  neighbor 192.168.56.12 as 64512;
  source address 192.168.56.11;  # The local address we use for the TCP connection
  ttl security off;
  multihop;
  ipv4 {
    import filter {
      if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then
        preference = 200;
      accept;
    };
    export filter {
      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {
        krt_metric = 2147483647 - bgp_local_pref;
      } else {
        if (!defined(krt_metric)) then { krt_metric = 1024; }
        bgp_local_pref = 2147483647 - krt_metric;
      }
      calico_export_to_bgp_peers(true);
      reject;
    };  # Only want to export routes for workloads.
  };
  passive on;
}

protocol bgp Mesh_192_168_56_13 from bgp_template {
  neighbor 192.168.56.13 as 64512;
  source address 192.168.56.11;  # The local address we use for the TCP connection
  ttl security off;
  multihop;
  ipv4 {
    import filter {
      if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then
        preference = 200;
      accept;
    };
    export filter {
      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {
        krt_metric = 2147483647 - bgp_local_pref;
      } else {
        if (!defined(krt_metric)) then { krt_metric = 1024; }
        bgp_local_pref = 2147483647 - krt_metric;
      }
      calico_export_to_bgp_peers(true);
      reject;
    };  # Only want to export routes for workloads.
  };
  passive on;
}
EOF
tee /run/knetlab/labs/calico-bgp/node2/bird.cfg >/dev/null <<'EOF'
# knetlab: BIRD 2 configuration for Calico node 192.168.56.12.
# Mirrors calico-node confd output: bird.cfg with bird_aggr.cfg and bird_ipam.cfg inlined where bird.cfg
# includes them (node/filesystem/etc/calico/confd/templates/*.template, projectcalico/calico 87c15906 ~ v3.32+).
# Calico runs its BIRD 1.6 fork; this file is for BIRD 2.0. What BIRD 2 forces to differ:
#  - import/export filters, "gateway recursive" and "add paths on" live in ipv4 { } channel blocks;
#    direct and static need an explicit "ipv4;" channel.
#  - kernel "metric 0;": BIRD 2 defaults to metric 32, which would override krt_metric; BIRD 1.x defaults
#    to 0, so BGP routes get krt_metric 1024 from calico_kernel_programming exactly as on a Calico node.
#  - one file instead of include "bird_aggr.cfg"; include "bird_ipam.cfg"; (sections marked below).
#  - calico_kernel_programming first rejects RTS_DEVICE (direct) routes, which BIRD 1.x never exports.
#  - no krt_tunnel (a Calico-fork attribute): IPIP routes are not rendered; VXLAN routes are Felix's anyway.
# Query it with: birdc -s /run/knetlab/labs/calico-bgp/node2/bird.ctl show protocols

log "/run/knetlab/labs/calico-bgp/node2/bird.log" all;

function apply_communities ()
{
}

template kernel kernel_template {
  learn;             # Learn all alien routes from the kernel
  persist;           # Don't remove routes on bird shutdown
  scan time 2;       # Scan kernel routing table every 2 seconds
  ipv4 {
    import all;
  };
}

template direct direct_template {
  debug { states };
  ipv4;
  interface -"cali*", -"kube-ipvs*", "*"; # Exclude cali* and kube-ipvs* but
                                          # include everything else.  In
                                          # IPVS-mode, kube-proxy creates a
                                          # kube-ipvs0 interface. We exclude
                                          # kube-ipvs0 because this interface
                                          # gets an address for every in use
                                          # cluster IP. We use static routes
                                          # for when we legitimately want to
                                          # export cluster IPs.
}

# ---- bird_aggr.cfg ----
template static static_template {
   ipv4;
   # IP blocks for this host.
   route 10.244.0.64/26 blackhole;
}

protocol static from static_template {
}

# Aggregation of routes on this host; export the block, nothing beneath it.
function calico_aggr ()
{
      # Block 10.244.0.64/26 is implicitly confirmed.
      if ( net = 10.244.0.64/26 ) then { accept; }
      if ( net ~ 10.244.0.64/26 && krt_metric < 1024 ) then { accept; }
      if ( net ~ 10.244.0.64/26 ) then { reject; }
}

# ---- bird_ipam.cfg ----
function reject_local_routes () {
  # Don't export local routes learned via BPF as they should never leave the node.
  if (defined(ifname)) then {
     if (ifname ~ "bpf*.cali") then {
        reject;
     }
  }
}

function calico_export_to_bgp_peers(bool internal_peer) {
  # filter code terminates when it calls `accept;` or `reject;`,
  if (internal_peer) then {
    if (defined(ifname)) then {
      if ((ifname ~ "*.cali") || (ifname ~ "*.calico") || (ifname ~ "tunl0")) then {
        reject;
      }
    }
  }
  reject_local_routes();
  apply_communities();
  calico_aggr();
  if (net ~ 10.244.0.0/16) then { accept; }
}

filter calico_kernel_programming {
  # knetlab: BIRD 1.x never exports device routes to the kernel ("device routes" defaults to off); BIRD 2
  # has no such switch and would retry the connected subnets every scan ("Netlink: File exists").
  if (source = RTS_DEVICE) then { reject; }
  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {
      krt_metric = 1024;
      if (defined(bgp_local_pref)) then {
          krt_metric = 2147483647 - bgp_local_pref;
      }
      if (krt_metric < 1024) then {
          preference = 200;
      }
  }
  if (net ~ 10.244.0.0/16) then { accept; }
  accept;
}

# ---- bird.cfg ----
router id 192.168.56.12;

# Configure synchronization between routing tables and kernel.
protocol kernel from kernel_template {
  ipv4 {
    export filter calico_kernel_programming; # Default is export none
  };
  metric 0;          # BIRD 2 defaults to 32; 0 lets krt_metric decide, as in BIRD 1.x
  graceful restart;  # Turn on graceful restart to reduce potential flaps in
                     # routes when reloading BIRD configuration.  With a full
                     # automatic mesh, there is no way to prevent BGP from
                     # flapping since multiple nodes update their BGP
                     # configuration at the same time, GR is not guaranteed to
                     # work correctly in this scenario.
  merge paths on;    # Allow export multipath routes (ECMP)
}

# Watch interface up/down events.
protocol device {
  debug { states };
  scan time 2;    # Scan interfaces every 2 seconds
}

protocol direct from direct_template {
}

# Template for all BGP clients
template bgp bgp_template {
  debug { states, routes, filters, events };
  description "Connection to BGP peer";
  local as 64512;
  ipv4 {
    gateway recursive; # This should be the default, but just in case.
    add paths on;
  };
  graceful restart;  # See comment in kernel section about graceful restart.
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
}

# -------------- BGP Filters ------------------
# No v4 BGPFilters configured
# BGP Protocol Configurations
protocol bgp Mesh_192_168_56_11 from bgp_template {
  neighbor 192.168.56.11 as 64512;
  source address 192.168.56.12;  # The local address we use for the TCP connection
  ttl security off;
  multihop;
  ipv4 {
    import filter {
      if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then
        preference = 200;
      accept;
    };
    export filter {
      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {
        krt_metric = 2147483647 - bgp_local_pref;
      } else {
        if (!defined(krt_metric)) then { krt_metric = 1024; }
        bgp_local_pref = 2147483647 - krt_metric;
      }
      calico_export_to_bgp_peers(true);
      reject;
    };  # Only want to export routes for workloads.
  };
}

protocol bgp Mesh_192_168_56_13 from bgp_template {
  neighbor 192.168.56.13 as 64512;
  source address 192.168.56.12;  # The local address we use for the TCP connection
  ttl security off;
  multihop;
  ipv4 {
    import filter {
      if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then
        preference = 200;
      accept;
    };
    export filter {
      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {
        krt_metric = 2147483647 - bgp_local_pref;
      } else {
        if (!defined(krt_metric)) then { krt_metric = 1024; }
        bgp_local_pref = 2147483647 - krt_metric;
      }
      calico_export_to_bgp_peers(true);
      reject;
    };  # Only want to export routes for workloads.
  };
  passive on;
}
EOF
tee /run/knetlab/labs/calico-bgp/node3/bird.cfg >/dev/null <<'EOF'
# knetlab: BIRD 2 configuration for Calico node 192.168.56.13.
# Mirrors calico-node confd output: bird.cfg with bird_aggr.cfg and bird_ipam.cfg inlined where bird.cfg
# includes them (node/filesystem/etc/calico/confd/templates/*.template, projectcalico/calico 87c15906 ~ v3.32+).
# Calico runs its BIRD 1.6 fork; this file is for BIRD 2.0. What BIRD 2 forces to differ:
#  - import/export filters, "gateway recursive" and "add paths on" live in ipv4 { } channel blocks;
#    direct and static need an explicit "ipv4;" channel.
#  - kernel "metric 0;": BIRD 2 defaults to metric 32, which would override krt_metric; BIRD 1.x defaults
#    to 0, so BGP routes get krt_metric 1024 from calico_kernel_programming exactly as on a Calico node.
#  - one file instead of include "bird_aggr.cfg"; include "bird_ipam.cfg"; (sections marked below).
#  - calico_kernel_programming first rejects RTS_DEVICE (direct) routes, which BIRD 1.x never exports.
#  - no krt_tunnel (a Calico-fork attribute): IPIP routes are not rendered; VXLAN routes are Felix's anyway.
# Query it with: birdc -s /run/knetlab/labs/calico-bgp/node3/bird.ctl show protocols

log "/run/knetlab/labs/calico-bgp/node3/bird.log" all;

function apply_communities ()
{
}

template kernel kernel_template {
  learn;             # Learn all alien routes from the kernel
  persist;           # Don't remove routes on bird shutdown
  scan time 2;       # Scan kernel routing table every 2 seconds
  ipv4 {
    import all;
  };
}

template direct direct_template {
  debug { states };
  ipv4;
  interface -"cali*", -"kube-ipvs*", "*"; # Exclude cali* and kube-ipvs* but
                                          # include everything else.  In
                                          # IPVS-mode, kube-proxy creates a
                                          # kube-ipvs0 interface. We exclude
                                          # kube-ipvs0 because this interface
                                          # gets an address for every in use
                                          # cluster IP. We use static routes
                                          # for when we legitimately want to
                                          # export cluster IPs.
}

# ---- bird_aggr.cfg ----
template static static_template {
   ipv4;
   # IP blocks for this host.
   route 10.244.0.128/26 blackhole;
}

protocol static from static_template {
}

# Aggregation of routes on this host; export the block, nothing beneath it.
function calico_aggr ()
{
      # Block 10.244.0.128/26 is implicitly confirmed.
      if ( net = 10.244.0.128/26 ) then { accept; }
      if ( net ~ 10.244.0.128/26 && krt_metric < 1024 ) then { accept; }
      if ( net ~ 10.244.0.128/26 ) then { reject; }
}

# ---- bird_ipam.cfg ----
function reject_local_routes () {
  # Don't export local routes learned via BPF as they should never leave the node.
  if (defined(ifname)) then {
     if (ifname ~ "bpf*.cali") then {
        reject;
     }
  }
}

function calico_export_to_bgp_peers(bool internal_peer) {
  # filter code terminates when it calls `accept;` or `reject;`,
  if (internal_peer) then {
    if (defined(ifname)) then {
      if ((ifname ~ "*.cali") || (ifname ~ "*.calico") || (ifname ~ "tunl0")) then {
        reject;
      }
    }
  }
  reject_local_routes();
  apply_communities();
  calico_aggr();
  if (net ~ 10.244.0.0/16) then { accept; }
}

filter calico_kernel_programming {
  # knetlab: BIRD 1.x never exports device routes to the kernel ("device routes" defaults to off); BIRD 2
  # has no such switch and would retry the connected subnets every scan ("Netlink: File exists").
  if (source = RTS_DEVICE) then { reject; }
  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {
      krt_metric = 1024;
      if (defined(bgp_local_pref)) then {
          krt_metric = 2147483647 - bgp_local_pref;
      }
      if (krt_metric < 1024) then {
          preference = 200;
      }
  }
  if (net ~ 10.244.0.0/16) then { accept; }
  accept;
}

# ---- bird.cfg ----
router id 192.168.56.13;

# Configure synchronization between routing tables and kernel.
protocol kernel from kernel_template {
  ipv4 {
    export filter calico_kernel_programming; # Default is export none
  };
  metric 0;          # BIRD 2 defaults to 32; 0 lets krt_metric decide, as in BIRD 1.x
  graceful restart;  # Turn on graceful restart to reduce potential flaps in
                     # routes when reloading BIRD configuration.  With a full
                     # automatic mesh, there is no way to prevent BGP from
                     # flapping since multiple nodes update their BGP
                     # configuration at the same time, GR is not guaranteed to
                     # work correctly in this scenario.
  merge paths on;    # Allow export multipath routes (ECMP)
}

# Watch interface up/down events.
protocol device {
  debug { states };
  scan time 2;    # Scan interfaces every 2 seconds
}

protocol direct from direct_template {
}

# Template for all BGP clients
template bgp bgp_template {
  debug { states, routes, filters, events };
  description "Connection to BGP peer";
  local as 64512;
  ipv4 {
    gateway recursive; # This should be the default, but just in case.
    add paths on;
  };
  graceful restart;  # See comment in kernel section about graceful restart.
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
}

# -------------- BGP Filters ------------------
# No v4 BGPFilters configured
# BGP Protocol Configurations
protocol bgp Mesh_192_168_56_11 from bgp_template {
  neighbor 192.168.56.11 as 64512;
  source address 192.168.56.13;  # The local address we use for the TCP connection
  ttl security off;
  multihop;
  ipv4 {
    import filter {
      if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then
        preference = 200;
      accept;
    };
    export filter {
      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {
        krt_metric = 2147483647 - bgp_local_pref;
      } else {
        if (!defined(krt_metric)) then { krt_metric = 1024; }
        bgp_local_pref = 2147483647 - krt_metric;
      }
      calico_export_to_bgp_peers(true);
      reject;
    };  # Only want to export routes for workloads.
  };
}

protocol bgp Mesh_192_168_56_12 from bgp_template {
  neighbor 192.168.56.12 as 64512;
  source address 192.168.56.13;  # The local address we use for the TCP connection
  ttl security off;
  multihop;
  ipv4 {
    import filter {
      if (defined(bgp_local_pref)&&(bgp_local_pref > 2147482623)) then
        preference = 200;
      accept;
    };
    export filter {
      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {
        krt_metric = 2147483647 - bgp_local_pref;
      } else {
        if (!defined(krt_metric)) then { krt_metric = 1024; }
        bgp_local_pref = 2147483647 - krt_metric;
      }
      calico_export_to_bgp_peers(true);
      reject;
    };  # Only want to export routes for workloads.
  };
}
EOF

# 8. Start BIRD on every BGP speaker
#    BIRD (Debian bird2) runs inside each namespace and speaks BGP on TCP 179 over the underlay. Once
#    sessions are Established, each node installs its peers' blocks as "proto bird" routes via the
#    node that owns them, and its own blocks as blackhole routes. birdc talks to it through the
#    control socket.
ip netns exec node1 bird -c /run/knetlab/labs/calico-bgp/node1/bird.cfg -s /run/knetlab/labs/calico-bgp/node1/bird.ctl -P /run/knetlab/labs/calico-bgp/node1/bird.pid
ip netns exec node2 bird -c /run/knetlab/labs/calico-bgp/node2/bird.cfg -s /run/knetlab/labs/calico-bgp/node2/bird.ctl -P /run/knetlab/labs/calico-bgp/node2/bird.pid
ip netns exec node3 bird -c /run/knetlab/labs/calico-bgp/node3/bird.cfg -s /run/knetlab/labs/calico-bgp/node3/bird.ctl -P /run/knetlab/labs/calico-bgp/node3/bird.pid

# 9. Write the server configuration
#    Every server is a real nginx (one master, one worker) answering each request with JSON: its pod
#    name, its node, the address it answered on and the client address it saw. That last field is how
#    the checks see NAT. All servers share one configuration: nginx maps the address a request
#    arrived on to the pod that owns it.
mkdir -p -m 0700 /run/knetlab/labs/calico-bgp
tee /run/knetlab/labs/calico-bgp/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: pod1, pod2, pod3, pod4
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/calico-bgp/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/calico-bgp/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/calico-bgp/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/calico-bgp/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/calico-bgp/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.0.1 pod1;
        10.244.0.2 pod2;
        10.244.0.65 pod3;
        10.244.0.129 pod4;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.0.1 node1;
        10.244.0.2 node1;
        10.244.0.65 node2;
        10.244.0.129 node3;
    }
    server {
        listen 80;
        default_type application/json;
        client_max_body_size 0;
        location / {
            return 200 '{"pod":"$knetlab_pod","node":"$knetlab_node","ip":"$server_addr","client":"$remote_addr","uri":"$request_uri","host":"$http_host","forwardedFor":"$http_x_forwarded_for"}\n';
        }
    }
}
EOF

# 10. Start the servers
#    "ip netns exec" runs nginx inside the namespace, so it listens on that namespace's addresses
#    only. nginx daemonizes and writes its PID file; knetlab records the PID and stops exactly that
#    process on down. Many servers are started through one xargs, a few at a time.
ip netns exec pod1 nginx -c /run/knetlab/labs/calico-bgp/nginx.conf -g 'pid /run/knetlab/labs/calico-bgp/pod1.nginx.pid; error_log /run/knetlab/labs/calico-bgp/pod1.error.log warn;'
ip netns exec pod2 nginx -c /run/knetlab/labs/calico-bgp/nginx.conf -g 'pid /run/knetlab/labs/calico-bgp/pod2.nginx.pid; error_log /run/knetlab/labs/calico-bgp/pod2.error.log warn;'
ip netns exec pod3 nginx -c /run/knetlab/labs/calico-bgp/nginx.conf -g 'pid /run/knetlab/labs/calico-bgp/pod3.nginx.pid; error_log /run/knetlab/labs/calico-bgp/pod3.error.log warn;'
ip netns exec pod4 nginx -c /run/knetlab/labs/calico-bgp/nginx.conf -g 'pid /run/knetlab/labs/calico-bgp/pod4.nginx.pid; error_log /run/knetlab/labs/calico-bgp/pod4.error.log warn;'

# 11. Look around
#    Read-only commands that show what the steps above built.
# One Mesh_<peer> BGP session per other node, Established (what calicoctl node status summarises).
ip netns exec node1 birdc -s /run/knetlab/labs/calico-bgp/node1/bird.ctl show protocols
# BIRD's table - its own block from the static protocol, the others from the peers.
ip netns exec node1 birdc -s /run/knetlab/labs/calico-bgp/node1/bird.ctl show route
# blackhole 10.244.0.0/26 proto bird, 10.244.0.64/26 via 192.168.56.12 dev eth0 proto bird, and a /32 per local pod via its cali… veth.
ip -n node1 route
# The BIRD configuration, shaped like calico-node's confd output.
ip netns exec node1 cat /run/knetlab/labs/calico-bgp/node1/bird.cfg
# After traffic, 169.254.1.1 resolves to ee:ee:ee:ee:ee:ee through proxy ARP.
ip -n pod1 neigh

# 12. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# node1's session with node2 is Established
ip netns exec node1 birdc -s /run/knetlab/labs/calico-bgp/node1/bird.ctl show protocols
# node1's session with node3 is Established
ip netns exec node1 birdc -s /run/knetlab/labs/calico-bgp/node1/bird.ctl show protocols
# node1 blackholes its own block, originated by BIRD
ip -n node1 -j route show 10.244.0.0/26
# node1 learned node2's block from BGP, via node2
ip -n node1 -j route show 10.244.0.64/26
# node3 learned node1's block, via node1
ip -n node3 -j route show 10.244.0.0/26
# node2 learned the block only, not pod1's /32 (the host route is at metric 1024, so BIRD aggregates it)
ip -n node2 -j route show 10.244.0.1/32
# node1 has a /32 host route to pod1 on its cali veth
ip -n node1 -j route show 10.244.0.1/32
# pod1 reaches pod3 on node2 over HTTP with its own address
ip netns exec pod1 curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://10.244.0.65/
# pod4 on node3 reaches pod2 on node1
ip netns exec pod4 ping -n -c 1 -W 1 10.244.0.2
# the packets cross the underlay unencapsulated, with pod addresses
ip netns exec node1 tcpdump -i eth0 -nn -l -x -c 200 icmp

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/calico-bgp/pod1.nginx.pid
# pkill -F /run/knetlab/labs/calico-bgp/pod2.nginx.pid
# pkill -F /run/knetlab/labs/calico-bgp/pod3.nginx.pid
# pkill -F /run/knetlab/labs/calico-bgp/pod4.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del pod1
# ip netns del pod2
# ip netns del node2
# ip netns del pod3
# ip netns del node3
# ip netns del pod4
