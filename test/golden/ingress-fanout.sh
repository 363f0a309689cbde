#!/bin/sh
# ingress-fanout: Ingress fanout: one host, paths to several Services; Exact, Prefix and the longest match
# Reproduces seed 004 §6.1 (fanout).
# One host, foo.bar.com, fans out by path. ingress-nginx writes Prefix /foo as two locations,
# "/foo/" and "= /foo", so /foo and /foo/… match and /foobar does not (Prefix is element-wise); an
# Exact /bar keeps "= /bar" for itself, so Exact wins the tie against Prefix /bar; nginx picks the
# longest prefix, so /foo/bar/x goes to the /foo/bar path whatever the YAML order. Trailing
# slashes follow ingress-nginx, not the spec: Prefix /aaa/bbb/ becomes only "location /aaa/bbb/",
# and nginx answers /aaa/bbb with a 301 to /aaa/bbb/ (the spec says 200).
# The exact commands "knetlab up ingress-fanout" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add ingress-nginx-controller-77698c497c-4t6vm
netns add service2-b5d79579c-mgv95
netns add node2
netns add service1-79c4dfb79d-vn5l6
netns add service3-6498fd958d-b7p2r
netns add client
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
link add client type veth peer name eth0 netns client
EOF
ip -n node1 link add vethfbebfc76 mtu 1450 type veth peer name eth0 mtu 1450 netns ingress-nginx-controller-77698c497c-4t6vm
ip -n node1 link add vethd0c42cfb mtu 1450 type veth peer name eth0 mtu 1450 netns service2-b5d79579c-mgv95
ip -n node2 link add veth71343c2b mtu 1450 type veth peer name eth0 mtu 1450 netns service1-79c4dfb79d-vn5l6
ip -n node2 link add veth051175f5 mtu 1450 type veth peer name eth0 mtu 1450 netns service3-6498fd958d-b7p2r

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
link set client master br0
link set client up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
link set vethfbebfc76 master cni0
link set vethfbebfc76 type bridge_slave hairpin on
link set vethfbebfc76 up
link set vethd0c42cfb master cni0
link set vethd0c42cfb type bridge_slave hairpin on
link set vethd0c42cfb up
route add default via 192.168.56.1
EOF
ip -n ingress-nginx-controller-77698c497c-4t6vm -batch - <<'EOF'
link set lo up
addr add 10.244.1.2/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n service2-b5d79579c-mgv95 -batch - <<'EOF'
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
link set veth71343c2b master cni0
link set veth71343c2b type bridge_slave hairpin on
link set veth71343c2b up
link set veth051175f5 master cni0
link set veth051175f5 type bridge_slave hairpin on
link set veth051175f5 up
route add default via 192.168.56.1
EOF
ip -n service1-79c4dfb79d-vn5l6 -batch - <<'EOF'
link set lo up
addr add 10.244.2.2/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n service3-6498fd958d-b7p2r -batch - <<'EOF'
link set lo up
addr add 10.244.2.3/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
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
mkdir -p -m 0700 /run/knetlab/labs/ingress-fanout/node1/run/flannel /run/knetlab/labs/ingress-fanout/node2/run/flannel
tee /run/knetlab/labs/ingress-fanout/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/ingress-fanout/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/ingress-fanout/node2/run/flannel/subnet.env >/dev/null <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/ingress-fanout
tee /run/knetlab/labs/ingress-fanout/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: service2-b5d79579c-mgv95, service1-79c4dfb79d-vn5l6, service3-6498fd958d-b7p2r
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/ingress-fanout/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/ingress-fanout/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/ingress-fanout/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/ingress-fanout/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/ingress-fanout/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.3 service2-b5d79579c-mgv95;
        10.244.2.2 service1-79c4dfb79d-vn5l6;
        10.244.2.3 service3-6498fd958d-b7p2r;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.3 node1;
        10.244.2.2 node2;
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
ip netns exec service2-b5d79579c-mgv95 nginx -c /run/knetlab/labs/ingress-fanout/nginx.conf -g 'pid /run/knetlab/labs/ingress-fanout/service2-b5d79579c-mgv95.nginx.pid; error_log /run/knetlab/labs/ingress-fanout/service2-b5d79579c-mgv95.error.log warn;'
ip netns exec service1-79c4dfb79d-vn5l6 nginx -c /run/knetlab/labs/ingress-fanout/nginx.conf -g 'pid /run/knetlab/labs/ingress-fanout/service1-79c4dfb79d-vn5l6.nginx.pid; error_log /run/knetlab/labs/ingress-fanout/service1-79c4dfb79d-vn5l6.error.log warn;'
ip netns exec service3-6498fd958d-b7p2r nginx -c /run/knetlab/labs/ingress-fanout/nginx.conf -g 'pid /run/knetlab/labs/ingress-fanout/service3-6498fd958d-b7p2r.nginx.pid; error_log /run/knetlab/labs/ingress-fanout/service3-6498fd958d-b7p2r.error.log warn;'

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/ingress-fanout/cluster
mkdir -p -m 0711 /run/knetlab/labs/ingress-fanout/unready
tee /run/knetlab/labs/ingress-fanout/cluster/state.json >/dev/null <<'EOF'
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
          "name": "ingress-nginx-controller-77698c497c-4t6vm",
          "namespace": "ingress-nginx",
          "labels": {
            "app.kubernetes.io/name": "ingress-nginx",
            "app.kubernetes.io/component": "controller",
            "pod-template-hash": "77698c497c"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "3e634c3a-4f4f-4c80-93ff-42ea89e8df57"
        },
        "nodeName": "node1",
        "podIP": "10.244.1.2",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "controller",
            "image": "registry.k8s.io/ingress-nginx/controller:v1.11.3",
            "ports": [
              {
                "name": "http",
                "containerPort": 80,
                "protocol": "TCP"
              },
              {
                "name": "https",
                "containerPort": 443,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/ingress-nginx-controller",
        "replicaSet": "ingress-nginx-controller-77698c497c",
        "ready": true
      },
      {
        "meta": {
          "name": "service1-79c4dfb79d-vn5l6",
          "namespace": "default",
          "labels": {
            "app": "service1",
            "pod-template-hash": "79c4dfb79d"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "be470253-94ac-4193-b5c2-de2e4b6386f6"
        },
        "nodeName": "node2",
        "podIP": "10.244.2.2",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "echo",
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
        "owner": "Deployment/service1",
        "replicaSet": "service1-79c4dfb79d",
        "ready": true
      },
      {
        "meta": {
          "name": "service2-b5d79579c-mgv95",
          "namespace": "default",
          "labels": {
            "app": "service2",
            "pod-template-hash": "b5d79579c"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "a0f54d98-a15a-40b9-b76f-4e0944244bb3"
        },
        "nodeName": "node1",
        "podIP": "10.244.1.3",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "echo",
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
        "owner": "Deployment/service2",
        "replicaSet": "service2-b5d79579c",
        "ready": true
      },
      {
        "meta": {
          "name": "service3-6498fd958d-b7p2r",
          "namespace": "default",
          "labels": {
            "app": "service3",
            "pod-template-hash": "6498fd958d"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "2d1407fb-562b-437e-aca3-c34468ffb6f3"
        },
        "nodeName": "node2",
        "podIP": "10.244.2.3",
        "hostname": null,
        "subdomain": null,
        "dnsPolicy": "ClusterFirst",
        "dnsConfig": null,
        "containers": [
          {
            "name": "echo",
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
        "owner": "Deployment/service3",
        "replicaSet": "service3-6498fd958d",
        "ready": true
      }
    ],
    "deployments": [
      {
        "meta": {
          "name": "ingress-nginx-controller",
          "namespace": "ingress-nginx",
          "labels": {
            "app.kubernetes.io/name": "ingress-nginx",
            "app.kubernetes.io/component": "controller"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "42a2758a-3458-49ac-b137-e35de4a3f73b"
        },
        "replicas": 1,
        "selector": {
          "app.kubernetes.io/name": "ingress-nginx",
          "app.kubernetes.io/component": "controller"
        },
        "template": {
          "labels": {
            "app.kubernetes.io/name": "ingress-nginx",
            "app.kubernetes.io/component": "controller"
          },
          "containers": [
            {
              "name": "controller",
              "image": "registry.k8s.io/ingress-nginx/controller:v1.11.3",
              "ports": [
                {
                  "name": "http",
                  "containerPort": 80,
                  "protocol": "TCP"
                },
                {
                  "name": "https",
                  "containerPort": 443,
                  "protocol": "TCP"
                }
              ],
              "readinessProbe": null
            }
          ],
          "nodeName": "node1"
        },
        "templateHash": "77698c497c"
      },
      {
        "meta": {
          "name": "service1",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "13e58399-aff8-4be7-b346-cf91eacd2982"
        },
        "replicas": 1,
        "selector": {
          "app": "service1"
        },
        "template": {
          "labels": {
            "app": "service1"
          },
          "containers": [
            {
              "name": "echo",
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
        "templateHash": "79c4dfb79d"
      },
      {
        "meta": {
          "name": "service2",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "eb93e693-3e69-4ad4-8d10-693605e479cf"
        },
        "replicas": 1,
        "selector": {
          "app": "service2"
        },
        "template": {
          "labels": {
            "app": "service2"
          },
          "containers": [
            {
              "name": "echo",
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
        "templateHash": "b5d79579c"
      },
      {
        "meta": {
          "name": "service3",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "5d0d1101-e600-46ac-85b7-ae6775d36002"
        },
        "replicas": 1,
        "selector": {
          "app": "service3"
        },
        "template": {
          "labels": {
            "app": "service3"
          },
          "containers": [
            {
              "name": "echo",
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
        "templateHash": "6498fd958d"
      }
    ],
    "services": [
      {
        "meta": {
          "name": "ingress-nginx-controller",
          "namespace": "ingress-nginx",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "af4ef42a-4025-4382-868c-901f4b5182aa"
        },
        "type": "LoadBalancer",
        "clusterIP": "10.96.0.11",
        "ports": [
          {
            "name": "http",
            "protocol": "TCP",
            "port": 80,
            "targetPort": "http",
            "nodePort": 30000
          },
          {
            "name": "https",
            "protocol": "TCP",
            "port": 443,
            "targetPort": "https",
            "nodePort": 30001
          }
        ],
        "selector": {
          "app.kubernetes.io/name": "ingress-nginx",
          "app.kubernetes.io/component": "controller"
        },
        "sessionAffinity": "None",
        "affinityTimeoutSeconds": 10800,
        "externalTrafficPolicy": "Local",
        "internalTrafficPolicy": "Cluster",
        "externalIPs": [],
        "loadBalancerIP": null,
        "loadBalancerSourceRanges": [],
        "publishNotReadyAddresses": false,
        "healthCheckNodePort": 30002,
        "externalName": null,
        "loadBalancerIngress": [
          {
            "ip": "192.168.56.240",
            "ipMode": "VIP"
          }
        ]
      },
      {
        "meta": {
          "name": "service1",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "6f72e21c-005a-4d74-8b2e-69b805c84c77"
        },
        "type": "ClusterIP",
        "clusterIP": "10.96.0.12",
        "ports": [
          {
            "name": "",
            "protocol": "TCP",
            "port": 4200,
            "targetPort": 80,
            "nodePort": null
          }
        ],
        "selector": {
          "app": "service1"
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
          "name": "service2",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "c72421a0-fcaa-4e6d-91f3-57489a54292d"
        },
        "type": "ClusterIP",
        "clusterIP": "10.96.0.13",
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
          "app": "service2"
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
          "name": "service3",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "019cf566-1a12-4286-b71c-e6a6b56a0678"
        },
        "type": "ClusterIP",
        "clusterIP": "10.96.0.14",
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
          "app": "service3"
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
          "name": "ingress-nginx-controller-cksdz",
          "namespace": "ingress-nginx",
          "labels": {
            "kubernetes.io/service-name": "ingress-nginx-controller",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "e7b6cb46-f3ef-4ed2-9848-c0c4ce61f77b"
        },
        "service": "ingress-nginx-controller",
        "ports": [
          {
            "name": "http",
            "port": 80,
            "protocol": "TCP"
          },
          {
            "name": "https",
            "port": 443,
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
            "pod": "ingress-nginx-controller-77698c497c-4t6vm"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      },
      {
        "meta": {
          "name": "service1-8qmg7",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "service1",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "93769301-d01c-481e-9f2a-0a3d0a2d46b0"
        },
        "service": "service1",
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
            "pod": "service1-79c4dfb79d-vn5l6"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      },
      {
        "meta": {
          "name": "service2-s9blq",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "service2",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "0474a607-542d-4a9c-8c09-11fdb868901c"
        },
        "service": "service2",
        "ports": [
          {
            "name": "",
            "port": 80,
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
            "pod": "service2-b5d79579c-mgv95"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      },
      {
        "meta": {
          "name": "service3-vqwfg",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "service3",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "d0e35a56-1413-427a-8fa2-24ddbf1852a4"
        },
        "service": "service3",
        "ports": [
          {
            "name": "",
            "port": 80,
            "protocol": "TCP"
          }
        ],
        "endpoints": [
          {
            "address": "10.244.2.3",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "service3-6498fd958d-b7p2r"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      }
    ],
    "ingress": {
      "classes": [
        {
          "meta": {
            "name": "nginx",
            "namespace": "default",
            "labels": {},
            "annotations": {
              "ingressclass.kubernetes.io/is-default-class": "true"
            },
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "uid": "99aaf2d8-f8bc-4936-874e-e1b686d976ae"
          },
          "controller": "k8s.io/ingress-nginx",
          "isDefault": true
        }
      ],
      "ingresses": [
        {
          "meta": {
            "name": "simple-fanout-example",
            "namespace": "default",
            "labels": {},
            "annotations": {},
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "uid": "64af6f2f-dd86-4001-9d94-6931826ca35a"
          },
          "ingressClassName": null,
          "defaultBackend": null,
          "rules": [
            {
              "host": "foo.bar.com",
              "paths": [
                {
                  "path": "/foo",
                  "pathType": "Prefix",
                  "backend": {
                    "service": "service1",
                    "port": 4200
                  }
                },
                {
                  "path": "/bar",
                  "pathType": "Prefix",
                  "backend": {
                    "service": "service2",
                    "port": 8080
                  }
                },
                {
                  "path": "/bar",
                  "pathType": "Exact",
                  "backend": {
                    "service": "service3",
                    "port": 80
                  }
                },
                {
                  "path": "/foo/bar",
                  "pathType": "Prefix",
                  "backend": {
                    "service": "service3",
                    "port": 80
                  }
                },
                {
                  "path": "/aaa/bbb/",
                  "pathType": "Prefix",
                  "backend": {
                    "service": "service1",
                    "port": 4200
                  }
                }
              ]
            }
          ],
          "tls": []
        }
      ],
      "secrets": []
    }
  }
}
EOF
tee /run/knetlab/labs/ingress-fanout/cluster/objects.yaml >/dev/null <<'EOF'
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
spec:
  controller: k8s.io/ingress-nginx
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ingress-nginx-controller
  namespace: ingress-nginx
  labels:
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/component: controller
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: ingress-nginx
      app.kubernetes.io/component: controller
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ingress-nginx
        app.kubernetes.io/component: controller
    spec:
      nodeName: node1
      containers:
        - name: controller
          image: registry.k8s.io/ingress-nginx/controller:v1.11.3
          ports:
            - name: http
              containerPort: 80
            - name: https
              containerPort: 443
---
apiVersion: v1
kind: Service
metadata:
  name: ingress-nginx-controller
  namespace: ingress-nginx
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector:
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/component: controller
  ports:
    - name: http
      port: 80
      targetPort: http
    - name: https
      port: 443
      targetPort: https
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: service1
spec:
  replicas: 1
  selector:
    matchLabels:
      app: service1
  template:
    metadata:
      labels:
        app: service1
    spec:
      containers:
        - name: echo
          image: nginx
          ports:
            - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: service1
spec:
  selector:
    app: service1
  ports:
    - port: 4200
      targetPort: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: service2
spec:
  replicas: 1
  selector:
    matchLabels:
      app: service2
  template:
    metadata:
      labels:
        app: service2
    spec:
      containers:
        - name: echo
          image: nginx
          ports:
            - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: service2
spec:
  selector:
    app: service2
  ports:
    - port: 8080
      targetPort: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: service3
spec:
  replicas: 1
  selector:
    matchLabels:
      app: service3
  template:
    metadata:
      labels:
        app: service3
    spec:
      containers:
        - name: echo
          image: nginx
          ports:
            - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: service3
spec:
  selector:
    app: service3
  ports:
    - port: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: simple-fanout-example
spec:
  rules:
    - host: foo.bar.com
      http:
        paths:
          - path: /foo
            pathType: Prefix
            backend:
              service:
                name: service1
                port:
                  number: 4200
          - path: /bar
            pathType: Prefix
            backend:
              service:
                name: service2
                port:
                  number: 8080
          - path: /bar
            pathType: Exact
            backend:
              service:
                name: service3
                port:
                  number: 80
          - path: /foo/bar
            pathType: Prefix
            backend:
              service:
                name: service3
                port:
                  number: 80
          - path: /aaa/bbb/
            pathType: Prefix
            backend:
              service:
                name: service1
                port:
                  number: 4200
EOF
tee /run/knetlab/labs/ingress-fanout/cluster/events.jsonl >/dev/null <<'EOF'
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/ingress-nginx-controller","namespace":"ingress-nginx","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set ingress-nginx-controller-77698c497c from 0 to 1"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/ingress-nginx-controller-77698c497c","namespace":"ingress-nginx","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: ingress-nginx-controller-77698c497c-4t6vm"}
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/service1","namespace":"default","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set service1-79c4dfb79d from 0 to 1"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/service1-79c4dfb79d","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: service1-79c4dfb79d-vn5l6"}
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/service2","namespace":"default","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set service2-b5d79579c from 0 to 1"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/service2-b5d79579c","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: service2-b5d79579c-mgv95"}
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/service3","namespace":"default","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set service3-6498fd958d from 0 to 1"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/service3-6498fd958d","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: service3-6498fd958d-b7p2r"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/service1-79c4dfb79d-vn5l6","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/service1-79c4dfb79d-vn5l6 to node2"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/service2-b5d79579c-mgv95","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/service2-b5d79579c-mgv95 to node1"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/service3-6498fd958d-b7p2r","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/service3-6498fd958d-b7p2r to node2"}
{"at":"2026-01-01T00:00:00Z","source":"metallb-controller","object":"service/ingress-nginx-controller","namespace":"ingress-nginx","type":"Normal","reason":"IPAllocated","message":"Assigned IP [\"192.168.56.240\"]"}
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
tee /run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/ingress-fanout/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node1.log"
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
tee /run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/ingress-fanout/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node2.log"
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
-A KUBE-NODEPORTS -m comment --comment "ingress-nginx/ingress-nginx-controller:http health check node port" -m tcp -p tcp --dport 30002 -j ACCEPT
-A KUBE-NODEPORTS -m comment --comment "ingress-nginx/ingress-nginx-controller:https health check node port" -m tcp -p tcp --dport 30002 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-4RM6KDP54NYR4K6S - [0:0]
:KUBE-SEP-SALQJLBFQSBQUTEZ - [0:0]
:KUBE-SVC-E7SFLZD2Y2FAKTSV - [0:0]
:KUBE-SEP-5VEJTWEUI5UB2KSM - [0:0]
:KUBE-SVC-Y7ZLLRVMCD5M4HRL - [0:0]
:KUBE-SEP-5MS2G6K67BOTLGGT - [0:0]
:KUBE-EXT-CG5I4G2RS3ZVWGLK - [0:0]
:KUBE-SVC-CG5I4G2RS3ZVWGLK - [0:0]
:KUBE-SVL-CG5I4G2RS3ZVWGLK - [0:0]
:KUBE-SEP-A7RJQSSWP7DSCH4K - [0:0]
:KUBE-EXT-EDNDUDH2C75GIR6O - [0:0]
:KUBE-SVC-EDNDUDH2C75GIR6O - [0:0]
:KUBE-SVL-EDNDUDH2C75GIR6O - [0:0]
:KUBE-SEP-Z7ORYOV47LENXY3D - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/service1 cluster IP" -m tcp -p tcp -d 10.96.0.12 --dport 4200 -j KUBE-SVC-4RM6KDP54NYR4K6S
-A KUBE-SVC-4RM6KDP54NYR4K6S -m comment --comment "default/service1 cluster IP" -m tcp -p tcp -d 10.96.0.12 --dport 4200 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-4RM6KDP54NYR4K6S -m comment --comment "default/service1 -> 10.244.2.2:80" -j KUBE-SEP-SALQJLBFQSBQUTEZ
-A KUBE-SEP-SALQJLBFQSBQUTEZ -m comment --comment default/service1 -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-SALQJLBFQSBQUTEZ -m comment --comment default/service1 -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
-A KUBE-SERVICES -m comment --comment "default/service2 cluster IP" -m tcp -p tcp -d 10.96.0.13 --dport 8080 -j KUBE-SVC-E7SFLZD2Y2FAKTSV
-A KUBE-SVC-E7SFLZD2Y2FAKTSV -m comment --comment "default/service2 cluster IP" -m tcp -p tcp -d 10.96.0.13 --dport 8080 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-E7SFLZD2Y2FAKTSV -m comment --comment "default/service2 -> 10.244.1.3:80" -j KUBE-SEP-5VEJTWEUI5UB2KSM
-A KUBE-SEP-5VEJTWEUI5UB2KSM -m comment --comment default/service2 -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-5VEJTWEUI5UB2KSM -m comment --comment default/service2 -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:80
-A KUBE-SERVICES -m comment --comment "default/service3 cluster IP" -m tcp -p tcp -d 10.96.0.14 --dport 80 -j KUBE-SVC-Y7ZLLRVMCD5M4HRL
-A KUBE-SVC-Y7ZLLRVMCD5M4HRL -m comment --comment "default/service3 cluster IP" -m tcp -p tcp -d 10.96.0.14 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-Y7ZLLRVMCD5M4HRL -m comment --comment "default/service3 -> 10.244.2.3:80" -j KUBE-SEP-5MS2G6K67BOTLGGT
-A KUBE-SEP-5MS2G6K67BOTLGGT -m comment --comment default/service3 -s 10.244.2.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-5MS2G6K67BOTLGGT -m comment --comment default/service3 -m tcp -p tcp -j DNAT --to-destination 10.244.2.3:80
-A KUBE-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:http cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 -j KUBE-SVC-CG5I4G2RS3ZVWGLK
-A KUBE-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:http loadbalancer IP" -m tcp -p tcp -d 192.168.56.240 --dport 80 -j KUBE-EXT-CG5I4G2RS3ZVWGLK
-A KUBE-NODEPORTS -m comment --comment ingress-nginx/ingress-nginx-controller:http -m tcp -p tcp --dport 30000 -j KUBE-EXT-CG5I4G2RS3ZVWGLK
-A KUBE-SVC-CG5I4G2RS3ZVWGLK -m comment --comment "ingress-nginx/ingress-nginx-controller:http cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-CG5I4G2RS3ZVWGLK -m comment --comment "pod traffic for ingress-nginx/ingress-nginx-controller:http external destinations" -s 10.244.0.0/16 -j KUBE-SVC-CG5I4G2RS3ZVWGLK
-A KUBE-EXT-CG5I4G2RS3ZVWGLK -m comment --comment "masquerade LOCAL traffic for ingress-nginx/ingress-nginx-controller:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-CG5I4G2RS3ZVWGLK -m comment --comment "route LOCAL traffic for ingress-nginx/ingress-nginx-controller:http external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-CG5I4G2RS3ZVWGLK
-A KUBE-EXT-CG5I4G2RS3ZVWGLK -j KUBE-SVL-CG5I4G2RS3ZVWGLK
-A KUBE-SVC-CG5I4G2RS3ZVWGLK -m comment --comment "ingress-nginx/ingress-nginx-controller:http -> 10.244.1.2:80" -j KUBE-SEP-A7RJQSSWP7DSCH4K
-A KUBE-SVL-CG5I4G2RS3ZVWGLK -m comment --comment "ingress-nginx/ingress-nginx-controller:http -> 10.244.1.2:80" -j KUBE-SEP-A7RJQSSWP7DSCH4K
-A KUBE-SEP-A7RJQSSWP7DSCH4K -m comment --comment ingress-nginx/ingress-nginx-controller:http -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-A7RJQSSWP7DSCH4K -m comment --comment ingress-nginx/ingress-nginx-controller:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:https cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 443 -j KUBE-SVC-EDNDUDH2C75GIR6O
-A KUBE-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:https loadbalancer IP" -m tcp -p tcp -d 192.168.56.240 --dport 443 -j KUBE-EXT-EDNDUDH2C75GIR6O
-A KUBE-NODEPORTS -m comment --comment ingress-nginx/ingress-nginx-controller:https -m tcp -p tcp --dport 30001 -j KUBE-EXT-EDNDUDH2C75GIR6O
-A KUBE-SVC-EDNDUDH2C75GIR6O -m comment --comment "ingress-nginx/ingress-nginx-controller:https cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 443 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-EDNDUDH2C75GIR6O -m comment --comment "pod traffic for ingress-nginx/ingress-nginx-controller:https external destinations" -s 10.244.0.0/16 -j KUBE-SVC-EDNDUDH2C75GIR6O
-A KUBE-EXT-EDNDUDH2C75GIR6O -m comment --comment "masquerade LOCAL traffic for ingress-nginx/ingress-nginx-controller:https external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-EDNDUDH2C75GIR6O -m comment --comment "route LOCAL traffic for ingress-nginx/ingress-nginx-controller:https external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-EDNDUDH2C75GIR6O
-A KUBE-EXT-EDNDUDH2C75GIR6O -j KUBE-SVL-EDNDUDH2C75GIR6O
-A KUBE-SVC-EDNDUDH2C75GIR6O -m comment --comment "ingress-nginx/ingress-nginx-controller:https -> 10.244.1.2:443" -j KUBE-SEP-Z7ORYOV47LENXY3D
-A KUBE-SVL-EDNDUDH2C75GIR6O -m comment --comment "ingress-nginx/ingress-nginx-controller:https -> 10.244.1.2:443" -j KUBE-SEP-Z7ORYOV47LENXY3D
-A KUBE-SEP-Z7ORYOV47LENXY3D -m comment --comment ingress-nginx/ingress-nginx-controller:https -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-Z7ORYOV47LENXY3D -m comment --comment ingress-nginx/ingress-nginx-controller:https -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:443
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
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:http has no local endpoints" -m tcp -p tcp -d 192.168.56.240 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30000 -j DROP
-A KUBE-NODEPORTS -m comment --comment "ingress-nginx/ingress-nginx-controller:http health check node port" -m tcp -p tcp --dport 30002 -j ACCEPT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:https has no local endpoints" -m tcp -p tcp -d 192.168.56.240 --dport 443 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:https has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30001 -j DROP
-A KUBE-NODEPORTS -m comment --comment "ingress-nginx/ingress-nginx-controller:https health check node port" -m tcp -p tcp --dport 30002 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-4RM6KDP54NYR4K6S - [0:0]
:KUBE-SEP-SALQJLBFQSBQUTEZ - [0:0]
:KUBE-SVC-E7SFLZD2Y2FAKTSV - [0:0]
:KUBE-SEP-5VEJTWEUI5UB2KSM - [0:0]
:KUBE-SVC-Y7ZLLRVMCD5M4HRL - [0:0]
:KUBE-SEP-5MS2G6K67BOTLGGT - [0:0]
:KUBE-EXT-CG5I4G2RS3ZVWGLK - [0:0]
:KUBE-SVC-CG5I4G2RS3ZVWGLK - [0:0]
:KUBE-SEP-A7RJQSSWP7DSCH4K - [0:0]
:KUBE-EXT-EDNDUDH2C75GIR6O - [0:0]
:KUBE-SVC-EDNDUDH2C75GIR6O - [0:0]
:KUBE-SEP-Z7ORYOV47LENXY3D - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/service1 cluster IP" -m tcp -p tcp -d 10.96.0.12 --dport 4200 -j KUBE-SVC-4RM6KDP54NYR4K6S
-A KUBE-SVC-4RM6KDP54NYR4K6S -m comment --comment "default/service1 cluster IP" -m tcp -p tcp -d 10.96.0.12 --dport 4200 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-4RM6KDP54NYR4K6S -m comment --comment "default/service1 -> 10.244.2.2:80" -j KUBE-SEP-SALQJLBFQSBQUTEZ
-A KUBE-SEP-SALQJLBFQSBQUTEZ -m comment --comment default/service1 -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-SALQJLBFQSBQUTEZ -m comment --comment default/service1 -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
-A KUBE-SERVICES -m comment --comment "default/service2 cluster IP" -m tcp -p tcp -d 10.96.0.13 --dport 8080 -j KUBE-SVC-E7SFLZD2Y2FAKTSV
-A KUBE-SVC-E7SFLZD2Y2FAKTSV -m comment --comment "default/service2 cluster IP" -m tcp -p tcp -d 10.96.0.13 --dport 8080 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-E7SFLZD2Y2FAKTSV -m comment --comment "default/service2 -> 10.244.1.3:80" -j KUBE-SEP-5VEJTWEUI5UB2KSM
-A KUBE-SEP-5VEJTWEUI5UB2KSM -m comment --comment default/service2 -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-5VEJTWEUI5UB2KSM -m comment --comment default/service2 -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:80
-A KUBE-SERVICES -m comment --comment "default/service3 cluster IP" -m tcp -p tcp -d 10.96.0.14 --dport 80 -j KUBE-SVC-Y7ZLLRVMCD5M4HRL
-A KUBE-SVC-Y7ZLLRVMCD5M4HRL -m comment --comment "default/service3 cluster IP" -m tcp -p tcp -d 10.96.0.14 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-Y7ZLLRVMCD5M4HRL -m comment --comment "default/service3 -> 10.244.2.3:80" -j KUBE-SEP-5MS2G6K67BOTLGGT
-A KUBE-SEP-5MS2G6K67BOTLGGT -m comment --comment default/service3 -s 10.244.2.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-5MS2G6K67BOTLGGT -m comment --comment default/service3 -m tcp -p tcp -j DNAT --to-destination 10.244.2.3:80
-A KUBE-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:http cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 -j KUBE-SVC-CG5I4G2RS3ZVWGLK
-A KUBE-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:http loadbalancer IP" -m tcp -p tcp -d 192.168.56.240 --dport 80 -j KUBE-EXT-CG5I4G2RS3ZVWGLK
-A KUBE-NODEPORTS -m comment --comment ingress-nginx/ingress-nginx-controller:http -m tcp -p tcp --dport 30000 -j KUBE-EXT-CG5I4G2RS3ZVWGLK
-A KUBE-SVC-CG5I4G2RS3ZVWGLK -m comment --comment "ingress-nginx/ingress-nginx-controller:http cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-CG5I4G2RS3ZVWGLK -m comment --comment "pod traffic for ingress-nginx/ingress-nginx-controller:http external destinations" -s 10.244.0.0/16 -j KUBE-SVC-CG5I4G2RS3ZVWGLK
-A KUBE-EXT-CG5I4G2RS3ZVWGLK -m comment --comment "masquerade LOCAL traffic for ingress-nginx/ingress-nginx-controller:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-CG5I4G2RS3ZVWGLK -m comment --comment "route LOCAL traffic for ingress-nginx/ingress-nginx-controller:http external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-CG5I4G2RS3ZVWGLK
-A KUBE-SVC-CG5I4G2RS3ZVWGLK -m comment --comment "ingress-nginx/ingress-nginx-controller:http -> 10.244.1.2:80" -j KUBE-SEP-A7RJQSSWP7DSCH4K
-A KUBE-SEP-A7RJQSSWP7DSCH4K -m comment --comment ingress-nginx/ingress-nginx-controller:http -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-A7RJQSSWP7DSCH4K -m comment --comment ingress-nginx/ingress-nginx-controller:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:https cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 443 -j KUBE-SVC-EDNDUDH2C75GIR6O
-A KUBE-SERVICES -m comment --comment "ingress-nginx/ingress-nginx-controller:https loadbalancer IP" -m tcp -p tcp -d 192.168.56.240 --dport 443 -j KUBE-EXT-EDNDUDH2C75GIR6O
-A KUBE-NODEPORTS -m comment --comment ingress-nginx/ingress-nginx-controller:https -m tcp -p tcp --dport 30001 -j KUBE-EXT-EDNDUDH2C75GIR6O
-A KUBE-SVC-EDNDUDH2C75GIR6O -m comment --comment "ingress-nginx/ingress-nginx-controller:https cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 443 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-EDNDUDH2C75GIR6O -m comment --comment "pod traffic for ingress-nginx/ingress-nginx-controller:https external destinations" -s 10.244.0.0/16 -j KUBE-SVC-EDNDUDH2C75GIR6O
-A KUBE-EXT-EDNDUDH2C75GIR6O -m comment --comment "masquerade LOCAL traffic for ingress-nginx/ingress-nginx-controller:https external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-EDNDUDH2C75GIR6O -m comment --comment "route LOCAL traffic for ingress-nginx/ingress-nginx-controller:https external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-EDNDUDH2C75GIR6O
-A KUBE-SVC-EDNDUDH2C75GIR6O -m comment --comment "ingress-nginx/ingress-nginx-controller:https -> 10.244.1.2:443" -j KUBE-SEP-Z7ORYOV47LENXY3D
-A KUBE-SEP-Z7ORYOV47LENXY3D -m comment --comment ingress-nginx/ingress-nginx-controller:https -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-Z7ORYOV47LENXY3D -m comment --comment ingress-nginx/ingress-nginx-controller:https -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:443
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
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/ingress-fanout/cluster/kube-proxy-node2.json

# 17. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/ingress-fanout/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/ingress-fanout",
  "stateFile": "/run/knetlab/labs/ingress-fanout/cluster/state.json",
  "pidfile": "/run/knetlab/labs/ingress-fanout/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/ingress-fanout/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/ingress-fanout/cluster/controlplane.json

# 18. Configure the ingress-nginx controllers
#    The pods running ingress-nginx's controller image run no echo server: each runs the controller,
#    which follows the API (the state file) for Ingresses of its class (an IngressClass with
#    controller k8s.io/ingress-nginx), renders nginx.conf as ingress-nginx's template does and runs
#    nginx in the pod. Upstreams are the Services' ready endpoints, not their cluster IPs: nginx
#    connects to the pods directly.
mkdir -p -m 0700 /run/knetlab/labs/ingress-fanout/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm
tee /run/knetlab/labs/ingress-fanout/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/controller.json >/dev/null <<'EOF'
{
  "stateFile": "/run/knetlab/labs/ingress-fanout/cluster/state.json",
  "dir": "/run/knetlab/labs/ingress-fanout/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm",
  "pkiDir": "/run/knetlab/labs/ingress-fanout/cluster/pki",
  "syncedFile": "/run/knetlab/labs/ingress-fanout/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/synced",
  "pidfile": "/run/knetlab/labs/ingress-fanout/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/controller.pid",
  "log": "/run/knetlab/labs/ingress-fanout/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/controller.log"
}
EOF

# 19. Run the ingress-nginx controllers
#    At start the controller makes the default "Kubernetes Ingress Controller Fake Certificate" (O =
#    Acme Co, SAN ingress.local, RSA-2048) with openssl, for hosts without a certificate of their own
#    and clients without SNI. It starts nginx once its first configuration passes nginx -t, and on
#    every change tests the new one and reloads nginx gracefully.
ip netns exec ingress-nginx-controller-77698c497c-4t6vm node <knetlab>/dist/agent.js ingress-nginx --config /run/knetlab/labs/ingress-fanout/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/controller.json

# 20. Start the MetalLB speakers (layer 2)
#    MetalLB's controller gave each LoadBalancer Service an address from the pool
#    (status.loadBalancer.ingress). In layer 2 mode one node, elected per address (the first by
#    sha256(node#ip) among nodes whose speaker is alive, and which have a ready endpoint when
#    externalTrafficPolicy is Local), answers ARP requests for it from userspace with its own eth0
#    MAC. The address is on no interface. When that node goes away another takes over and announces
#    itself with gratuitous ARP. The speakers learn who is alive from each other over UDP 7946, as
#    memberlist does.
tee /run/knetlab/labs/ingress-fanout/cluster/speaker-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "interface": "eth0",
  "stateFile": "/run/knetlab/labs/ingress-fanout/cluster/state.json",
  "memberlistPort": 7946,
  "pidfile": "/run/knetlab/labs/ingress-fanout/cluster/speaker-node1.pid",
  "log": "/run/knetlab/labs/ingress-fanout/cluster/speaker-node1.log"
}
EOF
tee /run/knetlab/labs/ingress-fanout/cluster/speaker-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "interface": "eth0",
  "stateFile": "/run/knetlab/labs/ingress-fanout/cluster/state.json",
  "memberlistPort": 7946,
  "pidfile": "/run/knetlab/labs/ingress-fanout/cluster/speaker-node2.pid",
  "log": "/run/knetlab/labs/ingress-fanout/cluster/speaker-node2.log"
}
EOF

# 21. Run the speakers
#    Each speaker joins the others, runs the election for every address, and the winner starts
#    answering ARP for it.
ip netns exec node1 node <knetlab>/dist/agent.js metallb-speaker --config /run/knetlab/labs/ingress-fanout/cluster/speaker-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js metallb-speaker --config /run/knetlab/labs/ingress-fanout/cluster/speaker-node2.json

# 22. Look around
#    Read-only commands that show what the steps above built.
# The locations, longest first, and the Service behind each.
ip netns exec node1 sh -c 'sed -n '\''/## start server foo.bar.com/,/## end server/p'\'' /run/knetlab/labs/ingress-fanout/cluster/ingress-nginx-*/nginx.conf | grep -E '\''location|service_name'\'''

# 23. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# /foo (Prefix) goes to service1 on its port 4200, as its endpoint 80
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://foo.bar.com/foo
# /foo/ and /foo/x are under the prefix /foo too
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://foo.bar.com/foo/x
# /foobar is not under /foo (element-wise); nothing matches, so the default backend's 404
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://foo.bar.com/foobar
# paths are case-sensitive, so /FOO is not /foo
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://foo.bar.com/FOO
# Exact /bar wins the tie with Prefix /bar, so /bar goes to service3
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://foo.bar.com/bar
# /bar/x is only under the Prefix, so service2
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://foo.bar.com/bar/x
# the longest path wins, so /foo/bar/x goes to /foo/bar's service3 and not /foo's service1
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://foo.bar.com/foo/bar/x
# /foo/barx falls back to /foo (element-wise again)
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://foo.bar.com/foo/barx
# Prefix /aaa/bbb/ serves /aaa/bbb/c
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://foo.bar.com/aaa/bbb/c
# ingress-nginx, not the spec: /aaa/bbb gets a 301 to /aaa/bbb/ (the spec would serve it)
ip netns exec client curl -sS --max-time 2 --resolve foo.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\nheader.location=%header{location}\n' http://foo.bar.com/aaa/bbb

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/ingress-fanout/service2-b5d79579c-mgv95.nginx.pid
# pkill -F /run/knetlab/labs/ingress-fanout/service1-79c4dfb79d-vn5l6.nginx.pid
# pkill -F /run/knetlab/labs/ingress-fanout/service3-6498fd958d-b7p2r.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del ingress-nginx-controller-77698c497c-4t6vm
# ip netns del service2-b5d79579c-mgv95
# ip netns del node2
# ip netns del service1-79c4dfb79d-vn5l6
# ip netns del service3-6498fd958d-b7p2r
# ip netns del client
