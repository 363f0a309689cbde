#!/bin/sh
# proxy-nftables: kube-proxy in nftables mode (table ip kube-proxy, verdict maps, numgen)
# Reproduces seed 004 §5.4.4 (kube-proxy's modes compared).
# Two nodes on flannel (VXLAN), a NodePort Service "web" with three pods, a client pod on node1
# and a machine outside the cluster. Every kube-proxy runs in nftables mode: everything it writes
# lives in its own table, ip kube-proxy. The services chain looks the destination up in the
# service-ips verdict map (ClusterIP . protocol . port) and, for addresses in nodeport-ips, in
# service-nodeports; the Service's chain picks one of the endpoint chains with numgen random mod
# 3, and the endpoint chain DNATs. Unlike iptables mode, other ports of a ClusterIP are refused
# and unallocated ClusterIPs dropped (cluster-ips-check), NodePorts answer only on the node's
# primary IP (nodePortAddresses empty means "primary" here), and never on 127.0.0.1. After its
# first sync kube-proxy writes only what changed; when someone deletes its table, it notices
# within a syncPeriod and writes it whole again.
# The exact commands "knetlab up proxy-nftables" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add web-6d4777fb8c-dhcfq
netns add client
netns add node2
netns add web-6d4777fb8c-fspd4
netns add web-6d4777fb8c-nfpmx
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
ip -n node1 link add vethf1f1504a mtu 1450 type veth peer name eth0 mtu 1450 netns web-6d4777fb8c-dhcfq
ip -n node1 link add vethd2a04d71 mtu 1450 type veth peer name eth0 mtu 1450 netns client
ip -n node2 link add veth3469d63b mtu 1450 type veth peer name eth0 mtu 1450 netns web-6d4777fb8c-fspd4
ip -n node2 link add veth0a28a849 mtu 1450 type veth peer name eth0 mtu 1450 netns web-6d4777fb8c-nfpmx

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
link set vethf1f1504a master cni0
link set vethf1f1504a type bridge_slave hairpin on
link set vethf1f1504a up
link set vethd2a04d71 master cni0
link set vethd2a04d71 type bridge_slave hairpin on
link set vethd2a04d71 up
route add default via 192.168.56.1
EOF
ip -n web-6d4777fb8c-dhcfq -batch - <<'EOF'
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
link set veth3469d63b master cni0
link set veth3469d63b type bridge_slave hairpin on
link set veth3469d63b up
link set veth0a28a849 master cni0
link set veth0a28a849 type bridge_slave hairpin on
link set veth0a28a849 up
route add default via 192.168.56.1
EOF
ip -n web-6d4777fb8c-fspd4 -batch - <<'EOF'
link set lo up
addr add 10.244.2.2/24 dev eth0
link set eth0 up
route add default via 10.244.2.1
route add 10.244.0.0/16 via 10.244.2.1 dev eth0
EOF
ip -n web-6d4777fb8c-nfpmx -batch - <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/proxy-nftables/node1/run/flannel /run/knetlab/labs/proxy-nftables/node2/run/flannel
tee /run/knetlab/labs/proxy-nftables/net-conf.json >/dev/null <<'EOF'
{
  "Network": "10.244.0.0/16",
  "Backend": {
    "Type": "vxlan"
  }
}
EOF
tee /run/knetlab/labs/proxy-nftables/node1/run/flannel/subnet.env >/dev/null <<'EOF'
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF
tee /run/knetlab/labs/proxy-nftables/node2/run/flannel/subnet.env >/dev/null <<'EOF'
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
mkdir -p -m 0700 /run/knetlab/labs/proxy-nftables
tee /run/knetlab/labs/proxy-nftables/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: web-6d4777fb8c-dhcfq, client, web-6d4777fb8c-fspd4, web-6d4777fb8c-nfpmx
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/proxy-nftables/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/proxy-nftables/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/proxy-nftables/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/proxy-nftables/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/proxy-nftables/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.2 web-6d4777fb8c-dhcfq;
        10.244.1.3 client;
        10.244.2.2 web-6d4777fb8c-fspd4;
        10.244.2.3 web-6d4777fb8c-nfpmx;
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
ip netns exec web-6d4777fb8c-dhcfq nginx -c /run/knetlab/labs/proxy-nftables/nginx.conf -g 'pid /run/knetlab/labs/proxy-nftables/web-6d4777fb8c-dhcfq.nginx.pid; error_log /run/knetlab/labs/proxy-nftables/web-6d4777fb8c-dhcfq.error.log warn;'
ip netns exec client nginx -c /run/knetlab/labs/proxy-nftables/nginx.conf -g 'pid /run/knetlab/labs/proxy-nftables/client.nginx.pid; error_log /run/knetlab/labs/proxy-nftables/client.error.log warn;'
ip netns exec web-6d4777fb8c-fspd4 nginx -c /run/knetlab/labs/proxy-nftables/nginx.conf -g 'pid /run/knetlab/labs/proxy-nftables/web-6d4777fb8c-fspd4.nginx.pid; error_log /run/knetlab/labs/proxy-nftables/web-6d4777fb8c-fspd4.error.log warn;'
ip netns exec web-6d4777fb8c-nfpmx nginx -c /run/knetlab/labs/proxy-nftables/nginx.conf -g 'pid /run/knetlab/labs/proxy-nftables/web-6d4777fb8c-nfpmx.nginx.pid; error_log /run/knetlab/labs/proxy-nftables/web-6d4777fb8c-nfpmx.error.log warn;'

