#!/usr/bin/env bash
# The fleet test's network: a bridge dlr-br0 (10.77.0.1/24, the database host: the root namespace) and network
# namespaces of its own, each on the bridge through a veth pair: dlr-twilio (the fake Twilio, 10.77.0.10) and the
# worker hosts dlr-h1..dlr-h3 (10.77.0.11..13). Needs root (ip netns). `fleet_net_cut h2` takes a host's link down
# (from the bridge's side), `fleet_net_mend h2` brings it back; `fleet_net_down` removes everything.
set -euo pipefail

FLEET_HOSTS=(twilio:10 h1:11 h2:12 h3:13)

fleet_net_down() {
    local entry name
    for entry in "${FLEET_HOSTS[@]}"; do
        name=${entry%%:*}
        ip netns del "dlr-$name" 2>/dev/null || true
        ip link del "dlr-v$name" 2>/dev/null || true
    done
    ip link del dlr-br0 2>/dev/null || true
}

fleet_net_up() {
    fleet_net_down
    ip link add dlr-br0 type bridge
    ip addr add 10.77.0.1/24 dev dlr-br0
    ip link set dlr-br0 up
    local entry name address
    for entry in "${FLEET_HOSTS[@]}"; do
        name=${entry%%:*} address=${entry##*:}
        ip netns add "dlr-$name"
        ip -n "dlr-$name" link set lo up
        ip link add "dlr-v$name" type veth peer name eth0 netns "dlr-$name"
        ip link set "dlr-v$name" master dlr-br0 up
        ip -n "dlr-$name" addr add "10.77.0.$address/24" dev eth0
        ip -n "dlr-$name" link set eth0 up
        ip -n "dlr-$name" route add default via 10.77.0.1
    done
}

fleet_net_cut() { ip link set "dlr-v$1" down; }
fleet_net_mend() { ip link set "dlr-v$1" up; }
