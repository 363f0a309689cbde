#!/bin/sh
# service-loadbalancer: A LoadBalancer Service with MetalLB in layer 2 mode, source ranges and failover
# Reproduces seed 000 §4 LoadBalancer, 001 (loadBalancerIP), 003 (loadBalancerSourceRanges), 004 §5.2.3 (MetalLB).
# Three nodes on flannel (VXLAN) and two clients on their LAN. MetalLB's controller gives the
# "web" LoadBalancer Service the first address of its pool, 192.168.56.240. One speaker — node1's,
# the first by sha256(node#ip) — answers ARP for it with node1's MAC; the address is on no
# interface. kube-proxy sends the VIP to KUBE-FW-… because the Service has
# loadBalancerSourceRanges: 192.168.56.100/32 passes to KUBE-EXT-…, anything else falls through
# and is dropped by KUBE-PROXY-FIREWALL in the filter table. When node1's link goes down the
# others stop hearing it (memberlist, UDP 7946), node2 wins the election and announces the VIP
# with gratuitous ARP, and client-a's connections work again through node2.
# The exact commands "knetlab up service-loadbalancer" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add node2
netns add web-2
netns add node3
netns add web-3
netns add client-a
netns add client-b
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
link add client-a type veth peer name eth0 netns client-a
link add client-b type veth peer name eth0 netns client-b
EOF
ip -n node2 link add veth3b63c9b3 mtu 1450 type veth peer name eth0 mtu 1450 netns web-2
ip -n node3 link add veth9aa9562c mtu 1450 type veth peer name eth0 mtu 1450 netns web-3

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
link set client-a master br0
link set client-a up
link set client-b master br0
link set client-b up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
route add default via 192.168.56.1
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
link set veth9aa9562c master cni0
link set veth9aa9562c type bridge_slave hairpin on
link set veth9aa9562c up
route add default via 192.168.56.1
EOF
ip -n web-3 -batch - <<'EOF'
link set lo up
addr add 10.244.3.2/24 dev eth0
link set eth0 up
route add default via 10.244.3.1
route add 10.244.0.0/16 via 10.244.3.1 dev eth0
EOF
ip -n client-a -batch - <<'EOF'
link set lo up
addr add 192.168.56.100/24 dev eth0
link set eth0 up
route add default via 192.168.56.1
EOF
ip -n client-b -batch - <<'EOF'
link set lo up
addr add 192.168.56.101/24 dev eth0
link set eth0 up
route add default via 192.168.56.1
EOF

