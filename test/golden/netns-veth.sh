#!/bin/sh
# netns-veth: Two network namespaces joined by a veth pair
# Reproduces seed 004 §3 Container To Container.
# The smallest container network there is: two network namespaces, each with its own interfaces,
# routes and neighbour table, joined by a veth pair, a virtual cable whose two ends live in
# different namespaces. This is exactly what the seed builds by hand before showing how Docker
# puts a bridge in the middle.
# The exact commands "knetlab up netns-veth" runs, in order. Run as root, on a scratch machine or VM.
set -e

# 1. Create the network namespaces
#    Each network namespace has its own interfaces, routes, neighbour table and netfilter rules: the
#    isolation a container or a pod gets. A new namespace holds only a loopback interface, and it is
#    down.
ip netns add test1
ip netns add test2

# 2. Create the veth pairs
#    A veth pair is a virtual cable: a frame sent into one end comes out of the other. Each pair is
#    created with its ends already in their namespaces, so the machine's own namespace is never
#    touched (creating it there and moving the ends with "ip link set ... netns" gives the same
#    result).
ip -n test1 link add veth-test1 type veth peer name veth-test2 netns test2

# 3. Configure the interfaces and routes
#    An interface carries traffic only once it is up. Assigning an address also installs the
#    connected route for its subnet. A veth end with "master" becomes a port of that bridge and
#    carries no address of its own: the bridge switches its frames. Routes then pick the next hop for
#    everything not on a connected subnet: a container's default route points at its bridge's
#    address.
ip -n test1 -batch - <<'EOF'
link set lo up
addr add 192.168.1.1/24 dev veth-test1
link set veth-test1 up
EOF
ip -n test2 -batch - <<'EOF'
link set lo up
addr add 192.168.1.2/24 dev veth-test2
link set veth-test2 up
EOF

# 4. Look around
#    Read-only commands that show what the steps above built.
# The veth end in test1 has 192.168.1.1/24; the "@ifN" suffix is the index of its peer interface, in test2.
ip -n test1 addr show dev veth-test1
# The kernel added the connected route 192.168.1.0/24 when the address was assigned.
ip -n test1 route

# 5. Verify with real packets
#    Each check as the command knetlab runs for it. A command marked "must fail" proves that a path
#    does not exist.
# test1 pings test2 over the veth pair
ip netns exec test1 ping -n -c 1 -W 1 192.168.1.2
# test2 pings test1 over the veth pair
ip netns exec test2 ping -n -c 1 -W 1 192.168.1.1
# veth-test1 is up in test1
ip -n test1 -j link show dev veth-test1
# must fail: nothing outside 192.168.1.0/24 is reachable (no default route in a fresh namespace)
! ip netns exec test1 ping -n -c 1 -W 2 192.168.2.1

# Clean up (what "knetlab down" does, by the recorded PIDs and namespaces):
# ip netns del test1
# ip netns del test2
