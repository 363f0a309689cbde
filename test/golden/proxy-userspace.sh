#!/bin/sh
# proxy-userspace: kube-proxy's userspace mode retries a dead endpoint; iptables mode cannot
# Reproduces seed 002 (userspace → iptables → ipvs), 004 §5.4.1 userspace mode, §5.4.2.
# Two nodes on flannel (VXLAN), a NodePort Service "web" with three pods and no readiness probe.
# web-3's echo server is killed: it stays an endpoint, and every connection to it is refused (its
# kernel answers the SYN with a RST). kube-proxy starts in userspace mode (removed in Kubernetes
# 1.26): it listens on a local port per service port, its iptables portals REDIRECT the ClusterIP
# and the NodePort there, and it dials an endpoint round-robin, trying the next one when a dial is
# refused or times out. So every request is answered, by web-1 and web-2. Then the running lab is
# switched to iptables mode (knetlab apply --proxy-mode iptables: the userspace cleanup, then
# iptables mode's setup and a new kube-proxy on each node): the kernel DNATs each new connection
# to a random endpoint, one in three lands on web-3 and is refused, and nothing retries. Back in
# userspace mode, every request is answered again.
# The exact commands "knetlab up proxy-userspace" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add web-1
netns add client
netns add node2
netns add web-2
netns add web-3
netns add outside
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
link add outside type veth peer name eth0 netns outside
EOF
ip -n node1 link add vethba92dbab mtu 1450 type veth peer name eth0 mtu 1450 netns web-1
ip -n node1 link add vethd2a04d71 mtu 1450 type veth peer name eth0 mtu 1450 netns client
ip -n node2 link add veth3b63c9b3 mtu 1450 type veth peer name eth0 mtu 1450 netns web-2
ip -n node2 link add veth9aa9562c mtu 1450 type veth peer name eth0 mtu 1450 netns web-3

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
link set outside master br0
link set outside up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
link set vethba92dbab master cni0
link set vethba92dbab type bridge_slave hairpin on
link set vethba92dbab up
link set vethd2a04d71 master cni0
link set vethd2a04d71 type bridge_slave hairpin on
link set vethd2a04d71 up
route add default via 192.168.56.1
EOF
ip -n web-1 -batch - <<'EOF'
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
link set veth3b63c9b3 master cni0
link set veth3b63c9b3 type bridge_slave hairpin on
link set veth3b63c9b3 up
link set veth9aa9562c master cni0
link set veth9aa9562c type bridge_slave hairpin on
link set veth9aa9562c up
route add default via 192.168.56.1
EOF
ip -n web-2 -batch - <<'EOF'
link set lo up
addr add 10.244.2.2/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n web-3 -batch - <<'EOF'
link set lo up
addr add 10.244.2.3/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
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
mkdir -p -m 0700 /run/knetlab/labs/proxy-userspace/node1/run/flannel /run/knetlab/labs/proxy-userspace/node2/run/flannel
tee /run/knetlab/labs/proxy-userspace/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/proxy-userspace/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/proxy-userspace/node2/run/flannel/subnet.env >/dev/null <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/proxy-userspace
tee /run/knetlab/labs/proxy-userspace/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: web-1, client, web-2, web-3
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/proxy-userspace/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/proxy-userspace/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/proxy-userspace/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/proxy-userspace/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/proxy-userspace/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.2 web-1;
        10.244.1.3 client;
        10.244.2.2 web-2;
        10.244.2.3 web-3;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.2 node1;
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
ip netns exec web-1 nginx -c /run/knetlab/labs/proxy-userspace/nginx.conf -g 'pid /run/knetlab/labs/proxy-userspace/web-1.nginx.pid; error_log /run/knetlab/labs/proxy-userspace/web-1.error.log warn;'
ip netns exec client nginx -c /run/knetlab/labs/proxy-userspace/nginx.conf -g 'pid /run/knetlab/labs/proxy-userspace/client.nginx.pid; error_log /run/knetlab/labs/proxy-userspace/client.error.log warn;'
ip netns exec web-2 nginx -c /run/knetlab/labs/proxy-userspace/nginx.conf -g 'pid /run/knetlab/labs/proxy-userspace/web-2.nginx.pid; error_log /run/knetlab/labs/proxy-userspace/web-2.error.log warn;'
ip netns exec web-3 nginx -c /run/knetlab/labs/proxy-userspace/nginx.conf -g 'pid /run/knetlab/labs/proxy-userspace/web-3.nginx.pid; error_log /run/knetlab/labs/proxy-userspace/web-3.error.log warn;'

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/proxy-userspace/cluster
mkdir -p -m 0711 /run/knetlab/labs/proxy-userspace/unready
tee /run/knetlab/labs/proxy-userspace/cluster/state.json >/dev/null <<'EOF'
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
    "mode": "userspace",
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
                "name": "http",
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
                "name": "http",
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
        "nodeName": "node2",
        "podIP": "10.244.2.3",
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
                "name": "http",
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
            "name": "shell",
            "image": "busybox",
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
        "type": "NodePort",
        "clusterIP": "10.96.60.1",
        "ports": [
          {
            "name": "",
            "protocol": "TCP",
            "port": 80,
            "targetPort": "http",
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
          },
          {
            "address": "10.244.2.3",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "web-3"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      }
    ]
  }
}
EOF
tee /run/knetlab/labs/proxy-userspace/cluster/objects.yaml >/dev/null <<'EOF'
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: userspace
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  clusterIP: 10.96.60.1
  selector:
    app: web
  ports:
    - port: 80
      targetPort: http
      nodePort: 30080
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
        - name: http
          containerPort: 80
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
        - name: http
          containerPort: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: web-3
  labels:
    app: web
