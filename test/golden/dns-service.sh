#!/bin/sh
# dns-service: DNS for a Service, from pods in its namespace and in another
# Reproduces seed 004 §7.1.
# Three nodes on flannel (VXLAN) with cluster DNS as kubeadm installs it: two CoreDNS pods in
# kube-system behind the kube-dns Service at 10.96.0.10 (the 10th address of the service CIDR),
# reached through kube-proxy like any Service, and every pod's resolv.conf pointing at it with the
# search path <namespace>.svc.cluster.local svc.cluster.local cluster.local and ndots:5. The
# seed's kubia Service (10.99.166.60) resolves from a pod in default by its short name, and from a
# pod in "other" as kubia.default or by its full name, never by the short name alone.
# The exact commands "knetlab up dns-service" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add coredns-5855c5f55-5rhzq
netns add kubia-79cb56dd65-fl2vh
netns add client
netns add node2
netns add kubia-79cb56dd65-x779f
netns add stranger
netns add node3
netns add coredns-5855c5f55-tmxk6
netns add kubia-79cb56dd65-g2x5p
netns add upstream
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
ip -n node1 -batch - <<'EOF'
link add cni0 mtu 1450 type bridge
addr add 10.244.1.1/24 dev cni0
link set cni0 up
EOF
ip -n node2 -batch - <<'EOF'
link add cni0 mtu 1450 type bridge
addr add 10.244.2.1/24 dev cni0
link set cni0 up
EOF
ip -n node3 -batch - <<'EOF'
link add cni0 mtu 1450 type bridge
addr add 10.244.3.1/24 dev cni0
link set cni0 up
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
link add upstream type veth peer name eth0 netns upstream
EOF
ip -n node1 -batch - <<'EOF'
link add vethbe8f270d mtu 1450 type veth peer name eth0 mtu 1450 netns coredns-5855c5f55-5rhzq
link add veth53d895c3 mtu 1450 type veth peer name eth0 mtu 1450 netns kubia-79cb56dd65-fl2vh
link add vethd2a04d71 mtu 1450 type veth peer name eth0 mtu 1450 netns client
EOF
ip -n node2 link add vethbcefd2a6 mtu 1450 type veth peer name eth0 mtu 1450 netns kubia-79cb56dd65-x779f
ip -n node2 link add vethed5acfe8 mtu 1450 type veth peer name eth0 mtu 1450 netns stranger
ip -n node3 link add veth01a4b01c mtu 1450 type veth peer name eth0 mtu 1450 netns coredns-5855c5f55-tmxk6
ip -n node3 link add veth5c13c759 mtu 1450 type veth peer name eth0 mtu 1450 netns kubia-79cb56dd65-g2x5p

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
link set node3 master br0
link set node3 up
link set upstream master br0
link set upstream up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
link set vethbe8f270d master cni0
link set vethbe8f270d type bridge_slave hairpin on
link set vethbe8f270d up
link set veth53d895c3 master cni0
link set veth53d895c3 type bridge_slave hairpin on
link set veth53d895c3 up
link set vethd2a04d71 master cni0
link set vethd2a04d71 type bridge_slave hairpin on
link set vethd2a04d71 up
route add default via 192.168.56.1
EOF
ip -n coredns-5855c5f55-5rhzq -batch - <<'EOF'
link set lo up
addr add 10.244.1.2/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n kubia-79cb56dd65-fl2vh -batch - <<'EOF'
link set lo up
addr add 10.244.1.3/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n client -batch - <<'EOF'
link set lo up
addr add 10.244.1.4/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n node2 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0c
addr add 192.168.56.12/24 dev eth0
link set eth0 up
link set vethbcefd2a6 master cni0
link set vethbcefd2a6 type bridge_slave hairpin on
link set vethbcefd2a6 up
link set vethed5acfe8 master cni0
link set vethed5acfe8 type bridge_slave hairpin on
link set vethed5acfe8 up
route add default via 192.168.56.1
EOF
ip -n kubia-79cb56dd65-x779f -batch - <<'EOF'
link set lo up
addr add 10.244.2.2/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n stranger -batch - <<'EOF'
link set lo up
addr add 10.244.2.3/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n node3 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0d
addr add 192.168.56.13/24 dev eth0
link set eth0 up
link set veth01a4b01c master cni0
link set veth01a4b01c type bridge_slave hairpin on
link set veth01a4b01c up
link set veth5c13c759 master cni0
link set veth5c13c759 type bridge_slave hairpin on
link set veth5c13c759 up
route add default via 192.168.56.1
EOF
ip -n coredns-5855c5f55-tmxk6 -batch - <<'EOF'
link set lo up
addr add 10.244.3.2/24 dev eth0
link set eth0 up
route add default via 10.244.3.1
route add 10.244.0.0/16 via 10.244.3.1 dev eth0
EOF
ip -n kubia-79cb56dd65-g2x5p -batch - <<'EOF'
link set lo up
addr add 10.244.3.3/24 dev eth0
link set eth0 up
route add default via 10.244.3.1
route add 10.244.0.0/16 via 10.244.3.1 dev eth0
EOF
ip -n upstream -batch - <<'EOF'
link set lo up
addr add 192.168.56.53/24 dev eth0
link set eth0 up
route add default via 192.168.56.1
EOF

# 6. flanneld: take a subnet lease and write subnet.env
#    Each node's flanneld leases one subnet of the cluster network 10.244.0.0/16 (under
#    --kube-subnet-mgr: the node's spec.podCIDR) and writes /run/flannel/subnet.env, which the
#    flannel CNI plugin reads to configure cni0 and pod addresses. FLANNEL_SUBNET is the lease's
#    first usable address; FLANNEL_MTU is the vxlan backend's MTU (1450). Here each node's files live
#    in its own folder of the lab.
mkdir -p -m 0700 /run/knetlab/labs/dns-service/node1/run/flannel /run/knetlab/labs/dns-service/node2/run/flannel /run/knetlab/labs/dns-service/node3/run/flannel
tee /run/knetlab/labs/dns-service/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/dns-service/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/dns-service/node2/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.2.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/dns-service/node3/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.3.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF

