#!/bin/sh
# dns-pod: DNS for Pods, and what dnsPolicy gives a pod's resolv.conf
# Reproduces seed 004 §7.3.
# Two nodes on flannel (VXLAN) with cluster DNS. Every pod has a name from its address,
# a-b-c-d.<namespace>.pod.cluster.local (CoreDNS's "pods insecure", as kubeadm configures it), and
# every address of a Service's endpoint has a PTR name per Service. Pods differ in spec.dnsPolicy:
# ClusterFirst (the default) points at the kube-dns Service with the cluster's search path;
# Default takes the node's resolver, which knows no cluster names; None takes dnsConfig alone;
# ClusterFirst with a dnsConfig gets it merged in as the kubelet merges it. The upstream resolver
# holds db.corp.example, a name outside the cluster.
# The exact commands "knetlab up dns-pod" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add coredns-5855c5f55-tmxk6
netns add coredns-5855c5f55-5rhzq
netns add kubia-79cb56dd65-g2x5p
netns add cluster-first
netns add node-dns
netns add node2
netns add kubia-79cb56dd65-x779f
netns add custom
netns add merged
netns add host-net
netns add database
netns add upstream
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
link add cni0 mtu 1450 type bridge
addr add 10.244.1.1/24 dev cni0
link set cni0 up
EOF
ip -n node2 -batch - <<'EOF'
link add cni0 mtu 1450 type bridge
addr add 10.244.2.1/24 dev cni0
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
link add database type veth peer name eth0 netns database
link add upstream type veth peer name eth0 netns upstream
EOF
ip -n node1 -batch - <<'EOF'
link add veth01a4b01c mtu 1450 type veth peer name eth0 mtu 1450 netns coredns-5855c5f55-tmxk6
link add vethbe8f270d mtu 1450 type veth peer name eth0 mtu 1450 netns coredns-5855c5f55-5rhzq
link add veth5c13c759 mtu 1450 type veth peer name eth0 mtu 1450 netns kubia-79cb56dd65-g2x5p
link add veth55369efb mtu 1450 type veth peer name eth0 mtu 1450 netns cluster-first
link add veth4df4042c mtu 1450 type veth peer name eth0 mtu 1450 netns node-dns
EOF
ip -n node2 -batch - <<'EOF'
link add vethbcefd2a6 mtu 1450 type veth peer name eth0 mtu 1450 netns kubia-79cb56dd65-x779f
link add vethf9ac14b6 mtu 1450 type veth peer name eth0 mtu 1450 netns custom
link add vethe8e2ace1 mtu 1450 type veth peer name eth0 mtu 1450 netns merged
link add vethf143f280 mtu 1450 type veth peer name eth0 mtu 1450 netns host-net
EOF

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
link set database master br0
link set database up
link set upstream master br0
link set upstream up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
link set veth01a4b01c master cni0
link set veth01a4b01c type bridge_slave hairpin on
link set veth01a4b01c up
link set vethbe8f270d master cni0
link set vethbe8f270d type bridge_slave hairpin on
link set vethbe8f270d up
link set veth5c13c759 master cni0
link set veth5c13c759 type bridge_slave hairpin on
link set veth5c13c759 up
link set veth55369efb master cni0
link set veth55369efb type bridge_slave hairpin on
link set veth55369efb up
link set veth4df4042c master cni0
link set veth4df4042c type bridge_slave hairpin on
link set veth4df4042c up
route add default via 192.168.56.1
EOF
ip -n coredns-5855c5f55-tmxk6 -batch - <<'EOF'
link set lo up
addr add 10.244.1.2/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n coredns-5855c5f55-5rhzq -batch - <<'EOF'
link set lo up
addr add 10.244.1.3/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n kubia-79cb56dd65-g2x5p -batch - <<'EOF'
link set lo up
addr add 10.244.1.4/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n cluster-first -batch - <<'EOF'
link set lo up
addr add 10.244.1.5/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n node-dns -batch - <<'EOF'
link set lo up
addr add 10.244.1.6/24 dev eth0
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
link set vethf9ac14b6 master cni0
link set vethf9ac14b6 type bridge_slave hairpin on
link set vethf9ac14b6 up
link set vethe8e2ace1 master cni0
link set vethe8e2ace1 type bridge_slave hairpin on
link set vethe8e2ace1 up
link set vethf143f280 master cni0
link set vethf143f280 type bridge_slave hairpin on
link set vethf143f280 up
route add default via 192.168.56.1
EOF
ip -n kubia-79cb56dd65-x779f -batch - <<'EOF'
link set lo up
addr add 10.244.2.2/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n custom -batch - <<'EOF'
link set lo up
addr add 10.244.2.3/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n merged -batch - <<'EOF'
link set lo up
addr add 10.244.2.4/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n host-net -batch - <<'EOF'
link set lo up
addr add 10.244.2.5/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n database -batch - <<'EOF'
link set lo up
addr add 192.168.56.100/24 dev eth0
link set eth0 up
route add default via 192.168.56.1
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
mkdir -p -m 0700 /run/knetlab/labs/dns-pod/node1/run/flannel /run/knetlab/labs/dns-pod/node2/run/flannel
tee /run/knetlab/labs/dns-pod/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/dns-pod/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/dns-pod/node2/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.2.1/24
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