spec:
  nodeName: node2
  containers:
    - name: nginx
      image: nginx
      ports:
        - name: http
          containerPort: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  nodeName: node1
  containers:
    - name: shell
      image: busybox
EOF

# 14. kube-proxy: hook its chains into the built-in ones and set its sysctls
#    kube-proxy (userspace mode, as it was until Kubernetes 1.26) starts by ensuring its portal
#    chains and the jumps to them (iptablesInit): nat PREROUTING → KUBE-PORTALS-CONTAINER and OUTPUT
#    → KUBE-PORTALS-HOST first, then, for destinations that are local addresses,
#    KUBE-NODEPORT-CONTAINER and KUBE-NODEPORT-HOST last; filter INPUT → KUBE-NODEPORT-NON-LOCAL.
#    Then kube-proxy sets the sysctls its configuration asks for in the node's network namespace:
#    net.ipv4.conf.all.route_localnet=1 when NodePorts answer on 127.0.0.1
#    (iptables.localhostNodePorts, on by default; without it the kernel drops packets to 127.0.0.0/8
#    that are routed anywhere but lo), and the conntrack timeouts (conntrack.tcpEstablishedTimeout is
#    24h unless set, tcpCloseWaitTimeout 1h). Each node's kube-proxy also gets its configuration
#    file.
tee /run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "userspace",
  "stateFile": "/run/knetlab/labs/proxy-userspace/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node1.log"
}
EOF
ip netns exec node1 iptables-restore -w --noflush <<'EOF'
*nat
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-PORTALS-HOST - [0:0]
:KUBE-NODEPORT-CONTAINER - [0:0]
:KUBE-NODEPORT-HOST - [0:0]
-I PREROUTING 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER
-I OUTPUT 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST
-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER
-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST
COMMIT
*filter
:KUBE-NODEPORT-NON-LOCAL - [0:0]
-I INPUT 1 -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL
COMMIT
EOF
ip netns exec node1 sysctl -q -w net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600
tee /run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "userspace",
  "stateFile": "/run/knetlab/labs/proxy-userspace/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node2.log"
}
EOF
ip netns exec node2 iptables-restore -w --noflush <<'EOF'
*nat
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-PORTALS-HOST - [0:0]
:KUBE-NODEPORT-CONTAINER - [0:0]
:KUBE-NODEPORT-HOST - [0:0]
-I PREROUTING 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER
-I OUTPUT 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST
-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER
-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST
COMMIT
*filter
:KUBE-NODEPORT-NON-LOCAL - [0:0]
-I INPUT 1 -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL
COMMIT
EOF
ip netns exec node2 sysctl -q -w net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600

