#!/bin/sh
# calico-vxlan: Calico in VXLAN mode: vxlan.calico, VNI 4096, UDP 4789
# Reproduces seed 004 §4.5 Calico (overlay mode).
# Calico pods (a /32 on eth0, default route via 169.254.1.1, cali… veths with proxy ARP, a /32
# host route per pod) on two nodes whose blocks are joined by Felix's VXLAN routes: vxlan.calico
# with VNI 4096 on the IANA port 4789, the node's tunnel address from its block, and for each
# remote node a permanent neighbour, a permanent FDB entry and "<block> via <remote tunnel IP> dev
# vxlan.calico onlink".
# The exact commands "knetlab up calico-vxlan" runs, in order. Run as root, on a scratch machine or VM.
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

# 4. Create the veth pairs
#    A veth pair is a virtual cable: a frame sent into one end comes out of the other. Each pair is
#    created with its ends already in their namespaces, so the machine's own namespace is never
#    touched (creating it there and moving the ends with "ip link set ... netns" gives the same
#    result).
ip -n switch link add node1 type veth peer name eth0 netns node1
ip -n switch link add node2 type veth peer name eth0 netns node2
ip -n node1 link add calice0906292e2 mtu 1450 type veth peer name eth0 mtu 1450 netns pod1
ip -n node1 link add calibd2348b4f67 mtu 1450 type veth peer name eth0 mtu 1450 netns pod2
ip -n node2 link add cali49778cadcf1 mtu 1450 type veth peer name eth0 mtu 1450 netns pod3

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

# 6. Calico CNI: proxy ARP on the host side of every pod veth
#    A Calico pod has a /32 address and a default route via 169.254.1.1, an address nobody owns. The
#    host end of its veth (cali…, MAC ee:ee:ee:ee:ee:ee, no address) answers ARP for it by proxy ARP,
#    with no delay, so every packet from the pod lands in the node's routing table, which holds a /32
#    route per local pod. Proxy ARP only answers when the node routes 169.254.1.1 out of another
#    interface: the node's default route via eth0 is what makes it work.
ip netns exec node1 sysctl -q -w net.ipv4.conf.calice0906292e2.proxy_arp=1 net.ipv4.neigh.calice0906292e2.proxy_delay=0 net.ipv4.conf.calice0906292e2.forwarding=1 net.ipv4.conf.calice0906292e2.route_localnet=1 net.ipv4.conf.calibd2348b4f67.proxy_arp=1 net.ipv4.neigh.calibd2348b4f67.proxy_delay=0 net.ipv4.conf.calibd2348b4f67.forwarding=1 net.ipv4.conf.calibd2348b4f67.route_localnet=1
ip netns exec node2 sysctl -q -w net.ipv4.conf.cali49778cadcf1.proxy_arp=1 net.ipv4.neigh.cali49778cadcf1.proxy_delay=0 net.ipv4.conf.cali49778cadcf1.forwarding=1 net.ipv4.conf.cali49778cadcf1.route_localnet=1

# 7. Felix: create vxlan.calico
#    In VXLAN mode Felix, not BIRD, programs the cluster routes. vxlan.calico is the node's VTEP: VNI
#    4096, UDP 4789 (the IANA port, unlike flannel's 8472), MTU 1450, and as address the node's
#    tunnel IP, allocated from its block, as a /32. Felix also blackholes the node's own block
#    ("proto 80" marks Felix's routes).
ip -n node1 -batch - <<'EOF'
link add vxlan.calico address c6:66:5a:a6:2a:33 mtu 1450 type vxlan id 4096 local 192.168.56.11 dev eth0 dstport 4789 nolearning
addr add 10.244.0.0/32 dev vxlan.calico
link set vxlan.calico up
route add blackhole 10.244.0.0/26 proto 80
EOF
ip -n node2 -batch - <<'EOF'
link add vxlan.calico address 06:52:f4:2f:b8:f3 mtu 1450 type vxlan id 4096 local 192.168.56.12 dev eth0 dstport 4789 nolearning
addr add 10.244.0.64/32 dev vxlan.calico
link set vxlan.calico up
route add blackhole 10.244.0.64/26 proto 80
EOF

# 8. Felix: neighbour and FDB entries for every remote VTEP
#    For each remote node: a permanent neighbour entry (its tunnel IP → its VTEP MAC) and a permanent
#    FDB entry (that MAC → its node IP), the same pair flannel programs.
ip -n node1 neigh add 10.244.0.64 lladdr 06:52:f4:2f:b8:f3 dev vxlan.calico nud permanent
bridge -n node1 fdb append 06:52:f4:2f:b8:f3 dev vxlan.calico dst 192.168.56.12 self permanent
ip -n node2 neigh add 10.244.0.0 lladdr c6:66:5a:a6:2a:33 dev vxlan.calico nud permanent
bridge -n node2 fdb append c6:66:5a:a6:2a:33 dev vxlan.calico dst 192.168.56.11 self permanent

