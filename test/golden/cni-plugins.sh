#!/bin/sh
# cni-plugins: Pods wired by the real CNI reference plugins (bridge + host-local)
# Reproduces seed 004 §2 Kubernetes CNI.
# What a container runtime does for each new pod: execute CNI plugin binaries with the network
# configuration on stdin and the pod in CNI_* variables. The reference "bridge" plugin creates
# cni0 and a veth pair, "host-local" hands out an address from the node's pod subnet, and the
# plugin prints its result as JSON. Nothing here is wired by knetlab itself; down calls DEL.
# The exact commands "knetlab up cni-plugins" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add switch
netns add node1
netns add pod1
netns add pod2
EOF

# 2. Set per-namespace kernel parameters
#    Network sysctls are per namespace. A namespace only forwards packets between its interfaces
#    (acts as a router) when net.ipv4.ip_forward is 1.
ip netns exec node1 sysctl -q -w net.ipv4.ip_forward=1

# 3. Create the bridges
#    A Linux bridge is a virtual switch: it learns MAC addresses on its ports and forwards frames
#    between them. Given an address, it is also the gateway its ports' namespaces route through
#    (docker0, cni0).
ip -n switch -batch - <<'EOF'
link add br0 type bridge
addr add 192.168.56.1/24 dev br0
link set br0 up
EOF

# 4. Create the veth pairs
#    A veth pair is a virtual cable: a frame sent into one end comes out of the other. Each pair is
#    created with its ends already in their namespaces, so the machine's own namespace is never
#    touched (creating it there and moving the ends with "ip link set ... netns" gives the same
#    result).
ip -n switch link add node1 type veth peer name eth0 netns node1

# 5. Configure the interfaces and routes
#    An interface carries traffic only once it is up. Assigning an address also installs the
#    connected route for its subnet. A veth end with "master" becomes a port of that bridge and
#    carries no address of its own: the bridge switches its frames. Routes then pick the next hop for
#    everything not on a connected subnet: a container's default route points at its bridge's
#    address.
ip -n switch -batch - <<'EOF'
link set lo up
link set node1 master br0
link set node1 up
EOF
ip -n node1 -batch - <<'EOF'
link set lo up
link set eth0 address 52:54:00:a8:38:0b
addr add 192.168.56.11/24 dev eth0
link set eth0 up
route add default via 192.168.56.1
EOF
ip -n pod1 link set lo up
ip -n pod2 link set lo up

# 6. Write the CNI network configuration
#    A container runtime reads the network configuration from /etc/cni/net.d: here the reference
#    "bridge" plugin (bridge cni0, gateway on the bridge, masquerade leaving the pod subnet) with
#    "host-local" IPAM handing out the node's pod subnet. Each node gets its own copy in the lab
#    folder.
mkdir -p -m 0700 /run/knetlab/labs/cni-plugins/node1/net.d /run/knetlab/labs/cni-plugins/node1/cni
tee /run/knetlab/labs/cni-plugins/node1/net.d/10-knetlab.conf >/dev/null <<'EOF'
{
  "cniVersion": "1.0.0",
  "name": "knetlab",
  "type": "bridge",
  "bridge": "cni0",
  "isGateway": true,
  "isDefaultGateway": true,
  "ipMasq": true,
  "hairpinMode": true,
  "mtu": 1500,
  "ipam": {
    "type": "host-local",
    "ranges": [
      [
        {
          "subnet": "10.244.1.0/24"
        }
      ]
    ],
    "dataDir": "/run/knetlab/labs/cni-plugins/node1/cni/networks"
  }
}
EOF