# 13. Store the Kubernetes objects
#    The lab's manifests, as the API server and controllers left them: ClusterIPs and NodePorts
#    allocated, pods scheduled and given addresses, EndpointSlices computed from the Services'
#    selectors and the pods' readiness. Every node's kube-proxy (and MetalLB speaker) watches this
#    file, as they watch the API server; `knetlab apply` and the readiness prober rewrite it.
mkdir -p -m 0700 /run/knetlab/labs/proxy-nftables/cluster
mkdir -p -m 0711 /run/knetlab/labs/proxy-nftables/unready
tee /run/knetlab/labs/proxy-nftables/cluster/state.json >/dev/null <<'EOF'
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
    "mode": "nftables",
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
      "syncPeriodMs": 2000,
      "minSyncPeriodMs": 500
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
          "name": "web-6d4777fb8c-fspd4",
          "namespace": "default",
          "labels": {
            "app": "web",
            "pod-template-hash": "6d4777fb8c"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "bc7033d3-3bcd-4039-8bd4-07b096a46cae"
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
        "owner": "Deployment/web",
        "replicaSet": "web-6d4777fb8c",
        "ready": true
      },
      {
        "meta": {
          "name": "web-6d4777fb8c-dhcfq",
          "namespace": "default",
          "labels": {
            "app": "web",
            "pod-template-hash": "6d4777fb8c"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "e226aa5e-d18e-43a2-8348-6dedd4b157e7"
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
        "owner": "Deployment/web",
        "replicaSet": "web-6d4777fb8c",
        "ready": true
      },
      {
        "meta": {
          "name": "web-6d4777fb8c-nfpmx",
          "namespace": "default",
          "labels": {
            "app": "web",
            "pod-template-hash": "6d4777fb8c"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "45b016b6-8b89-4b9f-b8f0-e541c6a8dda0"
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
                "name": null,
                "containerPort": 80,
                "protocol": "TCP"
              }
            ],
            "readinessProbe": null
          }
        ],
        "owner": "Deployment/web",
        "replicaSet": "web-6d4777fb8c",
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
    "deployments": [
      {
        "meta": {
          "name": "web",
          "namespace": "default",
          "labels": {},
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "a6fa6421-efeb-4aa1-99de-308e7a7868ac"
        },
        "replicas": 3,
        "selector": {
          "app": "web"
        },
        "template": {
          "labels": {
            "app": "web"
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
        "templateHash": "6d4777fb8c"
      }
    ],
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
        "clusterIP": "10.96.100.100",
        "ports": [
          {
            "name": "http",
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
          "name": "web-9wp8v",
          "namespace": "default",
          "labels": {
            "kubernetes.io/service-name": "web",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"
          },
          "annotations": {},
          "creationTimestamp": "2026-01-01T00:00:00Z",
          "uid": "4fba2435-0bfc-4acb-9428-b67475d58630"
        },
        "service": "web",
        "ports": [
          {
            "name": "http",
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
            "pod": "web-6d4777fb8c-dhcfq"
          },
          {
            "address": "10.244.2.2",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "web-6d4777fb8c-fspd4"
          },
          {
            "address": "10.244.2.3",
            "conditions": {
              "ready": true,
              "serving": true,
              "terminating": false
            },
            "nodeName": "node2",
            "pod": "web-6d4777fb8c-nfpmx"
          }
        ],
        "managedBy": "endpointslice-controller.k8s.io"
      }
    ]
  }
}
EOF
tee /run/knetlab/labs/proxy-nftables/cluster/objects.yaml >/dev/null <<'EOF'
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
nftables:
  syncPeriod: 2s
  minSyncPeriod: 500ms
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
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
  name: web
