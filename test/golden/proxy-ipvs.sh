#!/bin/sh
# proxy-ipvs: kube-proxy in IPVS mode (kube-ipvs0, ipsets, virtual servers)
# Reproduces seed 004 §5.4.3 ipvs mode.
# Three nodes on flannel (VXLAN), seed 004's nginx-deploy (3 replicas) behind its ClusterIP
# 10.107.138.117:8080, with every kube-proxy in IPVS mode (kube-proxy.yaml). kube-proxy binds each
# ClusterIP to the dummy device kube-ipvs0 (left down), creates one IPVS virtual server per
# ClusterIP:port and per node IP:NodePort with the pods as masqueraded real servers of weight 1,
# fills its ipsets (KUBE-CLUSTER-IP, KUBE-NODE-PORT-TCP, KUBE-LOOP-BACK, KUBE-IPVS-IPS, …) and
# keeps only a handful of iptables rules, which match those sets. The rr scheduler hands
# connections to the pods in turn; ClientIP affinity becomes a persistent virtual server; the
# ClusterIP is a local address: ping gets an answer (a REJECT by KUBE-IPVS-FILTER since kube-proxy
# 1.26, an echo reply before, as in the seed).
# The exact commands "knetlab up proxy-ipvs" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add nginx-deploy-79d7d959b7-g5g2s
netns add client
netns add node2
netns add nginx-deploy-79d7d959b7-l2ppr
netns add client-b
netns add node3
netns add nginx-deploy-79d7d959b7-sc2l6
netns add outside
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
link add outside type veth peer name eth0 netns outside
EOF
ip -n node1 link add veth79da9049 mtu 1450 type veth peer name eth0 mtu 1450 netns nginx-deploy-79d7d959b7-g5g2s
ip -n node1 link add vethd2a04d71 mtu 1450 type veth peer name eth0 mtu 1450 netns client
ip -n node2 link add veth3871ccca mtu 1450 type veth peer name eth0 mtu 1450 netns nginx-deploy-79d7d959b7-l2ppr
ip -n node2 link add vethbfd1c8d9 mtu 1450 type veth peer name eth0 mtu 1450 netns client-b
ip -n node3 link add veth8ffd782b mtu 1450 type veth peer name eth0 mtu 1450 netns nginx-deploy-79d7d959b7-sc2l6

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
link set outside master br0
link set outside up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
link set veth79da9049 master cni0
link set veth79da9049 type bridge_slave hairpin on
link set veth79da9049 up
link set vethd2a04d71 master cni0
link set vethd2a04d71 type bridge_slave hairpin on
link set vethd2a04d71 up
route add default via 192.168.56.1
EOF
ip -n nginx-deploy-79d7d959b7-g5g2s -batch - <<'EOF'
link set lo up
addr add 10.244.1.2/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n client -batch - <<'EOF'
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
link set veth3871ccca master cni0
link set veth3871ccca type bridge_slave hairpin on
link set veth3871ccca up
link set vethbfd1c8d9 master cni0
link set vethbfd1c8d9 type bridge_slave hairpin on
link set vethbfd1c8d9 up
route add default via 192.168.56.1
EOF
ip -n nginx-deploy-79d7d959b7-l2ppr -batch - <<'EOF'
link set lo up
addr add 10.244.2.2/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n client-b -batch - <<'EOF'
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
link set veth8ffd782b master cni0
link set veth8ffd782b type bridge_slave hairpin on
link set veth8ffd782b up
route add default via 192.168.56.1
EOF
ip -n nginx-deploy-79d7d959b7-sc2l6 -batch - <<'EOF'
link set lo up
addr add 10.244.3.2/24 dev eth0
link set eth0 up
route add default via 10.244.3.1
route add 10.244.0.0/16 via 10.244.3.1 dev eth0
EOF
ip -n outside -batch - <<'EOF'
link set lo up
addr add 192.168.56.100/24 dev eth0
link set eth0 up
route add default via 192.168.56.1
EOF

