#!/usr/bin/env bash
# Publishes desmoe-bench for a lent GPU device beside ../shared/tools/gpu-bundle.sh's server and CLI: framework-dependent
# (the bundle carries the .NET runtime), linux-x64 natives only and no libtorch (load and peer run no TorchSharp), so
# it fits one 64 MiB carry. bench/gpu-check.sh finds it at /tmp/gpu/bench/desmoe-bench (or $BENCH).
# Usage (repo root): bash bench/gpu-bench-bundle.sh [OUT, default .gpu/bench]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.gpu/bench}"
rm -rf "$out"
dotnet publish bench/DesMoe.Bench -c Release -p:DesMoeRunsTorchSharp=false -o "$out" >/dev/null
(cd "$out" && rm -f ./*.pdb && find runtimes -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} + 2>/dev/null || true)
echo "$out: $(du -sh "$out" | cut -f1)"
