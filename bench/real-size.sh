#!/usr/bin/env bash
# Serving at a real shape: writes a random-weight 370M-parameter model in this repository's layout
# (bench/configs/desmoe-360m.config.json: hidden 1024, 4 layers, 32 routed + 2 shared experts, top-6, vocab 32000),
# exports it, serves it on CPU and runs `desmoe-bench load` against it, sampling the server's resident memory.
#   bash bench/real-size.sh [extra bench load options, e.g. --clients 1,8,32]   (DESMOE_REAL_SIZE_SECONDS per level, default 15)
#   DESMOE_REAL_SIZE_EXPORT="--experts StandardOps --quantize-experts Int4 --quantized-compute Int8" bash bench/real-size.sh
#     serves an export made with those options instead (its own folder beside the default one).
# Needs about 6 GB of RAM and 5 GB of disk under ${DESMOE_REAL_SIZE_DIR:-/tmp/desmoe-real-size}.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${DESMOE_REAL_SIZE_DIR:-/tmp/desmoe-real-size}"
port="${DESMOE_BENCH_PORT:-50177}"
cli="dotnet clients/cli/bin/Release/net10.0/desmoe.dll"
bench="dotnet bench/DesMoe.Bench/bin/Release/net10.0/desmoe-bench.dll"
dotnet build src/Server -c Release -v q -nologo >/dev/null
dotnet build bench/DesMoe.Bench -c Release -v q -nologo >/dev/null  # builds the desmoe CLI too
[ -f "$work/model/model.safetensors" ] || $bench random-model --config bench/configs/desmoe-360m.config.json --out "$work/model"
export_options="${DESMOE_REAL_SIZE_EXPORT:-}"
onnx="$work/onnx${export_options:+-$(echo "$export_options" | tr -cs 'A-Za-z0-9' '-' | sed 's/^-*//; s/-*$//')}"
# shellcheck disable=SC2086 # the options are words
[ -f "$onnx/model.onnx" ] || $cli export "$work/model" "$onnx" $export_options
echo "serving $onnx"

data="$(mktemp -d)"
export DESMOE_ADDRESS="http://127.0.0.1:$port" DESMOE_HTTP_ADDRESS="http://127.0.0.1:$((port + 1))"
DesMoe__ModelPath="$onnx" DesMoe__DataDirectory="$data" Kestrel__Endpoints__Grpc__Url="$DESMOE_ADDRESS" Kestrel__Endpoints__Http__Url="$DESMOE_HTTP_ADDRESS" \
  Logging__LogLevel__Default=Warning dotnet src/Server/bin/Release/net10.0/DesMoe.Server.dll &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 240); do $cli health >/dev/null 2>&1 && break; sleep 0.5; done
rss() { awk '/VmRSS/{print $2}' "/proc/$server/status" 2>/dev/null || echo 0; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server resident memory idle: $(( $(rss) / 1024 )) MB"
peakfile="$(mktemp)"; echo 0 > "$peakfile"
( while kill -0 "$server" 2>/dev/null; do r="$(rss)"; [ "${r:-0}" -gt "$(cat "$peakfile")" ] && echo "$r" > "$peakfile"; sleep 0.5; done ) &
sampler=$!
$bench load --max-new-tokens 32 --duration "${DESMOE_REAL_SIZE_SECONDS:-15}" "$@"
kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
echo "server resident memory, peak during the load: $(( $(cat "$peakfile") / 1024 )) MB"
rm -f "$peakfile"
