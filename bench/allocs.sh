#!/usr/bin/env bash
# Heap allocations per /v1 request: perf uprobes on mimalloc's entry points in the
# server binary, counted while wrk sends requests at c=16 (uprobes slow the server
# down a hundredfold; the count per request is what matters). Needs root and perf.
#
# Usage: bash bench/allocs.sh TENMON_ARK_BIN FAKE_OPENAI_BIN [ENV=VALUE ...]
set -euo pipefail
BIN=$(readlink -f "$1"); FAKE=$(readlink -f "$2"); shift 2
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
perf probe -q -d 'tenmon_allocs:*' >/dev/null 2>&1 || true
for f in mi_free mi_malloc_aligned mi_realloc_aligned; do
  perf probe -q -x "$BIN" -a "tenmon_allocs:$f=$f"
done
tmp=$(mktemp -d); trap 'kill $SP $FP 2>/dev/null; perf probe -q -d "tenmon_allocs:*" || true; rm -rf "$tmp"' EXIT
"$FAKE" --delay-ms 0 > "$tmp/fake.out" & FP=$!
sleep 0.5; UP=$(head -1 "$tmp/fake.out")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$tmp" && exec env -i PATH=/usr/bin:/bin PORT="$PORT" LOG_LEVEL=warn OPENAI_BASE_URL="$UP" OPENAI_API_KEY=sk-allocs \
  API_KEYS=bench-key-0123456789abcdef RATE_LIMIT_MAX_REQUESTS=1000000000 "$@" "$BIN" > /dev/null 2>&1) & SP=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.05; done
cat > "$tmp/v1.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model": "mnp-support", "messages": [{"role": "user", "content": "予約番号の有効期限は？"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key-0123456789abcdef"
LUA
wrk -t2 -c16 -d1s -s "$tmp/v1.lua" "http://127.0.0.1:$PORT/v1/chat/completions" > /dev/null
perf stat -e tenmon_allocs:mi_free,tenmon_allocs:mi_malloc_aligned,tenmon_allocs:mi_realloc_aligned -p "$SP" -o "$tmp/stat" &
PS=$!; sleep 0.3
N=$(wrk -t2 -c16 -d3s -s "$tmp/v1.lua" "http://127.0.0.1:$PORT/v1/chat/completions" | awk '/requests in/ {print $1}')
sleep 0.2; kill -INT $PS; wait $PS || true
echo "requests: $N"
awk -v n="$N" '/tenmon_allocs/ {gsub(",", "", $1); printf "%-40s %8.1f per request\n", $2, $1 / n}' "$tmp/stat"
