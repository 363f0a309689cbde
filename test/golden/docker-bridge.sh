#!/bin/sh
# docker-bridge: Containers on a docker0 bridge, with MASQUERADE to the outside
# Reproduces seed 004 §3 Container To Container.
# Docker's default "bridge" network, built by hand. The "host" namespace plays the Docker host: it
# owns the docker0 bridge (172.17.0.1/16), one veth end per container enslaved to docker0, IP
# forwarding, and Docker's MASQUERADE rule. Each container namespace has eth0 with a 172.17.0.x/16
# address, Docker's MAC (02:42 + the IP) and a default route via 172.17.0.1. An "outside"
# namespace stands in for the world beyond the host's eth0.
# The exact commands "knetlab up docker-bridge" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add host
netns add container1
netns add container2
netns add outside
EOF

# 2. Set per-namespace kernel parameters
#    Network sysctls are per namespace. A namespace only forwards packets between its interfaces
#    (acts as a router) when net.ipv4.ip_forward is 1.
ip netns exec host sysctl -q -w net.ipv4.ip_forward=1

# 3. Create the bridges
#    A Linux bridge is a virtual switch: it learns MAC addresses on its ports and forwards frames
#    between them. Given an address, it is also the gateway its ports' namespaces route through
#    (docker0, cni0).
ip -n host -batch - <<'EOF'
link add docker0 address 02:42:f1:6c:7e:36 type bridge
addr add 172.17.0.1/16 dev docker0
link set docker0 up
EOF

# 4. Create the veth pairs
#    A veth pair is a virtual cable: a frame sent into one end comes out of the other. Each pair is
#    created with its ends already in their namespaces, so the machine's own namespace is never
#    touched (creating it there and moving the ends with "ip link set ... netns" gives the same
#    result).
ip -n host -batch - <<'EOF'
link add vethbc789f2 type veth peer name eth0 netns container1
link add veth5bed0bd type veth peer name eth0 netns container2
link add eth0 type veth peer name eth0 netns outside
EOF

# 5. Configure the interfaces and routes
#    An interface carries traffic only once it is up. Assigning an address also installs the
#    connected route for its subnet. A veth end with "master" becomes a port of that bridge and
#    carries no address of its own: the bridge switches its frames. Routes then pick the next hop for
#    everything not on a connected subnet: a container's default route points at its bridge's
#    address.
ip -n host -batch - <<'EOF'
link set lo up
link set vethbc789f2 master docker0
link set vethbc789f2 up
link set veth5bed0bd master docker0
link set veth5bed0bd up
addr add 203.0.113.10/24 dev eth0
link set eth0 up
route add default via 203.0.113.1
EOF
ip -n container1 -batch - <<'EOF'
link set lo up
link set eth0 address 02:42:ac:11:00:02
addr add 172.17.0.2/16 dev eth0
link set eth0 up
route add default via 172.17.0.1
EOF
ip -n container2 -batch - <<'EOF'
link set lo up
link set eth0 address 02:42:ac:11:00:03
addr add 172.17.0.3/16 dev eth0
link set eth0 up
route add default via 172.17.0.1
EOF
ip -n outside -batch - <<'EOF'
link set lo up
addr add 203.0.113.1/24 dev eth0
link set eth0 up
EOF

# 6. Program NAT
#    Rules in the nat table are consulted for the first packet of each connection; conntrack applies
#    the same translation to the rest of it. MASQUERADE rewrites the source to the address of the
#    interface the packet leaves by, so replies come back to this namespace.
ip netns exec host iptables-restore --noflush <<'EOF'
*nat
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
COMMIT
EOF

# 7. Write the server configuration
#    Every server is a real nginx (one master, one worker) answering each request with JSON: its pod
#    name, its node, the address it answered on and the client address it saw. That last field is how
#    the checks see NAT. All servers share one configuration: nginx maps the address a request
#    arrived on to the pod that owns it.
mkdir -p -m 0700 /run/knetlab/labs/docker-bridge
tee /run/knetlab/labs/docker-bridge/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: container1, container2, outside
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/docker-bridge/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/docker-bridge/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/docker-bridge/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/docker-bridge/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/docker-bridge/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        172.17.0.2 container1;
        172.17.0.3 container2;
        203.0.113.1 outside;
    }
    map $server_addr $knetlab_node {
        default unknown;
        172.17.0.2 host;
        172.17.0.3 host;
        203.0.113.1 outside;
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

# 8. Start the servers
#    "ip netns exec" runs nginx inside the namespace, so it listens on that namespace's addresses
#    only. nginx daemonizes and writes its PID file; knetlab records the PID and stops exactly that
#    process on down. Many servers are started through one xargs, a few at a time.
ip netns exec container1 nginx -c /run/knetlab/labs/docker-bridge/nginx.conf -g 'pid /run/knetlab/labs/docker-bridge/container1.nginx.pid; error_log /run/knetlab/labs/docker-bridge/container1.error.log warn;'
ip netns exec container2 nginx -c /run/knetlab/labs/docker-bridge/nginx.conf -g 'pid /run/knetlab/labs/docker-bridge/container2.nginx.pid; error_log /run/knetlab/labs/docker-bridge/container2.error.log warn;'
ip netns exec outside nginx -c /run/knetlab/labs/docker-bridge/nginx.conf -g 'pid /run/knetlab/labs/docker-bridge/outside.nginx.pid; error_log /run/knetlab/labs/docker-bridge/outside.error.log warn;'

# 9. Look around
#    Read-only commands that show what the steps above built.
# Both veth ends on the host side are ports of docker0 ("master docker0"), as in the seed's `ip link`.
ip -n host link show master docker0
# The bridge's own view of its ports, what `brctl show` printed in the seed.
bridge -n host link
# The container's default route points at docker0's address, 172.17.0.1.
ip -n container1 route
# Docker's MASQUERADE rule rewrites the source of anything from 172.17.0.0/16 that leaves by an interface other than docker0.
ip netns exec host iptables -t nat -S POSTROUTING

# 10. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# vethbc789f2 is a port of docker0
ip -n host -j link show dev vethbc789f2
# veth5bed0bd is a port of docker0
ip -n host -j link show dev veth5bed0bd
# container1 pings container2 across docker0
ip netns exec container1 ping -n -c 1 -W 1 172.17.0.3
# container1 reaches container2 over HTTP and is seen with its own address (no NAT on the bridge)
ip netns exec container1 curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://172.17.0.3/
# container2 reaches container1 over HTTP
ip netns exec container2 curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://172.17.0.2/
# container1 opens a TCP connection to container2's nginx
ip netns exec container1 nc -z -v -w 1 172.17.0.3 80
# must fail: nothing listens on container2's port 81 (connection refused)
! ip netns exec container1 nc -z -v -w 2 172.17.0.3 81
# container1 reaches the gateway address on docker0
ip netns exec container1 ping -n -c 1 -W 1 172.17.0.1
# the outside server sees the host's address, not the container's (MASQUERADE)
ip netns exec container1 curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://203.0.113.1/
# must fail: the outside cannot reach a container directly (no route to 172.17.0.0/16)
! ip netns exec outside ping -n -c 1 -W 2 172.17.0.2

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/docker-bridge/container1.nginx.pid
# pkill -F /run/knetlab/labs/docker-bridge/container2.nginx.pid
# pkill -F /run/knetlab/labs/docker-bridge/outside.nginx.pid
# ip netns del host
# ip netns del container1
# ip netns del container2
# ip netns del outside
