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
cli=(dotnet clients/cli/bin/Release/net10.0/desmoe.dll)
bench=(dotnet bench/DesMoe.Bench/bin/Release/net10.0/desmoe-bench.dll)
rm -rf "$work" && mkdir -p "$work"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"

# step NAME COMMAND...: runs it under /usr/bin/time and prints wall time and peak resident memory.
step() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > "$work/$name.log" 2>&1 || { cat "$work/$name.log"; exit 1; }
  read -r wall kb < "$work/time.txt"
  printf '%-22s wall %8.1f s   peak RSS %6.2f GB\n' "$name" "$wall" "$(echo "$kb / 1048576" | bc -l)"
}

step "write checkpoint" "${bench[@]}" random-model --config "bench/configs/$model.config.json" --layers "$layers" --dtype bfloat16 --out "$work/model"
cp "tests/fixtures/hf-moe/$fixture/tokenizer.json" "tests/fixtures/hf-moe/$fixture/generation_config.json" "$work/model/"
"${cli[@]}" model inspect "$work/model"
echo "checkpoint: $(du -b "$work/model/model.safetensors" | awk '{printf "%.2f GB", $1/1e9}')"
step "load" "${bench[@]}" hub-load "$work/model"
step "adapt, 2 steps" "${cli[@]}" adapt --model "$work/model" --method DesMoe --domains math,law --steps 2 --batch-size 2 --train-examples 16 --eval-examples 2 --out "$work/adapted"
echo "saved back: $(du -b "$work/adapted/model.safetensors" | awk '{printf "%.2f GB", $1/1e9}') model.safetensors + $(du -b "$work/adapted/desmoe_router.safetensors" | awk '{printf "%.2f GB", $1/1e9}') desmoe_router.safetensors"
step "export (fp32 ONNX)" "${cli[@]}" export "$work/adapted" "$work/onnx"
tail -3 "$work/export (fp32 ONNX).log"
step "export (fp16 ONNX)" "${cli[@]}" export --precision Float16 "$work/adapted" "$work/onnx-fp16"
for d in onnx onnx-fp16; do echo "$d/:"; ls -l "$work/$d" | awk 'NR>1{printf "  %-22s %8.2f GB\n", $9, $5/1e9}'; done