# 6. flanneld: take a subnet lease and write subnet.env
#    Each node's flanneld leases one subnet of the cluster network 10.244.0.0/16 (under
#    --kube-subnet-mgr: the node's spec.podCIDR) and writes /run/flannel/subnet.env, which the
#    flannel CNI plugin reads to configure cni0 and pod addresses. FLANNEL_SUBNET is the lease's
#    first usable address; FLANNEL_MTU is the vxlan backend's MTU (1450). Here each node's files live
#    in its own folder of the lab.
mkdir -p -m 0700 /run/knetlab/labs/service-loadbalancer/node1/run/flannel /run/knetlab/labs/service-loadbalancer/node2/run/flannel /run/knetlab/labs/service-loadbalancer/node3/run/flannel
tee /run/knetlab/labs/service-loadbalancer/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/service-loadbalancer/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/service-loadbalancer/node2/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.2.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/service-loadbalancer/node3/run/flannel/subnet.env >/dev/null <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/service-loadbalancer
tee /run/knetlab/labs/service-loadbalancer/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: web-2, web-3
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/service-loadbalancer/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/service-loadbalancer/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/service-loadbalancer/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/service-loadbalancer/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/service-loadbalancer/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.2.2 web-2;
        10.244.3.2 web-3;
    }
    map $server_addr $knetlab_node {
        default unknown;
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
ip netns exec web-2 nginx -c /run/knetlab/labs/service-loadbalancer/nginx.conf -g 'pid /run/knetlab/labs/service-loadbalancer/web-2.nginx.pid; error_log /run/knetlab/labs/service-loadbalancer/web-2.error.log warn;'
ip netns exec web-3 nginx -c /run/knetlab/labs/service-loadbalancer/nginx.conf -g 'pid /run/knetlab/labs/service-loadbalancer/web-3.nginx.pid; error_log /run/knetlab/labs/service-loadbalancer/web-3.error.log warn;'

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/service-loadbalancer/cluster
mkdir -p -m 0711 /run/knetlab/labs/service-loadbalancer/unready
tee /run/knetlab/labs/service-loadbalancer/cluster/state.json >/dev/null <<'EOF'
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
  "lbPool": [
    "192.168.56.240/28"
  ],
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
      "strictARP": true,
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
          "name": "web-3",
          "namespace": "default",
          "labels": {
            "app": "web"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "f2e42130-cb57-499d-b12c-1563adfc0244"
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
        "owner": null,
        "replicaSet": null,
        "ready": true
      }
    ],
    "deployments": [],
    "services": [
      {
        "meta": {
          "name": "web",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "c8a5bdad-7ae7-4a9e-8172-ccbb42e7cdcc"
        },
        "type": "LoadBalancer",
        "clusterIP": "10.96.0.11",
        "ports": [
          {
            "name": "",
            "protocol": "TCP",
            "port": 80,
            "targetPort": 80,
            "nodePort": 30080
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
        "loadBalancerSourceRanges": [
          "192.168.56.100/32"
        ],
        "publishNotReadyAddresses": false,
        "healthCheckNodePort": null,
        "externalName": null,
        "loadBalancerIngress": [
          {
            "ip": "192.168.56.240",
            "ipMode": "VIP"
          }
        ]
      }
    ],
    "slices": [
      {
        "meta": {
          "name": "web-sbkjn",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "web",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "21c68bb4-b644-45d5-8ad3-8f91795d24af"
        },
        "service": "web",
        "ports": [
          {
            "name": "",
            "port": 80,
            "protocol": "TCP"
          }
        ],
        "endpoints": [
          {
            "address": "10.244.2.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "web-2"
          },
          {
            "address": "10.244.3.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node3",
            "pod": "web-3"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      }
    ]
  }
}
EOF
tee /run/knetlab/labs/service-loadbalancer/cluster/objects.yaml >/dev/null <<'EOF'
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
ipvs:
  strictARP: true
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector:
    app: web
  loadBalancerSourceRanges:
    - 192.168.56.100/32
  ports:
    - port: 80
      targetPort: 80
      nodePort: 30080
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
  name: web-3
  labels:
    app: web
spec:
  nodeName: node3
  containers:
    - name: nginx
      image: nginx
      ports:
        - containerPort: 80
EOF
tee /run/knetlab/labs/service-loadbalancer/cluster/events.jsonl >/dev/null <<'EOF'
{"at":"2026-01-01T00:00:00Z","source":"metallb-controller","object":"service/web","namespace":"default","type":"Normal","reason":"IPAllocated","message":"Assigned IP [\"192.168.56.240\"]"}
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
tee /run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/service-loadbalancer/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node1.log"
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
tee /run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/service-loadbalancer/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node2.log"
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
tee /run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node3.json >/dev/null <<'EOF'
{
  "node": "node3",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/service-loadbalancer/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node3.synced",
  "pidfile": "/run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node3.pid",
  "log": "/run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node3.log"
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
-A KUBE-PROXY-FIREWALL -m comment --comment "default/web traffic not accepted by KUBE-FW-LOLE4ISW44XBNF3G" -m tcp -p tcp -d 192.168.56.240 --dport 80 -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-LOLE4ISW44XBNF3G - [0:0]
:KUBE-FW-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SVC-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SEP-QHWUG6SOC7OJ2BZK - [0:0]
:KUBE-SEP-MBUO2PUEYFC4MHZR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-SERVICES -m comment --comment "default/web loadbalancer IP" -m tcp -p tcp -d 192.168.56.240 --dport 80 -j KUBE-FW-LOLE4ISW44XBNF3G
-A KUBE-NODEPORTS -m comment --comment default/web -m tcp -p tcp --dport 30080 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -m comment --comment "masquerade traffic for default/web external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-FW-LOLE4ISW44XBNF3G -m comment --comment "default/web loadbalancer IP" -s 192.168.56.100/32 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-FW-LOLE4ISW44XBNF3G -m comment --comment "other traffic to default/web will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.2.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-QHWUG6SOC7OJ2BZK
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.3.2:80" -j KUBE-SEP-MBUO2PUEYFC4MHZR
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
-A KUBE-SEP-MBUO2PUEYFC4MHZR -m comment --comment default/web -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-MBUO2PUEYFC4MHZR -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:80
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
-A KUBE-PROXY-FIREWALL -m comment --comment "default/web traffic not accepted by KUBE-FW-LOLE4ISW44XBNF3G" -m tcp -p tcp -d 192.168.56.240 --dport 80 -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-LOLE4ISW44XBNF3G - [0:0]
:KUBE-FW-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SVC-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SEP-QHWUG6SOC7OJ2BZK - [0:0]
:KUBE-SEP-MBUO2PUEYFC4MHZR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-SERVICES -m comment --comment "default/web loadbalancer IP" -m tcp -p tcp -d 192.168.56.240 --dport 80 -j KUBE-FW-LOLE4ISW44XBNF3G
-A KUBE-NODEPORTS -m comment --comment default/web -m tcp -p tcp --dport 30080 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -m comment --comment "masquerade traffic for default/web external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-FW-LOLE4ISW44XBNF3G -m comment --comment "default/web loadbalancer IP" -s 192.168.56.100/32 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-FW-LOLE4ISW44XBNF3G -m comment --comment "other traffic to default/web will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.2.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-QHWUG6SOC7OJ2BZK
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.3.2:80" -j KUBE-SEP-MBUO2PUEYFC4MHZR
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
-A KUBE-SEP-MBUO2PUEYFC4MHZR -m comment --comment default/web -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-MBUO2PUEYFC4MHZR -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:80
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
-A KUBE-PROXY-FIREWALL -m comment --comment "default/web traffic not accepted by KUBE-FW-LOLE4ISW44XBNF3G" -m tcp -p tcp -d 192.168.56.240 --dport 80 -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-LOLE4ISW44XBNF3G - [0:0]
:KUBE-FW-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SVC-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SEP-QHWUG6SOC7OJ2BZK - [0:0]
:KUBE-SEP-MBUO2PUEYFC4MHZR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-SERVICES -m comment --comment "default/web loadbalancer IP" -m tcp -p tcp -d 192.168.56.240 --dport 80 -j KUBE-FW-LOLE4ISW44XBNF3G
-A KUBE-NODEPORTS -m comment --comment default/web -m tcp -p tcp --dport 30080 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -m comment --comment "masquerade traffic for default/web external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-FW-LOLE4ISW44XBNF3G -m comment --comment "default/web loadbalancer IP" -s 192.168.56.100/32 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-FW-LOLE4ISW44XBNF3G -m comment --comment "other traffic to default/web will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.2.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-QHWUG6SOC7OJ2BZK
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.3.2:80" -j KUBE-SEP-MBUO2PUEYFC4MHZR
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
-A KUBE-SEP-MBUO2PUEYFC4MHZR -m comment --comment default/web -s 10.244.3.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-MBUO2PUEYFC4MHZR -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:80
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
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node2.json
ip netns exec node3 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/service-loadbalancer/cluster/kube-proxy-node3.json

# 17. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/service-loadbalancer/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/service-loadbalancer",
  "stateFile": "/run/knetlab/labs/service-loadbalancer/cluster/state.json",
  "pidfile": "/run/knetlab/labs/service-loadbalancer/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/service-loadbalancer/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/service-loadbalancer/cluster/controlplane.json

# 18. Start the MetalLB speakers (layer 2)
#    MetalLB's controller gave each LoadBalancer Service an address from the pool
#    (status.loadBalancer.ingress). In layer 2 mode one node, elected per address (the first by
#    sha256(node#ip) among nodes whose speaker is alive, and which have a ready endpoint when
#    externalTrafficPolicy is Local), answers ARP requests for it from userspace with its own eth0
#    MAC. The address is on no interface. When that node goes away another takes over and announces
#    itself with gratuitous ARP. The speakers learn who is alive from each other over UDP 7946, as
#    memberlist does.
tee /run/knetlab/labs/service-loadbalancer/cluster/speaker-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "interface": "eth0",
  "stateFile": "/run/knetlab/labs/service-loadbalancer/cluster/state.json",
  "memberlistPort": 7946,
  "pidfile": "/run/knetlab/labs/service-loadbalancer/cluster/speaker-node1.pid",
  "log": "/run/knetlab/labs/service-loadbalancer/cluster/speaker-node1.log"
}
EOF
tee /run/knetlab/labs/service-loadbalancer/cluster/speaker-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "interface": "eth0",
  "stateFile": "/run/knetlab/labs/service-loadbalancer/cluster/state.json",
  "memberlistPort": 7946,
  "pidfile": "/run/knetlab/labs/service-loadbalancer/cluster/speaker-node2.pid",
  "log": "/run/knetlab/labs/service-loadbalancer/cluster/speaker-node2.log"
}
EOF
tee /run/knetlab/labs/service-loadbalancer/cluster/speaker-node3.json >/dev/null <<'EOF'
{
  "node": "node3",
  "interface": "eth0",
  "stateFile": "/run/knetlab/labs/service-loadbalancer/cluster/state.json",
  "memberlistPort": 7946,
  "pidfile": "/run/knetlab/labs/service-loadbalancer/cluster/speaker-node3.pid",
  "log": "/run/knetlab/labs/service-loadbalancer/cluster/speaker-node3.log"
}
EOF

# 19. Run the speakers
#    Each speaker joins the others, runs the election for every address, and the winner starts
#    answering ARP for it.
ip netns exec node1 node <knetlab>/dist/agent.js metallb-speaker --config /run/knetlab/labs/service-loadbalancer/cluster/speaker-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js metallb-speaker --config /run/knetlab/labs/service-loadbalancer/cluster/speaker-node2.json
ip netns exec node3 node <knetlab>/dist/agent.js metallb-speaker --config /run/knetlab/labs/service-loadbalancer/cluster/speaker-node3.json

# 20. Look around
#    Read-only commands that show what the steps above built.
# "default/web loadbalancer IP": tcp to 192.168.56.240:80 jumps to KUBE-FW-…
ip netns exec node1 iptables -t nat -S KUBE-SERVICES
# What the FW chain did not send on to the Service is dropped here.
ip netns exec node1 iptables -t filter -S KUBE-PROXY-FIREWALL
# node1's speaker announces 192.168.56.240.
ip netns exec node1 cat /run/knetlab/labs/service-loadbalancer/cluster/speaker-node1.status.json

# 21. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# client-a (inside loadBalancerSourceRanges) reaches the VIP
ip netns exec client-a curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/
# client-a learnt the VIP's MAC by ARP, and it is node1's eth0 (node1's speaker answered)
ip -n client-a -j neigh show 192.168.56.240
# node1 does not have the VIP on an interface (MetalLB answers ARP from userspace)
ip netns exec node1 sh -c '! ip -4 addr show | grep -q 192.168.56.240'
# nor does node2
ip netns exec node2 sh -c '! ip -4 addr show | grep -q 192.168.56.240'
# must fail: client-b (outside the source ranges) is dropped by KUBE-PROXY-FIREWALL
! ip netns exec client-b curl -sS --max-time 3 -w '\nstatus=%{http_code}\n' http://192.168.56.240/
# the NodePort is not subject to the source ranges, so client-b gets in there
ip netns exec client-b curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://192.168.56.12:30080/
# in IPVS mode every node has the VIP on its kube-ipvs0 (kube-proxy binds every LoadBalancer IP there)
ip netns exec node2 sh -c 'ip -4 addr show dev kube-ipvs0 | grep -q '\''inet 192.168.56.240/32'\'''
# so kube-proxy, told strictARP, set arp_ignore=1 and arp_announce=2 on every node
ip netns exec node2 sh -c 'test "$(cat /proc/sys/net/ipv4/conf/all/arp_ignore)$(cat /proc/sys/net/ipv4/conf/all/arp_announce)" = 12'
# with them, node2's kernel does not answer ARP for the VIP (only node1's speaker does)
ip netns exec client-a sh -c '! arping -c 2 -w 3 -I eth0 192.168.56.240 | grep -qi '\''52:54:00:a8:38:0c'\'''
# without strictARP (arp_ignore back to 0 on node2), node2's kernel answers for the VIP on kube-ipvs0 too
ip netns exec node2 sysctl -q -w net.ipv4.conf.all.arp_ignore=0
# now two MACs answer ARP for one VIP, node1's (its speaker) and node2's (its kernel), which is why MetalLB needs strictARP in IPVS mode
ip netns exec client-a sh -c 'arping -c 2 -w 3 -I eth0 192.168.56.240 | grep -qi '\''52:54:00:a8:38:0c'\'''
# kube-proxy sets arp_ignore=1 again at its next sync (every syncPeriod)
ip netns exec node2 sh -c 'test "$(cat /proc/sys/net/ipv4/conf/all/arp_ignore)" = 1'
# node1, the VIP's speaker, loses its link
ip netns exec node1 ip link set eth0 down
# node2 takes the VIP over with gratuitous ARP; client-a's neighbour entry now holds node2's MAC
ip -n client-a -j neigh show 192.168.56.240
# client-a's requests are served again, through node2
ip netns exec client-a curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/ http://192.168.56.240/

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/service-loadbalancer/web-2.nginx.pid
# pkill -F /run/knetlab/labs/service-loadbalancer/web-3.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del node2
# ip netns del web-2
# ip netns del node3
# ip netns del web-3
# ip netns del client-a
# ip netns del client-b