spec:
  type: NodePort
  selector:
    app: web
  clusterIP: 10.96.100.100
  ports:
    - name: http
      port: 80
      targetPort: 80
      nodePort: 30080
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
tee /run/knetlab/labs/proxy-nftables/cluster/events.jsonl >/dev/null <<'EOF'
{"at":"2026-01-01T00:00:00Z","source":"deployment-controller","object":"deployment/web","namespace":"default","type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set web-6d4777fb8c from 0 to 3"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/web-6d4777fb8c","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: web-6d4777fb8c-fspd4"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/web-6d4777fb8c","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: web-6d4777fb8c-dhcfq"}
{"at":"2026-01-01T00:00:00Z","source":"replicaset-controller","object":"replicaset/web-6d4777fb8c","namespace":"default","type":"Normal","reason":"SuccessfulCreate","message":"Created pod: web-6d4777fb8c-nfpmx"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/web-6d4777fb8c-fspd4","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/web-6d4777fb8c-fspd4 to node2"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/web-6d4777fb8c-dhcfq","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/web-6d4777fb8c-dhcfq to node1"}
{"at":"2026-01-01T00:00:00Z","source":"default-scheduler","object":"pod/web-6d4777fb8c-nfpmx","namespace":"default","type":"Normal","reason":"Scheduled","message":"Successfully assigned default/web-6d4777fb8c-nfpmx to node2"}
EOF

# 14. kube-proxy: hook its chains into the built-in ones and set its sysctls
#    kube-proxy (nftables mode) hooks nothing into other tables: everything it writes lives in its
#    own table, ip kube-proxy, created by its first sync, with base chains of its own on the
#    netfilter hooks (nat-prerouting and nat-output at dstnat priority, nat-postrouting at srcnat,
#    filter chains before and after DNAT). Then kube-proxy sets the sysctls its configuration asks
#    for in the node's network namespace: net.ipv4.conf.all.route_localnet=1 when NodePorts answer on
#    127.0.0.1 (iptables.localhostNodePorts, on by default; without it the kernel drops packets to
#    127.0.0.0/8 that are routed anywhere but lo), and the conntrack timeouts
#    (conntrack.tcpEstablishedTimeout is 24h unless set, tcpCloseWaitTimeout 1h). Each node's
#    kube-proxy also gets its configuration file.
tee /run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node1.json >/dev/null <<'EOF'
{
  "node": "node1",
  "mode": "nftables",
  "stateFile": "/run/knetlab/labs/proxy-nftables/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node1.synced",
  "pidfile": "/run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node1.pid",
  "log": "/run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node1.log"
}
EOF
ip netns exec node1 sysctl -q -w net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600
tee /run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node2.json >/dev/null <<'EOF'
{
  "node": "node2",
  "mode": "nftables",
  "stateFile": "/run/knetlab/labs/proxy-nftables/cluster/state.json",
  "syncedFile": "/run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node2.synced",
  "pidfile": "/run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node2.pid",
  "log": "/run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node2.log"
}
EOF
ip netns exec node2 sysctl -q -w net.netfilter.nf_conntrack_tcp_timeout_established=86400 net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600

