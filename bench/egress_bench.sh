#!/usr/bin/env bash
# Benchmark for egress policies (issue 14), side by side in one run: two
# VMs (user networking, or tap with MODE tap), one with an allow-list (--egress ADDR:PORT rules, the
# traffic's own rule last) and one without a policy, each connecting to test
# servers in a network namespace made here (never off this machine):
#   setup:      N TCP connections (connect, read a banner, close) from the
#               guest, ms per connection (goal: under 1 ms more with the policy);
#   throughput: 256 MiB sent over one TCP connection, MiB/s (goal: under 5%
#               less with the policy).
# Interleaved runs; prints medians and ratios. Needs root (the namespace),
# python3 (the servers), the debian-bookworm image and the debian-cloud kernel.
#
#   bench/egress_bench.sh [runs] [connections] [user|tap]
#       (default 3 runs, 200 connections, user; tap: the rules in banger's
#       nftables table, each new flow's verdict logged through the relay)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
conns=${2:-200}
mode=${3:-user}
banger=${BANGER_BIN:-$PWD/build/banger}
export BANGER_HOME=${BANGER_BENCH_HOME:-$PWD/build/bench-home}
export BANGER_WARM=0
ns=bgr-egb-$$; hif=bgb$$h; nif=bgb$$n
net=10.214.$(( $$ % 200 + 20 ))
cleanup() {
  "$banger" vm rm --force egb-policy egb-open >/dev/null 2>&1 || true
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
  ip link del "$hif" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

"$banger" image inspect debian-bookworm >/dev/null 2>&1 || "$banger" image pull debian-bookworm >/dev/null
"$banger" kernel ls --json | grep -q '"debian-cloud"' || "$banger" kernel pull >/dev/null

ip netns add "$ns"
ip link add "$hif" type veth peer name "$nif"
ip link set "$nif" netns "$ns"
ip addr add "$net.1/24" dev "$hif"; ip link set "$hif" up
ip -n "$ns" addr add "$net.2/24" dev "$nif"; ip -n "$ns" link set "$nif" up; ip -n "$ns" link set lo up
# Port 9000: a banner per connection; 9001: a sink that answers the byte count.
ip netns exec "$ns" python3 -c '
import socket, threading, sys
def serve(port, fn):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], port)); s.listen(128)
    while True:
        c, _ = s.accept(); threading.Thread(target=fn, args=(c,), daemon=True).start()
def banner(c): c.sendall(b"x\n"); c.close()
def sink(c):
    n = 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        n += len(b)
    c.sendall(b"%d\n" % n); c.close()
threading.Thread(target=serve, args=(9000, banner), daemon=True).start()
serve(9001, sink)' "$net.2" &
server=$!

rules=()
for i in $(seq 1 20); do rules+=(--egress "10.99.$i.0/24:443"); done
rules+=(--egress "$net.2:9000" --egress "$net.2:9001")
"$banger" vm create --name egb-policy --net "$mode" "${rules[@]}" >/dev/null
"$banger" vm create --name egb-open --net "$mode" >/dev/null
"$banger" vm start egb-policy >/dev/null
"$banger" vm start egb-open >/dev/null

setup_ms() {  # $1: VM -> ms per connection
  "$banger" vm exec "$1" -- bash -c "s=\$(date +%s%N); for i in \$(seq $conns); do exec 3<>/dev/tcp/$net.2/9000; read -r _ <&3; exec 3<&-; done; e=\$(date +%s%N); echo \$(( (e - s) / $conns / 1000 ))" | awk '{printf "%.3f\n", $1 / 1000}'
}
mib_s() {  # $1: VM -> MiB/s over one connection
  "$banger" vm exec "$1" -- bash -c "exec 3<>/dev/tcp/$net.2/9001; s=\$(date +%s%N); head -c 268435456 /dev/zero >&3; exec 3>&-; e=\$(date +%s%N); echo \$(( 268435456 * 1000000 / ((e - s) / 1000) ))" | awk '{printf "%.1f\n", $1 / 1048576}'
}

ps=(); os=(); pt=(); ot=()
for _ in $(seq "$runs"); do
  ps+=("$(setup_ms egb-policy)"); os+=("$(setup_ms egb-open)")
  pt+=("$(mib_s egb-policy)"); ot+=("$(mib_s egb-open)")
done
mps=$(printf '%s\n' "${ps[@]}" | median); mos=$(printf '%s\n' "${os[@]}" | median)
mpt=$(printf '%s\n' "${pt[@]}" | median); mot=$(printf '%s\n' "${ot[@]}" | median)
echo "networking: $mode"
printf '%-52s %s   (runs: %s)\n' "setup, 22-rule policy (ms per connection)" "$mps" "${ps[*]}"
printf '%-52s %s   (runs: %s)\n' "setup, no policy (ms per connection)" "$mos" "${os[*]}"
printf '%-52s %s   (runs: %s)\n' "throughput, 22-rule policy (MiB/s)" "$mpt" "${pt[*]}"
printf '%-52s %s   (runs: %s)\n' "throughput, no policy (MiB/s)" "$mot" "${ot[*]}"
awk -v a="$mps" -v b="$mos" -v c="$mpt" -v d="$mot" 'BEGIN {
  printf "%-52s %+.3f (goal: under 1 ms)\n", "setup cost of the policy (ms per connection)", a - b
  printf "%-52s %.3f (goal: at least 0.95)\n", "throughput with / without the policy", c / d }'
