#!/usr/bin/env bash
# The GPU checks of docs/serving.md on a lent device: the bundled model served on the CUDA provider and then on the
# same machine's CPU, `desmoe-bench load` at 1 / 8 / 32 clients each, the card and its memory in use from nvidia-smi
# while the CUDA server is loaded, sampled requests at 8 / 32 clients on CUDA (the path that still fetches the logits),
# and `desmoe-bench peer` against the CUDA server (GenAI on CPU beside it).
#   here:          bash ../shared/tools/gpu-bundle.sh .gpu      (then carry each chunk as its output says)
#                  dotnet clients/cli/bin/Release/net10.0/desmoe.dll export models/base .gpu/base-onnx
#                  (the bundle carries no libtorch, so the device cannot export; carry [".gpu/base-onnx"] with the
#                  command "mkdir -p /tmp/gpu && cp -r .gpu/base-onnx /tmp/gpu/", 8 MB)
#                  bash bench/gpu-bench-bundle.sh .gpu/bench   (desmoe-bench for load and peer, no libtorch; carry
#                  [".gpu/bench"] with "mkdir -p /tmp/gpu && cp -r .gpu/bench /tmp/gpu/")
#   on the device: bash .gpu/N/run-on-device.sh bash bench/gpu-check.sh
# DESMOE_GPU_CHECK_EXPORT names the exported folder (default /tmp/gpu/base-onnx; without one there, the CLI exports
# models/base, which needs libtorch); DESMOE_GPU_CHECK_SECONDS sets the seconds per level (default 10);
# DESMOE_GPU_CHECK_FIRST=Cpu dry-runs the script on a machine without a GPU (with a stand-in nvidia-smi on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SERVER:?run through run-on-device.sh, which sets SERVER and CLI}" "${CLI:?}"
BENCH="${BENCH:-/tmp/gpu/bench/desmoe-bench}"
[ -x "$BENCH" ] || { echo "no desmoe-bench at $BENCH: carry the output of bench/gpu-bench-bundle.sh (header above)" >&2; exit 1; }
seconds="${DESMOE_GPU_CHECK_SECONDS:-10}"
export_dir="${DESMOE_GPU_CHECK_EXPORT:-/tmp/gpu/base-onnx}"
[ -f "$export_dir/model.onnx" ] || { export_dir="$(mktemp -d)/base-onnx"; "$CLI" export models/base "$export_dir" | tail -1; }
export DESMOE_ADDRESS=http://127.0.0.1:50161 DESMOE_HTTP_ADDRESS=http://127.0.0.1:50162
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"

serve() { # provider: starts the server, waits until healthy
  data="$(mktemp -d)"
  DesMoe__ModelPath="$export_dir" DesMoe__DataDirectory="$data" DesMoe__ExecutionProvider="$1" Kestrel__Endpoints__Grpc__Url="$DESMOE_ADDRESS" Kestrel__Endpoints__Http__Url="$DESMOE_HTTP_ADDRESS" \
    Logging__LogLevel__Default=Warning "$SERVER" --Logging:LogLevel:DesMoe.Engine=Information &  # says where the KV cache lives
  server=$!
  for _ in $(seq 1 120); do "$CLI" health >/dev/null 2>&1 && return; sleep 0.5; done
  echo "the $1 server did not become healthy" >&2; exit 1
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; }
trap 'kill "$server" 2>/dev/null || true' EXIT

serve "${DESMOE_GPU_CHECK_FIRST:-Cuda}"
"$CLI" model info | grep -i -E "provider|version"
( sleep $((10 + seconds * 5 / 2)); nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader | sed 's/^/GPU memory during the 32-client level (pid, used): /' ) &
"$BENCH" load --duration "$seconds"
# Sampled requests fetch the logits; greedy ones (above) leave them on the device and read only top_tokens.
"$BENCH" load --duration "$seconds" --clients 8,32 --warm-up 4 --temperature 0.8 --top-k 50
"$BENCH" peer --address "$DESMOE_ADDRESS" --export "$export_dir"
stop

serve Cpu
"$CLI" model info | grep -i -E "provider|version"
"$BENCH" load --duration "$seconds"
stop
