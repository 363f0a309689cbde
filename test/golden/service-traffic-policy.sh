#!/bin/sh
# service-traffic-policy: externalTrafficPolicy Cluster vs Local, health check node ports, internalTrafficPolicy Local
# Reproduces seed 001 NodePort/LoadBalancer (externalTrafficPolicy Local), 003 (healthCheckNodePort).
# Three nodes on flannel (VXLAN); pods web-1 on node1 and web-2 on node2; node3 has none. A client
# outside the cluster calls three Services that select the same pods: - web-cluster (NodePort
# 30001, externalTrafficPolicy Cluster): any node forwards to any pod and masquerades, so the pod
# sees a node's address, never the client's; - web-local (LoadBalancer, externalTrafficPolicy
# Local, NodePort 30002, healthCheckNodePort 32000): only nodes with a ready local pod serve it,
# without masquerading (the pod sees the client); node3 DROPs (a timeout, not a refusal);
# kube-proxy answers the health check node port with 200 and the local endpoint count where there
# is a local pod, 503 where there is none; - web-itp (ClusterIP 10.96.100.3, internalTrafficPolicy
# Local): a pod only reaches endpoints on its own node; on node3 there are none, and kube-proxy
# DROPs.
# The exact commands "knetlab up service-traffic-policy" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add web-1
netns add probe-1
netns add node2
netns add web-2
netns add node3
netns add probe-3
netns add client
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
link add client type veth peer name eth0 netns client
EOF
ip -n node1 link add vethba92dbab mtu 1450 type veth peer name eth0 mtu 1450 netns web-1
ip -n node1 link add veth5732346c mtu 1450 type veth peer name eth0 mtu 1450 netns probe-1
ip -n node2 link add veth3b63c9b3 mtu 1450 type veth peer name eth0 mtu 1450 netns web-2
ip -n node3 link add vethdc61144f mtu 1450 type veth peer name eth0 mtu 1450 netns probe-3

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
link set client master br0
link set client up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
link set vethba92dbab master cni0
link set vethba92dbab type bridge_slave hairpin on
link set vethba92dbab up
link set veth5732346c master cni0
link set veth5732346c type bridge_slave hairpin on
link set veth5732346c up
route add default via 192.168.56.1
EOF
ip -n web-1 -batch - <<'EOF'
link set lo up
addr add 10.244.1.2/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n probe-1 -batch - <<'EOF'
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
link set veth3b63c9b3 master cni0
link set veth3b63c9b3 type bridge_slave hairpin on
link set veth3b63c9b3 up
route add default via 192.168.56.1
EOF
ip -n web-2 -batch - <<'EOF'
link set lo up
addr add 10.244.2.2/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n node3 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0d
addr add 192.168.56.13/24 dev eth0
link set eth0 up
link set vethdc61144f master cni0
link set vethdc61144f type bridge_slave hairpin on
link set vethdc61144f up
route add default via 192.168.56.1
EOF
ip -n probe-3 -batch - <<'EOF'
link set lo up
addr add 10.244.3.2/24 dev eth0
link set eth0 up
route add default via 10.244.3.1
route add 10.244.0.0/16 via 10.244.3.1 dev eth0
EOF
ip -n client -batch - <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/service-traffic-policy/node1/run/flannel /run/knetlab/labs/service-traffic-policy/node2/run/flannel /run/knetlab/labs/service-traffic-policy/node3/run/flannel
tee /run/knetlab/labs/service-traffic-policy/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/service-traffic-policy/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/service-traffic-policy/node2/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.2.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/service-traffic-policy/node3/run/flannel/subnet.env >/dev/null <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/service-traffic-policy
tee /run/knetlab/labs/service-traffic-policy/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: web-1, probe-1, web-2, probe-3
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/service-traffic-policy/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/service-traffic-policy/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/service-traffic-policy/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/service-traffic-policy/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/service-traffic-policy/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.2 web-1;
        10.244.1.3 probe-1;
        10.244.2.2 web-2;
        10.244.3.2 probe-3;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.2 node1;
        10.244.1.3 node1;
        10.244.2.2 node2;
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
ip netns exec web-1 nginx -c /run/knetlab/labs/service-traffic-policy/nginx.conf -g 'pid /run/knetlab/labs/service-traffic-policy/web-1.nginx.pid; error_log /run/knetlab/labs/service-traffic-policy/web-1.error.log warn;'
ip netns exec probe-1 nginx -c /run/knetlab/labs/service-traffic-policy/nginx.conf -g 'pid /run/knetlab/labs/service-traffic-policy/probe-1.nginx.pid; error_log /run/knetlab/labs/service-traffic-policy/probe-1.error.log warn;'
ip netns exec web-2 nginx -c /run/knetlab/labs/service-traffic-policy/nginx.conf -g 'pid /run/knetlab/labs/service-traffic-policy/web-2.nginx.pid; error_log /run/knetlab/labs/service-traffic-policy/web-2.error.log warn;'
ip netns exec probe-3 nginx -c /run/knetlab/labs/service-traffic-policy/nginx.conf -g 'pid /run/knetlab/labs/service-traffic-policy/probe-3.nginx.pid; error_log /run/knetlab/labs/service-traffic-policy/probe-3.error.log warn;'

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/service-traffic-policy/cluster
mkdir -p -m 0711 /run/knetlab/labs/service-traffic-policy/unready
tee /run/knetlab/labs/service-traffic-policy/cluster/state.json >/dev/null <<'EOF'
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
          "name": "web-1",
          "namespace": "default",
          "labels": {
            "app": "web"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "79d3392d-97ab-4a10-aed9-dcebafa7fb54"
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
        "owner": null,
        "replicaSet": null,
        "ready": true
      },
      {
        "meta": {
          "name": "web-2",
          "namespace": "default",
          "labels": {
            "app": "web"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "f32ca83a-c7a5-4e77-a9de-ab3800695deb"
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
        "owner": null,
        "replicaSet": null,
        "ready": true
      },
      {
        "meta": {
          "name": "probe-1",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "cd16fa21-b7a4-4354-8bb4-52b0cf52b86a"
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
          "name": "probe-3",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "122fc434-6da6-4c47-ba25-19a84c887f08"
        },
        "nodeName": "node3",
        "podIP": "10.244.3.2",
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
    "deployments": [],
    "services": [
      {
        "meta": {
          "name": "web-cluster",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "ca520641-fd9c-410e-9f95-02b03f3c425c"
        },
        "type": "NodePort",
        "clusterIP": "10.96.100.1",
        "ports": [
          {
            "name": "",
            "protocol": "TCP",
            "port": 80,
            "targetPort": 80,
            "nodePort": 30001
          }
        ],
        "selector": {
          "app": "web"
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
          "name": "web-local",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "9b3f9da5-b5ea-4cac-ab90-038cda2e5271"
        },
        "type": "LoadBalancer",
        "clusterIP": "10.96.100.2",
        "ports": [
          {
            "name": "",
            "protocol": "TCP",
            "port": 80,
            "targetPort": 80,
            "nodePort": 30002
          }
        ],
        "selector": {
          "app": "web"
        },
        "sessionAffinity": "None",
        "affinityTimeoutSeconds": 10800,
        "externalTrafficPolicy": "Local",
        "internalTrafficPolicy": "Cluster",
        "externalIPs": [],
        "loadBalancerIP": null,
        "loadBalancerSourceRanges": [],
        "publishNotReadyAddresses": false,
        "healthCheckNodePort": 32000,
        "externalName": null,
        "loadBalancerIngress": []
      },
      {
        "meta": {
          "name": "web-itp",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "ecd0e0aa-8ea5-4628-aff4-496b985c5488"
        },
        "type": "ClusterIP",
        "clusterIP": "10.96.100.3",
        "ports": [
          {
            "name": "",
            "protocol": "TCP",
            "port": 80,
            "targetPort": 80,
            "nodePort": null
          }
        ],
        "selector": {
          "app": "web"
        },
        "sessionAffinity": "None",
        "affinityTimeoutSeconds": 10800,
        "externalTrafficPolicy": "Cluster",
        "internalTrafficPolicy": "Local",
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
          "name": "web-cluster-hgjxl",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "web-cluster",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "ed077fd3-030c-46a9-9c3d-c70a1e0e3b8a"
        },
        "service": "web-cluster",
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
            "pod": "web-1"
          },
          {
            "address": "10.244.2.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "web-2"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      },
      {
        "meta": {
          "name": "web-local-j4xx7",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "web-local",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "a58000ff-9475-490e-900e-9e712c26eac2"
        },
        "service": "web-local",
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
            "pod": "web-1"
          },
          {
            "address": "10.244.2.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "web-2"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      },
      {
        "meta": {
          "name": "web-itp-kdpp7",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "web-itp",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "66d95634-543d-4704-ac87-2423dffd340c"
        },
        "service": "web-itp",
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
            "pod": "web-1"
          },
          {
            "address": "10.244.2.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "web-2"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      }
    ]
  }
}
EOF
tee /run/knetlab/labs/service-traffic-policy/cluster/objects.yaml >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: web-cluster
spec:
  type: NodePort
  externalTrafficPolicy: Cluster
  clusterIP: 10.96.100.1
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 80
      nodePort: 30001
---
apiVersion: v1
kind: Service
metadata:
  name: web-local
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  clusterIP: 10.96.100.2
  healthCheckNodePort: 32000
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 80
      nodePort: 30002
---
apiVersion: v1
kind: Service
metadata:
  name: web-itp
spec:
  clusterIP: 10.96.100.3
  internalTrafficPolicy: Local
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels:
    app: web
spec:
  nodeName: node1
  containers:
    - name: nginx
      image: nginx
      ports:
        - containerPort: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: web-2
  labels:
    app: web
spec:
  nodeName: node2
  containers:
    - name: nginx
      image: nginx
      ports:
        - containerPort: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: probe-1
spec:
  nodeName: node1
  containers:
    - name: curl
      image: curlimages/curl
---
apiVersion: v1
kind: Pod
metadata:
  name: probe-3
spec:
  nodeName: node3
  containers:
    - name: curl
      image: curlimages/curl
EOF
tee /run/knetlab/labs/service-traffic-policy/cluster/events.jsonl >/dev/null <<'EOF'
{"at":"2026-01-01T00:00:00Z","source":"metallb-controller","object":"service/web-local","namespace":"default","type":"Warning","reason":"AllocationFailed","message":"Failed to allocate IP for \"default/web-local\": no available IPs"}
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
tee /run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/service-traffic-policy/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node1.log"
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
tee /run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/service-traffic-policy/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node2.log"
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
tee /run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node3.json >/dev/null <<'EOF'
{
  "node": "node3",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/service-traffic-policy/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node3.synced",
  "pidfile": "/run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node3.pid",
  "log": "/run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node3.log"
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
-A KUBE-NODEPORTS -m comment --comment "default/web-local health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-ATIQDN2YQVO6FKNV - [0:0]
:KUBE-SVC-ATIQDN2YQVO6FKNV - [0:0]
:KUBE-SEP-NUYHVOMAS7BBBK2S - [0:0]
:KUBE-SEP-BQFSSZJ773VZINFL - [0:0]
:KUBE-SVL-3CNWQBYTMLNM4S7E - [0:0]
:KUBE-SEP-JGD6NOGEEB4KOF7Z - [0:0]
:KUBE-EXT-W6DWRVOIQKRHXDQP - [0:0]
:KUBE-SVC-W6DWRVOIQKRHXDQP - [0:0]
:KUBE-SVL-W6DWRVOIQKRHXDQP - [0:0]
:KUBE-SEP-3BUOLXOADLZEQ6S3 - [0:0]
:KUBE-SEP-KTM47VT7HBU67647 - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/web-cluster cluster IP" -m tcp -p tcp -d 10.96.100.1 --dport 80 -j KUBE-SVC-ATIQDN2YQVO6FKNV
-A KUBE-NODEPORTS -m comment --comment default/web-cluster -m tcp -p tcp --dport 30001 -j KUBE-EXT-ATIQDN2YQVO6FKNV
-A KUBE-SVC-ATIQDN2YQVO6FKNV -m comment --comment "default/web-cluster cluster IP" -m tcp -p tcp -d 10.96.100.1 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-ATIQDN2YQVO6FKNV -m comment --comment "masquerade traffic for default/web-cluster external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-ATIQDN2YQVO6FKNV -j KUBE-SVC-ATIQDN2YQVO6FKNV
-A KUBE-SVC-ATIQDN2YQVO6FKNV -m comment --comment "default/web-cluster -> 10.244.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-NUYHVOMAS7BBBK2S
-A KUBE-SVC-ATIQDN2YQVO6FKNV -m comment --comment "default/web-cluster -> 10.244.2.2:80" -j KUBE-SEP-BQFSSZJ773VZINFL
-A KUBE-SEP-NUYHVOMAS7BBBK2S -m comment --comment default/web-cluster -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-NUYHVOMAS7BBBK2S -m comment --comment default/web-cluster -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SEP-BQFSSZJ773VZINFL -m comment --comment default/web-cluster -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-BQFSSZJ773VZINFL -m comment --comment default/web-cluster -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
-A KUBE-SERVICES -m comment --comment "default/web-itp cluster IP" -m tcp -p tcp -d 10.96.100.3 --dport 80 -j KUBE-SVL-3CNWQBYTMLNM4S7E
-A KUBE-SVL-3CNWQBYTMLNM4S7E -m comment --comment "default/web-itp cluster IP" -m tcp -p tcp -d 10.96.100.3 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVL-3CNWQBYTMLNM4S7E -m comment --comment "default/web-itp -> 10.244.1.2:80" -j KUBE-SEP-JGD6NOGEEB4KOF7Z
-A KUBE-SEP-JGD6NOGEEB4KOF7Z -m comment --comment default/web-itp -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-JGD6NOGEEB4KOF7Z -m comment --comment default/web-itp -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SERVICES -m comment --comment "default/web-local cluster IP" -m tcp -p tcp -d 10.96.100.2 --dport 80 -j KUBE-SVC-W6DWRVOIQKRHXDQP
-A KUBE-NODEPORTS -m comment --comment default/web-local -m tcp -p tcp --dport 30002 -j KUBE-EXT-W6DWRVOIQKRHXDQP
-A KUBE-SVC-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local cluster IP" -m tcp -p tcp -d 10.96.100.2 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-W6DWRVOIQKRHXDQP -m comment --comment "pod traffic for default/web-local external destinations" -s 10.244.0.0/16 -j KUBE-SVC-W6DWRVOIQKRHXDQP
-A KUBE-EXT-W6DWRVOIQKRHXDQP -m comment --comment "masquerade LOCAL traffic for default/web-local external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-W6DWRVOIQKRHXDQP -m comment --comment "route LOCAL traffic for default/web-local external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-W6DWRVOIQKRHXDQP
-A KUBE-EXT-W6DWRVOIQKRHXDQP -j KUBE-SVL-W6DWRVOIQKRHXDQP
-A KUBE-SVC-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local -> 10.244.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-3BUOLXOADLZEQ6S3
-A KUBE-SVC-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local -> 10.244.2.2:80" -j KUBE-SEP-KTM47VT7HBU67647
-A KUBE-SVL-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local -> 10.244.1.2:80" -j KUBE-SEP-3BUOLXOADLZEQ6S3
-A KUBE-SEP-3BUOLXOADLZEQ6S3 -m comment --comment default/web-local -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-3BUOLXOADLZEQ6S3 -m comment --comment default/web-local -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SEP-KTM47VT7HBU67647 -m comment --comment default/web-local -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-KTM47VT7HBU67647 -m comment --comment default/web-local -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
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
-A KUBE-NODEPORTS -m comment --comment "default/web-local health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-ATIQDN2YQVO6FKNV - [0:0]
:KUBE-SVC-ATIQDN2YQVO6FKNV - [0:0]
:KUBE-SEP-NUYHVOMAS7BBBK2S - [0:0]
:KUBE-SEP-BQFSSZJ773VZINFL - [0:0]
:KUBE-SVL-3CNWQBYTMLNM4S7E - [0:0]
:KUBE-SEP-GCCJ2TP545ZJAVGG - [0:0]
:KUBE-EXT-W6DWRVOIQKRHXDQP - [0:0]
:KUBE-SVC-W6DWRVOIQKRHXDQP - [0:0]
:KUBE-SVL-W6DWRVOIQKRHXDQP - [0:0]
:KUBE-SEP-3BUOLXOADLZEQ6S3 - [0:0]
:KUBE-SEP-KTM47VT7HBU67647 - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/web-cluster cluster IP" -m tcp -p tcp -d 10.96.100.1 --dport 80 -j KUBE-SVC-ATIQDN2YQVO6FKNV
-A KUBE-NODEPORTS -m comment --comment default/web-cluster -m tcp -p tcp --dport 30001 -j KUBE-EXT-ATIQDN2YQVO6FKNV
-A KUBE-SVC-ATIQDN2YQVO6FKNV -m comment --comment "default/web-cluster cluster IP" -m tcp -p tcp -d 10.96.100.1 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-ATIQDN2YQVO6FKNV -m comment --comment "masquerade traffic for default/web-cluster external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-ATIQDN2YQVO6FKNV -j KUBE-SVC-ATIQDN2YQVO6FKNV
-A KUBE-SVC-ATIQDN2YQVO6FKNV -m comment --comment "default/web-cluster -> 10.244.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-NUYHVOMAS7BBBK2S
-A KUBE-SVC-ATIQDN2YQVO6FKNV -m comment --comment "default/web-cluster -> 10.244.2.2:80" -j KUBE-SEP-BQFSSZJ773VZINFL
-A KUBE-SEP-NUYHVOMAS7BBBK2S -m comment --comment default/web-cluster -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-NUYHVOMAS7BBBK2S -m comment --comment default/web-cluster -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SEP-BQFSSZJ773VZINFL -m comment --comment default/web-cluster -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-BQFSSZJ773VZINFL -m comment --comment default/web-cluster -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
-A KUBE-SERVICES -m comment --comment "default/web-itp cluster IP" -m tcp -p tcp -d 10.96.100.3 --dport 80 -j KUBE-SVL-3CNWQBYTMLNM4S7E
-A KUBE-SVL-3CNWQBYTMLNM4S7E -m comment --comment "default/web-itp cluster IP" -m tcp -p tcp -d 10.96.100.3 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVL-3CNWQBYTMLNM4S7E -m comment --comment "default/web-itp -> 10.244.2.2:80" -j KUBE-SEP-GCCJ2TP545ZJAVGG
-A KUBE-SEP-GCCJ2TP545ZJAVGG -m comment --comment default/web-itp -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-GCCJ2TP545ZJAVGG -m comment --comment default/web-itp -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
-A KUBE-SERVICES -m comment --comment "default/web-local cluster IP" -m tcp -p tcp -d 10.96.100.2 --dport 80 -j KUBE-SVC-W6DWRVOIQKRHXDQP
-A KUBE-NODEPORTS -m comment --comment default/web-local -m tcp -p tcp --dport 30002 -j KUBE-EXT-W6DWRVOIQKRHXDQP
-A KUBE-SVC-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local cluster IP" -m tcp -p tcp -d 10.96.100.2 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-W6DWRVOIQKRHXDQP -m comment --comment "pod traffic for default/web-local external destinations" -s 10.244.0.0/16 -j KUBE-SVC-W6DWRVOIQKRHXDQP
-A KUBE-EXT-W6DWRVOIQKRHXDQP -m comment --comment "masquerade LOCAL traffic for default/web-local external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-W6DWRVOIQKRHXDQP -m comment --comment "route LOCAL traffic for default/web-local external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-W6DWRVOIQKRHXDQP
-A KUBE-EXT-W6DWRVOIQKRHXDQP -j KUBE-SVL-W6DWRVOIQKRHXDQP
-A KUBE-SVC-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local -> 10.244.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-3BUOLXOADLZEQ6S3
-A KUBE-SVC-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local -> 10.244.2.2:80" -j KUBE-SEP-KTM47VT7HBU67647
-A KUBE-SVL-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local -> 10.244.2.2:80" -j KUBE-SEP-KTM47VT7HBU67647
-A KUBE-SEP-3BUOLXOADLZEQ6S3 -m comment --comment default/web-local -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-3BUOLXOADLZEQ6S3 -m comment --comment default/web-local -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SEP-KTM47VT7HBU67647 -m comment --comment default/web-local -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-KTM47VT7HBU67647 -m comment --comment default/web-local -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
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
-A KUBE-SERVICES -m comment --comment "default/web-itp has no local endpoints" -m tcp -p tcp -d 10.96.100.3 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/web-local has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30002 -j DROP
-A KUBE-NODEPORTS -m comment --comment "default/web-local health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-ATIQDN2YQVO6FKNV - [0:0]
:KUBE-SVC-ATIQDN2YQVO6FKNV - [0:0]
:KUBE-SEP-NUYHVOMAS7BBBK2S - [0:0]
:KUBE-SEP-BQFSSZJ773VZINFL - [0:0]
:KUBE-EXT-W6DWRVOIQKRHXDQP - [0:0]
:KUBE-SVC-W6DWRVOIQKRHXDQP - [0:0]
:KUBE-SEP-3BUOLXOADLZEQ6S3 - [0:0]
:KUBE-SEP-KTM47VT7HBU67647 - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/web-cluster cluster IP" -m tcp -p tcp -d 10.96.100.1 --dport 80 -j KUBE-SVC-ATIQDN2YQVO6FKNV
-A KUBE-NODEPORTS -m comment --comment default/web-cluster -m tcp -p tcp --dport 30001 -j KUBE-EXT-ATIQDN2YQVO6FKNV
-A KUBE-SVC-ATIQDN2YQVO6FKNV -m comment --comment "default/web-cluster cluster IP" -m tcp -p tcp -d 10.96.100.1 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-ATIQDN2YQVO6FKNV -m comment --comment "masquerade traffic for default/web-cluster external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-ATIQDN2YQVO6FKNV -j KUBE-SVC-ATIQDN2YQVO6FKNV
-A KUBE-SVC-ATIQDN2YQVO6FKNV -m comment --comment "default/web-cluster -> 10.244.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-NUYHVOMAS7BBBK2S
-A KUBE-SVC-ATIQDN2YQVO6FKNV -m comment --comment "default/web-cluster -> 10.244.2.2:80" -j KUBE-SEP-BQFSSZJ773VZINFL
-A KUBE-SEP-NUYHVOMAS7BBBK2S -m comment --comment default/web-cluster -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-NUYHVOMAS7BBBK2S -m comment --comment default/web-cluster -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SEP-BQFSSZJ773VZINFL -m comment --comment default/web-cluster -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-BQFSSZJ773VZINFL -m comment --comment default/web-cluster -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
-A KUBE-SERVICES -m comment --comment "default/web-local cluster IP" -m tcp -p tcp -d 10.96.100.2 --dport 80 -j KUBE-SVC-W6DWRVOIQKRHXDQP
-A KUBE-NODEPORTS -m comment --comment default/web-local -m tcp -p tcp --dport 30002 -j KUBE-EXT-W6DWRVOIQKRHXDQP
-A KUBE-SVC-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local cluster IP" -m tcp -p tcp -d 10.96.100.2 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-W6DWRVOIQKRHXDQP -m comment --comment "pod traffic for default/web-local external destinations" -s 10.244.0.0/16 -j KUBE-SVC-W6DWRVOIQKRHXDQP
-A KUBE-EXT-W6DWRVOIQKRHXDQP -m comment --comment "masquerade LOCAL traffic for default/web-local external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-W6DWRVOIQKRHXDQP -m comment --comment "route LOCAL traffic for default/web-local external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-W6DWRVOIQKRHXDQP
-A KUBE-SVC-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local -> 10.244.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-3BUOLXOADLZEQ6S3
-A KUBE-SVC-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local -> 10.244.2.2:80" -j KUBE-SEP-KTM47VT7HBU67647
-A KUBE-SEP-3BUOLXOADLZEQ6S3 -m comment --comment default/web-local -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-3BUOLXOADLZEQ6S3 -m comment --comment default/web-local -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SEP-KTM47VT7HBU67647 -m comment --comment default/web-local -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-KTM47VT7HBU67647 -m comment --comment default/web-local -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
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
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node2.json
ip netns exec node3 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/service-traffic-policy/cluster/kube-proxy-node3.json

# 17. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/service-traffic-policy/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/service-traffic-policy",
  "stateFile": "/run/knetlab/labs/service-traffic-policy/cluster/state.json",
  "pidfile": "/run/knetlab/labs/service-traffic-policy/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/service-traffic-policy/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/service-traffic-policy/cluster/controlplane.json

# 18. Look around
#    Read-only commands that show what the steps above built.
# "default/web-local has no local endpoints": DROP for the NodePort on node3.
ip netns exec node3 iptables -t filter -L KUBE-EXTERNAL-SERVICES -n
# web-local's external chain on node1 (externalTrafficPolicy Local): pod and node traffic short-circuits to all endpoints, everything else only to node1's own (KUBE-SVL).
ip netns exec node1 iptables -t nat -S KUBE-EXT-W6DWRVOIQKRHXDQP
# "default/web-itp has no local endpoints": DROP for the ClusterIP on node3.
ip netns exec node3 iptables -t filter -L KUBE-SERVICES -n

# 19. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# Cluster: node3 forwards the client to a pod elsewhere, which sees node3's flannel.1 address
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.13:30001/ http://192.168.56.13:30001/ http://192.168.56.13:30001/ http://192.168.56.13:30001/ http://192.168.56.13:30001/ http://192.168.56.13:30001/ http://192.168.56.13:30001/ http://192.168.56.13:30001/ http://192.168.56.13:30001/ http://192.168.56.13:30001/
# Local: node1 serves its own pod, which sees the client's own address
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.11:30002/ http://192.168.56.11:30002/ http://192.168.56.11:30002/ http://192.168.56.11:30002/ http://192.168.56.11:30002/ http://192.168.56.11:30002/ http://192.168.56.11:30002/ http://192.168.56.11:30002/ http://192.168.56.11:30002/ http://192.168.56.11:30002/
# Local: node2 serves only web-2
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.12:30002/ http://192.168.56.12:30002/ http://192.168.56.12:30002/ http://192.168.56.12:30002/ http://192.168.56.12:30002/ http://192.168.56.12:30002/ http://192.168.56.12:30002/ http://192.168.56.12:30002/ http://192.168.56.12:30002/ http://192.168.56.12:30002/
# must fail: Local: node3 has no local endpoint and drops the connection (timeout, not refused)
! ip netns exec client curl -sS --max-time 3 -w '\nstatus=%{http_code}\n' http://192.168.56.13:30002/
# Local, IPVS mode: node3 has no local endpoint, so its virtual server gets every endpoint (kube-proxy PR 97081) and forwards the client to one elsewhere
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.13:30002/ http://192.168.56.13:30002/ http://192.168.56.13:30002/ http://192.168.56.13:30002/ http://192.168.56.13:30002/ http://192.168.56.13:30002/ http://192.168.56.13:30002/ http://192.168.56.13:30002/ http://192.168.56.13:30002/ http://192.168.56.13:30002/
# kube-proxy's own health on node3 (:10256/healthz) is 200 and eligible, whatever its local endpoints
ip netns exec client curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://192.168.56.13:10256/healthz
# the health check node port on node1 says 200 (one local endpoint)
ip netns exec client curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://192.168.56.11:32000/
# the health check node port on node3 says 503 (no local endpoint)
ip netns exec client curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://192.168.56.13:32000/
# internalTrafficPolicy Local: a pod on node1 only reaches web-1
ip netns exec probe-1 curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.96.100.3/ http://10.96.100.3/ http://10.96.100.3/ http://10.96.100.3/ http://10.96.100.3/ http://10.96.100.3/ http://10.96.100.3/ http://10.96.100.3/ http://10.96.100.3/ http://10.96.100.3/
# must fail: internalTrafficPolicy Local: on node3 there is no local endpoint and the connection is dropped
! ip netns exec probe-3 curl -sS --max-time 3 -w '\nstatus=%{http_code}\n' http://10.96.100.3/
# must fail: internalTrafficPolicy Local, IPVS mode: node3's virtual server has no real server, and the ClusterIP, a local address with nothing listening, refuses
! ip netns exec probe-3 curl -sS --max-time 3 -w '\nstatus=%{http_code}\n' http://10.96.100.3/
# externalTrafficPolicy does not apply to the ClusterIP: a pod on node3 reaches web-local's ClusterIP
ip netns exec probe-3 curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://10.96.100.2/

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/service-traffic-policy/web-1.nginx.pid
# pkill -F /run/knetlab/labs/service-traffic-policy/probe-1.nginx.pid
# pkill -F /run/knetlab/labs/service-traffic-policy/web-2.nginx.pid
# pkill -F /run/knetlab/labs/service-traffic-policy/probe-3.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del web-1
# ip netns del probe-1
# ip netns del node2
# ip netns del web-2
# ip netns del node3
# ip netns del probe-3
# ip netns del client
