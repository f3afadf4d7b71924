#!/usr/bin/env bash
# Foundation benchmarks: start-up time to the first healthy answer, idle RSS, and
# GET /api/health under wrk at concurrency 64. Writes bench/results/foundation-<date>.md
# with the machine and the command.
set -euo pipefail
BIN="${1:?usage: bench/foundation.sh PATH/TO/tenmon-ark}"
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
exec python3 bench/foundation.py "$BIN"