# 15. kube-proxy: the first sync on every node
#    Then kube-proxy writes the whole table with one nft -f transaction: the services chain looks up
#    ip daddr . meta l4proto . th dport in the service-ips verdict map (and NodePorts in
#    service-nodeports, on the addresses of nodeport-ips), which jumps to a
#    service-<hash>-<namespace>/<name>/<protocol>/<port> chain that picks an endpoint chain with
#    numgen random mod N vmap; the endpoint chain DNATs to the pod. Services without endpoints are
#    rejected through no-endpoint-services; other ports of a ClusterIP are rejected and unallocated
#    ClusterIPs dropped (cluster-ips-check).
ip netns exec node1 nft -f - <<'EOF'
add table ip kube-proxy { comment "rules for kube-proxy" ; }
add chain ip kube-proxy filter-prerouting-pre-dnat
delete chain ip kube-proxy filter-prerouting-pre-dnat
add chain ip kube-proxy filter-output-pre-dnat
delete chain ip kube-proxy filter-output-pre-dnat
add chain ip kube-proxy filter-input
delete chain ip kube-proxy filter-input
add chain ip kube-proxy filter-forward
delete chain ip kube-proxy filter-forward
add chain ip kube-proxy filter-output
delete chain ip kube-proxy filter-output
add chain ip kube-proxy nat-prerouting
delete chain ip kube-proxy nat-prerouting
add chain ip kube-proxy nat-output
delete chain ip kube-proxy nat-output
add chain ip kube-proxy nat-postrouting
delete chain ip kube-proxy nat-postrouting
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
flush chain ip kube-proxy filter-prerouting-pre-dnat
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
flush chain ip kube-proxy filter-output-pre-dnat
add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
flush chain ip kube-proxy filter-input
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
flush chain ip kube-proxy filter-forward
add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
flush chain ip kube-proxy filter-output
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
flush chain ip kube-proxy nat-prerouting
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
flush chain ip kube-proxy nat-output
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
flush chain ip kube-proxy nat-postrouting
add chain ip kube-proxy nodeport-endpoints-check
flush chain ip kube-proxy nodeport-endpoints-check
add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
add chain ip kube-proxy service-endpoints-check
flush chain ip kube-proxy service-endpoints-check
add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
add chain ip kube-proxy firewall-check
flush chain ip kube-proxy firewall-check
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
add chain ip kube-proxy services
flush chain ip kube-proxy services
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-prerouting jump services
add chain ip kube-proxy masquerading
flush chain ip kube-proxy masquerading
add rule ip kube-proxy nat-postrouting jump masquerading
add chain ip kube-proxy cluster-ips-check
flush chain ip kube-proxy cluster-ips-check
add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
add chain ip kube-proxy mark-for-masquerade
flush chain ip kube-proxy mark-for-masquerade
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x00004000
add rule ip kube-proxy masquerading mark and 0x00004000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x00004000
add rule ip kube-proxy masquerading masquerade fully-random
add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12 } drop comment "Drop traffic to unallocated ClusterIPs"
add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
flush set ip kube-proxy nodeport-ips
add element ip kube-proxy nodeport-ips { 192.168.56.11 }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
flush chain ip kube-proxy reject-chain
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
flush set ip kube-proxy cluster-ips
flush map ip kube-proxy service-ips
flush map ip kube-proxy firewall-ips
flush map ip kube-proxy no-endpoint-services
flush map ip kube-proxy no-endpoint-nodeports
flush map ip kube-proxy service-nodeports
add chain ip kube-proxy endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80
flush chain ip kube-proxy endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80
add chain ip kube-proxy endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80
flush chain ip kube-proxy endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80
add chain ip kube-proxy endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80
flush chain ip kube-proxy endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80
add chain ip kube-proxy service-SUSTUHLJ-default/web/tcp/http
flush chain ip kube-proxy service-SUSTUHLJ-default/web/tcp/http
add chain ip kube-proxy external-SUSTUHLJ-default/web/tcp/http
flush chain ip kube-proxy external-SUSTUHLJ-default/web/tcp/http
add element ip kube-proxy cluster-ips { 10.96.100.100 }
add element ip kube-proxy service-ips { 10.96.100.100 . tcp . 80 : goto service-SUSTUHLJ-default/web/tcp/http }
add element ip kube-proxy service-nodeports { tcp . 30080 : goto external-SUSTUHLJ-default/web/tcp/http }
add rule ip kube-proxy service-SUSTUHLJ-default/web/tcp/http ip daddr 10.96.100.100 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
add rule ip kube-proxy external-SUSTUHLJ-default/web/tcp/http jump mark-for-masquerade
add rule ip kube-proxy external-SUSTUHLJ-default/web/tcp/http goto service-SUSTUHLJ-default/web/tcp/http
add rule ip kube-proxy service-SUSTUHLJ-default/web/tcp/http numgen random mod 3 vmap { 0 : goto endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80 , 1 : goto endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80 , 2 : goto endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80 }
add rule ip kube-proxy endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80 ip saddr 10.244.1.2 jump mark-for-masquerade
add rule ip kube-proxy endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80 meta l4proto tcp dnat to 10.244.1.2:80
add rule ip kube-proxy endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80 ip saddr 10.244.2.2 jump mark-for-masquerade
add rule ip kube-proxy endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80 meta l4proto tcp dnat to 10.244.2.2:80
add rule ip kube-proxy endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80 ip saddr 10.244.2.3 jump mark-for-masquerade
add rule ip kube-proxy endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80 meta l4proto tcp dnat to 10.244.2.3:80
EOF
ip netns exec node2 nft -f - <<'EOF'
add table ip kube-proxy { comment "rules for kube-proxy" ; }
add chain ip kube-proxy filter-prerouting-pre-dnat
delete chain ip kube-proxy filter-prerouting-pre-dnat
add chain ip kube-proxy filter-output-pre-dnat
delete chain ip kube-proxy filter-output-pre-dnat
add chain ip kube-proxy filter-input
delete chain ip kube-proxy filter-input
add chain ip kube-proxy filter-forward
delete chain ip kube-proxy filter-forward
add chain ip kube-proxy filter-output
delete chain ip kube-proxy filter-output
add chain ip kube-proxy nat-prerouting
delete chain ip kube-proxy nat-prerouting
add chain ip kube-proxy nat-output
delete chain ip kube-proxy nat-output
add chain ip kube-proxy nat-postrouting
delete chain ip kube-proxy nat-postrouting
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
flush chain ip kube-proxy filter-prerouting-pre-dnat
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
flush chain ip kube-proxy filter-output-pre-dnat
add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
flush chain ip kube-proxy filter-input
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
flush chain ip kube-proxy filter-forward
add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
flush chain ip kube-proxy filter-output
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
flush chain ip kube-proxy nat-prerouting
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
flush chain ip kube-proxy nat-output
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
flush chain ip kube-proxy nat-postrouting
add chain ip kube-proxy nodeport-endpoints-check
flush chain ip kube-proxy nodeport-endpoints-check
add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
add chain ip kube-proxy service-endpoints-check
flush chain ip kube-proxy service-endpoints-check
add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
add chain ip kube-proxy firewall-check
flush chain ip kube-proxy firewall-check
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
add chain ip kube-proxy services
flush chain ip kube-proxy services
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-prerouting jump services
add chain ip kube-proxy masquerading
flush chain ip kube-proxy masquerading
add rule ip kube-proxy nat-postrouting jump masquerading
add chain ip kube-proxy cluster-ips-check
flush chain ip kube-proxy cluster-ips-check
add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
add chain ip kube-proxy mark-for-masquerade
flush chain ip kube-proxy mark-for-masquerade
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x00004000
add rule ip kube-proxy masquerading mark and 0x00004000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x00004000
add rule ip kube-proxy masquerading masquerade fully-random
add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12 } drop comment "Drop traffic to unallocated ClusterIPs"
add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
flush set ip kube-proxy nodeport-ips
add element ip kube-proxy nodeport-ips { 192.168.56.12 }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
flush chain ip kube-proxy reject-chain
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
flush set ip kube-proxy cluster-ips
flush map ip kube-proxy service-ips
flush map ip kube-proxy firewall-ips
flush map ip kube-proxy no-endpoint-services
flush map ip kube-proxy no-endpoint-nodeports
flush map ip kube-proxy service-nodeports
add chain ip kube-proxy endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80
flush chain ip kube-proxy endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80
add chain ip kube-proxy endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80
flush chain ip kube-proxy endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80
add chain ip kube-proxy endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80
flush chain ip kube-proxy endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80
add chain ip kube-proxy service-SUSTUHLJ-default/web/tcp/http
flush chain ip kube-proxy service-SUSTUHLJ-default/web/tcp/http
add chain ip kube-proxy external-SUSTUHLJ-default/web/tcp/http
flush chain ip kube-proxy external-SUSTUHLJ-default/web/tcp/http
add element ip kube-proxy cluster-ips { 10.96.100.100 }
add element ip kube-proxy service-ips { 10.96.100.100 . tcp . 80 : goto service-SUSTUHLJ-default/web/tcp/http }
add element ip kube-proxy service-nodeports { tcp . 30080 : goto external-SUSTUHLJ-default/web/tcp/http }
add rule ip kube-proxy service-SUSTUHLJ-default/web/tcp/http ip daddr 10.96.100.100 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
add rule ip kube-proxy external-SUSTUHLJ-default/web/tcp/http jump mark-for-masquerade
add rule ip kube-proxy external-SUSTUHLJ-default/web/tcp/http goto service-SUSTUHLJ-default/web/tcp/http
add rule ip kube-proxy service-SUSTUHLJ-default/web/tcp/http numgen random mod 3 vmap { 0 : goto endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80 , 1 : goto endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80 , 2 : goto endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80 }
add rule ip kube-proxy endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80 ip saddr 10.244.1.2 jump mark-for-masquerade
add rule ip kube-proxy endpoint-WZUVD3EN-default/web/tcp/http__10.244.1.2/80 meta l4proto tcp dnat to 10.244.1.2:80
add rule ip kube-proxy endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80 ip saddr 10.244.2.2 jump mark-for-masquerade
add rule ip kube-proxy endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80 meta l4proto tcp dnat to 10.244.2.2:80
add rule ip kube-proxy endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80 ip saddr 10.244.2.3 jump mark-for-masquerade
add rule ip kube-proxy endpoint-LDQW76NV-default/web/tcp/http__10.244.2.3/80 meta l4proto tcp dnat to 10.244.2.3:80
EOF

