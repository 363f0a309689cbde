#!/bin/sh
# netfilter-hooks: The five netfilter hooks and the five iptables tables, seen by a packet
# Reproduces seed 004 §1.2–1.4 Netfilter, Iptables, IPSet.
# A client, a router and a server on two subnets. The router and the server carry a counting rule
# (a rule with no target: it only counts) in every chain of every table: raw, mangle, nat, filter
# and security, each in the hooks the kernel gives it. Trace checks send one real packet and read,
# from the kernel's own trace events, which hooks and tables it met and in what order: forwarded
# by the router (PREROUTING → FORWARD → POSTROUTING), delivered to the router itself (PREROUTING →
# INPUT), sent by the router (OUTPUT → POSTROUTING). The router's filter FORWARD chain also
# matches the client against an ipset of 10,000 addresses with one rule, beside a chain of one
# rule per address.
# The exact commands "knetlab up netfilter-hooks" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip -batch - <<'EOF'
netns add client
netns add router
netns add server
EOF

# 2. Set per-namespace kernel parameters
#    Network sysctls are per namespace. A namespace only forwards packets between its interfaces
#    (acts as a router) when net.ipv4.ip_forward is 1.
ip netns exec router sysctl -q -w net.ipv4.ip_forward=1

# 3. Create the veth pairs
#    A veth pair is a virtual cable: a frame sent into one end comes out of the other. Each pair is
#    created with its ends already in their namespaces, so the machine's own namespace is never
#    touched (creating it there and moving the ends with "ip link set ... netns" gives the same
#    result).
ip -n client link add eth0 type veth peer name eth0 netns router
ip -n router link add eth1 type veth peer name eth0 netns server

# 4. Configure the interfaces and routes
#    An interface carries traffic only once it is up. Assigning an address also installs the
#    connected route for its subnet. A veth end with "master" becomes a port of that bridge and
#    carries no address of its own: the bridge switches its frames. Routes then pick the next hop for
#    everything not on a connected subnet: a container's default route points at its bridge's
#    address.
ip -n client -batch - <<'EOF'
link set lo up
addr add 10.0.0.2/24 dev eth0
link set eth0 up
route add default via 10.0.0.1
EOF
ip -n router -batch - <<'EOF'
link set lo up
addr add 10.0.0.1/24 dev eth0
link set eth0 up
addr add 192.168.2.1/24 dev eth1
link set eth1 up
EOF
ip -n server -batch - <<'EOF'
link set lo up
addr add 192.168.2.2/24 dev eth0
link set eth0 up
route add default via 192.168.2.1
EOF

# 5. Program the lab's own netfilter rules
#    Each namespace has its own netfilter tables. At every hook the tables that have a chain there
#    see a packet in the order of their chain priorities: raw (-300, before connection tracking),
#    mangle (-150), nat where it rewrites the destination (-100: PREROUTING, OUTPUT), filter (0),
#    security (50; 150 with iptables' nf_tables backend), and nat where it rewrites the source (100:
#    INPUT, POSTROUTING). nat chains see only the first packet of each connection, and only once
#    connection tracking is on in the namespace (a rule that uses it turns it on). ipsets are created
#    first, since a rule that matches a set needs it to exist. All of it lives in the namespace and
#    goes away with it.
ip netns exec router ipset restore <<'EOF'
create clients hash:ip family inet
add clients 10.0.0.1-10.0.39.16
EOF
ip netns exec router iptables-restore --noflush <<'EOF'
*raw
-A PREROUTING -m comment --comment "raw PREROUTING"
-A OUTPUT -m comment --comment "raw OUTPUT"
COMMIT
*mangle
-A PREROUTING -m comment --comment "mangle PREROUTING"
-A INPUT -m comment --comment "mangle INPUT"
-A FORWARD -m comment --comment "mangle FORWARD"
-A OUTPUT -m comment --comment "mangle OUTPUT"
-A POSTROUTING -m comment --comment "mangle POSTROUTING"
COMMIT
*nat
-A PREROUTING -m conntrack --ctstate NEW -m comment --comment "nat PREROUTING"
-A INPUT -m conntrack --ctstate NEW -m comment --comment "nat INPUT"
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "nat OUTPUT"
-A POSTROUTING -m conntrack --ctstate NEW -m comment --comment "nat POSTROUTING"
COMMIT
*filter
:ONE-BY-ONE - [0:0]
-A INPUT -m comment --comment "filter INPUT"
-A FORWARD -m comment --comment "filter FORWARD"
-A FORWARD -m set --match-set clients src -m comment --comment "one rule for 10000 addresses"
-A FORWARD -j ONE-BY-ONE
-A ONE-BY-ONE -s 10.0.0.7/32
-A ONE-BY-ONE -s 10.0.0.5/32
-A ONE-BY-ONE -s 10.0.0.2/32
-A OUTPUT -m comment --comment "filter OUTPUT"
COMMIT
*security
-A INPUT -m comment --comment "security INPUT"
-A FORWARD -m comment --comment "security FORWARD"
-A OUTPUT -m comment --comment "security OUTPUT"
COMMIT
EOF
ip netns exec server iptables-restore --noflush <<'EOF'
*raw
-A PREROUTING -m comment --comment "raw PREROUTING"
-A OUTPUT -m comment --comment "raw OUTPUT"
COMMIT
*mangle
-A PREROUTING -m comment --comment "mangle PREROUTING"
-A INPUT -m comment --comment "mangle INPUT"
-A FORWARD -m comment --comment "mangle FORWARD"
-A OUTPUT -m comment --comment "mangle OUTPUT"
-A POSTROUTING -m comment --comment "mangle POSTROUTING"
COMMIT
*nat
-A PREROUTING -m conntrack --ctstate NEW -m comment --comment "nat PREROUTING"
-A INPUT -m conntrack --ctstate NEW -m comment --comment "nat INPUT"
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "nat OUTPUT"
-A POSTROUTING -m conntrack --ctstate NEW -m comment --comment "nat POSTROUTING"
COMMIT
*filter
-A INPUT -m comment --comment "filter INPUT"
-A FORWARD -m comment --comment "filter FORWARD"
-A OUTPUT -m comment --comment "filter OUTPUT"
COMMIT
*security
-A INPUT -m comment --comment "security INPUT"
-A FORWARD -m comment --comment "security FORWARD"
-A OUTPUT -m comment --comment "security OUTPUT"
COMMIT
EOF