# 9. Felix: route every remote block through vxlan.calico
#    Each remote block goes "via <remote tunnel IP> dev vxlan.calico onlink": the gateway is the
#    remote VTEP address, not the node IP.
ip -n node1 route add 10.244.0.64/26 via 10.244.0.64 dev vxlan.calico onlink proto 80
ip -n node2 route add 10.244.0.0/26 via 10.244.0.0 dev vxlan.calico onlink proto 80

# 10. Write the server configuration
#    Every server is a real nginx (one master, one worker) answering each request with JSON: its pod
#    name, its node, the address it answered on and the client address it saw. That last field is how
#    the checks see NAT. All servers share one configuration: nginx maps the address a request
#    arrived on to the pod that owns it.
mkdir -p -m 0700 /run/knetlab/labs/calico-vxlan
tee /run/knetlab/labs/calico-vxlan/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: pod1, pod2, pod3
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/calico-vxlan/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/calico-vxlan/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/calico-vxlan/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/calico-vxlan/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/calico-vxlan/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.0.1 pod1;
        10.244.0.2 pod2;
        10.244.0.65 pod3;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.0.1 node1;
        10.244.0.2 node1;
        10.244.0.65 node2;
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

# 11. Start the servers
#    "ip netns exec" runs nginx inside the namespace, so it listens on that namespace's addresses
#    only. nginx daemonizes and writes its PID file; knetlab records the PID and stops exactly that
#    process on down. Many servers are started through one xargs, a few at a time.
ip netns exec pod1 nginx -c /run/knetlab/labs/calico-vxlan/nginx.conf -g 'pid /run/knetlab/labs/calico-vxlan/pod1.nginx.pid; error_log /run/knetlab/labs/calico-vxlan/pod1.error.log warn;'
ip netns exec pod2 nginx -c /run/knetlab/labs/calico-vxlan/nginx.conf -g 'pid /run/knetlab/labs/calico-vxlan/pod2.nginx.pid; error_log /run/knetlab/labs/calico-vxlan/pod2.error.log warn;'
ip netns exec pod3 nginx -c /run/knetlab/labs/calico-vxlan/nginx.conf -g 'pid /run/knetlab/labs/calico-vxlan/pod3.nginx.pid; error_log /run/knetlab/labs/calico-vxlan/pod3.error.log warn;'

# 12. Look around
#    Read-only commands that show what the steps above built.
# inet 10.244.0.1/32: a Calico pod address has no subnet.
ip -n pod1 addr show eth0
# default via 169.254.1.1 dev eth0, and 169.254.1.1 dev eth0 scope link.
ip -n pod1 route
# vxlan id 4096 … dstport 4789 nolearning.
ip -n node1 -d link show vxlan.calico
# /32 per local pod via its cali… veth, blackhole for the node's own block (proto 80), the remote block via vxlan.calico onlink.
ip -n node1 route
# node2's tunnel address and VTEP MAC, PERMANENT.
ip -n node1 neigh show dev vxlan.calico

# 13. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# pod1 has its /32 route to the fake gateway
ip -n pod1 -j route show 169.254.1.1/32
# node1 blackholes its own block (Felix, proto 80)
ip -n node1 -j route show 10.244.0.0/26
# node1 routes node2's block via node2's tunnel address on vxlan.calico
ip -n node1 -j route show 10.244.0.64/26
# node1 has node2's VTEP in its FDB
bridge -n node1 -j fdb show dev vxlan.calico
# pod1 reaches pod2 on the same node through the node's routes
ip netns exec pod1 ping -n -c 1 -W 1 10.244.0.2
# pod1 reaches pod3 on node2 over HTTP with its own address
ip netns exec pod1 curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://10.244.0.65/
# proxy ARP answered for 169.254.1.1 with the cali MAC
ip -n pod1 -j neigh show 169.254.1.1
# the traffic crosses as VXLAN VNI 4096 on UDP 4789
ip netns exec node1 tcpdump -i eth0 -nn -l -x -c 200 'udp port 4789'

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/calico-vxlan/pod1.nginx.pid
# pkill -F /run/knetlab/labs/calico-vxlan/pod2.nginx.pid
# pkill -F /run/knetlab/labs/calico-vxlan/pod3.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del pod1
# ip netns del pod2
# ip netns del node2
# ip netns del pod3
