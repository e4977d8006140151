#!/usr/bin/env bash
# A hub checkpoint at a real shape through the whole pipeline, with peak resident memory and wall time per step:
# a published config (bench/configs) cut to ${LAYERS:-1} layer(s), random bf16 weights, the matching fixture's
# tokenizer standing in for the real one (there are no real weights or tokenizers on this machine).
#   bash bench/hub-sizes.sh            # Qwen1.5-MoE-A2.7B, LAYERS=1: 1.19 B parameters, a 2.4 GB checkpoint
#   MODEL=deepseek-v2-lite FIXTURE=deepseek_v2 LAYERS=2 bash bench/hub-sizes.sh   # the paper's backbone: 1 dense + 1 MoE layer
# Needs about 16 GB of RAM and 15 GB of disk under ${DESMOE_HUB_SIZES_DIR:-/tmp/desmoe-hub-sizes}.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${DESMOE_HUB_SIZES_DIR:-/tmp/desmoe-hub-sizes}"
layers="${LAYERS:-1}"
model="${MODEL:-qwen1.5-moe-a2.7b}"
fixture="${FIXTURE:-qwen2_moe}"
dotnet build bench/DesMoe.Bench -c Release -v q -nologo >/dev/null  # builds the desmoe CLI too
dotnet build src/Server -c Release -v q -nologo >/dev/null
cli=(dotnet clients/cli/bin/Release/net10.0/desmoe.dll)
bench=(dotnet bench/DesMoe.Bench/bin/Release/net10.0/desmoe-bench.dll)
from="${FROM:-write}"  # FROM=export re-runs the exports and serving on the work folder an earlier run left
[[ "$from" == export ]] || { rm -rf "$work" && mkdir -p "$work"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"

# report NAME WALL KB: one line, the peak also as a multiple of the checkpoint (once it exists).
report() {
  local ratio=""
  [[ -f "$work/model/model.safetensors" ]] && ratio="$(echo "$3 * 1024 / $(stat -c %s "$work/model/model.safetensors")" | bc -l | xargs printf '%.2fx the checkpoint')"
  printf '%-22s wall %8.1f s   peak RSS %6.2f GiB   %s\n' "$1" "$2" "$(echo "$3 / 1048576" | bc -l)" "$ratio"
}

# step NAME COMMAND...: runs it under /usr/bin/time and reports its wall time and peak resident memory.
step() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > "$work/$name.log" 2>&1 || { cat "$work/$name.log"; exit 1; }
  read -r wall kb < "$work/time.txt"
  report "$name" "$wall" "$kb"
}

# serve FOLDER: the server on an export (its worker process starts only for a job): its peak resident memory (VmHWM)
# once it has answered one 16-token generation.
serve() {
  local address="http://127.0.0.1:${DESMOE_HUB_SIZES_PORT:-50199}" started=$SECONDS
  rm -rf "$work/serve-data"
  DesMoe__ModelPath="$1" DesMoe__DataDirectory="$work/serve-data" \
    Kestrel__Endpoints__Grpc__Url="$address" Kestrel__Endpoints__Http__Url="http://127.0.0.1:${DESMOE_HUB_SIZES_HTTP_PORT:-8199}" \
    Logging__LogLevel__Default=Warning dotnet src/Server/bin/Release/net10.0/DesMoe.Server.dll > "$work/serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do
    DESMOE_ADDRESS="$address" "${cli[@]}" health >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
    sleep 1
  done
  DESMOE_ADDRESS="$address" "${cli[@]}" generate "The capital of France is" --max-new-tokens 16 > "$work/serve-generate.log" 2>&1 || { cat "$work/serve-generate.log" "$work/serve.log"; kill "$pid"; exit 1; }
  local kb; kb="$(awk '/VmHWM/{print $2}' "/proc/$pid/status")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  report "serve ($(basename "$1"))" "$((SECONDS - started))" "$kb"
}

if [[ "$from" != export ]]; then
step "write checkpoint" "${bench[@]}" random-model --config "bench/configs/$model.config.json" --layers "$layers" --dtype bfloat16 --out "$work/model"
cp "tests/fixtures/hf-moe/$fixture/tokenizer.json" "tests/fixtures/hf-moe/$fixture/generation_config.json" "$work/model/"
"${cli[@]}" model inspect "$work/model"
echo "checkpoint: $(du -b "$work/model/model.safetensors" | awk '{printf "%.2f GB", $1/1e9}')"
step "load" "${bench[@]}" hub-load "$work/model"
step "load + save back" "${bench[@]}" hub-load "$work/model" --save-to "$work/saved"
step "adapt, 2 steps" "${cli[@]}" adapt --model "$work/model" --method DesMoe --domains math,law --steps 2 --batch-size 2 --train-examples 16 --eval-examples 2 --out "$work/adapted"
echo "saved back: $(du -b "$work/adapted/model.safetensors" | awk '{printf "%.2f GB", $1/1e9}') model.safetensors + $(du -b "$work/adapted/desmoe_router.safetensors" | awk '{printf "%.2f GB", $1/1e9}') desmoe_router.safetensors"
step "add a domain (extend)" "${cli[@]}" extend --model "$work/model" --domain intent --steps 2 --batch-size 2 --train-examples 16 --eval-examples 2 --out "$work/extended"
fi
step "export (fp32 ONNX)" "${cli[@]}" export "$work/adapted" "$work/onnx"
tail -3 "$work/export (fp32 ONNX).log"
step "export (fp16 ONNX)" "${cli[@]}" export --precision Float16 "$work/adapted" "$work/onnx-fp16"
for d in onnx onnx-fp16; do echo "$d/:"; ls -l "$work/$d" | awk 'NR>1{printf "  %-22s %8.2f GB\n", $9, $5/1e9}'; done
serve "$work/onnx"
