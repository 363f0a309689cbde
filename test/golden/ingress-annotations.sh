#!/bin/sh
# ingress-annotations: Ingress annotations on a real ingress-nginx: rewrite-target, app-root, proxy-body-size, use-regex
# Reproduces seed 004 §6.2 (rewrite-target, app-root, proxy-body-size).
# Each annotation on an Ingress of its own host, behind ingress-nginx and a MetalLB VIP.
# rewrite-target /$2 on the path /something(/|$)(.*) puts the host in regex mode and writes
# `rewrite "(?i)/something(/|$)(.*)" /$2 break;`: the whole URI is replaced, the query string
# kept. app-root /app1 is a server-level `if ($uri = /) { return 302 … }`, so only / redirects.
# proxy-body-size is nginx's client_max_body_size: a body of exactly the limit passes, one byte
# more gets 413 before any backend sees it, "0" turns the check off, and 1m is the default.
# use-regex makes every path of the host a case-insensitive regex unanchored at the end.
# The exact commands "knetlab up ingress-annotations" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add ingress-nginx-controller-77698c497c-4t6vm
netns add app-745687bfd7-zrtrv
netns add node2
netns add http-svc-857b4c5fdf-vtw5q
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
ip -n node1 link add veth39400bc9 mtu 1450 type veth peer name eth0 mtu 1450 netns app-745687bfd7-zrtrv
ip -n node2 link add veth59c5274c mtu 1450 type veth peer name eth0 mtu 1450 netns http-svc-857b4c5fdf-vtw5q

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
link set veth39400bc9 master cni0
link set veth39400bc9 type bridge_slave hairpin on
link set veth39400bc9 up
route add default via 192.168.56.1
EOF
ip -n ingress-nginx-controller-77698c497c-4t6vm -batch - <<'EOF'
link set lo up
addr add 10.244.1.2/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n app-745687bfd7-zrtrv -batch - <<'EOF'
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
link set veth59c5274c master cni0
link set veth59c5274c type bridge_slave hairpin on
link set veth59c5274c up
route add default via 192.168.56.1
EOF
ip -n http-svc-857b4c5fdf-vtw5q -batch - <<'EOF'
link set lo up
addr add 10.244.2.2/24 dev eth0
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
mkdir -p -m 0700 /run/knetlab/labs/ingress-annotations/node1/run/flannel /run/knetlab/labs/ingress-annotations/node2/run/flannel
tee /run/knetlab/labs/ingress-annotations/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/ingress-annotations/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/ingress-annotations/node2/run/flannel/subnet.env >/dev/null <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/ingress-annotations
tee /run/knetlab/labs/ingress-annotations/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: app-745687bfd7-zrtrv, http-svc-857b4c5fdf-vtw5q
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/ingress-annotations/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/ingress-annotations/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/ingress-annotations/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/ingress-annotations/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/ingress-annotations/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.3 app-745687bfd7-zrtrv;
        10.244.2.2 http-svc-857b4c5fdf-vtw5q;
    }
    map $server_addr $knetlab_node {
        default unknown;
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

# 12. Start the servers
#    "ip netns exec" runs nginx inside the namespace, so it listens on that namespace's addresses
#    only. nginx daemonizes and writes its PID file; knetlab records the PID and stops exactly that
#    process on down. Many servers are started through one xargs, a few at a time.
ip netns exec app-745687bfd7-zrtrv nginx -c /run/knetlab/labs/ingress-annotations/nginx.conf -g 'pid /run/knetlab/labs/ingress-annotations/app-745687bfd7-zrtrv.nginx.pid; error_log /run/knetlab/labs/ingress-annotations/app-745687bfd7-zrtrv.error.log warn;'
ip netns exec http-svc-857b4c5fdf-vtw5q nginx -c /run/knetlab/labs/ingress-annotations/nginx.conf -g 'pid /run/knetlab/labs/ingress-annotations/http-svc-857b4c5fdf-vtw5q.nginx.pid; error_log /run/knetlab/labs/ingress-annotations/http-svc-857b4c5fdf-vtw5q.error.log warn;'

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/ingress-annotations/cluster
mkdir -p -m 0711 /run/knetlab/labs/ingress-annotations/unready
tee /run/knetlab/labs/ingress-annotations/cluster/state.json >/dev/null <<'EOF'
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
          "name": "http-svc-857b4c5fdf-vtw5q",
          "namespace": "default",
          "labels": {
            "app": "http-svc",
            "pod-template-hash": "857b4c5fdf"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "7ddea8c8-004b-4c89-a234-655dfe779b56"
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
        "owner": "Deployment/http-svc",
        "replicaSet": "http-svc-857b4c5fdf",
        "ready": true
      },
      {
        "meta": {
          "name": "app-745687bfd7-zrtrv",
          "namespace": "default",
          "labels": {
            "app": "app",
            "pod-template-hash": "745687bfd7"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "821d8342-a910-4217-a1bd-ba0c513e8e2e"
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
        "owner": "Deployment/app",
        "replicaSet": "app-745687bfd7",
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
          "name": "http-svc",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "b6f25add-d557-436c-9b42-585b9a1d3a16"
        },
        "replicas": 1,
        "selector": {
          "app": "http-svc"
        },
        "template": {
          "labels": {
            "app": "http-svc"
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
        "templateHash": "857b4c5fdf"
      },
      {
        "meta": {
          "name": "app",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "c7722501-48b1-4b77-996f-0b2605409832"
        },
        "replicas": 1,
        "selector": {
          "app": "app"
        },
        "template": {
          "labels": {
            "app": "app"
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
        "templateHash": "745687bfd7"
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
          "name": "http-svc",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "048e8152-adad-4da3-b79a-19a420d32c0e"
        },
        "type": "ClusterIP",
        "clusterIP": "10.96.0.12",
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
          "app": "http-svc"
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
          "name": "app",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "45bd9e96-571e-4b70-846d-09ad3b7a8caf"
        },
        "type": "ClusterIP",
        "clusterIP": "10.96.0.13",
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
          "app": "app"
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
          "name": "http-svc-74gqt",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "http-svc",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "7e2d6ced-5a2d-40b0-894e-1f22fa7ffeab"
        },
        "service": "http-svc",
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
            "pod": "http-svc-857b4c5fdf-vtw5q"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      },
      {
        "meta": {
          "name": "app-55545",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "app",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "8ad5c432-0290-4936-9c85-63b2fc242661"
        },
        "service": "app",
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
            "pod": "app-745687bfd7-zrtrv"
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
            "name": "rewrite",
            "namespace": "default",
            "labels": {},
            "annotations": {
              "nginx.ingress.kubernetes.io/rewrite-target": "/$2"
            },
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "uid": "ec13fd74-b83f-497e-9152-b193f8670158"
          },
          "ingressClassName": null,
          "defaultBackend": null,
          "rules": [
            {
              "host": "rewrite.bar.com",
              "paths": [
                {
                  "path": "/something(/|$)(.*)",
                  "pathType": "ImplementationSpecific",
                  "backend": {
                    "service": "http-svc",
                    "port": 80
                  }
                }
              ]
            }
          ],
          "tls": []
        },
        {
          "meta": {
            "name": "approot",
            "namespace": "default",
            "labels": {},
            "annotations": {
              "nginx.ingress.kubernetes.io/app-root": "/app1"
            },
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "uid": "8cfdc166-d958-477b-9a4a-3206ec120f93"
          },
          "ingressClassName": null,
          "defaultBackend": null,
          "rules": [
            {
              "host": "approot.bar.com",
              "paths": [
                {
                  "path": "/",
                  "pathType": "Prefix",
                  "backend": {
                    "service": "app",
                    "port": 80
                  }
                }
              ]
            }
          ],
          "tls": []
        },
        {
          "meta": {
            "name": "upload",
            "namespace": "default",
            "labels": {},
            "annotations": {
              "nginx.ingress.kubernetes.io/proxy-body-size": "8m"
            },
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "uid": "cab023d1-b5c7-421b-a6f1-7a419ee2cb94"
          },
          "ingressClassName": null,
          "defaultBackend": null,
          "rules": [
            {
              "host": "upload.bar.com",
              "paths": [
                {
                  "path": "/",
                  "pathType": "Prefix",
                  "backend": {
                    "service": "app",
                    "port": 80
                  }
                }
              ]
            }
          ],
          "tls": []
        },
        {
          "meta": {
            "name": "unlimited",
            "namespace": "default",
            "labels": {},
            "annotations": {
              "nginx.ingress.kubernetes.io/proxy-body-size": "0"
            },
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "uid": "9c824f00-7fe5-4979-807d-501dea788f96"
          },
          "ingressClassName": null,
          "defaultBackend": null,
          "rules": [
            {
              "host": "nolimit.bar.com",
              "paths": [
                {
                  "path": "/",
                  "pathType": "Prefix",
                  "backend": {
                    "service": "app",
                    "port": 80
                  }
                }
              ]
            }
          ],
          "tls": []
        },
        {
          "meta": {
            "name": "regex",
            "namespace": "default",
            "labels": {},
            "annotations": {
              "nginx.ingress.kubernetes.io/use-regex": "true"
            },
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "uid": "8bd9ef90-fb45-4ae5-a8c2-93504096e43d"
          },
          "ingressClassName": null,
          "defaultBackend": null,
          "rules": [
            {
              "host": "regex.bar.com",
              "paths": [
                {
                  "path": "/api/v[0-9]+/users",
                  "pathType": "ImplementationSpecific",
                  "backend": {
                    "service": "http-svc",
                    "port": 80
                  }
                },
                {
                  "path": "/web",
                  "pathType": "Prefix",
                  "backend": {
                    "service": "app",
                    "port": 80
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
tee /run/knetlab/labs/ingress-annotations/cluster/objects.yaml >/dev/null <<'EOF'
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
  name: http-svc
spec:
  replicas: 1
  selector:
    matchLabels:
      app: http-svc
  template:
    metadata:
      labels:
        app: http-svc
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
  name: http-svc
spec:
  selector:
    app: http-svc
  ports:
    - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector:
    matchLabels:
      app: app
  template:
    metadata:
      labels:
        app: app
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
  name: app
spec:
  selector:
    app: app
  ports:
    - port: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rewrite
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  rules:
    - host: rewrite.bar.com
      http:
        paths:
          - path: /something(/|$)(.*)
            pathType: ImplementationSpecific
            backend:
              service:
                name: http-svc
                port:
                  number: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: approot
  annotations:
    nginx.ingress.kubernetes.io/app-root: /app1
spec:
  rules:
    - host: approot.bar.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: app
                port:
                  number: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: upload
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: 8m
spec:
  rules:
    - host: upload.bar.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: app
                port:
                  number: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: unlimited
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: "0"
spec:
  rules:
    - host: nolimit.bar.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: app
                port:
                  number: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: regex
  annotations:
    nginx.ingress.kubernetes.io/use-regex: "true"
spec:
  rules:
    - host: regex.bar.com
      http:
        paths:
          - path: /api/v[0-9]+/users
            pathType: ImplementationSpecific
            backend:
              service:
                name: http-svc
                port:
                  number: 80
          - path: /web
            pathType: Prefix
            backend:
              service:
                name: app
                port:
                  number: 80
EOF
tee /run/knetlab/labs/ingress-annotations/cluster/events.jsonl >/dev/null <<'EOF'
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/ingress-nginx-controller","namespace":"ingress-nginx","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set ingress-nginx-controller-77698c497c from 0 to 1"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/ingress-nginx-controller-77698c497c","namespace":"ingress-nginx","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: ingress-nginx-controller-77698c497c-4t6vm"}
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/http-svc","namespace":"default","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set http-svc-857b4c5fdf from 0 to 1"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/http-svc-857b4c5fdf","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: http-svc-857b4c5fdf-vtw5q"}
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/app","namespace":"default","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set app-745687bfd7 from 0 to 1"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/app-745687bfd7","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: app-745687bfd7-zrtrv"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/http-svc-857b4c5fdf-vtw5q","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/http-svc-857b4c5fdf-vtw5q to node2"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/app-745687bfd7-zrtrv","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/app-745687bfd7-zrtrv to node1"}
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
tee /run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/ingress-annotations/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node1.log"
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
tee /run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/ingress-annotations/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node2.log"
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
:KUBE-SVC-NZGXMBVUFMQ6OBBQ - [0:0]
:KUBE-SEP-SJXEAVDSUKQ2WWHE - [0:0]
:KUBE-SVC-GM62ZXCOIF6ZCRWU - [0:0]
:KUBE-SEP-AINCCXZCCVVB5HFX - [0:0]
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
-A KUBE-SERVICES -m comment --comment "default/app cluster IP" -m tcp -p tcp -d 10.96.0.13 --dport 80 -j KUBE-SVC-NZGXMBVUFMQ6OBBQ
-A KUBE-SVC-NZGXMBVUFMQ6OBBQ -m comment --comment "default/app cluster IP" -m tcp -p tcp -d 10.96.0.13 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-NZGXMBVUFMQ6OBBQ -m comment --comment "default/app -> 10.244.1.3:80" -j KUBE-SEP-SJXEAVDSUKQ2WWHE
-A KUBE-SEP-SJXEAVDSUKQ2WWHE -m comment --comment default/app -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-SJXEAVDSUKQ2WWHE -m comment --comment default/app -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:80
-A KUBE-SERVICES -m comment --comment "default/http-svc cluster IP" -m tcp -p tcp -d 10.96.0.12 --dport 80 -j KUBE-SVC-GM62ZXCOIF6ZCRWU
-A KUBE-SVC-GM62ZXCOIF6ZCRWU -m comment --comment "default/http-svc cluster IP" -m tcp -p tcp -d 10.96.0.12 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-GM62ZXCOIF6ZCRWU -m comment --comment "default/http-svc -> 10.244.2.2:80" -j KUBE-SEP-AINCCXZCCVVB5HFX
-A KUBE-SEP-AINCCXZCCVVB5HFX -m comment --comment default/http-svc -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-AINCCXZCCVVB5HFX -m comment --comment default/http-svc -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
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
:KUBE-SVC-NZGXMBVUFMQ6OBBQ - [0:0]
:KUBE-SEP-SJXEAVDSUKQ2WWHE - [0:0]
:KUBE-SVC-GM62ZXCOIF6ZCRWU - [0:0]
:KUBE-SEP-AINCCXZCCVVB5HFX - [0:0]
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
-A KUBE-SERVICES -m comment --comment "default/app cluster IP" -m tcp -p tcp -d 10.96.0.13 --dport 80 -j KUBE-SVC-NZGXMBVUFMQ6OBBQ
-A KUBE-SVC-NZGXMBVUFMQ6OBBQ -m comment --comment "default/app cluster IP" -m tcp -p tcp -d 10.96.0.13 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-NZGXMBVUFMQ6OBBQ -m comment --comment "default/app -> 10.244.1.3:80" -j KUBE-SEP-SJXEAVDSUKQ2WWHE
-A KUBE-SEP-SJXEAVDSUKQ2WWHE -m comment --comment default/app -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-SJXEAVDSUKQ2WWHE -m comment --comment default/app -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:80
-A KUBE-SERVICES -m comment --comment "default/http-svc cluster IP" -m tcp -p tcp -d 10.96.0.12 --dport 80 -j KUBE-SVC-GM62ZXCOIF6ZCRWU
-A KUBE-SVC-GM62ZXCOIF6ZCRWU -m comment --comment "default/http-svc cluster IP" -m tcp -p tcp -d 10.96.0.12 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-GM62ZXCOIF6ZCRWU -m comment --comment "default/http-svc -> 10.244.2.2:80" -j KUBE-SEP-AINCCXZCCVVB5HFX
-A KUBE-SEP-AINCCXZCCVVB5HFX -m comment --comment default/http-svc -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-AINCCXZCCVVB5HFX -m comment --comment default/http-svc -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
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
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/ingress-annotations/cluster/kube-proxy-node2.json

# 17. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/ingress-annotations/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/ingress-annotations",
  "stateFile": "/run/knetlab/labs/ingress-annotations/cluster/state.json",
  "pidfile": "/run/knetlab/labs/ingress-annotations/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/ingress-annotations/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/ingress-annotations/cluster/controlplane.json

# 18. Configure the ingress-nginx controllers
#    The pods running ingress-nginx's controller image run no echo server: each runs the controller,
#    which follows the API (the state file) for Ingresses of its class (an IngressClass with
#    controller k8s.io/ingress-nginx), renders nginx.conf as ingress-nginx's template does and runs
#    nginx in the pod. Upstreams are the Services' ready endpoints, not their cluster IPs: nginx
#    connects to the pods directly.
mkdir -p -m 0700 /run/knetlab/labs/ingress-annotations/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm
tee /run/knetlab/labs/ingress-annotations/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/controller.json >/dev/null <<'EOF'
{
  "stateFile": "/run/knetlab/labs/ingress-annotations/cluster/state.json",
  "dir": "/run/knetlab/labs/ingress-annotations/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm",
  "pkiDir": "/run/knetlab/labs/ingress-annotations/cluster/pki",
  "syncedFile": "/run/knetlab/labs/ingress-annotations/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/synced",
  "pidfile": "/run/knetlab/labs/ingress-annotations/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/controller.pid",
  "log": "/run/knetlab/labs/ingress-annotations/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/controller.log"
}
EOF

# 19. Run the ingress-nginx controllers
#    At start the controller makes the default "Kubernetes Ingress Controller Fake Certificate" (O =
#    Acme Co, SAN ingress.local, RSA-2048) with openssl, for hosts without a certificate of their own
#    and clients without SNI. It starts nginx once its first configuration passes nginx -t, and on
#    every change tests the new one and reloads nginx gracefully.
ip netns exec ingress-nginx-controller-77698c497c-4t6vm node <knetlab>/dist/agent.js ingress-nginx --config /run/knetlab/labs/ingress-annotations/cluster/ingress-nginx-ingress-nginx-controller-77698c497c-4t6vm/controller.json

# 20. Start the MetalLB speakers (layer 2)
#    MetalLB's controller gave each LoadBalancer Service an address from the pool
#    (status.loadBalancer.ingress). In layer 2 mode one node, elected per address (the first by
#    sha256(node#ip) among nodes whose speaker is alive, and which have a ready endpoint when
#    externalTrafficPolicy is Local), answers ARP requests for it from userspace with its own eth0
#    MAC. The address is on no interface. When that node goes away another takes over and announces
#    itself with gratuitous ARP. The speakers learn who is alive from each other over UDP 7946, as
#    memberlist does.
tee /run/knetlab/labs/ingress-annotations/cluster/speaker-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "interface": "eth0",
  "stateFile": "/run/knetlab/labs/ingress-annotations/cluster/state.json",
  "memberlistPort": 7946,
  "pidfile": "/run/knetlab/labs/ingress-annotations/cluster/speaker-node1.pid",
  "log": "/run/knetlab/labs/ingress-annotations/cluster/speaker-node1.log"
}
EOF
tee /run/knetlab/labs/ingress-annotations/cluster/speaker-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "interface": "eth0",
  "stateFile": "/run/knetlab/labs/ingress-annotations/cluster/state.json",
  "memberlistPort": 7946,
  "pidfile": "/run/knetlab/labs/ingress-annotations/cluster/speaker-node2.pid",
  "log": "/run/knetlab/labs/ingress-annotations/cluster/speaker-node2.log"
}
EOF

# 21. Run the speakers
#    Each speaker joins the others, runs the election for every address, and the winner starts
#    answering ARP for it.
ip netns exec node1 node <knetlab>/dist/agent.js metallb-speaker --config /run/knetlab/labs/ingress-annotations/cluster/speaker-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js metallb-speaker --config /run/knetlab/labs/ingress-annotations/cluster/speaker-node2.json

# 22. Look around
#    Read-only commands that show what the steps above built.
# The rewrite and app-root servers as ingress-nginx renders them.
ip netns exec node1 sh -c 'sed -n '\''/## start server rewrite.bar.com/,/## end server/p;/## start server approot.bar.com/,/## end server/p'\'' /run/knetlab/labs/ingress-annotations/cluster/ingress-nginx-*/nginx.conf | grep -E '\''server_name|location|rewrite|return|client_max_body_size'\'''

# 23. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# rewrite /something goes to http-svc as /
ip netns exec client curl -sS --max-time 2 -H 'Host: rewrite.bar.com' -w '\nstatus=%{http_code}\n' http://192.168.56.240/something
# rewrite /something/ also becomes /
ip netns exec client curl -sS --max-time 2 -H 'Host: rewrite.bar.com' -w '\nstatus=%{http_code}\n' http://192.168.56.240/something/
# rewrite /something/new becomes /new ($2 is what (.*) captured)
ip netns exec client curl -sS --max-time 2 -H 'Host: rewrite.bar.com' -w '\nstatus=%{http_code}\n' http://192.168.56.240/something/new
# the query string is kept across the rewrite
ip netns exec client curl -sS --max-time 2 -H 'Host: rewrite.bar.com' -w '\nstatus=%{http_code}\n' 'http://192.168.56.240/something/new/deeper?a=b&c=d'
# the rewrite's regex is case-insensitive, so /SOMETHING/x becomes /x
ip netns exec client curl -sS --max-time 2 -H 'Host: rewrite.bar.com' -w '\nstatus=%{http_code}\n' http://192.168.56.240/SOMETHING/x
# /somethingelse does not match (after "something" comes / or the end); the default backend's 404
ip netns exec client curl -sS --max-time 2 -H 'Host: rewrite.bar.com' -w '\nstatus=%{http_code}\n' http://192.168.56.240/somethingelse
# app-root sends / to /app1 with a 302
ip netns exec client curl -sS --max-time 2 --resolve approot.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\nheader.location=%header{location}\n' http://approot.bar.com/
# only / redirects, and the query string is dropped
ip netns exec client curl -sS --max-time 2 --resolve approot.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\nheader.location=%header{location}\n' 'http://approot.bar.com/?from=home'
# /app1 itself is served, unchanged
ip netns exec client curl -sS --max-time 2 --resolve approot.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://approot.bar.com/app1
# other paths are not redirected either
ip netns exec client curl -sS --max-time 2 --resolve approot.bar.com:80:192.168.56.240 -w '\nstatus=%{http_code}\n' http://approot.bar.com/other/page
# proxy-body-size 8m lets a body of exactly 8388608 bytes through
ip netns exec client sh -c 'head -c 8388608 /dev/zero | curl -sS --max-time 2 -H '\''Host: upload.bar.com'\'' --data-binary @- -H '\''Content-Type: application/octet-stream'\'' -w '\''\nstatus=%{http_code}\n'\'' http://192.168.56.240/upload'
# one byte more than 8m is refused by nginx with 413
ip netns exec client sh -c 'head -c 8388609 /dev/zero | curl -sS --max-time 2 -H '\''Host: upload.bar.com'\'' --data-binary @- -H '\''Content-Type: application/octet-stream'\'' -w '\''\nstatus=%{http_code}\n'\'' http://192.168.56.240/upload'
# proxy-body-size "0" turns the limit off (a 10 MB body passes)
ip netns exec client sh -c 'head -c 10485760 /dev/zero | curl -sS --max-time 2 -H '\''Host: nolimit.bar.com'\'' --data-binary @- -H '\''Content-Type: application/octet-stream'\'' -w '\''\nstatus=%{http_code}\n'\'' http://192.168.56.240/upload'
# without the annotation the default is 1m, so 1048577 bytes get 413 on approot.bar.com
ip netns exec client sh -c 'head -c 1048577 /dev/zero | curl -sS --max-time 2 -H '\''Host: approot.bar.com'\'' --data-binary @- -H '\''Content-Type: application/octet-stream'\'' -w '\''\nstatus=%{http_code}\n'\'' http://192.168.56.240/upload'
# and exactly 1048576 bytes pass there
ip netns exec client sh -c 'head -c 1048576 /dev/zero | curl -sS --max-time 2 -H '\''Host: approot.bar.com'\'' --data-binary @- -H '\''Content-Type: application/octet-stream'\'' -w '\''\nstatus=%{http_code}\n'\'' http://192.168.56.240/upload'
# use-regex /api/v[0-9]+/users matches /api/v2/users/42 (unanchored at the end)
ip netns exec client curl -sS --max-time 2 -H 'Host: regex.bar.com' -w '\nstatus=%{http_code}\n' http://192.168.56.240/api/v2/users/42
# the regex is case-insensitive, so /API/V10/USERS matches too
ip netns exec client curl -sS --max-time 2 -H 'Host: regex.bar.com' -w '\nstatus=%{http_code}\n' http://192.168.56.240/API/V10/USERS
# /api/vx/users does not match the regex; the default backend's 404
ip netns exec client curl -sS --max-time 2 -H 'Host: regex.bar.com' -w '\nstatus=%{http_code}\n' http://192.168.56.240/api/vx/users
# ingress-nginx, not the spec: in regex mode the Prefix /web matches /webxyz (the spec says element-wise, 404)
ip netns exec client curl -sS --max-time 2 -H 'Host: regex.bar.com' -w '\nstatus=%{http_code}\n' http://192.168.56.240/webxyz

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/ingress-annotations/app-745687bfd7-zrtrv.nginx.pid
# pkill -F /run/knetlab/labs/ingress-annotations/http-svc-857b4c5fdf-vtw5q.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del ingress-nginx-controller-77698c497c-4t6vm
# ip netns del app-745687bfd7-zrtrv
# ip netns del node2
# ip netns del http-svc-857b4c5fdf-vtw5q
# ip netns del client