# 7. Call the CNI plugins for every pod (CNI_COMMAND=ADD)
#    What kubelet's runtime does for each new pod sandbox: execute the plugin binary with the network
#    config on stdin and the pod in CNI_* variables. "loopback" brings lo up; "bridge" creates cni0
#    if needed, a veth pair with one end as eth0 in the pod, asks host-local for an address, sets
#    routes, and prints the result as JSON. The plugins run inside the node's namespace, which is
#    their "host". down calls DEL for each ADD.
ip netns exec node1 env CNI_COMMAND=ADD CNI_CONTAINERID=pod1 CNI_NETNS=/run/netns/pod1 CNI_IFNAME=lo CNI_PATH=/usr/lib/cni /usr/lib/cni/loopback >/dev/null <<'EOF'
{"cniVersion":"1.0.0","name":"lo","type":"loopback"}
EOF
ip netns exec node1 env CNI_COMMAND=ADD CNI_CONTAINERID=pod1 CNI_NETNS=/run/netns/pod1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge > /run/knetlab/labs/cni-plugins/node1/cni/pod1.result.json <<'EOF'
{
  "cniVersion": "1.0.0",
  "name": "knetlab",
  "type": "bridge",
  "bridge": "cni0",
  "isGateway": true,
  "isDefaultGateway": true,
  "ipMasq": true,
  "hairpinMode": true,
  "mtu": 1500,
  "ipam": {
    "type": "host-local",
    "ranges": [
      [
        {
          "subnet": "10.244.1.0/24"
        }
      ]
    ],
    "dataDir": "/run/knetlab/labs/cni-plugins/node1/cni/networks"
  }
}
EOF
ip netns exec node1 env CNI_COMMAND=ADD CNI_CONTAINERID=pod2 CNI_NETNS=/run/netns/pod2 CNI_IFNAME=lo CNI_PATH=/usr/lib/cni /usr/lib/cni/loopback >/dev/null <<'EOF'
{"cniVersion":"1.0.0","name":"lo","type":"loopback"}
EOF
ip netns exec node1 env CNI_COMMAND=ADD CNI_CONTAINERID=pod2 CNI_NETNS=/run/netns/pod2 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge > /run/knetlab/labs/cni-plugins/node1/cni/pod2.result.json <<'EOF'
{
  "cniVersion": "1.0.0",
  "name": "knetlab",
  "type": "bridge",
  "bridge": "cni0",
  "isGateway": true,
  "isDefaultGateway": true,
  "ipMasq": true,
  "hairpinMode": true,
  "mtu": 1500,
  "ipam": {
    "type": "host-local",
    "ranges": [
      [
        {
          "subnet": "10.244.1.0/24"
        }
      ]
    ],
    "dataDir": "/run/knetlab/labs/cni-plugins/node1/cni/networks"
  }
}
EOF

# 8. Write the server configuration
#    Every server is a real nginx (one master, one worker) answering each request with JSON: its pod
#    name, its node, the address it answered on and the client address it saw. That last field is how
#    the checks see NAT. All servers share one configuration: nginx maps the address a request
#    arrived on to the pod that owns it.
mkdir -p -m 0700 /run/knetlab/labs/cni-plugins
tee /run/knetlab/labs/cni-plugins/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: pod1, pod2
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/cni-plugins/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/cni-plugins/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/cni-plugins/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/cni-plugins/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/cni-plugins/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        10.244.1.2 pod1;
        10.244.1.3 pod2;
    }
    map $server_addr $knetlab_node {
        default unknown;
        10.244.1.2 node1;
        10.244.1.3 node1;
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

# 9. Start the servers
#    "ip netns exec" runs nginx inside the namespace, so it listens on that namespace's addresses
#    only. nginx daemonizes and writes its PID file; knetlab records the PID and stops exactly that
#    process on down. Many servers are started through one xargs, a few at a time.
ip netns exec pod1 nginx -c /run/knetlab/labs/cni-plugins/nginx.conf -g 'pid /run/knetlab/labs/cni-plugins/pod1.nginx.pid; error_log /run/knetlab/labs/cni-plugins/pod1.error.log warn;'
ip netns exec pod2 nginx -c /run/knetlab/labs/cni-plugins/nginx.conf -g 'pid /run/knetlab/labs/cni-plugins/pod2.nginx.pid; error_log /run/knetlab/labs/cni-plugins/pod2.error.log warn;'

# 10. Look around
#    Read-only commands that show what the steps above built.
# The network configuration the runtime passes on stdin.
ip netns exec node1 cat /run/knetlab/labs/cni-plugins/node1/net.d/10-knetlab.conf
# The bridge plugin's result for pod1's ADD - the interfaces it made, the IP host-local assigned, the routes.
ip netns exec node1 cat /run/knetlab/labs/cni-plugins/node1/cni/pod1.result.json
# host-local's leases - one file per assigned address, holding the container ID.
ip netns exec node1 ls /run/knetlab/labs/cni-plugins/node1/cni/networks/knetlab
# The host ends of the pods' veths, enslaved to cni0 by the plugin.
ip -n node1 link show master cni0
# The address from host-local.
ip -n pod1 addr show eth0

# 11. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# the bridge plugin created cni0 with the gateway address
ip -n node1 -j route show 10.244.1.0/24
# pod1 got its default route from the plugin (isDefaultGateway)
ip -n pod1 -j route show default
# pod1 reaches pod2 at the address host-local assigned it
ip netns exec pod1 curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://10.244.1.3/
# the node reaches its pods through cni0
ip netns exec node1 ping -n -c 1 -W 1 10.244.1.2

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/cni-plugins/pod1.nginx.pid
# pkill -F /run/knetlab/labs/cni-plugins/pod2.nginx.pid
# ip netns del switch
# ip netns del node1
# ip netns del pod1
# ip netns del pod2
