#!/usr/bin/env bash
# examples/outside-world against what may be in its way: it reuses its own running world, and refuses (exit 3,
# naming the obstacle and how to remove it, creating nothing) when its namespace is broken, an interface name is
# taken, or another interface or namespace holds an address of 198.51.100.0/24. Root; run it alone (it creates the
# one simulated world of the machine), e.g. under the lock the other lab tests take. Removes everything it made.
#   tests/lab/outside-world.test.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
W=examples/outside-world
NS=ipv6dind-demo-out
HOST_IF=ipv6dind-demo-h
DUMMY=ipv6dind-owt0      # veth pairs stand for any interface: the kernel here may lack the dummy type
PEER=ipv6dind-owt1
OTHER_NS=ipv6dind-owt-ns
failures=0
out=""
code=0

cleanup() {
    ip link del "$DUMMY" 2>/dev/null || true
    ip netns del "$OTHER_NS" 2>/dev/null || true
    ip link del "$HOST_IF" 2>/dev/null || true
    "$W" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

run() { out=$("$W" "$@" 2>&1); code=$?; }
check() { # description, condition...
    local what="$1"; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; echo "     exit $code: $out" | head -20; failures=$((failures + 1)); fi
}
has() { grep -qF -- "$1" <<<"$out"; }
nothing_created() { ! ip netns list | awk '{print $1}' | grep -qxF "$NS" && ! ip link show dev "$HOST_IF" >/dev/null 2>&1; }

cleanup
run up;   check "up starts the world" [ "$code" = 0 ]
run up;   check "up again reuses it" eval '[ "$code" = 0 ] && has "already up"'
run status; check "status says up" has "is up"

# A broken world of its own (its resolver gone): refused, with `down` as the remedy.
kill "$(cat /run/ipv6dind-demo/dnsmasq.pid)"
for _ in $(seq 1 20); do [ "$(awk '{print $3}' /proc/"$(cat /run/ipv6dind-demo/dnsmasq.pid)"/stat 2>/dev/null)" = S ] || break; sleep 0.1; done
run up;   check "a broken world of its own is refused" eval '[ "$code" = 3 ] && has "network namespace $NS exists" && has "$W down"'
run status; check "status says broken" eval '[ "$code" = 1 ] && has broken'
"$W" down >/dev/null

# Another host interface holding an address of the world.
ip link add "$DUMMY" type veth peer name "$PEER" && ip addr add 198.51.100.80/32 dev "$DUMMY"
run up;   check "an interface holding 198.51.100.80 is named" eval '[ "$code" = 3 ] && has "interface $DUMMY on the host holds 198.51.100.80" && has "ip link del $DUMMY"'
check "nothing was created" nothing_created
ip link del "$DUMMY"

# Another namespace holding an address of the world.
ip netns add "$OTHER_NS" && ip -n "$OTHER_NS" link add "$DUMMY" type veth peer name "$PEER" && ip -n "$OTHER_NS" addr add 198.51.100.53/24 dev "$DUMMY"
run up;   check "a namespace holding 198.51.100.53 is named" eval '[ "$code" = 3 ] && has "network namespace $OTHER_NS holds 198.51.100.53" && has "ip netns del $OTHER_NS"'
check "nothing was created" nothing_created
ip netns del "$OTHER_NS"

# The veth name taken.
ip link add "$HOST_IF" type veth peer name "$PEER"
run up;   check "a taken interface name is named" eval '[ "$code" = 3 ] && has "interface $HOST_IF already exists"'
ip link del "$HOST_IF"

# The way clear again: up, down, and nothing left.
run up;   check "up after the obstacles are gone" [ "$code" = 0 ]
run down; check "down" [ "$code" = 0 ]
check "nothing left" eval 'nothing_created && [ ! -e /run/ipv6dind-demo ] && ! iptables -t mangle -S FORWARD | grep -q ipv6dind-demo-outside-world'

echo "outside-world.test.sh: $failures failure(s)"
[ "$failures" = 0 ]