# 16. Start kube-proxy on every node
#    From here on kube-proxy keeps the rules in step with the API: on every change it writes one
#    small transaction: only the chains of the Services that changed and the map elements that
#    differ, so one Service change costs the same at 10 Services as at 10,000 (chains that went away
#    are flushed and deleted by the next sync). It also answers on :10256/healthz and, for
#    LoadBalancer Services with externalTrafficPolicy Local, on their healthCheckNodePort: 200 while
#    the node has a ready local endpoint, 503 otherwise. Here kube-proxy is knetlab's own TypeScript
#    daemon; the rules it writes are kube-proxy's.
ip netns exec node1 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node1.json
ip netns exec node2 node <knetlab>/dist/agent.js kube-proxy --config /run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node2.json

# 17. Start the readiness prober
#    Each kubelet probes its pods' readinessProbe from the node: an HTTP GET (a status from 200 to
#    399 passes) or a TCP connect, every periodSeconds. A pod is not ready until a probe passes, and
#    failureThreshold failures in a row make it not ready again. Only ready pods are endpoints; when
#    one flips, the endpoints controller rewrites the Service's EndpointSlice and every kube-proxy
#    re-syncs. knetlab runs all nodes' probers in one daemon, started here on the first node; each
#    probe still runs inside the pod's own node. It runs even when no pod has a probe yet, so that
#    pods added later by `knetlab apply` are probed.
tee /run/knetlab/labs/proxy-nftables/cluster/controlplane.json >/dev/null <<'EOF'
{
  "instanceDir": "/run/knetlab/labs/proxy-nftables",
  "stateFile": "/run/knetlab/labs/proxy-nftables/cluster/state.json",
  "pidfile": "/run/knetlab/labs/proxy-nftables/cluster/controlplane.pid",
  "log": "/run/knetlab/labs/proxy-nftables/cluster/controlplane.log"
}
EOF
ip netns exec node1 node <knetlab>/dist/agent.js controlplane --config /run/knetlab/labs/proxy-nftables/cluster/controlplane.json

