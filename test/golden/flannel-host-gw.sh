#!/bin/sh
# flannel-host-gw: Pod to pod across nodes with flannel's host-gw backend
# Reproduces seed 004 §4.4 Flannel host-gw.
# The same two nodes and leases as flannel-vxlan, but no tunnel: for every remote lease flanneld
# installs a plain route "<remote subnet> via <remote node IP> dev eth0". Pod packets cross the
# underlay unchanged, with pod addresses, which only works because both nodes share one L2 segment
# (compare flannel-host-gw-routed).
# The exact commands "knetlab up flannel-host-gw" runs, in order. Run as root, on a scratch machine or VM.
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
EOF

# 2. Set per-namespace kernel parameters
#    Network sysctls are per namespace. A namespace only forwards packets between its interfaces
#    (acts as a router) when net.ipv4.ip_forward is 1.
ip netns exec node1 sysctl -q -w net.ipv4.ip_forward=1
ip netns exec node2 sysctl -q -w net.ipv4.ip_forward=1

# 3. Create the bridges
#    A Linux bridge is a virtual switch: it learns MAC addresses on its ports and forwards frames
#    between them. Given an address, it is also the gateway its ports' namespaces route through
#    (docker0, cni0).
ip -n switch -batch - <<'EOF'
link add br0 type bridge
addr add 192.168.56.1/24 dev br0
link set br0 up
EOF
ip -n node1 -batch - <<'EOF'
link add cni0 mtu 1500 type bridge
addr add 10.244.1.1/24 dev cni0
link set cni0 up
EOF
ip -n node2 -batch - <<'EOF'
link add cni0 mtu 1500 type bridge
addr add 10.244.2.1/24 dev cni0
link set cni0 up
EOF

# 4. Create the veth pairs
#    A veth pair is a virtual cable: a frame sent into one end comes out of the other. Each pair is
#    created with its ends already in their namespaces, so the machine's own namespace is never
#    touched (creating it there and moving the ends with "ip link set ... netns" gives the same
#    result).
ip -n switch link add node1 type veth peer name eth0 netns node1
ip -n switch link add node2 type veth peer name eth0 netns node2
ip -n node1 link add veth8f489896 type veth peer name eth0 netns pod1
ip -n node1 link add vetha7eeae7d type veth peer name eth0 netns pod2
ip -n node2 link add veth86c1beb0 type veth peer name eth0 netns pod3

# 5. Configure the interfaces and routes
#    An interface carries traffic only once it is up. Assigning an address also installs the
#    connected route for its subnet. A veth end with "master" becomes a port of that bridge and
#    carries no address of its own: the bridge switches its frames. Routes then pick the next hop for
#    everything not on a connected subnet: a container's default route points at its bridge's
#    address. Each pod's port on cni0 is put in hairpin mode, as the bridge plugin does when
#    flannel's CNI plugin delegates to it with hairpinMode: true. A bridge never sends a frame back
#    out of the port it came in on unless that port is in hairpin mode, and a pod reaching itself
#    through a Service needs exactly that: net.bridge.bridge-nf-call-iptables hands frames entering
#    cni0 to iptables, kube-proxy DNATs the Service address to the pod's own, and the bridge must
#    then forward the frame to the port it came from. kube-proxy's hairpin rule masquerades it to
#    cni0's address, so the answer comes back the same way.
ip -n switch -batch - <<'EOF'
link set lo up
link set node1 master br0
link set node1 up
link set node2 master br0
link set node2 up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
link set veth8f489896 master cni0
link set veth8f489896 type bridge_slave hairpin on
link set veth8f489896 up
link set vetha7eeae7d master cni0
link set vetha7eeae7d type bridge_slave hairpin on
link set vetha7eeae7d up
route add default via 192.168.56.1
EOF
ip -n pod1 -batch - <<'EOF'
link set lo up
addr add 10.244.1.2/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n pod2 -batch - <<'EOF'
link set lo up
addr add 10.244.1.3/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n node2 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0c
addr add 192.168.56.12/24 dev eth0
link set eth0 up
link set veth86c1beb0 master cni0
link set veth86c1beb0 type bridge_slave hairpin on
link set veth86c1beb0 up
route add default via 192.168.56.1
EOF
ip -n pod3 -batch - <<'EOF'
link set lo up
addr add 10.244.2.2/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF

# 6. flanneld: take a subnet lease and write subnet.env
#    Each node's flanneld leases one subnet of the cluster network 10.244.0.0/16 (under
#    --kube-subnet-mgr: the node's spec.podCIDR) and writes /run/flannel/subnet.env, which the
#    flannel CNI plugin reads to configure cni0 and pod addresses. FLANNEL_SUBNET is the lease's
#    first usable address; FLANNEL_MTU is the host-gw backend's MTU (1500). Here each node's files
#    live in its own folder of the lab.
mkdir -p -m 0700 /run/knetlab/labs/flannel-host-gw/node1/run/flannel /run/knetlab/labs/flannel-host-gw/node2/run/flannel
tee /run/knetlab/labs/flannel-host-gw/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "host-gw"
  }
}
EOF
tee /run/knetlab/labs/flannel-host-gw/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1500
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/flannel-host-gw/node2/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.2.1/24
FLANNEL_MTU=1500
FLANNEL_IPMASQ=true
EOF