# 15. kube-proxy: the first sync on every node
#    Its rules do no load balancing: each Service port gets a listener in kube-proxy itself on a free
#    local port, and the portals send ClusterIP:port (and NodePorts, external and load balancer IPs)
#    there: REDIRECT --to-ports <proxy port> for traffic arriving from pods or the network, DNAT to
#    <node IP>:<proxy port> for traffic the node sends itself. kube-proxy accepts the connection,
#    picks an endpoint round-robin (ClientIP affinity honoured), dials it, and copies the bytes both
#    ways. The first sync here only declares the chains: the ports exist once kube-proxy runs and
#    opens its listeners.
ip netns exec node1 iptables-restore -w --noflush --counters <<'EOF'
*nat
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-PORTALS-HOST - [0:0]
:KUBE-NODEPORT-CONTAINER - [0:0]
:KUBE-NODEPORT-HOST - [0:0]
COMMIT
*filter
:KUBE-NODEPORT-NON-LOCAL - [0:0]
COMMIT
EOF
ip netns exec node2 iptables-restore -w --noflush --counters <<'EOF'
*nat
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-PORTALS-HOST - [0:0]
:KUBE-NODEPORT-CONTAINER - [0:0]
:KUBE-NODEPORT-HOST - [0:0]
COMMIT
*filter
:KUBE-NODEPORT-NON-LOCAL - [0:0]
COMMIT
EOF

# 16. Start kube-proxy on every node
#    From here on kube-proxy keeps the rules in step with the API: on every change it opens and
#    closes listeners, rewrites its portal chains, and hands the round robin the new endpoints; when
#    an endpoint refuses a connection or does not answer in time (250 ms, 500 ms, 1 s, 2 s), it tries
#    the next one, so a dead pod costs a retry instead of a failed request. It also answers on
#    :10256/healthz and, for LoadBalancer Services with externalTrafficPolicy Local, on their
#    healthCheckNodePort: 200 while the node has a ready local endpoint, 503 otherwise. Here
#    kube-proxy is knetlab's own TypeScript daemon; the rules it writes are kube-proxy's.
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/proxy-userspace/cluster/kube-proxy-node2.json

# 17. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/proxy-userspace/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/proxy-userspace",
  "stateFile": "/run/knetlab/labs/proxy-userspace/cluster/state.json",
  "pidfile": "/run/knetlab/labs/proxy-userspace/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/proxy-userspace/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/proxy-userspace/cluster/controlplane.json

# 18. Look around
#    Read-only commands that show what the steps above built.
# userspace mode's portals: KUBE-PORTALS-CONTAINER REDIRECTs 10.96.60.1:80 to kube-proxy's own port, KUBE-PORTALS-HOST DNATs the node's own traffic to 192.168.56.11:<that port>, KUBE-NODEPORT-* do the same for :30080. No KUBE-SVC or KUBE-SEP chain: the kernel balances nothing.
ip netns exec node1 iptables-save -t nat
# kube-proxy (node) listens on the proxy port the rules name, on 0.0.0.0.
ip netns exec node1 ss -tlnp

# 19. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# userspace: all three pods answer through the ClusterIP, round-robin
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/
# web-3's echo server dies (no readiness probe, so it stays in web's endpoints)
ip netns exec web-3 sh -c 'kill $(cat /run/knetlab/labs/proxy-userspace/web-3.nginx.pid)'
# userspace: 30 requests from the client pod to the ClusterIP are all answered, by web-1 and web-2 (web-3 refuses, kube-proxy tries the next endpoint)
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/
# userspace: 30 requests from outside to the NodePort are all answered too
ip netns exec outside curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/ http://192.168.56.12:30080/
# switch the running lab to iptables mode (what restarting kube-proxy with --proxy-mode iptables does on every node)
ip netns exec node1 <knetlab>/bin/knetlab.js apply /run/knetlab/labs/proxy-userspace --proxy-mode iptables
# iptables: the same 30 requests, and about one in three is refused (DNATed to web-3; nothing retries)
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/
# back to userspace mode
ip netns exec node1 <knetlab>/bin/knetlab.js apply /run/knetlab/labs/proxy-userspace --proxy-mode userspace
# userspace again: every request answered
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/ http://10.96.60.1/

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/proxy-userspace/web-1.nginx.pid
# pkill -F /run/knetlab/labs/proxy-userspace/client.nginx.pid
# pkill -F /run/knetlab/labs/proxy-userspace/web-2.nginx.pid
# pkill -F /run/knetlab/labs/proxy-userspace/web-3.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del web-1
# ip netns del client
# ip netns del node2
# ip netns del web-2
# ip netns del web-3
# ip netns del outside
