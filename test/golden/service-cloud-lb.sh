#!/bin/sh
# service-cloud-lb: A cloud provider's load balancer in front of the nodes, ipMode VIP and Proxy
# Reproduces seed 000 §3 LoadBalancer, 001 LoadBalancer服务, 003 常用配置 (type LoadBalancer), 004 §5.2.3.
# Two nodes on flannel (VXLAN) behind a router, and a client on the other side of it. The "web"
# LoadBalancer Service (externalTrafficPolicy Local, one pod per node) carries in its status what
# a cloud provider's load balancer wrote there: 203.0.113.10 in ipMode VIP and 203.0.113.11 in
# ipMode Proxy, both outside every subnet of the lab. The router routes the VIP to both nodes
# (ECMP) and kube-proxy captures it on each ("default/web loadbalancer IP"), so the client's
# connections reach a pod with its own address kept. For the Proxy address kube-proxy writes no
# rule at all: the router holds it and a real proxy (nginx, stream module) forwards each
# connection to the node port, so the pods see the proxy's address. Inside the cluster the
# difference shows again: a pod's request to the VIP never leaves its node, while its request to
# the Proxy address goes out to the load balancer and comes back through a node port.
# The exact commands "knetlab up service-cloud-lb" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add router
netns add node1
netns add web-1
netns add probe
netns add node2
netns add web-2
netns add client
EOF

# 2. Set per-namespace kernel parameters
#    Network sysctls are per namespace. A namespace only forwards packets between its interfaces
#    (acts as a router) when net.ipv4.ip_forward is 1.
ip netns exec router sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
ip netns exec node1 sysctl -q -w net.ipv4.ip_forward=1
ip netns exec node2 sysctl -q -w net.ipv4.ip_forward=1

# 3. Create the bridges
#    A Linux bridge is a virtual switch: it learns MAC addresses on its ports and forwards frames
#    between them. Given an address, it is also the gateway its ports' namespaces route through
#    (docker0, cni0).
ip -n router -batch - <<'EOF'
link add br0 type bridge
addr add 192.168.56.1/24 dev br0
link set br0 up
link add br1 type bridge
addr add 198.51.100.1/24 dev br1
link set br1 up
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
ip -n router -batch - <<'EOF'
link add node1 type veth peer name eth0 netns node1
link add node2 type veth peer name eth0 netns node2
link add client type veth peer name eth0 netns client
EOF
ip -n node1 link add vethba92dbab mtu 1450 type veth peer name eth0 mtu 1450 netns web-1
ip -n node1 link add vetha949c530 mtu 1450 type veth peer name eth0 mtu 1450 netns probe
ip -n node2 link add veth3b63c9b3 mtu 1450 type veth peer name eth0 mtu 1450 netns web-2

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
ip -n router -batch - <<'EOF'
link set lo up
link set node1 master br0
link set node1 up
link set node2 master br0
link set node2 up
link set client master br1
link set client up
route add 203.0.113.10/32 nexthop via 192.168.56.11 nexthop via 192.168.56.12
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
link set vethba92dbab master cni0
link set vethba92dbab type bridge_slave hairpin on
link set vethba92dbab up
link set vetha949c530 master cni0
link set vetha949c530 type bridge_slave hairpin on
link set vetha949c530 up
route add default via 192.168.56.1
EOF
ip -n web-1 -batch - <<'EOF'
link set lo up
addr add 10.244.1.2/24 dev eth0
link set eth0 up
route add default via 10.244.1.1
route add 10.244.0.0/16 via 10.244.1.1 dev eth0
EOF
ip -n probe -batch - <<'EOF'
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
ip -n client -batch - <<'EOF'
link set lo up
addr add 198.51.100.100/24 dev eth0
link set eth0 up
route add default via 198.51.100.1
EOF