# 7. flanneld: route every remote subnet via its node (host-gw)
#    host-gw has no device and no encapsulation: each remote lease becomes a plain route "<remote
#    subnet> via <remote node IP> dev eth0". The next hop must be directly reachable on eth0, so
#    every node must share one L2 segment.
ip -n node1 route add 10.244.2.0/24 via 192.168.56.12 dev eth0
ip -n node2 route add 10.244.1.0/24 via 192.168.56.11 dev eth0

# 8. flanneld: masquerade and forward rules
#    With --ip-masq flanneld adds FLANNEL-POSTRTG to nat POSTROUTING: pod ↔ pod traffic inside the
#    cluster network keeps its addresses (RETURN), kube-proxy-marked packets (0x4000) are left to
#    kube-proxy, and pod → outside is masqueraded to the node. FLANNEL-FWD accepts forwarding to and
#    from the cluster network.
ip netns exec node1 iptables-restore --noflush <<'EOF'
*nat
:FLANNEL-POSTRTG - [0:0]
-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
COMMIT
*filter
:FLANNEL-FWD - [0:0]
-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
COMMIT
EOF
ip netns exec node2 iptables-restore --noflush <<'EOF'
*nat
:FLANNEL-POSTRTG - [0:0]
-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.2.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.2.0/24 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.2.0/24 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
COMMIT
*filter
:FLANNEL-FWD - [0:0]
-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
COMMIT
EOF

# 9. Write the server configuration
#    Every server is a real nginx (one master, one worker) answering each request with JSON: its pod
#    name, its node, the address it answered on and the client address it saw. That last field is how
#    the checks see NAT. All servers share one configuration: nginx maps the address a request
#    arrived on to the pod that owns it.
mkdir -p -m 0700 /run/knetlab/labs/flannel-host-gw
tee /run/knetlab/labs/flannel-host-gw/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: pod1, pod2, pod3
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/flannel-host-gw/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/flannel-host-gw/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/flannel-host-gw/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/flannel-host-gw/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/flannel-host-gw/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.2 pod1;
        10.244.1.3 pod2;
        10.244.2.2 pod3;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.2 node1;
        10.244.1.3 node1;
        10.244.2.2 node2;
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
ip netns exec pod1 nginx -c /run/knetlab/labs/flannel-host-gw/nginx.conf -g 'pid /run/knetlab/labs/flannel-host-gw/pod1.nginx.pid; error_log /run/knetlab/labs/flannel-host-gw/pod1.error.log warn;'
ip netns exec pod2 nginx -c /run/knetlab/labs/flannel-host-gw/nginx.conf -g 'pid /run/knetlab/labs/flannel-host-gw/pod2.nginx.pid; error_log /run/knetlab/labs/flannel-host-gw/pod2.error.log warn;'
ip netns exec pod3 nginx -c /run/knetlab/labs/flannel-host-gw/nginx.conf -g 'pid /run/knetlab/labs/flannel-host-gw/pod3.nginx.pid; error_log /run/knetlab/labs/flannel-host-gw/pod3.error.log warn;'

# 11. Look around
#    Read-only commands that show what the steps above built.
# FLANNEL_MTU is 1500 here; host-gw adds no header.
ip netns exec node1 cat /run/knetlab/labs/flannel-host-gw/node1/run/flannel/subnet.env
# 10.244.2.0/24 via 192.168.56.12 dev eth0: the seed's `ip route add 192.168.1.0/24 via 10.20.0.2 dev eth0`.
ip -n node1 route
# The mirror image on node2.
ip -n node2 route

# 12. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# node1 routes node2's lease via node2's IP on eth0
ip -n node1 -j route show 10.244.2.0/24
# node2 routes node1's lease via node1's IP on eth0
ip -n node2 -j route show 10.244.1.0/24
# no flannel device on the node
ip -n node1 -j route show 10.244.0.0/16
# pod1 pings pod3 on node2
ip netns exec pod1 ping -n -c 1 -W 1 10.244.2.2
# pod3 reaches pod1 over HTTP, seen with its own address
ip netns exec pod3 curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://10.244.1.2/
# the ping crosses the underlay as plain IP with pod addresses, no encapsulation
ip netns exec node1 tcpdump -i eth0 -nn -l -x -c 200 icmp
# nothing crosses as VXLAN
ip netns exec node1 tcpdump -i eth0 -nn -l -x -c 200 'udp port 8472 or udp port 4789'

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/flannel-host-gw/pod1.nginx.pid
# pkill -F /run/knetlab/labs/flannel-host-gw/pod2.nginx.pid
# pkill -F /run/knetlab/labs/flannel-host-gw/pod3.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del pod1
# ip netns del pod2
# ip netns del node2
# ip netns del pod3