# 8. flanneld: teach flannel.1 every remote node (neighbour and FDB entries)
#    For each remote node's lease flanneld adds, in this order, a permanent neighbour entry (the
#    remote lease's network address → the remote flannel.1 MAC) and a permanent FDB entry (that MAC →
#    the remote node's IP on the underlay). The inner frame is addressed with the first, the outer
#    UDP packet with the second: one ARP and one FDB entry per remote host, no L2/L3-miss callouts.
ip -n node1 neigh add 10.244.2.0 lladdr 2e:bf:44:a6:8b:77 dev flannel.1 nud permanent
bridge -n node1 fdb append 2e:bf:44:a6:8b:77 dev flannel.1 dst 192.168.56.12 self permanent
ip -n node2 neigh add 10.244.1.0 lladdr fa:37:c3:7e:94:9d dev flannel.1 nud permanent
bridge -n node2 fdb append fa:37:c3:7e:94:9d dev flannel.1 dst 192.168.56.11 self permanent

# 9. flanneld: route every remote subnet through flannel.1
#    The route goes last, so the kernel never has to ARP for the gateway: "<remote subnet> via
#    <remote lease address> dev flannel.1 onlink". onlink because 10.244.x.0 is on no connected
#    subnet of flannel.1 (its own address is a /32).
ip -n node1 route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink
ip -n node2 route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink

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