# 6. flanneld: take a subnet lease and write subnet.env
#    Each node's flanneld leases one subnet of the cluster network 10.244.0.0/16 (under
#    --kube-subnet-mgr: the node's spec.podCIDR) and writes /run/flannel/subnet.env, which the
#    flannel CNI plugin reads to configure cni0 and pod addresses. FLANNEL_SUBNET is the lease's
#    first usable address; FLANNEL_MTU is the vxlan backend's MTU (1450). Here each node's files live
#    in its own folder of the lab.
mkdir -p -m 0700 /run/knetlab/labs/proxy-ipvs/node1/run/flannel /run/knetlab/labs/proxy-ipvs/node2/run/flannel /run/knetlab/labs/proxy-ipvs/node3/run/flannel
tee /run/knetlab/labs/proxy-ipvs/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/proxy-ipvs/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/proxy-ipvs/node2/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.2.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/proxy-ipvs/node3/run/flannel/subnet.env >/dev/null <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/proxy-ipvs
tee /run/knetlab/labs/proxy-ipvs/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: nginx-deploy-79d7d959b7-g5g2s, client, nginx-deploy-79d7d959b7-l2ppr, client-b, nginx-deploy-79d7d959b7-sc2l6
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/proxy-ipvs/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/proxy-ipvs/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/proxy-ipvs/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/proxy-ipvs/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/proxy-ipvs/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.2 nginx-deploy-79d7d959b7-g5g2s;
        10.244.1.3 client;
        10.244.2.2 nginx-deploy-79d7d959b7-l2ppr;
        10.244.2.3 client-b;
        10.244.3.2 nginx-deploy-79d7d959b7-sc2l6;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.2 node1;
        10.244.1.3 node1;
        10.244.2.2 node2;
        10.244.2.3 node2;
        10.244.3.2 node3;
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
ip netns exec nginx-deploy-79d7d959b7-g5g2s nginx -c /run/knetlab/labs/proxy-ipvs/nginx.conf -g 'pid /run/knetlab/labs/proxy-ipvs/nginx-deploy-79d7d959b7-g5g2s.nginx.pid; error_log /run/knetlab/labs/proxy-ipvs/nginx-deploy-79d7d959b7-g5g2s.error.log warn;'
ip netns exec client nginx -c /run/knetlab/labs/proxy-ipvs/nginx.conf -g 'pid /run/knetlab/labs/proxy-ipvs/client.nginx.pid; error_log /run/knetlab/labs/proxy-ipvs/client.error.log warn;'
ip netns exec nginx-deploy-79d7d959b7-l2ppr nginx -c /run/knetlab/labs/proxy-ipvs/nginx.conf -g 'pid /run/knetlab/labs/proxy-ipvs/nginx-deploy-79d7d959b7-l2ppr.nginx.pid; error_log /run/knetlab/labs/proxy-ipvs/nginx-deploy-79d7d959b7-l2ppr.error.log warn;'
ip netns exec client-b nginx -c /run/knetlab/labs/proxy-ipvs/nginx.conf -g 'pid /run/knetlab/labs/proxy-ipvs/client-b.nginx.pid; error_log /run/knetlab/labs/proxy-ipvs/client-b.error.log warn;'
ip netns exec nginx-deploy-79d7d959b7-sc2l6 nginx -c /run/knetlab/labs/proxy-ipvs/nginx.conf -g 'pid /run/knetlab/labs/proxy-ipvs/nginx-deploy-79d7d959b7-sc2l6.nginx.pid; error_log /run/knetlab/labs/proxy-ipvs/nginx-deploy-79d7d959b7-sc2l6.error.log warn;'

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/proxy-ipvs/cluster
mkdir -p -m 0711 /run/knetlab/labs/proxy-ipvs/unready
tee /run/knetlab/labs/proxy-ipvs/cluster/state.json >/dev/null <<'EOF'
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
    "mode": "ipvs",
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
      "scheduler": "rr",
      "strictARP": false,
      "syncPeriodMs": 5000,
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
          "name": "nginx-deploy-79d7d959b7-sc2l6",
          "namespace": "default",
          "labels": {
            "app": "nginx-deploy",
            "pod-template-hash": "79d7d959b7"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "2e320d3a-ae74-4d68-8b64-f24895f0d613"
        },
        "nodeName": "node3",
        "podIP": "10.244.3.2",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "nginx",
            "image": "nginx",
            "ports": [
              {
                "name": null,
                "containerPort": 80,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/nginx-deploy",
        "replicaSet": "nginx-deploy-79d7d959b7",
        "ready": true
      },
      {
        "meta": {
          "name": "nginx-deploy-79d7d959b7-g5g2s",
          "namespace": "default",
          "labels": {
            "app": "nginx-deploy",
            "pod-template-hash": "79d7d959b7"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "232955f5-885c-4b79-8f53-4a6997fcb8bc"
        },
        "nodeName": "node1",
        "podIP": "10.244.1.2",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "nginx",
            "image": "nginx",
            "ports": [
              {
                "name": null,
                "containerPort": 80,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/nginx-deploy",
        "replicaSet": "nginx-deploy-79d7d959b7",
        "ready": true
      },
      {
        "meta": {
          "name": "nginx-deploy-79d7d959b7-l2ppr",
          "namespace": "default",
          "labels": {
            "app": "nginx-deploy",
            "pod-template-hash": "79d7d959b7"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "3ded5d8b-dded-42c9-8941-50c96e406377"
        },
        "nodeName": "node2",
        "podIP": "10.244.2.2",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "nginx",
            "image": "nginx",
            "ports": [
              {
                "name": null,
                "containerPort": 80,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/nginx-deploy",
        "replicaSet": "nginx-deploy-79d7d959b7",
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
        "podIP": "10.244.1.3",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "curl",
            "image": "curlimages/curl",
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
          "name": "client-b",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "c84756c3-8eac-445b-a764-348ad081db44"
        },
        "nodeName": "node2",
        "podIP": "10.244.2.3",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "curl",
            "image": "curlimages/curl",
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
          "name": "nginx-deploy",
          "namespace": "default",
          "labels": {
            "app": "nginx-deploy"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "c4d8d3dc-00a1-4359-8c1e-5250cc0ce832"
        },
        "replicas": 3,
        "selector": {
          "app": "nginx-deploy"
        },
        "template": {
          "labels": {
            "app": "nginx-deploy"
          },
          "containers": [
            {
              "name": "nginx",
              "image": "nginx",
              "ports": [
                {
                  "name": null,
                  "containerPort": 80,
                  "protocol": "TCP"
                }
              ],
              "readinessProbe": null
            }
          ],
          "nodeName": null
        },
        "templateHash": "79d7d959b7"
      }
    ],
    "services": [
      {
        "meta": {
          "name": "nginx-deploy",
          "namespace": "default",
          "labels": {
            "app": "nginx-deploy"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "31358eeb-7309-4a58-b79e-5ebe90022967"
        },
        "type": "ClusterIP",
        "clusterIP": "10.107.138.117",
        "ports": [
          {
            "name": "",
            "protocol": "TCP",
            "port": 8080,
            "targetPort": 80,
            "nodePort": null
          }
        ],
        "selector": {
          "app": "nginx-deploy"
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
          "name": "nginx-nodeport",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "8ad68a80-e637-4556-beef-45c480fcbe1e"
        },
        "type": "NodePort",
        "clusterIP": "10.107.138.118",
        "ports": [
          {
            "name": "",
            "protocol": "TCP",
            "port": 8080,
            "targetPort": 80,
            "nodePort": 31029
          }
        ],
        "selector": {
          "app": "nginx-deploy"
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
          "name": "nginx-sticky",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "311e3912-44ca-4dd1-bd57-7b63f0ebc7b8"
        },
        "type": "ClusterIP",
        "clusterIP": "10.107.138.119",
        "ports": [
          {
            "name": "",
            "protocol": "TCP",
            "port": 8080,
            "targetPort": 80,
            "nodePort": null
          }
        ],
        "selector": {
          "app": "nginx-deploy"
        },
        "sessionAffinity": "ClientIP",
        "affinityTimeoutSeconds": 600,
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
          "name": "nginx-deploy-zhjjl",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "nginx-deploy",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "76ea8d61-5d58-4071-8691-c86cc8bf72db"
        },
        "service": "nginx-deploy",
        "ports": [
          {
            "name": "",
            "port": 80,
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
            "pod": "nginx-deploy-79d7d959b7-g5g2s"
          },
          {
            "address": "10.244.2.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "nginx-deploy-79d7d959b7-l2ppr"
          },
          {
            "address": "10.244.3.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node3",
            "pod": "nginx-deploy-79d7d959b7-sc2l6"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      },
      {
        "meta": {
          "name": "nginx-nodeport-vc44c",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "nginx-nodeport",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "893c77c8-2a97-421e-b5c1-e0115aa1292a"
        },
        "service": "nginx-nodeport",
        "ports": [
          {
            "name": "",
            "port": 80,
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
            "pod": "nginx-deploy-79d7d959b7-g5g2s"
          },
          {
            "address": "10.244.2.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "nginx-deploy-79d7d959b7-l2ppr"
          },
          {
            "address": "10.244.3.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node3",
            "pod": "nginx-deploy-79d7d959b7-sc2l6"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      },
      {
        "meta": {
          "name": "nginx-sticky-zzzk9",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "nginx-sticky",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "885ad0e4-c73e-4d65-a0df-6d754152e1e3"
        },
        "service": "nginx-sticky",
        "ports": [
          {
            "name": "",
            "port": 80,
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
            "pod": "nginx-deploy-79d7d959b7-g5g2s"
          },
          {
            "address": "10.244.2.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "nginx-deploy-79d7d959b7-l2ppr"
          },
          {
            "address": "10.244.3.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node3",
            "pod": "nginx-deploy-79d7d959b7-sc2l6"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      }
    ]
  }
}
EOF
tee /run/knetlab/labs/proxy-ipvs/cluster/objects.yaml >/dev/null <<'EOF'
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
ipvs:
  scheduler: rr
  syncPeriod: 5s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deploy
  labels:
    app: nginx-deploy
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx-deploy
  template:
    metadata:
      labels:
        app: nginx-deploy
    spec:
      containers:
        - name: nginx
          image: nginx
          ports:
            - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: nginx-deploy
  labels:
    app: nginx-deploy
spec:
  type: ClusterIP
  clusterIP: 10.107.138.117
  selector:
    app: nginx-deploy
  ports:
    - port: 8080
      targetPort: 80
      protocol: TCP
---
apiVersion: v1
kind: Service
metadata:
  name: nginx-nodeport
spec:
  type: NodePort
  clusterIP: 10.107.138.118
  selector:
    app: nginx-deploy
  ports:
    - port: 8080
      targetPort: 80
      nodePort: 31029
---
apiVersion: v1
kind: Service
metadata:
  name: nginx-sticky
spec:
  clusterIP: 10.107.138.119
  selector:
    app: nginx-deploy
  sessionAffinity: ClientIP
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: 600
  ports:
    - port: 8080
      targetPort: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  nodeName: node1
  containers:
    - name: curl
      image: curlimages/curl
---
apiVersion: v1
kind: Pod
metadata:
  name: client-b
spec:
  nodeName: node2
  containers:
    - name: curl
      image: curlimages/curl
EOF
tee /run/knetlab/labs/proxy-ipvs/cluster/events.jsonl >/dev/null <<'EOF'
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/nginx-deploy","namespace":"default","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set nginx-deploy-79d7d959b7 from 0 to 3"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/nginx-deploy-79d7d959b7","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: nginx-deploy-79d7d959b7-sc2l6"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/nginx-deploy-79d7d959b7","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: nginx-deploy-79d7d959b7-g5g2s"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/nginx-deploy-79d7d959b7","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: nginx-deploy-79d7d959b7-l2ppr"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/nginx-deploy-79d7d959b7-sc2l6","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/nginx-deploy-79d7d959b7-sc2l6 to node3"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/nginx-deploy-79d7d959b7-g5g2s","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/nginx-deploy-79d7d959b7-g5g2s to node1"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/nginx-deploy-79d7d959b7-l2ppr","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/nginx-deploy-79d7d959b7-l2ppr to node2"}
EOF

# 14. kube-proxy: hook its chains into the built-in ones and set its sysctls
#    kube-proxy (IPVS mode) starts by listing the kernel's IPVS table (CanUseIPVSProxier; this also
#    loads ip_vs), creating the dummy device kube-ipvs0, which it never sets up (its addresses only
#    have to be local, not reachable), and ensuring the jumps into its few chains: nat PREROUTING and
#    OUTPUT → KUBE-SERVICES, POSTROUTING → KUBE-POSTROUTING, filter INPUT → KUBE-IPVS-FILTER,
#    KUBE-PROXY-FIREWALL and KUBE-NODE-PORT, FORWARD → KUBE-FORWARD and KUBE-PROXY-FIREWALL, OUTPUT →
#    KUBE-IPVS-OUT-FILTER. Then kube-proxy sets the sysctls its configuration asks for in the node's
#    network namespace: net.ipv4.conf.all.route_localnet=1 when NodePorts answer on 127.0.0.1
#    (iptables.localhostNodePorts, on by default; without it the kernel drops packets to 127.0.0.0/8
#    that are routed anywhere but lo), and the conntrack timeouts (conntrack.tcpEstablishedTimeout is
#    24h unless set, tcpCloseWaitTimeout 1h). Each node's kube-proxy also gets its configuration
#    file.
tee /run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "ipvs",
  "stateFile": "/run/knetlab/labs/proxy-ipvs/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node1.log"
}
EOF
ip netns exec node1 ipvsadm -Ln
ip netns exec node1 ip link add kube-ipvs0 type dummy
ip netns exec node1 iptables-restore --noflush <<'EOF'
*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-I INPUT 1 -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT
-I INPUT 1 -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-I FORWARD 1 -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-I INPUT 1 -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER
-I OUTPUT 1 -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
EOF
ip netns exec node1 sysctl -q -w net.ipv4.vs.conntrack=1 net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.expire_quiescent_template=1 net.ipv4.ip_forward=1 net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600
tee /run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "ipvs",
  "stateFile": "/run/knetlab/labs/proxy-ipvs/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node2.log"
}
EOF
ip netns exec node2 ipvsadm -Ln
ip netns exec node2 ip link add kube-ipvs0 type dummy
ip netns exec node2 iptables-restore --noflush <<'EOF'
*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-I INPUT 1 -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT
-I INPUT 1 -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-I FORWARD 1 -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-I INPUT 1 -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER
-I OUTPUT 1 -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
EOF
ip netns exec node2 sysctl -q -w net.ipv4.vs.conntrack=1 net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.expire_quiescent_template=1 net.ipv4.ip_forward=1 net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600
tee /run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node3.json >/dev/null <<'EOF'
{
  "node": "node3",
  "mode": "ipvs",
  "stateFile": "/run/knetlab/labs/proxy-ipvs/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node3.synced",
  "pidfile": "/run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node3.pid",
  "log": "/run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node3.log"
}
EOF
ip netns exec node3 ipvsadm -Ln
ip netns exec node3 ip link add kube-ipvs0 type dummy
ip netns exec node3 iptables-restore --noflush <<'EOF'
*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-I INPUT 1 -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT
-I INPUT 1 -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-I FORWARD 1 -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-I INPUT 1 -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER
-I OUTPUT 1 -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
EOF
ip netns exec node3 sysctl -q -w net.ipv4.vs.conntrack=1 net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.expire_quiescent_template=1 net.ipv4.ip_forward=1 net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600

# 15. kube-proxy: the first sync on every node
#    Then kube-proxy binds every ClusterIP (and every externalIP and LoadBalancer IP the node does
#    not already own) to kube-ipvs0 as a /32, so the kernel takes packets to them as its own; fills
#    its ipsets (KUBE-CLUSTER-IP, KUBE-NODE-PORT-TCP, KUBE-LOOP-BACK, …) with one ipset restore;
#    creates one IPVS virtual server per ClusterIP:port, externalIP:port, LB IP:port and node
#    IP:NodePort, with the endpoints as masqueraded real servers of weight 1, in one ipvsadm -R; and
#    writes the few iptables rules that remain, which match the ipsets instead of listing Services:
#    mark for masquerade what comes from outside the pod network, accept the VIPs, refuse other ports
#    on them.
ip netns exec node1 ip -batch - <<'EOF'
address add 10.107.138.117/32 dev kube-ipvs0
address add 10.107.138.118/32 dev kube-ipvs0
address add 10.107.138.119/32 dev kube-ipvs0
EOF
ip netns exec node1 ipset restore -exist <<'EOF'
create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add KUBE-LOOP-BACK 10.244.1.2,tcp:80,10.244.1.2
create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
add KUBE-CLUSTER-IP 10.107.138.117,tcp:8080
add KUBE-CLUSTER-IP 10.107.138.118,tcp:8080
add KUBE-CLUSTER-IP 10.107.138.119,tcp:8080
create KUBE-EXTERNAL-IP hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-EXTERNAL-IP-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-FW hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-SOURCE-IP hash:ip,port,ip family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
add KUBE-NODE-PORT-TCP 31029
create KUBE-NODE-PORT-LOCAL-TCP bitmap:port range 0-65535
create KUBE-NODE-PORT-UDP bitmap:port range 0-65535
create KUBE-NODE-PORT-LOCAL-UDP bitmap:port range 0-65535
create KUBE-NODE-PORT-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-NODE-PORT-LOCAL-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-HEALTH-CHECK-NODE-PORT bitmap:port range 0-65535
create KUBE-IPVS-IPS hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-IPVS-IPS 10.107.138.117
add KUBE-IPVS-IPS 10.107.138.118
add KUBE-IPVS-IPS 10.107.138.119
EOF
ip netns exec node1 ipvsadm -R <<'EOF'
-A -t 10.107.138.117:8080 -s rr
-a -t 10.107.138.117:8080 -r 10.244.1.2:80 -m -w 1
-a -t 10.107.138.117:8080 -r 10.244.2.2:80 -m -w 1
-a -t 10.107.138.117:8080 -r 10.244.3.2:80 -m -w 1
-A -t 10.107.138.118:8080 -s rr
-a -t 10.107.138.118:8080 -r 10.244.1.2:80 -m -w 1
-a -t 10.107.138.118:8080 -r 10.244.2.2:80 -m -w 1
-a -t 10.107.138.118:8080 -r 10.244.3.2:80 -m -w 1
-A -t 192.168.56.11:31029 -s rr
-a -t 192.168.56.11:31029 -r 10.244.1.2:80 -m -w 1
-a -t 192.168.56.11:31029 -r 10.244.2.2:80 -m -w 1
-a -t 192.168.56.11:31029 -r 10.244.3.2:80 -m -w 1
-A -t 10.107.138.119:8080 -s rr -p 600
-a -t 10.107.138.119:8080 -r 10.244.1.2:80 -m -w 1
-a -t 10.107.138.119:8080 -r 10.244.2.2:80 -m -w 1
-a -t 10.107.138.119:8080 -r 10.244.3.2:80 -m -w 1
EOF
ip netns exec node1 iptables-restore --noflush --counters <<'EOF'
*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
-A KUBE-SOURCE-RANGES-FIREWALL -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN
-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
COMMIT
EOF
ip netns exec node2 ip -batch - <<'EOF'
address add 10.107.138.117/32 dev kube-ipvs0
address add 10.107.138.118/32 dev kube-ipvs0
address add 10.107.138.119/32 dev kube-ipvs0
EOF
ip netns exec node2 ipset restore -exist <<'EOF'
create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add KUBE-LOOP-BACK 10.244.2.2,tcp:80,10.244.2.2
create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
add KUBE-CLUSTER-IP 10.107.138.117,tcp:8080
add KUBE-CLUSTER-IP 10.107.138.118,tcp:8080
add KUBE-CLUSTER-IP 10.107.138.119,tcp:8080
create KUBE-EXTERNAL-IP hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-EXTERNAL-IP-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-FW hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-SOURCE-IP hash:ip,port,ip family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
add KUBE-NODE-PORT-TCP 31029
create KUBE-NODE-PORT-LOCAL-TCP bitmap:port range 0-65535
create KUBE-NODE-PORT-UDP bitmap:port range 0-65535
create KUBE-NODE-PORT-LOCAL-UDP bitmap:port range 0-65535
create KUBE-NODE-PORT-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-NODE-PORT-LOCAL-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-HEALTH-CHECK-NODE-PORT bitmap:port range 0-65535
create KUBE-IPVS-IPS hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-IPVS-IPS 10.107.138.117
add KUBE-IPVS-IPS 10.107.138.118
add KUBE-IPVS-IPS 10.107.138.119
EOF
ip netns exec node2 ipvsadm -R <<'EOF'
-A -t 10.107.138.117:8080 -s rr
-a -t 10.107.138.117:8080 -r 10.244.1.2:80 -m -w 1
-a -t 10.107.138.117:8080 -r 10.244.2.2:80 -m -w 1
-a -t 10.107.138.117:8080 -r 10.244.3.2:80 -m -w 1
-A -t 10.107.138.118:8080 -s rr
-a -t 10.107.138.118:8080 -r 10.244.1.2:80 -m -w 1
-a -t 10.107.138.118:8080 -r 10.244.2.2:80 -m -w 1
-a -t 10.107.138.118:8080 -r 10.244.3.2:80 -m -w 1
-A -t 192.168.56.12:31029 -s rr
-a -t 192.168.56.12:31029 -r 10.244.1.2:80 -m -w 1
-a -t 192.168.56.12:31029 -r 10.244.2.2:80 -m -w 1
-a -t 192.168.56.12:31029 -r 10.244.3.2:80 -m -w 1
-A -t 10.107.138.119:8080 -s rr -p 600
-a -t 10.107.138.119:8080 -r 10.244.1.2:80 -m -w 1
-a -t 10.107.138.119:8080 -r 10.244.2.2:80 -m -w 1
-a -t 10.107.138.119:8080 -r 10.244.3.2:80 -m -w 1
EOF
ip netns exec node2 iptables-restore --noflush --counters <<'EOF'
*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
-A KUBE-SOURCE-RANGES-FIREWALL -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN
-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
COMMIT
EOF
ip netns exec node3 ip -batch - <<'EOF'
address add 10.107.138.117/32 dev kube-ipvs0
address add 10.107.138.118/32 dev kube-ipvs0
address add 10.107.138.119/32 dev kube-ipvs0
EOF
ip netns exec node3 ipset restore -exist <<'EOF'
create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add KUBE-LOOP-BACK 10.244.3.2,tcp:80,10.244.3.2
create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
add KUBE-CLUSTER-IP 10.107.138.117,tcp:8080
add KUBE-CLUSTER-IP 10.107.138.118,tcp:8080
add KUBE-CLUSTER-IP 10.107.138.119,tcp:8080
create KUBE-EXTERNAL-IP hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-EXTERNAL-IP-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-FW hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-LOCAL hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-SOURCE-IP hash:ip,port,ip family inet hashsize 1024 maxelem 65536
create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
add KUBE-NODE-PORT-TCP 31029
create KUBE-NODE-PORT-LOCAL-TCP bitmap:port range 0-65535
create KUBE-NODE-PORT-UDP bitmap:port range 0-65535
create KUBE-NODE-PORT-LOCAL-UDP bitmap:port range 0-65535
create KUBE-NODE-PORT-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-NODE-PORT-LOCAL-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536
create KUBE-HEALTH-CHECK-NODE-PORT bitmap:port range 0-65535
create KUBE-IPVS-IPS hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-IPVS-IPS 10.107.138.117
add KUBE-IPVS-IPS 10.107.138.118
add KUBE-IPVS-IPS 10.107.138.119
EOF
ip netns exec node3 ipvsadm -R <<'EOF'
-A -t 10.107.138.117:8080 -s rr
-a -t 10.107.138.117:8080 -r 10.244.1.2:80 -m -w 1
-a -t 10.107.138.117:8080 -r 10.244.2.2:80 -m -w 1
-a -t 10.107.138.117:8080 -r 10.244.3.2:80 -m -w 1
-A -t 10.107.138.118:8080 -s rr
-a -t 10.107.138.118:8080 -r 10.244.1.2:80 -m -w 1
-a -t 10.107.138.118:8080 -r 10.244.2.2:80 -m -w 1
-a -t 10.107.138.118:8080 -r 10.244.3.2:80 -m -w 1
-A -t 192.168.56.13:31029 -s rr
-a -t 192.168.56.13:31029 -r 10.244.1.2:80 -m -w 1
-a -t 192.168.56.13:31029 -r 10.244.2.2:80 -m -w 1
-a -t 192.168.56.13:31029 -r 10.244.3.2:80 -m -w 1
-A -t 10.107.138.119:8080 -s rr -p 600
-a -t 10.107.138.119:8080 -r 10.244.1.2:80 -m -w 1
-a -t 10.107.138.119:8080 -r 10.244.2.2:80 -m -w 1
-a -t 10.107.138.119:8080 -r 10.244.3.2:80 -m -w 1
EOF
ip netns exec node3 iptables-restore --noflush --counters <<'EOF'
*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
-A KUBE-SOURCE-RANGES-FIREWALL -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN
-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
COMMIT
EOF

# 16. Start kube-proxy on every node
#    From here on kube-proxy keeps the rules in step with the API: on every change it recomputes the
#    wanted state and applies the difference: ipset entries added and deleted, virtual and real
#    servers added, edited and deleted (a real server that still has connections is given weight 0
#    and removed once they end), VIPs unbound, and the iptables rules rewritten whole. It also
#    answers on :10256/healthz and, for LoadBalancer Services with externalTrafficPolicy Local, on
#    their healthCheckNodePort: 200 while the node has a ready local endpoint, 503 otherwise. Here
#    kube-proxy is knetlab's own TypeScript daemon; the rules it writes are kube-proxy's.
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node2.json
ip netns exec node3 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/proxy-ipvs/cluster/kube-proxy-node3.json

# 17. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/proxy-ipvs/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/proxy-ipvs",
  "stateFile": "/run/knetlab/labs/proxy-ipvs/cluster/state.json",
  "pidfile": "/run/knetlab/labs/proxy-ipvs/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/proxy-ipvs/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/proxy-ipvs/cluster/controlplane.json

# 18. Look around
#    Read-only commands that show what the steps above built.
# As in the seed: TCP 10.107.138.117:8080 rr with the three pods as Masq real servers of weight 1; one virtual server per node address for NodePort 31029; nginx-sticky's is "persistent 600".
ip netns exec node1 ipvsadm -Ln
# As in the seed: hash:ip,port, family inet hashsize 1024 maxelem 65536, one member per ClusterIP:port (10.107.138.117,tcp:8080).
ip netns exec node1 ipset list KUBE-CLUSTER-IP
# The dummy device, state DOWN, carrying every ClusterIP as a /32.
ip -n node1 addr show kube-ipvs0
# As in the seed: no rule per Service, only the match-set rules (KUBE-MARK-MASQ for !10.244.0.0/16, KUBE-NODE-PORT for local addresses, ACCEPT for KUBE-CLUSTER-IP).
ip netns exec node1 iptables -t nat -L KUBE-SERVICES -n

# 19. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# 60 requests from a pod to the ClusterIP, round robin, reach the 3 pods about 20 times each
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/
# in iptables mode the choice is random, so only a looser share holds
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/
# the ClusterIP sits on node1's kube-ipvs0, and kube-ipvs0 is down
ip netns exec node1 sh -c 'ip -o addr show dev kube-ipvs0 | grep -q "inet 10.107.138.117/32" && ip -o link show kube-ipvs0 | grep -q "state DOWN"'
# ipvsadm lists the ClusterIP's virtual server with rr and the three pods masqueraded, weight 1
ip netns exec node1 sh -c 'test "$(ipvsadm -Ln -t 10.107.138.117:8080 | grep -c -E "^  -> 10\.244\.[0-9]+\.[0-9]+:80 +Masq +1 ")" = 3 && ipvsadm -Ln -t 10.107.138.117:8080 | grep -q "10.107.138.117:8080 rr"'
# the ClusterIP is a local address of node1 (the local routing table holds it, through kube-ipvs0)
ip netns exec node1 sh -c 'ip route show table local | grep -q "^local 10.107.138.117 dev kube-ipvs0"'
# so a ping to it is answered at once, by KUBE-IPVS-FILTER's REJECT (Destination Port Unreachable), not left unanswered
ip netns exec client sh -c 'ping -n -c 1 -W 2 10.107.138.117 | grep -q "Port Unreachable"'
# take KUBE-IPVS-FILTER's REJECT out on node1, as kube-proxy before 1.26 had no such rule (the seed's era)
ip netns exec node1 iptables -D KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
# then the ClusterIP answers ping, as the seed saw (node1's kernel answers for its own address)
ip netns exec client ping -n -c 1 -W 1 10.107.138.117
# within a syncPeriod (5 s here) kube-proxy writes its rules whole again, the REJECT with them
ip netns exec node1 iptables -C KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
# must fail: in iptables mode the ClusterIP gets no answer to ping at all (no interface holds it, no rule matches ICMP)
! ip netns exec client ping -n -c 1 -W 2 10.107.138.117
# must fail: another port of the ClusterIP is refused by KUBE-IPVS-FILTER (the address is local, the port is no Service's)
! ip netns exec client nc -z -v -w 2 10.107.138.117 22
# the NodePort answers from outside on node3's address (a virtual server per node IP)
ip netns exec outside curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.13:31029/ http://192.168.56.13:31029/ http://192.168.56.13:31029/ http://192.168.56.13:31029/ http://192.168.56.13:31029/ http://192.168.56.13:31029/
# and on node1's, in turn to the three pods
ip netns exec outside curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.11:31029/ http://192.168.56.11:31029/ http://192.168.56.11:31029/ http://192.168.56.11:31029/ http://192.168.56.11:31029/ http://192.168.56.11:31029/
# must fail: 127.0.0.1:31029 is not served in IPVS mode (no loopback virtual server; KUBE-SERVICES returns 127.0.0.0/8 early)
! ip netns exec node1 nc -z -v -w 2 127.0.0.1 31029
# with ClientIP affinity (a persistent virtual server), 30 requests from client all land on one pod
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/
# client-b, on node2, is pinned to one pod too
ip netns exec client-b curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/ http://10.107.138.119:8080/
# nginx-sticky's virtual server is persistent with the affinity timeout
ip netns exec node1 sh -c 'ipvsadm -Ln -t 10.107.138.119:8080 | grep -q "rr persistent 600"'
# kube-proxy set its IPVS sysctls (vs/conntrack, expire_nodest_conn, expire_quiescent_template)
ip netns exec node1 sh -c 'test "$(cat /proc/sys/net/ipv4/vs/conntrack /proc/sys/net/ipv4/vs/expire_nodest_conn /proc/sys/net/ipv4/vs/expire_quiescent_template)" = "$(printf "1\n1\n1")"'
# kube-proxy's scheduler becomes sh (source hashing): kubectl apply of the changed KubeProxyConfiguration, taken at the next sync
ip netns exec node1 sh -c 'printf '\''apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: sh\n  syncPeriod: 5s\n'\'' > /run/knetlab/labs/proxy-ipvs/kube-proxy-sh.yaml && <knetlab>/bin/knetlab.js apply /run/knetlab/labs/proxy-ipvs -f /run/knetlab/labs/proxy-ipvs/kube-proxy-sh.yaml'
# the virtual server now schedules by source hash
ip netns exec node1 sh -c 'ipvsadm -Ln -t 10.107.138.117:8080 | grep -q "TCP  10.107.138.117:8080 sh"'
# with sh, 30 requests from client (each from a new source port) all land on one pod, hashed from its address
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/
# and client-b's 30 requests on one pod too, the one its own address hashes to
ip netns exec client-b curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/ http://10.107.138.117:8080/

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/proxy-ipvs/nginx-deploy-79d7d959b7-g5g2s.nginx.pid
# pkill -F /run/knetlab/labs/proxy-ipvs/client.nginx.pid
# pkill -F /run/knetlab/labs/proxy-ipvs/nginx-deploy-79d7d959b7-l2ppr.nginx.pid
# pkill -F /run/knetlab/labs/proxy-ipvs/client-b.nginx.pid
# pkill -F /run/knetlab/labs/proxy-ipvs/nginx-deploy-79d7d959b7-sc2l6.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del nginx-deploy-79d7d959b7-g5g2s
# ip netns del client
# ip netns del node2
# ip netns del nginx-deploy-79d7d959b7-l2ppr
# ip netns del client-b
# ip netns del node3
# ip netns del nginx-deploy-79d7d959b7-sc2l6
# ip netns del outside