# 6. Write the server configuration
#    Every server is a real nginx (one master, one worker) answering each request with JSON: its pod
#    name, its node, the address it answered on and the client address it saw. That last field is how
#    the checks see NAT. All servers share one configuration: nginx maps the address a request
#    arrived on to the pod that owns it.
mkdir -p -m 0700 /run/knetlab/labs/netfilter-hooks
tee /run/knetlab/labs/netfilter-hooks/nginx.conf >/dev/null <<'EOF'
# knetlab echo servers on port 80: server
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /run/knetlab/labs/netfilter-hooks/nginx-tmp;
    proxy_temp_path /run/knetlab/labs/netfilter-hooks/nginx-tmp;
    fastcgi_temp_path /run/knetlab/labs/netfilter-hooks/nginx-tmp;
    uwsgi_temp_path /run/knetlab/labs/netfilter-hooks/nginx-tmp;
    scgi_temp_path /run/knetlab/labs/netfilter-hooks/nginx-tmp;
    map $server_addr $knetlab_pod {
        default unknown;
        192.168.2.2 server;
    }
    map $server_addr $knetlab_node {
        default unknown;
        192.168.2.2 server;
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

# 7. Start the servers
#    "ip netns exec" runs nginx inside the namespace, so it listens on that namespace's addresses
#    only. nginx daemonizes and writes its PID file; knetlab records the PID and stops exactly that
#    process on down. Many servers are started through one xargs, a few at a time.
ip netns exec server nginx -c /run/knetlab/labs/netfilter-hooks/nginx.conf -g 'pid /run/knetlab/labs/netfilter-hooks/server.nginx.pid; error_log /run/knetlab/labs/netfilter-hooks/server.error.log warn;'

# 8. Look around
#    Read-only commands that show what the steps above built.
# The lab's rules as iptables-save prints them, table by table. A rule without "-j" only counts the packets it matches.
ip netns exec router iptables-save
# With iptables' nf_tables backend each built-in chain is an nftables base chain with a hook and a priority (raw -300, mangle -150, nat -100 or 100, filter 0, security 50), which is what orders the tables at a hook.
ip netns exec router nft list chains
# The set holds 10,000 entries, added as one range.
ip netns exec router ipset list clients -terse

# 9. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# the client reaches the server through the router
ip netns exec client curl -sS --max-time 2 -w '\nstatus=%{http_code}\n' http://192.168.2.2/
# a forwarded packet meets PREROUTING, FORWARD and POSTROUTING in the router, each table in priority order (verify traces this probe in every namespace, as knetlab trace does, and compares the hooks and tables it met with the lab)
ip netns exec client curl -sS --max-time 5 --local-port 46181 -w '\nstatus=%{http_code}\n' http://192.168.2.2/
# a packet for the router itself meets PREROUTING then INPUT there (verify traces this probe in every namespace, as knetlab trace does, and compares the hooks and tables it met with the lab)
ip netns exec client ping -n -c 1 -W 3 -s 204 10.0.0.1
# a packet the router sends meets OUTPUT then POSTROUTING there (verify traces this probe in every namespace, as knetlab trace does, and compares the hooks and tables it met with the lab)
ip netns exec router ping -n -c 1 -W 3 -s 426 192.168.2.2
# one rule matched the client against the set of 10,000 addresses
ip netns exec router iptables -t filter -S FORWARD -v
# one by one, the client's address is the third rule of ONE-BY-ONE
ip netns exec router iptables -t filter -S ONE-BY-ONE -v
# the rules for other addresses counted nothing
ip netns exec router iptables -t filter -S ONE-BY-ONE -v

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# pkill -F /run/knetlab/labs/netfilter-hooks/server.nginx.pid
# ip netns del client
# ip netns del router
# ip netns del server