# 7. flanneld: create the VXLAN device flannel.1
#    flannel.1 is a VXLAN tunnel endpoint: VNI 1, the kernel's default port 8472, source address the
#    node IP on eth0, learning off (flanneld programs every entry itself), MTU 1450 (eth0's 1500
#    minus 50 bytes of outer IP, UDP and VXLAN headers and inner Ethernet). Its address is the
#    lease's network address as a /32, so no subnet route or broadcast route appears for it.
ip -n node1 -batch - <<'EOF'
link add flannel.1 address fa:37:c3:7e:94:9d mtu 1450 type vxlan id 1 local 192.168.56.11 dev eth0 dstport 8472 nolearning
addr add 10.244.1.0/32 dev flannel.1
link set flannel.1 up
EOF
ip -n node2 -batch - <<'EOF'
link add flannel.1 address 2e:bf:44:a6:8b:77 mtu 1450 type vxlan id 1 local 192.168.56.12 dev eth0 dstport 8472 nolearning
addr add 10.244.2.0/32 dev flannel.1
link set flannel.1 up
EOF
ip -n node3 -batch - <<'EOF'
link add flannel.1 address a6:6f:e0:c4:da:b0 mtu 1450 type vxlan id 1 local 192.168.56.13 dev eth0 dstport 8472 nolearning
addr add 10.244.3.0/32 dev flannel.1
link set flannel.1 up
EOF

# 8. flanneld: teach flannel.1 every remote node (neighbour and FDB entries)
#    For each remote node's lease flanneld adds, in this order, a permanent neighbour entry (the
#    remote lease's network address → the remote flannel.1 MAC) and a permanent FDB entry (that MAC →
#    the remote node's IP on the underlay). The inner frame is addressed with the first, the outer
#    UDP packet with the second: one ARP and one FDB entry per remote host, no L2/L3-miss callouts.
ip -n node1 neigh add 10.244.2.0 lladdr 2e:bf:44:a6:8b:77 dev flannel.1 nud permanent
ip -n node1 neigh add 10.244.3.0 lladdr a6:6f:e0:c4:da:b0 dev flannel.1 nud permanent
bridge -n node1 fdb append 2e:bf:44:a6:8b:77 dev flannel.1 dst 192.168.56.12 self permanent
bridge -n node1 fdb append a6:6f:e0:c4:da:b0 dev flannel.1 dst 192.168.56.13 self permanent
ip -n node2 neigh add 10.244.1.0 lladdr fa:37:c3:7e:94:9d dev flannel.1 nud permanent
ip -n node2 neigh add 10.244.3.0 lladdr a6:6f:e0:c4:da:b0 dev flannel.1 nud permanent
bridge -n node2 fdb append fa:37:c3:7e:94:9d dev flannel.1 dst 192.168.56.11 self permanent
bridge -n node2 fdb append a6:6f:e0:c4:da:b0 dev flannel.1 dst 192.168.56.13 self permanent
ip -n node3 neigh add 10.244.1.0 lladdr fa:37:c3:7e:94:9d dev flannel.1 nud permanent
ip -n node3 neigh add 10.244.2.0 lladdr 2e:bf:44:a6:8b:77 dev flannel.1 nud permanent
bridge -n node3 fdb append fa:37:c3:7e:94:9d dev flannel.1 dst 192.168.56.11 self permanent
bridge -n node3 fdb append 2e:bf:44:a6:8b:77 dev flannel.1 dst 192.168.56.12 self permanent

# 9. flanneld: route every remote subnet through flannel.1
#    The route goes last, so the kernel never has to ARP for the gateway: "<remote subnet> via
#    <remote lease address> dev flannel.1 onlink". onlink because 10.244.x.0 is on no connected
#    subnet of flannel.1 (its own address is a /32).
ip -n node1 route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink
ip -n node1 route add 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink
ip -n node2 route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink
ip -n node2 route add 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink
ip -n node3 route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink
ip -n node3 route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink

# 10. flanneld: masquerade and forward rules
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
ip netns exec node3 iptables-restore --noflush <<'EOF'
*nat
:FLANNEL-POSTRTG - [0:0]
-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.3.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.3.0/24 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.3.0/24 -m comment --comment "flanneld masq" -j RETURN
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

# 11. Write the server configuration
#    Every server is a real nginx (one master, one worker) answering each request with JSON: its pod
#    name, its node, the address it answered on and the client address it saw. That last field is how
#    the checks see NAT. All servers share one configuration: nginx maps the address a request
#    arrived on to the pod that owns it.
mkdir -p -m 0700 /run/knetlab/labs/dns-service
tee /run/knetlab/labs/dns-service/nginx-8080.conf >/dev/null <<'EOF'
# knetlab echo servers on port 8080: kubia-79cb56dd65-fl2vh, kubia-79cb56dd65-x779f, kubia-79cb56dd65-g2x5p
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.3 kubia-79cb56dd65-fl2vh;
        10.244.2.2 kubia-79cb56dd65-x779f;
        10.244.3.3 kubia-79cb56dd65-g2x5p;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.3 node1;
        10.244.2.2 node2;
        10.244.3.3 node3;
    }
    server {
        listen 8080;
        default_type application/json;
        client_max_body_size 0;
        location / {
            return 200 '{"pod":"$knetlab_pod","node":"$knetlab_node","ip":"$server_addr","client":"$remote_addr","uri":"$request_uri","host":"$http_host","forwardedFor":"$http_x_forwarded_for"}\n';
        }
    }
}
EOF
tee /run/knetlab/labs/dns-service/nginx-80.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: client, stranger
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/dns-service/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.4 client;
        10.244.2.3 stranger;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.4 node1;
        10.244.2.3 node2;
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