# 11. Write the server configuration
#    Every server is a real nginx (one master, one worker) answering each request with JSON: its pod
#    name, its node, the address it answered on and the client address it saw. That last field is how
#    the checks see NAT. All servers share one configuration: nginx maps the address a request
#    arrived on to the pod that owns it.
mkdir -p -m 0700 /run/knetlab/labs/dns-pod
tee /run/knetlab/labs/dns-pod/nginx-8080.conf >/dev/null <<'EOF'
# knetlab echo servers on port 8080: kubia-79cb56dd65-g2x5p, kubia-79cb56dd65-x779f
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.4 kubia-79cb56dd65-g2x5p;
        10.244.2.2 kubia-79cb56dd65-x779f;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.4 node1;
        10.244.2.2 node2;
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
tee /run/knetlab/labs/dns-pod/nginx-80.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: cluster-first, node-dns, custom, merged, host-net, database
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/dns-pod/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.5 cluster-first;
        10.244.1.6 node-dns;
        10.244.2.3 custom;
        10.244.2.4 merged;
        10.244.2.5 host-net;
        192.168.56.100 database;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.5 node1;
        10.244.1.6 node1;
        10.244.2.3 node2;
        10.244.2.4 node2;
        10.244.2.5 node2;
        192.168.56.100 database;
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
xargs -L 1 -P 4 ip netns exec <<'EOF'
kubia-79cb56dd65-g2x5p nginx -c /run/knetlab/labs/dns-pod/nginx-8080.conf -g 'pid /run/knetlab/labs/dns-pod/kubia-79cb56dd65-g2x5p.nginx.pid; error_log /run/knetlab/labs/dns-pod/kubia-79cb56dd65-g2x5p.error.log warn;'
cluster-first nginx -c /run/knetlab/labs/dns-pod/nginx-80.conf -g 'pid /run/knetlab/labs/dns-pod/cluster-first.nginx.pid; error_log /run/knetlab/labs/dns-pod/cluster-first.error.log warn;'
node-dns nginx -c /run/knetlab/labs/dns-pod/nginx-80.conf -g 'pid /run/knetlab/labs/dns-pod/node-dns.nginx.pid; error_log /run/knetlab/labs/dns-pod/node-dns.error.log warn;'
kubia-79cb56dd65-x779f nginx -c /run/knetlab/labs/dns-pod/nginx-8080.conf -g 'pid /run/knetlab/labs/dns-pod/kubia-79cb56dd65-x779f.nginx.pid; error_log /run/knetlab/labs/dns-pod/kubia-79cb56dd65-x779f.error.log warn;'
custom nginx -c /run/knetlab/labs/dns-pod/nginx-80.conf -g 'pid /run/knetlab/labs/dns-pod/custom.nginx.pid; error_log /run/knetlab/labs/dns-pod/custom.error.log warn;'
merged nginx -c /run/knetlab/labs/dns-pod/nginx-80.conf -g 'pid /run/knetlab/labs/dns-pod/merged.nginx.pid; error_log /run/knetlab/labs/dns-pod/merged.error.log warn;'
host-net nginx -c /run/knetlab/labs/dns-pod/nginx-80.conf -g 'pid /run/knetlab/labs/dns-pod/host-net.nginx.pid; error_log /run/knetlab/labs/dns-pod/host-net.error.log warn;'
database nginx -c /run/knetlab/labs/dns-pod/nginx-80.conf -g 'pid /run/knetlab/labs/dns-pod/database.nginx.pid; error_log /run/knetlab/labs/dns-pod/database.error.log warn;'
EOF

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/dns-pod/cluster
mkdir -p -m 0711 /run/knetlab/labs/dns-pod/unready
tee /run/knetlab/labs/dns-pod/cluster/state.json >/dev/null <<'EOF'
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
        "podIP": "10.244.1.3",
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
        "nodeName": "node1",
        "podIP": "10.244.1.4",
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
          "name": "cluster-first",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "36c13ea7-4947-49ed-8487-2bda8cf40a1a"
        },
        "nodeName": "node1",
        "podIP": "10.244.1.5",
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
          "name": "node-dns",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "2e8074d3-d37a-42f0-93d8-5f290916878d"
        },
        "nodeName": "node1",
        "podIP": "10.244.1.6",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "Default",
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
          "name": "custom",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "bfd64b9a-2eda-4ab4-8e77-084d0f054b8d"
        },
        "nodeName": "node2",
        "podIP": "10.244.2.3",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "None",
        "dnsConfig": {
          "nameservers": [
            "10.96.0.10"
          ],
          "searches": [
            "other.svc.cluster.local",
            "corp.example"
          ],
          "options": [
            {
              "name": "ndots",
              "value": "2"
            },
            {
              "name": "edns0",
              "value": null
            }
          ]
        },
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
          "name": "merged",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "29c3c3c7-abb1-4444-8601-61ba4613a31d"
        },
        "nodeName": "node2",
        "podIP": "10.244.2.4",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": {
          "nameservers": [],
          "searches": [
            "corp.example"
          ],
          "options": [
            {
              "name": "ndots",
              "value": "1"
            }
          ]
        },
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
          "name": "host-net",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "92d0b27a-31a7-4446-ae14-bd3e0c71b249"
        },
        "nodeName": "node2",
        "podIP": "10.244.2.5",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirstWithHostNet",
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
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "4fdba253-2825-455a-b214-b8340076d40d"
        },
        "replicas": 2,
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
        "clusterIP": "10.96.100.10",
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
      },
      {
        "meta": {
          "name": "kubia-headless",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "5fc59612-ab96-4632-8fb5-2278dc5b360a"
        },
        "type": "ClusterIP",
        "clusterIP": "None",
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
      },
      {
        "meta": {
          "name": "web",
          "namespace": "other",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "85742243-8b31-4934-a763-5d6311fd76e5"
        },
        "type": "ClusterIP",
        "clusterIP": "10.96.100.20",
        "ports": [
          {
            "name": "",
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
            "address": "10.244.1.3",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node1",
            "pod": "coredns-5855c5f55-5rhzq"
          },
          {
            "address": "10.244.1.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node1",
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
            "address": "10.244.1.4",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node1",
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
      },
      {
        "meta": {
          "name": "kubia-headless-lfkqb",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "kubia-headless",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "45419e80-ab9c-46d5-b0be-2e481905ca28"
        },
        "service": "kubia-headless",
        "ports": [
          {
            "name": "http",
            "port": 8080,
            "protocol": "TCP"
          }
        ],
        "endpoints": [
          {
            "address": "10.244.1.4",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node1",
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
      },
      {
        "meta": {
          "name": "web-5ns66",
          "namespace": "other",
          "labels": {
            "kubernetes.io/service-name": "web",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "3cdf7515-22c4-4182-98a9-0dda0a6458e2"
        },
        "service": "web",
        "ports": [],
        "endpoints": [],
        "managedBy": "endpointslice-controller.k8s.io"
      }
    ]
  }
}
EOF
tee /run/knetlab/labs/dns-pod/cluster/objects.yaml >/dev/null <<'EOF'
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
spec:
  replicas: 2
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
  clusterIP: 10.96.100.10
  selector:
    app: kubia
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: kubia-headless
spec:
  clusterIP: None
  selector:
    app: kubia
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: other
spec:
  clusterIP: 10.96.100.20
  selector:
    app: kubia
  ports:
    - port: 80
      targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: cluster-first
spec:
  nodeName: node1
  containers:
    - name: client
      image: busybox:1.28
---
apiVersion: v1
kind: Pod
metadata:
  name: node-dns
spec:
  nodeName: node1
  dnsPolicy: Default
  containers:
    - name: client
      image: busybox:1.28
---
apiVersion: v1
kind: Pod
metadata:
  name: custom
spec:
  nodeName: node2
  dnsPolicy: None
  dnsConfig:
    nameservers:
      - 10.96.0.10
    searches:
      - other.svc.cluster.local
      - corp.example
    options:
      - name: ndots
        value: "2"
      - name: edns0
  containers:
    - name: client
      image: busybox:1.28
---
apiVersion: v1
kind: Pod
metadata:
  name: merged
spec:
  nodeName: node2
  dnsConfig:
    searches:
      - corp.example
    options:
      - name: ndots
        value: "1"
  containers:
    - name: client
      image: busybox:1.28
---
apiVersion: v1
kind: Pod
metadata:
  name: host-net
spec:
  nodeName: node2
  dnsPolicy: ClusterFirstWithHostNet
  containers:
    - name: client
      image: busybox:1.28
EOF
tee /run/knetlab/labs/dns-pod/cluster/events.jsonl >/dev/null <<'EOF'
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/coredns","namespace":"kube-system","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set coredns-5855c5f55 from 0 to 2"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/coredns-5855c5f55","namespace":"kube-system","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: coredns-5855c5f55-tmxk6"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/coredns-5855c5f55","namespace":"kube-system","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: coredns-5855c5f55-5rhzq"}
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/kubia","namespace":"default","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set kubia-79cb56dd65 from 0 to 2"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/kubia-79cb56dd65","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: kubia-79cb56dd65-x779f"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/kubia-79cb56dd65","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: kubia-79cb56dd65-g2x5p"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/coredns-5855c5f55-tmxk6","namespace":"kube-system","type":"Normal","reason":"Scheduled","message":"Successfully assigned kube-system/coredns-5855c5f55-tmxk6 to node1"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/coredns-5855c5f55-5rhzq","namespace":"kube-system","type":"Normal","reason":"Scheduled","message":"Successfully assigned kube-system/coredns-5855c5f55-5rhzq to node1"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/kubia-79cb56dd65-x779f","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/kubia-79cb56dd65-x779f to node2"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/kubia-79cb56dd65-g2x5p","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/kubia-79cb56dd65-g2x5p to node1"}
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
tee /run/knetlab/labs/dns-pod/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/dns-pod/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/dns-pod/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/dns-pod/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/dns-pod/cluster/kube-proxy-node1.log"
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
tee /run/knetlab/labs/dns-pod/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/dns-pod/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/dns-pod/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/dns-pod/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/dns-pod/cluster/kube-proxy-node2.log"
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
-A KUBE-SERVICES -m comment --comment "other/web has no endpoints" -m tcp -p tcp -d 10.96.100.20 --dport 80 -j REJECT
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
:KUBE-SEP-GN72VPK3JVS6NPHO - [0:0]
:KUBE-SEP-QDNVJB3AXJGTAKNS - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-Z6M7ZHWCTBNMPLD7 - [0:0]
:KUBE-SEP-EJJ3L23ZA35VLW6X - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-BWHGELGX6BITPZVO - [0:0]
:KUBE-SEP-R75T7LXI5PWKQPQA - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-HK254EL4IH3TTFBT - [0:0]
:KUBE-SEP-P6ZV3VC6PB5OMAHT - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80 -j KUBE-SVC-4LEAQQBWDM4SV2YZ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.1.4:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-GN72VPK3JVS6NPHO
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.2.2:8080" -j KUBE-SEP-QDNVJB3AXJGTAKNS
-A KUBE-SEP-GN72VPK3JVS6NPHO -m comment --comment default/kubia:http -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-GN72VPK3JVS6NPHO -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:8080
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-Z6M7ZHWCTBNMPLD7
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.3:53" -j KUBE-SEP-EJJ3L23ZA35VLW6X
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-BWHGELGX6BITPZVO
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.3:53" -j KUBE-SEP-R75T7LXI5PWKQPQA
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.2:9153" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-HK254EL4IH3TTFBT
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.3:9153" -j KUBE-SEP-P6ZV3VC6PB5OMAHT
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:9153
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:9153
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
-A KUBE-SERVICES -m comment --comment "other/web has no endpoints" -m tcp -p tcp -d 10.96.100.20 --dport 80 -j REJECT
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
:KUBE-SEP-GN72VPK3JVS6NPHO - [0:0]
:KUBE-SEP-QDNVJB3AXJGTAKNS - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-Z6M7ZHWCTBNMPLD7 - [0:0]
:KUBE-SEP-EJJ3L23ZA35VLW6X - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-BWHGELGX6BITPZVO - [0:0]
:KUBE-SEP-R75T7LXI5PWKQPQA - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-HK254EL4IH3TTFBT - [0:0]
:KUBE-SEP-P6ZV3VC6PB5OMAHT - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80 -j KUBE-SVC-4LEAQQBWDM4SV2YZ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.1.4:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-GN72VPK3JVS6NPHO
-A KUBE-SVC-4LEAQQBWDM4SV2YZ -m comment --comment "default/kubia:http -> 10.244.2.2:8080" -j KUBE-SEP-QDNVJB3AXJGTAKNS
-A KUBE-SEP-GN72VPK3JVS6NPHO -m comment --comment default/kubia:http -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-GN72VPK3JVS6NPHO -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:8080
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QDNVJB3AXJGTAKNS -m comment --comment default/kubia:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-Z6M7ZHWCTBNMPLD7
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.3:53" -j KUBE-SEP-EJJ3L23ZA35VLW6X
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-Z6M7ZHWCTBNMPLD7 -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.2:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-BWHGELGX6BITPZVO
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.3:53" -j KUBE-SEP-R75T7LXI5PWKQPQA
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-BWHGELGX6BITPZVO -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:53
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.2:9153" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-HK254EL4IH3TTFBT
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.3:9153" -j KUBE-SEP-P6ZV3VC6PB5OMAHT
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-HK254EL4IH3TTFBT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:9153
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:9153
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
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/dns-pod/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/dns-pod/cluster/kube-proxy-node2.json

# 17. Cluster DNS: the upstream resolver outside the cluster
#    CoreDNS forwards every name outside cluster.local to the node's resolver (kubeadm's Corefile:
#    forward . /etc/resolv.conf). Here that resolver is dnsmasq in the namespace "upstream" on the
#    underlay (192.168.56.53), answering the lab's external names (db.corp.example) and NXDOMAIN for
#    anything else, so no query leaves the lab.
mkdir -p -m 0700 /run/knetlab/labs/dns-pod/cluster
ip netns exec upstream dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --no-poll --listen-address=192.168.56.53 --bind-interfaces '--local=/#/' --local-ttl=60 --pid-file=/run/knetlab/labs/dns-pod/cluster/upstream-dnsmasq.pid --host-record=db.corp.example,192.168.56.100

# 18. The kubelet writes every pod's resolv.conf
#    dnsPolicy ClusterFirst (the default): nameserver 10.96.0.10 (the kube-dns Service), the search
#    path <namespace>.svc.cluster.local svc.cluster.local cluster.local, options ndots:5. The CoreDNS
#    pods themselves have dnsPolicy Default, as kubeadm deploys them: the node's resolver. node-dns
#    has dnsPolicy Default; custom has dnsPolicy None with a dnsConfig merged in (nameservers and
#    searches appended, options overriding by name); merged has dnsPolicy ClusterFirst with a
#    dnsConfig merged in (nameservers and searches appended, options overriding by name); host-net
#    has dnsPolicy ClusterFirstWithHostNet. Nodes and machines outside the cluster use the upstream
#    resolver. ip netns exec bind-mounts /etc/netns/<namespace>/resolv.conf over /etc/resolv.conf, so
#    every command run in the namespace (dig, curl, nslookup) reads it.
mkdir -p -m 0755 /etc/netns/node1 /etc/netns/coredns-5855c5f55-tmxk6 /etc/netns/coredns-5855c5f55-5rhzq /etc/netns/kubia-79cb56dd65-g2x5p /etc/netns/cluster-first /etc/netns/node-dns /etc/netns/node2 /etc/netns/kubia-79cb56dd65-x779f /etc/netns/custom /etc/netns/merged /etc/netns/host-net /etc/netns/database /etc/netns/upstream
tee /etc/netns/node1/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/coredns-5855c5f55-tmxk6/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/coredns-5855c5f55-5rhzq/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/kubia-79cb56dd65-g2x5p/resolv.conf >/dev/null <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
EOF
tee /etc/netns/cluster-first/resolv.conf >/dev/null <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
EOF
tee /etc/netns/node-dns/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/node2/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
EOF
tee /etc/netns/kubia-79cb56dd65-x779f/resolv.conf >/dev/null <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
EOF
tee /etc/netns/custom/resolv.conf >/dev/null <<'EOF'
search other.svc.cluster.local corp.example
nameserver 10.96.0.10
options ndots:2 edns0
EOF
tee /etc/netns/merged/resolv.conf >/dev/null <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local corp.example
nameserver 10.96.0.10
options ndots:1
EOF
tee /etc/netns/host-net/resolv.conf >/dev/null <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
EOF
tee /etc/netns/database/resolv.conf >/dev/null <<'EOF'
nameserver 192.168.56.53
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
tee /run/knetlab/labs/dns-pod/cluster/coredns-coredns-5855c5f55-tmxk6.json >/dev/null <<'EOF'
{
  "stateFile": "/run/knetlab/labs/dns-pod/cluster/state.json",
  "domain": "cluster.local",
  "ttl": 30,
  "port": 53,
  "upstream": "192.168.56.53",
  "pidfile": "/run/knetlab/labs/dns-pod/cluster/coredns-coredns-5855c5f55-tmxk6.pid",
  "log": "/run/knetlab/labs/dns-pod/cluster/coredns-coredns-5855c5f55-tmxk6.log"
}
EOF
tee /run/knetlab/labs/dns-pod/cluster/coredns-coredns-5855c5f55-5rhzq.json >/dev/null <<'EOF'
{
  "stateFile": "/run/knetlab/labs/dns-pod/cluster/state.json",
  "domain": "cluster.local",
  "ttl": 30,
  "port": 53,
  "upstream": "192.168.56.53",
  "pidfile": "/run/knetlab/labs/dns-pod/cluster/coredns-coredns-5855c5f55-5rhzq.pid",
  "log": "/run/knetlab/labs/dns-pod/cluster/coredns-coredns-5855c5f55-5rhzq.log"
}
EOF
ip netns exec coredns-5855c5f55-tmxk6 node <knetlab>/dist/agent.js coredns --config /run/knetlab/labs/dns-pod/cluster/coredns-coredns-5855c5f55-tmxk6.json
ip netns exec coredns-5855c5f55-5rhzq node <knetlab>/dist/agent.js coredns --config /run/knetlab/labs/dns-pod/cluster/coredns-coredns-5855c5f55-5rhzq.json

# 20. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/dns-pod/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/dns-pod",
  "stateFile": "/run/knetlab/labs/dns-pod/cluster/state.json",
  "pidfile": "/run/knetlab/labs/dns-pod/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/dns-pod/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/dns-pod/cluster/controlplane.json

# 21. Look around
#    Read-only commands that show what the steps above built.
# dnsPolicy ClusterFirst (no dnsPolicy written: the API server's default): the kube-dns Service, the search path from the pod's namespace outwards, ndots:5.
ip netns exec cluster-first cat /etc/resolv.conf
# dnsPolicy Default: the node's own resolv.conf, here the upstream resolver alone. No search path, no cluster names.
ip netns exec node-dns cat /etc/resolv.conf
# dnsPolicy None: exactly spec.dnsConfig, in the order containerd writes it (search, nameserver, options).
ip netns exec custom cat /etc/resolv.conf
# ClusterFirst with a dnsConfig: corp.example appended to the cluster's search path, and the pod's ndots:1 replacing the kubelet's ndots:5.
ip netns exec merged cat /etc/resolv.conf
# With ndots:5, db.corp.example (two dots) walks the whole cluster search path first: three NXDOMAINs from the cluster DNS server, then the name as is, forwarded upstream.
ip netns exec cluster-first dig +search +showsearch +noall +comments +answer db.corp.example
# With the pod's ndots:1 the same name is asked as is at once: one query.
ip netns exec merged dig +search +showsearch +noall +comments +answer db.corp.example
# The seed's §7.3 output: a kubia pod's address has one PTR name per Service it is an endpoint of, the pod named by its dashed address.
ip netns exec cluster-first nslookup 10.244.2.2

# 22. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# ClusterFirst (the default): kube-dns, the cluster search path, ndots:5
ip netns exec cluster-first sh -c 'printf '\''search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n'\'' | diff - /etc/resolv.conf'
# Default: the node's resolver only
ip netns exec node-dns sh -c 'printf '\''nameserver 192.168.56.53\n'\'' | diff - /etc/resolv.conf'
# None: dnsConfig alone
ip netns exec custom sh -c 'printf '\''search other.svc.cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:2 edns0\n'\'' | diff - /etc/resolv.conf'
# ClusterFirst with a dnsConfig: the search domain appended, the pod's ndots winning
ip netns exec merged sh -c 'printf '\''search default.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:1\n'\'' | diff - /etc/resolv.conf'
# ClusterFirstWithHostNet on a pod-network pod: as ClusterFirst
ip netns exec host-net sh -c 'printf '\''search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n'\'' | diff - /etc/resolv.conf'
# a pod's dashed address under its namespace answers that address
ip netns exec cluster-first dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A 10-244-2-2.default.pod.cluster.local.
# through the search path too (the third domain, cluster.local)
ip netns exec cluster-first dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A 10-244-1-6.default.pod
# pods insecure: an address no pod has answers as well (CoreDNS does not check)
ip netns exec cluster-first dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A 10-244-9-9.default.pod.cluster.local.
# but only in a namespace that exists
ip netns exec cluster-first dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A 10-244-2-2.nosuch.pod.cluster.local.
# and only for a dashed address, not a pod's name
ip netns exec cluster-first dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia.default.pod.cluster.local.
# a kubia pod's address has a PTR name per Service it backs (seed 004 §7.3)
ip netns exec cluster-first dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -x 10.244.2.2
# ClusterFirst: the short Service name resolves
ip netns exec cluster-first dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia
# ClusterFirst: a name outside the cluster is forwarded upstream after the search path
ip netns exec cluster-first dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A db.corp.example
# Default: the node's resolver knows no cluster names, not even the full one
ip netns exec node-dns dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia.default.svc.cluster.local.
# Default: but it resolves the names outside the cluster
ip netns exec node-dns dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A db.corp.example
# None: web resolves through the pod's own first search domain, in namespace other
ip netns exec custom dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A web
# None: db resolves through the second, corp.example
ip netns exec custom dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A db
# None: kubia is not in its search path (kubia.other, kubia.corp.example, kubia: all NXDOMAIN)
ip netns exec custom dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia
# merged: the cluster search path still comes first
ip netns exec merged dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A kubia
# merged: and corp.example after it
ip netns exec merged dig +search +showsearch +nocookie +time=1 +tries=1 +noall +comments +answer +authority -t A db
# curl by a pod-network name reaches the pod (its echo server)
ip netns exec cluster-first curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://10-244-2-2.default.pod.cluster.local:8080/

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/dns-pod/kubia-79cb56dd65-g2x5p.nginx.pid
# pkill -F /run/knetlab/labs/dns-pod/cluster-first.nginx.pid
# pkill -F /run/knetlab/labs/dns-pod/node-dns.nginx.pid
# pkill -F /run/knetlab/labs/dns-pod/kubia-79cb56dd65-x779f.nginx.pid
# pkill -F /run/knetlab/labs/dns-pod/custom.nginx.pid
# pkill -F /run/knetlab/labs/dns-pod/merged.nginx.pid
# pkill -F /run/knetlab/labs/dns-pod/host-net.nginx.pid
# pkill -F /run/knetlab/labs/dns-pod/database.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del coredns-5855c5f55-tmxk6
# ip netns del coredns-5855c5f55-5rhzq
# ip netns del kubia-79cb56dd65-g2x5p
# ip netns del cluster-first
# ip netns del node-dns
# ip netns del node2
# ip netns del kubia-79cb56dd65-x779f
# ip netns del custom
# ip netns del merged
# ip netns del host-net
# ip netns del database
# ip netns del upstream