# 18. Look around
#    Read-only commands that show what the steps above built.
# kube-proxy's whole table: base chains on the netfilter hooks (nat-prerouting, nat-output at priority dstnat, filter chains before and after DNAT), the services chain's two vmap lookups, the service-… chain with numgen random mod 3 vmap, the endpoint-… chains that DNAT, and the sets and maps with their elements.
ip netns exec node1 nft list table ip kube-proxy
# One element per Service IP and port: 10.96.100.100 . tcp . 80 : goto service-…-default/web/tcp/http (and kube-dns' if any).
ip netns exec node1 nft list map ip kube-proxy service-ips
# The addresses NodePorts answer on; only the node's primary IP 192.168.56.11.
ip netns exec node1 nft list set ip kube-proxy nodeport-ips

# 19. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# 60 requests from the client pod to the ClusterIP reach all 3 pods (numgen random mod 3), none with less than 10%
ip netns exec client curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/ http://10.96.100.100/
# the Service's chain picks endpoints with numgen, not with iptables probabilities
ip netns exec node1 sh -c 'nft list table ip kube-proxy | grep -q '\''numgen random mod 3 vmap { 0 : goto endpoint-'\'''
# no iptables rule of kube-proxy's anywhere (no KUBE-SERVICES chain)
ip netns exec node1 sh -c '! iptables-save | grep -q KUBE-SERVICES'
# the NodePort answers on node1's primary IP from outside the cluster
ip netns exec outside curl -sS --max-time 2 -H 'Connection: close' -w '\nstatus=%{http_code}\n' http://192.168.56.11:30080/ http://192.168.56.11:30080/ http://192.168.56.11:30080/ http://192.168.56.11:30080/ http://192.168.56.11:30080/ http://192.168.56.11:30080/ http://192.168.56.11:30080/ http://192.168.56.11:30080/ http://192.168.56.11:30080/ http://192.168.56.11:30080/
# must fail: but not on node1's other local address, the cni0 gateway (iptables mode's default would answer there)
! ip netns exec client nc -z -v -w 2 10.244.1.1 30080
# must fail: nor on 127.0.0.1 (localhost NodePorts are not supported in nftables mode)
! ip netns exec node1 nc -z -v -w 2 127.0.0.1 30080
# route_localnet stays 0
ip netns exec node1 sh -c 'test "$(cat /proc/sys/net/ipv4/conf/all/route_localnet)" = 0'
# must fail: another port of the ClusterIP is refused at once (cluster-ips-check rejects)
! ip netns exec client nc -z -v -w 2 10.96.100.100 81
# must fail: an unallocated address of the service CIDR is dropped (the client times out)
! ip netns exec client nc -z -v -w 2 10.96.0.99 80
# both come from kube-proxy's cluster-ips-check chain
ip netns exec node1 sh -c 'nft list chain ip kube-proxy cluster-ips-check | grep -q '\''Drop traffic to unallocated ClusterIPs'\'''
# kube-proxy's first sync wrote the whole table in one nft transaction (a full sync)
ip netns exec node1 grep -q 'nft commands (full sync)' /run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node1.log
# someone deletes kube-proxy's table on node1
ip netns exec node1 nft delete table ip kube-proxy
# within a syncPeriod (2s) kube-proxy notices its table is gone and writes it whole again
ip netns exec node1 grep -q 'flushed from under it' /run/knetlab/labs/proxy-nftables/cluster/kube-proxy-node1.log
# the client pod reaches the ClusterIP again
ip netns exec client curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://10.96.100.100/

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/proxy-nftables/web-6d4777fb8c-dhcfq.nginx.pid
# pkill -F /run/knetlab/labs/proxy-nftables/client.nginx.pid
# pkill -F /run/knetlab/labs/proxy-nftables/web-6d4777fb8c-fspd4.nginx.pid
# pkill -F /run/knetlab/labs/proxy-nftables/web-6d4777fb8c-nfpmx.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del web-6d4777fb8c-dhcfq
# ip netns del client
# ip netns del node2
# ip netns del web-6d4777fb8c-fspd4
# ip netns del web-6d4777fb8c-nfpmx
# ip netns del outside