# 12. Start the servers
#    "ip netns exec" runs nginx inside the namespace, so it listens on that namespace's addresses
#    only. nginx daemonizes and writes its PID file; knetlab records the PID and stops exactly that
#    process on down. Many servers are started through one xargs, a few at a time.
ip netns exec kubia-79cb56dd65-fl2vh nginx -c /run/knetlab/labs/dns-service/nginx-8080.conf -g 'pid /run/knetlab/labs/dns-service/kubia-79cb56dd65-fl2vh.nginx.pid; error_log /run/knetlab/labs/dns-service/kubia-79cb56dd65-fl2vh.error.log warn;'
ip netns exec client nginx -c /run/knetlab/labs/dns-service/nginx-80.conf -g 'pid /run/knetlab/labs/dns-service/client.nginx.pid; error_log /run/knetlab/labs/dns-service/client.error.log warn;'
ip netns exec kubia-79cb56dd65-x779f nginx -c /run/knetlab/labs/dns-service/nginx-8080.conf -g 'pid /run/knetlab/labs/dns-service/kubia-79cb56dd65-x779f.nginx.pid; error_log /run/knetlab/labs/dns-service/kubia-79cb56dd65-x779f.error.log warn;'
ip netns exec stranger nginx -c /run/knetlab/labs/dns-service/nginx-80.conf -g 'pid /run/knetlab/labs/dns-service/stranger.nginx.pid; error_log /run/knetlab/labs/dns-service/stranger.error.log warn;'
ip netns exec kubia-79cb56dd65-g2x5p nginx -c /run/knetlab/labs/dns-service/nginx-8080.conf -g 'pid /run/knetlab/labs/dns-service/kubia-79cb56dd65-g2x5p.nginx.pid; error_log /run/knetlab/labs/dns-service/kubia-79cb56dd65-g2x5p.error.log warn;'

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/dns-service/cluster
mkdir -p -m 0711 /run/knetlab/labs/dns-service/unready
tee /run/knetlab/labs/dns-service/cluster/state.json >/dev/null <<'EOF'
{
  "generation": 1,
  "clusterCIDR": "10.244.0.0/16",
  "serviceCIDR": "10.96.0.0/12",
  "nodes": [
    {
      "name": "node1",
      "address": "192.168.56.11",
      "netns": "node1",
      "podCIDR": "10.244.1.0/24"
    },
    {
      "name": "node2",
      "address": "192.168.56.12",
      "netns": "node2",
      "podCIDR": "10.244.2.0/24"
    },
    {
      "name": "node3",
      "address": "192.168.56.13",
      "netns": "node3",
      "podCIDR": "10.244.3.0/24"
    }
  ],
  "lbPool": [],
  "kubeProxy": {
    "mode": "iptables",
    "clusterCIDR": null,
    "detectLocalMode": "ClusterCIDR",
    "detectLocal": {
      "bridgeInterface": "",
      "interfaceNamePrefix": ""
    },
    "nodePortAddresses": [],
    "healthzBindAddress": "0.0.0.0:10256",
    "iptables": {
      "masqueradeAll": false,
      "masqueradeBit": 14,
      "localhostNodePorts": true,
      "syncPeriodMs": 30000,
      "minSyncPeriodMs": 1000
    },
    "ipvs": {
      "scheduler": "",
      "strictARP": false,
      "syncPeriodMs": 30000,
      "minSyncPeriodMs": 0,
      "excludeCIDRs": [],
      "tcpTimeoutMs": 0,
      "tcpFinTimeoutMs": 0,
      "udpTimeoutMs": 0
    },
    "nftables": {
      "masqueradeAll": false,
      "masqueradeBit": 14,
      "syncPeriodMs": 30000,
      "minSyncPeriodMs": 1000
    },
    "conntrack": {
      "maxPerCore": 32768,
      "min": 131072,
      "tcpEstablishedTimeoutMs": 86400000,
      "tcpCloseWaitTimeoutMs": 3600000,
      "tcpBeLiberal": false,
      "udpTimeoutMs": 0,
      "udpStreamTimeoutMs": 0
    }
  },
  "state": {
    "pods": [
      {
        "meta": {
          "name": "coredns-5855c5f55-tmxk6",
          "namespace": "kube-system",
          "labels": {
            "k8s-app": "kube-dns",
            "pod-template-hash": "5855c5f55"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "bd245468-9be3-4564-b8c6-3bfdce53be9d"
        },
        "nodeName": "node3",
        "podIP": "10.244.3.2",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "Default",
        "dnsConfig": null,
        "containers": [
          {
            "name": "coredns",
            "image": "registry.k8s.io/coredns/coredns:v1.11.3",
            "ports": [
              {
                "name": "dns",
                "containerPort": 53,
                "protocol": "UDP"
              },
              {
                "name": "dns-tcp",
                "containerPort": 53,
                "protocol": "TCP"
              },
              {
                "name": "metrics",
                "containerPort": 9153,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/coredns",
        "replicaSet": "coredns-5855c5f55",
        "ready": true
      },
      {
        "meta": {
          "name": "coredns-5855c5f55-5rhzq",
          "namespace": "kube-system",
          "labels": {
            "k8s-app": "kube-dns",
            "pod-template-hash": "5855c5f55"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "022ba7ae-01d1-4348-9d3b-49dfcc2fd679"
        },
        "nodeName": "node1",
        "podIP": "10.244.1.2",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "Default",
        "dnsConfig": null,
        "containers": [
          {
            "name": "coredns",
            "image": "registry.k8s.io/coredns/coredns:v1.11.3",
            "ports": [
              {
                "name": "dns",
                "containerPort": 53,
                "protocol": "UDP"
              },
              {
                "name": "dns-tcp",
                "containerPort": 53,
                "protocol": "TCP"
              },
              {
                "name": "metrics",
                "containerPort": 9153,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/coredns",
        "replicaSet": "coredns-5855c5f55",
        "ready": true
      },
      {
        "meta": {
          "name": "kubia-79cb56dd65-x779f",
          "namespace": "default",
          "labels": {
            "app": "kubia",
            "pod-template-hash": "79cb56dd65"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "a2cf4d5d-0ff1-4cd6-a3f9-f70dbb565bb8"
        },
        "nodeName": "node2",
        "podIP": "10.244.2.2",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "kubia",
            "image": "luksa/kubia",
            "ports": [
              {
                "name": "http",
                "containerPort": 8080,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/kubia",
        "replicaSet": "kubia-79cb56dd65",
        "ready": true
      },
      {
        "meta": {
          "name": "kubia-79cb56dd65-g2x5p",
          "namespace": "default",
          "labels": {
            "app": "kubia",
            "pod-template-hash": "79cb56dd65"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "e9cded40-a266-432d-9b89-c9bb434bdf51"
        },
        "nodeName": "node3",
        "podIP": "10.244.3.3",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "kubia",
            "image": "luksa/kubia",
            "ports": [
              {
                "name": "http",
                "containerPort": 8080,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/kubia",
        "replicaSet": "kubia-79cb56dd65",
        "ready": true
      },
      {
        "meta": {
          "name": "kubia-79cb56dd65-fl2vh",
          "namespace": "default",
          "labels": {
            "app": "kubia",
            "pod-template-hash": "79cb56dd65"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "aedcd6e6-299c-43ac-b1ad-b94940ffc0d4"
        },
        "nodeName": "node1",
        "podIP": "10.244.1.3",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "kubia",
            "image": "luksa/kubia",
            "ports": [
              {
                "name": "http",
                "containerPort": 8080,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/kubia",
        "replicaSet": "kubia-79cb56dd65",
        "ready": true
      },
      {
        "meta": {
          "name": "client",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "a2a7b1c8-d9d8-40e6-98b7-4a68fcf5cd07"
        },
        "nodeName": "node1",
        "podIP": "10.244.1.4",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "client",
            "image": "busybox:1.28",
            "ports": [],
            "readinessProbe": null
          }
        ],
        "owner": null,
        "replicaSet": null,
        "ready": true
      },
      {
        "meta": {
          "name": "stranger",
          "namespace": "other",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "bd5c62ef-db24-4f66-9f56-ef71fc501a93"
        },
        "nodeName": "node2",
        "podIP": "10.244.2.3",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "client",
            "image": "busybox:1.28",
            "ports": [],
            "readinessProbe": null
          }
        ],
        "owner": null,
        "replicaSet": null,
        "ready": true
      }
    ],
    "deployments": [
      {
        "meta": {
          "name": "coredns",
          "namespace": "kube-system",
          "labels": {
            "k8s-app": "kube-dns"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "95d43232-1b99-49e2-b9d0-55ef85d69194"
        },
        "replicas": 2,
        "selector": {
          "k8s-app": "kube-dns"
        },
        "template": {
          "labels": {
            "k8s-app": "kube-dns"
          },
          "containers": [
            {
              "name": "coredns",
              "image": "registry.k8s.io/coredns/coredns:v1.11.3",
              "ports": [
                {
                  "name": "dns",
                  "containerPort": 53,
                  "protocol": "UDP"
                },
                {
                  "name": "dns-tcp",
                  "containerPort": 53,
                  "protocol": "TCP"
                },
                {
                  "name": "metrics",
                  "containerPort": 9153,
                  "protocol": "TCP"
                }
              ],
              "readinessProbe": null
            }
          ],
          "nodeName": null
        },
        "templateHash": "5855c5f55"
      },
      {
        "meta": {
          "name": "kubia",
          "namespace": "default",
          "labels": {
            "app": "kubia"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "4fdba253-2825-455a-b214-b8340076d40d"
        },
        "replicas": 3,
        "selector": {
          "app": "kubia"
        },
        "template": {
          "labels": {
            "app": "kubia"
          },
          "containers": [
            {
              "name": "kubia",
              "image": "luksa/kubia",
              "ports": [
                {
                  "name": "http",
                  "containerPort": 8080,
                  "protocol": "TCP"
                }
              ],
              "readinessProbe": null
            }
          ],
          "nodeName": null
        },
        "templateHash": "79cb56dd65"
      }
    ],
    "services": [
      {
        "meta": {
          "name": "kube-dns",
          "namespace": "kube-system",
          "labels": {
            "k8s-app": "kube-dns",
            "kubernetes.io/cluster-service": "true",
            "kubernetes.io/name": "CoreDNS"
          },
          "annotations": {
            "prometheus.io/port": "9153",
            "prometheus.io/scrape": "true"
          },
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "53f39f54-e937-40be-ac93-f1a18f75bef5"
        },
        "type": "ClusterIP",
        "clusterIP": "10.96.0.10",
        "ports": [
          {
            "name": "dns",
            "protocol": "UDP",
            "port": 53,
            "targetPort": 53,
            "nodePort": null
          },
          {
            "name": "dns-tcp",
            "protocol": "TCP",
            "port": 53,
            "targetPort": 53,
            "nodePort": null
          },
          {
            "name": "metrics",
            "protocol": "TCP",
            "port": 9153,
            "targetPort": 9153,
            "nodePort": null
          }
        ],
        "selector": {
          "k8s-app": "kube-dns"
        },
        "sessionAffinity": "None",
        "affinityTimeoutSeconds": 10800,
        "externalTrafficPolicy": "Cluster",
        "internalTrafficPolicy": "Cluster",
        "externalIPs": [],
        "loadBalancerIP": null,
        "loadBalancerSourceRanges": [],
        "publishNotReadyAddresses": false,
        "healthCheckNodePort": null,
        "externalName": null,
        "loadBalancerIngress": []
      },
      {
        "meta": {
          "name": "kubia",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "cad144b2-f607-413f-a3e8-bd1420dc2f6d"
        },
        "type": "ClusterIP",
        "clusterIP": "10.99.166.60",
        "ports": [
          {
            "name": "http",
            "protocol": "TCP",
            "port": 80,
            "targetPort": 8080,
            "nodePort": null
          }
        ],
        "selector": {
          "app": "kubia"
        },
        "sessionAffinity": "None",
        "affinityTimeoutSeconds": 10800,
        "externalTrafficPolicy": "Cluster",
        "internalTrafficPolicy": "Cluster",
        "externalIPs": [],
        "loadBalancerIP": null,
        "loadBalancerSourceRanges": [],
        "publishNotReadyAddresses": false,
        "healthCheckNodePort": null,
        "externalName": null,
        "loadBalancerIngress": []
      }
    ],
    "slices": [
      {
        "meta": {
          "name": "kube-dns-xzj8f",
          "namespace": "kube-system",
          "labels": {
            "kubernetes.io/service-name": "kube-dns",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "55ae7ade-99c7-4e32-9a9d-ee78fddfb5ac"
        },
        "service": "kube-dns",
        "ports": [
          {
            "name": "dns",
            "port": 53,
            "protocol": "UDP"
          },
          {
            "name": "dns-tcp",
            "port": 53,
            "protocol": "TCP"
          },
          {
            "name": "metrics",
            "port": 9153,
            "protocol": "TCP"
          }
        ],
        "endpoints": [
          {
            "address": "10.244.1.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node1",
            "pod": "coredns-5855c5f55-5rhzq"
          },
          {
            "address": "10.244.3.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node3",
            "pod": "coredns-5855c5f55-tmxk6"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      },
      {
        "meta": {
          "name": "kubia-wnzbh",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "kubia",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "19334b90-a7ff-4ee1-a788-3a1ec34e6890"
        },
        "service": "kubia",
        "ports": [
          {
            "name": "http",
            "port": 8080,
            "protocol": "TCP"
          }
        ],
        "endpoints": [
          {
            "address": "10.244.1.3",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node1",
            "pod": "kubia-79cb56dd65-fl2vh"
          },
          {
            "address": "10.244.3.3",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node3",
            "pod": "kubia-79cb56dd65-g2x5p"
          },
          {
            "address": "10.244.2.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "kubia-79cb56dd65-x779f"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      }
    ]
  }
}
EOF
tee /run/knetlab/labs/dns-service/cluster/objects.yaml >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
spec:
  replicas: 2
  selector:
    matchLabels:
      k8s-app: kube-dns
  template:
    metadata:
      labels:
        k8s-app: kube-dns
    spec:
      dnsPolicy: Default
      containers:
        - name: coredns
          image: registry.k8s.io/coredns/coredns:v1.11.3
          ports:
            - name: dns
              containerPort: 53
              protocol: UDP
            - name: dns-tcp
              containerPort: 53
              protocol: TCP
            - name: metrics
              containerPort: 9153
              protocol: TCP
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
    kubernetes.io/cluster-service: "true"
    kubernetes.io/name: CoreDNS
  annotations:
    prometheus.io/port: "9153"
    prometheus.io/scrape: "true"
spec:
  selector:
    k8s-app: kube-dns
  clusterIP: 10.96.0.10
  ports:
    - name: dns
      port: 53
      protocol: UDP
      targetPort: 53
    - name: dns-tcp
      port: 53
      protocol: TCP
      targetPort: 53
    - name: metrics
      port: 9153
      protocol: TCP
      targetPort: 9153
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kubia
  labels:
    app: kubia
spec:
  replicas: 3
  selector:
    matchLabels:
      app: kubia
  template:
    metadata:
      labels:
        app: kubia
    spec:
      containers:
        - name: kubia
          image: luksa/kubia
          ports:
            - name: http
              containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: kubia
spec:
  clusterIP: 10.99.166.60
  selector:
    app: kubia
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  nodeName: node1
  containers:
    - name: client
      image: busybox:1.28
---
apiVersion: v1
kind: Pod
metadata:
  name: stranger
  namespace: other
spec:
  nodeName: node2
  containers:
    - name: client
      image: busybox:1.28
EOF
tee /run/knetlab/labs/dns-service/cluster/events.jsonl >/dev/null <<'EOF'
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/coredns","namespace":"kube-system","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set coredns-5855c5f55 from 0 to 2"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/coredns-5855c5f55","namespace":"kube-system","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: coredns-5855c5f55-tmxk6"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/coredns-5855c5f55","namespace":"kube-system","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: coredns-5855c5f55-5rhzq"}
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/kubia","namespace":"default","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set kubia-79cb56dd65 from 0 to 3"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/kubia-79cb56dd65","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: kubia-79cb56dd65-x779f"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/kubia-79cb56dd65","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: kubia-79cb56dd65-g2x5p"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/kubia-79cb56dd65","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: kubia-79cb56dd65-fl2vh"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/coredns-5855c5f55-tmxk6","namespace":"kube-system","type":"Normal","reason":"Scheduled","message":"Successfully assigned kube-system/coredns-5855c5f55-tmxk6 to node3"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/coredns-5855c5f55-5rhzq","namespace":"kube-system","type":"Normal","reason":"Scheduled","message":"Successfully assigned kube-system/coredns-5855c5f55-5rhzq to node1"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/kubia-79cb56dd65-x779f","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/kubia-79cb56dd65-x779f to node2"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/kubia-79cb56dd65-g2x5p","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/kubia-79cb56dd65-g2x5p to node3"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/kubia-79cb56dd65-fl2vh","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/kubia-79cb56dd65-fl2vh to node1"}
EOF

# 14. kube-proxy: hook its chains into the built-in ones and set its sysctls
#    kube-proxy (iptables mode) starts by ensuring the jumps from the built-in chains to its own: nat
#    PREROUTING and OUTPUT → KUBE-SERVICES, POSTROUTING → KUBE-POSTROUTING, and the filter jumps
#    (INPUT, FORWARD, OUTPUT), plus the KUBE-PROXY-CANARY chains it watches to notice a flush. Only
#    what is missing is added, so a restart neither flushes its chains nor stacks duplicate jumps.
#    Then kube-proxy sets the sysctls its configuration asks for in the node's network namespace:
#    net.ipv4.conf.all.route_localnet=1 when NodePorts answer on 127.0.0.1
#    (iptables.localhostNodePorts, on by default; without it the kernel drops packets to 127.0.0.0/8
#    that are routed anywhere but lo), and the conntrack timeouts (conntrack.tcpEstablishedTimeout is
#    24h unless set, tcpCloseWaitTimeout 1h). Each node's kube-proxy also gets its configuration
#    file.
tee /run/knetlab/labs/dns-service/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/dns-service/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/dns-service/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/dns-service/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/dns-service/cluster/kube-proxy-node1.log"
}
EOF
ip netns exec node1 iptables-restore --noflush <<'EOF'
*mangle
:KUBE-PROXY-CANARY - [0:0]
COMMIT
*nat
:KUBE-PROXY-CANARY - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
-I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
*filter
:KUBE-PROXY-CANARY - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-I INPUT 1 -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I INPUT 1 -j KUBE-FIREWALL
-I OUTPUT 1 -j KUBE-FIREWALL
COMMIT
EOF
ip netns exec node1 sysctl -q -w net.ipv4.conf.all.route_localnet=1 net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600
tee /run/knetlab/labs/dns-service/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/dns-service/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/dns-service/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/dns-service/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/dns-service/cluster/kube-proxy-node2.log"
}
EOF
ip netns exec node2 iptables-restore --noflush <<'EOF'
*mangle
:KUBE-PROXY-CANARY - [0:0]
COMMIT
*nat
:KUBE-PROXY-CANARY - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
-I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
*filter
:KUBE-PROXY-CANARY - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-I INPUT 1 -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I INPUT 1 -j KUBE-FIREWALL
-I OUTPUT 1 -j KUBE-FIREWALL
COMMIT
EOF
ip netns exec node2 sysctl -q -w net.ipv4.conf.all.route_localnet=1 net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600
tee /run/knetlab/labs/dns-service/cluster/kube-proxy-node3.json >/dev/null <<'EOF'
{
  "node": "node3",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/dns-service/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/dns-service/cluster/kube-proxy-node3.synced",
  "pidfile": "/run/knetlab/labs/dns-service/cluster/kube-proxy-node3.pid",
  "log": "/run/knetlab/labs/dns-service/cluster/kube-proxy-node3.log"
}
EOF
ip netns exec node3 iptables-restore --noflush <<'EOF'
*mangle
:KUBE-PROXY-CANARY - [0:0]
COMMIT
*nat
:KUBE-PROXY-CANARY - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
-I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
*filter
:KUBE-PROXY-CANARY - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-I INPUT 1 -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I INPUT 1 -j KUBE-FIREWALL
-I OUTPUT 1 -j KUBE-FIREWALL
COMMIT
EOF
ip netns exec node3 sysctl -q -w net.ipv4.conf.all.route_localnet=1 net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600

# 15. kube-proxy: the first sync on every node
#    Then kube-proxy writes every Service at once with one iptables-restore --noflush --counters:
#    KUBE-SERVICES matches each ClusterIP:port and jumps to a KUBE-SVC chain, which picks an endpoint
#    with "statistic mode random" (probability 1/n, then 1/(n-1), …) and jumps to its KUBE-SEP chain,
#    which DNATs to the pod. KUBE-MARK-MASQ marks packets that must be masqueraded on the way out
#    (KUBE-POSTROUTING). Chain names end in a hash of the service port (and endpoint), exactly as
#    kube-proxy names them.
ip netns exec node1 iptables-restore --noflush --counters <<'EOF'
*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-4LEAQQBWDM4SV2YZ - [0:0]
:KUBE-SEP-CX5KOKFV6NEEKEFC - [0:0]
:KUBE-SEP-QDNVJB3AXJGTAKNS - [0:0]
:KUBE-SEP-ZHYI6AVFJ5L47C5R - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-Z6M7ZHWCTBNMPLD7 - [0:0]
:KUBE-SEP-HXPOF6YGQ7G4KTYC - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-BWHGELGX6BITPZVO - [0:0]
:KUBE-SEP-4Q54R6TA6JE3WQSH - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-HK254EL4IH3TTFBT - [0:0]
:KUBE-SEP-5QM5R4ZDC2QS2NBI - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.99.166.60 --dport 80 -j KUBE-SVC-4LEAQQBWDM4SV2YZ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.99.166.60 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.1.3:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-CX5KOKFV6NEEKEFC
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.2.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-QDNVJB3AXJGTAKNS
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.3.3:8080" -j KUBE-SEP-ZHYI6AVFJ5L47C5R
-A KUBE-SEP-CX5KOKFV6NEEKEFC -m comment --comment default/kubia:http -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-CX5KOKFV6NEEKEFC -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
-A KUBE-SEP-ZHYI6AVFJ5L47C5R -m comment --comment default/kubia:http -s 10.244.3.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-ZHYI6AVFJ5L47C5R -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.3.3:8080
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-Z6M7ZHWCTBNMPLD7
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.3.2:53" -j KUBE-SEP-HXPOF6YGQ7G4KTYC
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-HXPOF6YGQ7G4KTYC -m comment --comment kube-system/kube-dns:dns -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-HXPOF6YGQ7G4KTYC -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.3.2:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-BWHGELGX6BITPZVO
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.3.2:53" -j KUBE-SEP-4Q54R6TA6JE3WQSH
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-4Q54R6TA6JE3WQSH -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-4Q54R6TA6JE3WQSH -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.2:9153" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-HK254EL4IH3TTFBT
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.3.2:9153" -j KUBE-SEP-5QM5R4ZDC2QS2NBI
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:9153
-A KUBE-SEP-5QM5R4ZDC2QS2NBI -m comment --comment kube-system/kube-dns:metrics -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-5QM5R4ZDC2QS2NBI -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:9153
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
COMMIT
EOF
ip netns exec node2 iptables-restore --noflush --counters <<'EOF'
*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-4LEAQQBWDM4SV2YZ - [0:0]
:KUBE-SEP-CX5KOKFV6NEEKEFC - [0:0]
:KUBE-SEP-QDNVJB3AXJGTAKNS - [0:0]
:KUBE-SEP-ZHYI6AVFJ5L47C5R - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-Z6M7ZHWCTBNMPLD7 - [0:0]
:KUBE-SEP-HXPOF6YGQ7G4KTYC - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-BWHGELGX6BITPZVO - [0:0]
:KUBE-SEP-4Q54R6TA6JE3WQSH - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-HK254EL4IH3TTFBT - [0:0]
:KUBE-SEP-5QM5R4ZDC2QS2NBI - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.99.166.60 --dport 80 -j KUBE-SVC-4LEAQQBWDM4SV2YZ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.99.166.60 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.1.3:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-CX5KOKFV6NEEKEFC
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.2.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-QDNVJB3AXJGTAKNS
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.3.3:8080" -j KUBE-SEP-ZHYI6AVFJ5L47C5R
-A KUBE-SEP-CX5KOKFV6NEEKEFC -m comment --comment default/kubia:http -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-CX5KOKFV6NEEKEFC -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
-A KUBE-SEP-ZHYI6AVFJ5L47C5R -m comment --comment default/kubia:http -s 10.244.3.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-ZHYI6AVFJ5L47C5R -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.3.3:8080
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-Z6M7ZHWCTBNMPLD7
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.3.2:53" -j KUBE-SEP-HXPOF6YGQ7G4KTYC
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-HXPOF6YGQ7G4KTYC -m comment --comment kube-system/kube-dns:dns -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-HXPOF6YGQ7G4KTYC -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.3.2:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-BWHGELGX6BITPZVO
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.3.2:53" -j KUBE-SEP-4Q54R6TA6JE3WQSH
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-4Q54R6TA6JE3WQSH -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-4Q54R6TA6JE3WQSH -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.2:9153" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-HK254EL4IH3TTFBT
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.3.2:9153" -j KUBE-SEP-5QM5R4ZDC2QS2NBI
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:9153
-A KUBE-SEP-5QM5R4ZDC2QS2NBI -m comment --comment kube-system/kube-dns:metrics -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-5QM5R4ZDC2QS2NBI -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:9153
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
COMMIT
EOF
ip netns exec node3 iptables-restore --noflush --counters <<'EOF'
*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-4LEAQQBWDM4SV2YZ - [0:0]
:KUBE-SEP-CX5KOKFV6NEEKEFC - [0:0]
:KUBE-SEP-QDNVJB3AXJGTAKNS - [0:0]
:KUBE-SEP-ZHYI6AVFJ5L47C5R - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-Z6M7ZHWCTBNMPLD7 - [0:0]
:KUBE-SEP-HXPOF6YGQ7G4KTYC - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-BWHGELGX6BITPZVO - [0:0]
:KUBE-SEP-4Q54R6TA6JE3WQSH - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-HK254EL4IH3TTFBT - [0:0]
:KUBE-SEP-5QM5R4ZDC2QS2NBI - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.99.166.60 --dport 80 -j KUBE-SVC-4LEAQQBWDM4SV2YZ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.99.166.60 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.1.3:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-CX5KOKFV6NEEKEFC
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.2.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-QDNVJB3AXJGTAKNS
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.3.3:8080" -j KUBE-SEP-ZHYI6AVFJ5L47C5R
-A KUBE-SEP-CX5KOKFV6NEEKEFC -m comment --comment default/kubia:http -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-CX5KOKFV6NEEKEFC -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
-A KUBE-SEP-ZHYI6AVFJ5L47C5R -m comment --comment default/kubia:http -s 10.244.3.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-ZHYI6AVFJ5L47C5R -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.3.3:8080
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-Z6M7ZHWCTBNMPLD7
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.3.2:53" -j KUBE-SEP-HXPOF6YGQ7G4KTYC
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-HXPOF6YGQ7G4KTYC -m comment --comment kube-system/kube-dns:dns -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-HXPOF6YGQ7G4KTYC -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.3.2:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-BWHGELGX6BITPZVO
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.3.2:53" -j KUBE-SEP-4Q54R6TA6JE3WQSH
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-4Q54R6TA6JE3WQSH -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-4Q54R6TA6JE3WQSH -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.2:9153" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-HK254EL4IH3TTFBT
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.3.2:9153" -j KUBE-SEP-5QM5R4ZDC2QS2NBI
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:9153
-A KUBE-SEP-5QM5R4ZDC2QS2NBI -m comment --comment kube-system/kube-dns:metrics -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-5QM5R4ZDC2QS2NBI -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:9153
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
COMMIT
EOF

# 16. Start kube-proxy on every node
#    From here on kube-proxy keeps the rules in step with the API: on every change it recomputes the
#    whole ruleset and writes it with one iptables-restore (deleting the chains of Services and
#    endpoints that went away). It also answers on :10256/healthz and, for LoadBalancer Services with
#    externalTrafficPolicy Local, on their healthCheckNodePort: 200 while the node has a ready local
#    endpoint, 503 otherwise. Here kube-proxy is knetlab's own TypeScript daemon; the rules it writes
#    are kube-proxy's.
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/dns-service/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/dns-service/cluster/kube-proxy-node2.json
ip netns exec node3 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/dns-service/cluster/kube-proxy-node3.json

# 17. Cluster DNS: the upstream resolver outside the cluster
#    CoreDNS forwards every name outside cluster.local to the node's resolver (kubeadm's Corefile:
#    forward . /etc/resolv.conf). Here that resolver is dnsmasq in the namespace "upstream" on the
#    underlay (192.168.56.53), answering the lab's external names and NXDOMAIN for anything else, so
#    no query leaves the lab.
mkdir -p -m 0700 /run/knetlab/labs/dns-service/cluster
ip netns exec upstream dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --no-poll --listen-address=192.168.56.53 --bind-interfaces '--local=/#/' --local-ttl=60 --pid-file=/run/knetlab/labs/dns-service/cluster/upstream-dnsmasq.pid

# 18. The kubelet writes every pod's resolv.conf
#    dnsPolicy ClusterFirst (the default): nameserver 10.96.0.10 (the kube-dns Service), the search
#    path <namespace>.svc.cluster.local svc.cluster.local cluster.local, options ndots:5. The CoreDNS
#    pods themselves have dnsPolicy Default, as kubeadm deploys them: the node's resolver. Nodes and
#    machines outside the cluster use the upstream resolver. ip netns exec bind-mounts
#    /etc/netns/<namespace>/resolv.conf over /etc/resolv.conf, so every command run in the namespace
#    (dig, curl, nslookup) reads it.
mkdir -p -m 0755 /etc/netns/node1 /etc/netns/coredns-5855c5f55-5rhzq /etc/netns/kubia-79cb56dd65-fl2vh /etc/netns/client /etc/netns/node2 /etc/netns/kubia-79cb56dd65-x779f /etc/netns/stranger /etc/netns/node3 /etc/netns/coredns-5855c5f55-tmxk6 /etc/netns/kubia-79cb56dd65-g2x5p /etc/netns/upstream
tee /etc/netns/node1/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/coredns-5855c5f55-5rhzq/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/kubia-79cb56dd65-fl2vh/resolv.conf >/dev/null <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
EOF
tee /etc/netns/client/resolv.conf >/dev/null <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
EOF
tee /etc/netns/node2/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/kubia-79cb56dd65-x779f/resolv.conf >/dev/null <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
EOF
tee /etc/netns/stranger/resolv.conf >/dev/null <<'EOF'
search other.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
EOF
tee /etc/netns/node3/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/coredns-5855c5f55-tmxk6/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/kubia-79cb56dd65-g2x5p/resolv.conf >/dev/null <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
EOF
tee /etc/netns/upstream/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF

# 19. Start CoreDNS in its pods
#    Each kube-system/coredns pod runs the cluster DNS server on UDP and TCP 53, answering as
#    CoreDNS's kubernetes plugin does with kubeadm's Corefile (kubernetes cluster.local in-addr.arpa
#    ip6.arpa, pods insecure, fallthrough for unknown reverse names, ttl 30) from the API contents it
#    watches, and forwarding everything else to 192.168.56.53. Clients reach it through the kube-dns
#    Service, 10.96.0.10:53, which kube-proxy DNATs to the pods. Here the server is knetlab's own
#    TypeScript daemon; its answers are CoreDNS's.
tee /run/knetlab/labs/dns-service/cluster/coredns-coredns-5855c5f55-tmxk6.json >/dev/null <<'EOF'
{
  "stateFile": "/run/knetlab/labs/dns-service/cluster/state.json",
  "domain": "cluster.local",
  "ttl": 30,
  "port": 53,
  "upstream": "192.168.56.53",
  "pidfile": "/run/knetlab/labs/dns-service/cluster/coredns-coredns-5855c5f55-tmxk6.pid",
  "log": "/run/knetlab/labs/dns-service/cluster/coredns-coredns-5855c5f55-tmxk6.log"
}
EOF
tee /run/knetlab/labs/dns-service/cluster/coredns-coredns-5855c5f55-5rhzq.json >/dev/null <<'EOF'
{
  "stateFile": "/run/knetlab/labs/dns-service/cluster/state.json",
  "domain": "cluster.local",
  "ttl": 30,
  "port": 53,
  "upstream": "192.168.56.53",
  "pidfile": "/run/knetlab/labs/dns-service/cluster/coredns-coredns-5855c5f55-5rhzq.pid",
  "log": "/run/knetlab/labs/dns-service/cluster/coredns-coredns-5855c5f55-5rhzq.log"
}
EOF
ip netns exec coredns-5855c5f55-tmxk6 node <knetlab>/dist/agent.js coredns --config /run/knetlab/labs/dns-service/cluster/coredns-coredns-5855c5f55-tmxk6.json
ip netns exec coredns-5855c5f55-5rhzq node <knetlab>/dist/agent.js coredns --config /run/knetlab/labs/dns-service/cluster/coredns-coredns-5855c5f55-5rhzq.json

# 20. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/dns-service/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/dns-service",
  "stateFile": "/run/knetlab/labs/dns-service/cluster/state.json",
  "pidfile": "/run/knetlab/labs/dns-service/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/dns-service/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/dns-service/cluster/controlplane.json

# 21. Look around
#    Read-only commands that show what the steps above built.
# What the kubelet wrote for dnsPolicy ClusterFirst (ip netns exec bind-mounts /etc/netns/<pod>/resolv.conf over /etc/resolv.conf): the kube-dns Service's address, the search path from the pod's namespace outwards, ndots:5.
ip netns exec client cat /etc/resolv.conf
# The seed's answer, as dig shows it: status NOERROR, flags qr aa rd (authoritative; no ra: CoreDNS's kubernetes plugin does not recurse), one A record with TTL 30 (kubeadm's Corefile).
ip netns exec client dig kubia.default.svc.cluster.local
# The search path walked: kubia has 0 dots (< ndots 5), so the resolver tries kubia.default.svc.cluster.local first, and it answers.
ip netns exec client dig +search +showsearch +noall +comments +answer kubia
# From namespace other: kubia.default.other.svc.cluster.local is NXDOMAIN (no namespace "default" under other… no Service kubia.default in other), then kubia.default.svc.cluster.local answers.
ip netns exec stranger dig +search +showsearch +noall +comments +answer kubia.default
# The ClusterIP's PTR record: kubia.default.svc.cluster.local.
ip netns exec client dig -x 10.99.166.60
# kube-dns is a Service like any other: UDP and TCP 53 of 10.96.0.10 jump to its KUBE-SVC chains, which DNAT to the two coredns pods.
ip netns exec node1 iptables -t nat -S KUBE-SERVICES

# 22. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# from default, the short name resolves through the first search domain
ip netns exec client dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia
# from default, svc.ns resolves too (kubia.default.default.svc.cluster.local is NXDOMAIN first)
ip netns exec client dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia.default
# the fully qualified name, asked as is
ip netns exec client dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia.default.svc.cluster.local.
# from another namespace, the short name does not resolve (kubia.other.svc.cluster.local does not exist)
ip netns exec stranger dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia
# from another namespace, kubia.default does
ip netns exec stranger dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia.default
# the named port http has an SRV record with the Service's port (80, not the targetPort 8080)
ip netns exec client dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t SRV _http._tcp.kubia.default.svc.cluster.local.
# the port is TCP, so _http._udp does not exist
ip netns exec client dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t SRV _http._udp.kubia.default.svc.cluster.local.
# the ClusterIP's PTR record names the Service (seed 004 §7.1)
ip netns exec client dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -x 10.99.166.60
# IPv4 only, so AAAA is NODATA (NOERROR, no records), not NXDOMAIN
ip netns exec client dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t AAAA kubia.default.svc.cluster.local.
# a Service that does not exist is NXDOMAIN, authoritative, with the zone's SOA
ip netns exec client dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A nosuch.default.svc.cluster.local.
# the schema version record
ip netns exec client dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t TXT dns-version.cluster.local.
# curl by the Service's short name, resolved by the pod's resolver, reaches a kubia pod
ip netns exec client curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://kubia/
# kube-dns also takes TCP on port 53, through its dns-tcp port
ip netns exec stranger nc -z -v -w 1 10.96.0.10 53

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/dns-service/kubia-79cb56dd65-fl2vh.nginx.pid
# pkill -F /run/knetlab/labs/dns-service/client.nginx.pid
# pkill -F /run/knetlab/labs/dns-service/kubia-79cb56dd65-x779f.nginx.pid
# pkill -F /run/knetlab/labs/dns-service/stranger.nginx.pid
# pkill -F /run/knetlab/labs/dns-service/kubia-79cb56dd65-g2x5p.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del coredns-5855c5f55-5rhzq
# ip netns del kubia-79cb56dd65-fl2vh
# ip netns del client
# ip netns del node2
# ip netns del kubia-79cb56dd65-x779f
# ip netns del stranger
# ip netns del node3
# ip netns del coredns-5855c5f55-tmxk6
# ip netns del kubia-79cb56dd65-g2x5p
# ip netns del upstream