# 6. flanneld: take a subnet lease and write subnet.env
#    Each node's flanneld leases one subnet of the cluster network 10.244.0.0/16 (under
#    --kube-subnet-mgr: the node's spec.podCIDR) and writes /run/flannel/subnet.env, which the
#    flannel CNI plugin reads to configure cni0 and pod addresses. FLANNEL_SUBNET is the lease's
#    first usable address; FLANNEL_MTU is the vxlan backend's MTU (1450). Here each node's files live
#    in its own folder of the lab.
mkdir -p -m 0700 /run/knetlab/labs/service-cloud-lb/node1/run/flannel /run/knetlab/labs/service-cloud-lb/node2/run/flannel
tee /run/knetlab/labs/service-cloud-lb/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/service-cloud-lb/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/service-cloud-lb/node2/run/flannel/subnet.env >/dev/null <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/service-cloud-lb
tee /run/knetlab/labs/service-cloud-lb/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: web-1, probe, web-2
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/service-cloud-lb/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/service-cloud-lb/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/service-cloud-lb/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/service-cloud-lb/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/service-cloud-lb/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.2 web-1;
        10.244.1.3 probe;
        10.244.2.2 web-2;
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

# 12. Start the servers
#    "ip netns exec" runs nginx inside the namespace, so it listens on that namespace's addresses
#    only. nginx daemonizes and writes its PID file; knetlab records the PID and stops exactly that
#    process on down. Many servers are started through one xargs, a few at a time.
ip netns exec web-1 nginx -c /run/knetlab/labs/service-cloud-lb/nginx.conf -g 'pid /run/knetlab/labs/service-cloud-lb/web-1.nginx.pid; error_log /run/knetlab/labs/service-cloud-lb/web-1.error.log warn;'
ip netns exec probe nginx -c /run/knetlab/labs/service-cloud-lb/nginx.conf -g 'pid /run/knetlab/labs/service-cloud-lb/probe.nginx.pid; error_log /run/knetlab/labs/service-cloud-lb/probe.error.log warn;'
ip netns exec web-2 nginx -c /run/knetlab/labs/service-cloud-lb/nginx.conf -g 'pid /run/knetlab/labs/service-cloud-lb/web-2.nginx.pid; error_log /run/knetlab/labs/service-cloud-lb/web-2.error.log warn;'

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/service-cloud-lb/cluster
mkdir -p -m 0711 /run/knetlab/labs/service-cloud-lb/unready
tee /run/knetlab/labs/service-cloud-lb/cluster/state.json >/dev/null <<'EOF'
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
          "name": "probe",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "30f6a7b8-f9f2-4cdb-a7bb-4ffef6c5d83b"
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
        "clusterIP": "10.96.100.10",
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
        "externalTrafficPolicy": "Local",
        "internalTrafficPolicy": "Cluster",
        "externalIPs": [],
        "loadBalancerIP": null,
        "loadBalancerSourceRanges": [],
        "publishNotReadyAddresses": false,
        "healthCheckNodePort": 32000,
        "externalName": null,
        "loadBalancerIngress": [
          {
            "ip": "203.0.113.10",
            "ipMode": "VIP"
          },
          {
            "ip": "203.0.113.11",
            "ipMode": "Proxy"
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
tee /run/knetlab/labs/service-cloud-lb/cluster/objects.yaml >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  clusterIP: 10.96.100.10
  healthCheckNodePort: 32000
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 80
      nodePort: 30080
status:
  loadBalancer:
    ingress:
      - ip: 203.0.113.10
        ipMode: VIP
      - ip: 203.0.113.11
        ipMode: Proxy
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
  name: probe
spec:
  nodeName: node1
  containers:
    - name: curl
      image: curlimages/curl
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
tee /run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/service-cloud-lb/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node1.log"
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
tee /run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "iptables",
  "stateFile": "/run/knetlab/labs/service-cloud-lb/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node2.log"
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
-A KUBE-NODEPORTS -m comment --comment "default/web health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT
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
:KUBE-SVC-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SVL-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SEP-MQ4W7Q2CV67URU6Q - [0:0]
:KUBE-SEP-QHWUG6SOC7OJ2BZK - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80 -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-SERVICES -m comment --comment "default/web loadbalancer IP" -m tcp -p tcp -d 203.0.113.10 --dport 80 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-NODEPORTS -m comment --comment default/web -m tcp -p tcp --dport 30080 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -m comment --comment "pod traffic for default/web external destinations" -s 10.244.0.0/16 -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-EXT-LOLE4ISW44XBNF3G -m comment --comment "masquerade LOCAL traffic for default/web external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -m comment --comment "route LOCAL traffic for default/web external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-EXT-LOLE4ISW44XBNF3G -j KUBE-SVL-LOLE4ISW44XBNF3G
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-MQ4W7Q2CV67URU6Q
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.2.2:80" -j KUBE-SEP-QHWUG6SOC7OJ2BZK
-A KUBE-SVL-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.2:80" -j KUBE-SEP-MQ4W7Q2CV67URU6Q
-A KUBE-SEP-MQ4W7Q2CV67URU6Q -m comment --comment default/web -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-MQ4W7Q2CV67URU6Q -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
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
-A KUBE-NODEPORTS -m comment --comment "default/web health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT
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
:KUBE-SVC-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SVL-LOLE4ISW44XBNF3G - [0:0]
:KUBE-SEP-MQ4W7Q2CV67URU6Q - [0:0]
:KUBE-SEP-QHWUG6SOC7OJ2BZK - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80 -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-SERVICES -m comment --comment "default/web loadbalancer IP" -m tcp -p tcp -d 203.0.113.10 --dport 80 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-NODEPORTS -m comment --comment default/web -m tcp -p tcp --dport 30080 -j KUBE-EXT-LOLE4ISW44XBNF3G
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.100.10 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -m comment --comment "pod traffic for default/web external destinations" -s 10.244.0.0/16 -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-EXT-LOLE4ISW44XBNF3G -m comment --comment "masquerade LOCAL traffic for default/web external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-LOLE4ISW44XBNF3G -m comment --comment "route LOCAL traffic for default/web external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-LOLE4ISW44XBNF3G
-A KUBE-EXT-LOLE4ISW44XBNF3G -j KUBE-SVL-LOLE4ISW44XBNF3G
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-MQ4W7Q2CV67URU6Q
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.2.2:80" -j KUBE-SEP-QHWUG6SOC7OJ2BZK
-A KUBE-SVL-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.2.2:80" -j KUBE-SEP-QHWUG6SOC7OJ2BZK
-A KUBE-SEP-MQ4W7Q2CV67URU6Q -m comment --comment default/web -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-MQ4W7Q2CV67URU6Q -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-QHWUG6SOC7OJ2BZK -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:80
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
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/service-cloud-lb/cluster/kube-proxy-node2.json

# 17. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/service-cloud-lb/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/service-cloud-lb",
  "stateFile": "/run/knetlab/labs/service-cloud-lb/cluster/state.json",
  "pidfile": "/run/knetlab/labs/service-cloud-lb/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/service-cloud-lb/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/service-cloud-lb/cluster/controlplane.json

# 18. Give the cloud load balancer's Proxy-mode addresses to the router
#    A Proxy-mode address belongs to the load balancer, not to the nodes: the router holds it (on its
#    loopback, so it answers for it on every side) and the proxy listens there. kube-proxy writes no
#    rule for it, so even a pod's traffic to it leaves its node and comes here, through the nodes'
#    default route.
ip -n router addr add 203.0.113.11/32 dev lo

# 19. Configure the cloud load balancer's proxy
#    The load balancer proxies each Proxy-mode address and Service port to the Service's node port on
#    every node, as a cloud load balancer that terminates connections does: it opens a new connection
#    from its own address, so the nodes, and the pods behind them, see the load balancer as the
#    client. nginx's stream module does the proxying; each new connection goes to the next node in
#    turn.
tee /run/knetlab/labs/service-cloud-lb/cluster/cloud-lb.conf >/dev/null <<'EOF'
# knetlab: a cloud provider's load balancer in proxy mode (status.loadBalancer.ingress[].ipMode: Proxy).
# Each address and port is proxied to the Service node port on every node; the nodes see the
# load balancer's own address as the client.
load_module modules/ngx_stream_module.so;
worker_processes 1;
events { worker_connections 256; }
stream {
    # default/web port 80/TCP on 203.0.113.11: node port 30080
    upstream default_web_80_tcp_203_0_113_11 {
        server 192.168.56.11:30080;  # node1
        server 192.168.56.12:30080;  # node2
    }
    server {
        listen 203.0.113.11:80;
        proxy_pass default_web_80_tcp_203_0_113_11;
        proxy_connect_timeout 2s;
    }
}
EOF

# 20. Start the cloud load balancer's proxy
#    "ip netns exec" runs nginx in the router; it listens on the Proxy-mode addresses only. knetlab
#    records its PID and stops it on down.
ip netns exec router nginx -c /run/knetlab/labs/service-cloud-lb/cluster/cloud-lb.conf -g 'pid /run/knetlab/labs/service-cloud-lb/cluster/cloud-lb.pid; error_log /run/knetlab/labs/service-cloud-lb/cluster/cloud-lb.log warn;'

# 21. Look around
#    Read-only commands that show what the steps above built.
# The VIP is routed to both nodes; the router picks one per connection.
ip -n router route show 203.0.113.10
# The Proxy address is the router's own (on its loopback); nothing routes it to the nodes.
ip -n router -4 addr show dev lo
# The proxy listens on 203.0.113.11:80 and connects to node port 30080 on each node.
ip netns exec router cat /run/knetlab/labs/service-cloud-lb/cluster/cloud-lb.conf
# "default/web loadbalancer IP" for 203.0.113.10 only: kube-proxy writes nothing for the Proxy address.
ip netns exec node1 iptables -t nat -S KUBE-SERVICES

# 22. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# the client reaches the VIP through both nodes (ECMP), and each pod sees the client's own address
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/
# the client reaches the Proxy address; the proxy takes turns over the nodes, and the pods see the proxy
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/
# node1's kube-proxy captures the VIP (a "loadbalancer IP" rule for 203.0.113.10)
ip netns exec node1 sh -c 'iptables-save -t nat | grep -- '\''-d 203.0.113.10/32'\'' | grep -q '\''default/web loadbalancer IP'\'''
# in nftables mode, the VIP is an element of the service-ips map, sent to the Service's external chain
ip netns exec node1 sh -c 'nft list map ip kube-proxy service-ips | grep -q '\''203.0.113.10 . tcp . 80 : goto external-'\'''
# and the Proxy address is in no element or rule of kube-proxy's table
ip netns exec node1 sh -c '! nft list table ip kube-proxy | grep -q 203.0.113.11'
# and writes no rule at all for the Proxy address, in any table
ip netns exec node1 sh -c '! iptables-save | grep -q 203.0.113.11'
# no node holds either address on an interface
ip netns exec node2 sh -c '! ip -4 addr show | grep -q 203.0.113.1'
# a pod's request to the VIP is short-circuited in its node; the pod it reaches sees the pod's own address
ip netns exec probe curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/
# in IPVS mode node1's kube-proxy captures the VIP with a virtual server and the KUBE-LOAD-BALANCER sets, and has none for the Proxy address
ip netns exec node1 sh -c 'ipvsadm -Ln -t 203.0.113.10:80 >/dev/null && ipset test KUBE-LOAD-BALANCER-LOCAL 203.0.113.10,tcp:80 && ! ipvsadm -Ln | grep -q 203.0.113.11'
# in IPVS mode the VIP is on node1's kube-ipvs0 (a local address), the Proxy address is not
ip netns exec node1 sh -c 'ip -4 addr show dev kube-ipvs0 | grep -q '\''inet 203.0.113.10/32'\'' && ! ip -4 addr show | grep -q 203.0.113.11'
# in IPVS mode a pod's request to the VIP stays in its node too, but (externalTrafficPolicy Local, a local endpoint here) only reaches node1's own pod, which sees the pod's address
ip netns exec probe curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/ http://203.0.113.10/
# nothing addressed to the VIP crosses node1's cable to the router meanwhile
ip netns exec router tcpdump -i node1 -nn -l -x -c 200 'host 203.0.113.10'
# a pod's request to the Proxy address goes out to the load balancer, and comes back through a node port
ip netns exec probe curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/ http://203.0.113.11/
# it leaves node1 for the Proxy address, masqueraded by flannel to node1's address
ip netns exec router tcpdump -i node1 -nn -l -x -c 200 'tcp and host 203.0.113.11'
# and the proxy connects from its own address to a node port
ip netns exec router tcpdump -i br0 -nn -l -x -c 200 'tcp dst port 30080'

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/service-cloud-lb/web-1.nginx.pid
# pkill -F /run/knetlab/labs/service-cloud-lb/probe.nginx.pid
# pkill -F /run/knetlab/labs/service-cloud-lb/web-2.nginx.pid
# ip netns del router
# ip netns del node1
# ip netns del web-1
# ip netns del probe
# ip netns del node2
# ip netns del web-2
# ip netns del client
