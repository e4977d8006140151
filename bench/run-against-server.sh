#!/usr/bin/env bash
# Starts a Release server with a fresh data directory, waits until it is healthy, runs one `desmoe-bench` command
# against it, and stops it. Used for the load benchmark and the scenarios:
#   bash bench/run-against-server.sh load
#   bash bench/run-against-server.sh scenario add-domain
# It serves the string-skills model (models/base), on which the scenarios' general-set checks and every recorded
# figure were measured; DESMOE_BENCH_MODEL=models/base-v2 serves the bundled base model instead.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${DESMOE_BENCH_PORT:-50151}"
http_port="${DESMOE_BENCH_HTTP_PORT:-8151}"  # the OpenAI-compatible API (load --protocol http)
data="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

dotnet build src/Server -c Release -v q -nologo >/dev/null
dotnet build bench/DesMoe.Bench -c Release -v q -nologo >/dev/null  # builds the desmoe CLI too
export DESMOE_ADDRESS="http://127.0.0.1:$port" DESMOE_HTTP_ADDRESS="http://127.0.0.1:$http_port" DESMOE_ADMIN_TOKEN="bench-$RANDOM$RANDOM"
DesMoe__ModelPath="$(realpath "${DESMOE_BENCH_MODEL:-models/base}")" DesMoe__DataDirectory="$data" DesMoe__Adaptation__AdminToken="$DESMOE_ADMIN_TOKEN" Kestrel__Endpoints__Grpc__Url="$DESMOE_ADDRESS" Kestrel__Endpoints__Http__Url="$DESMOE_HTTP_ADDRESS" \
  Logging__LogLevel__Default=Warning dotnet src/Server/bin/Release/net10.0/DesMoe.Server.dll &
server=$!
for _ in $(seq 1 120); do
  if dotnet clients/cli/bin/Release/net10.0/desmoe.dll health >/dev/null 2>&1; then break; fi
  sleep 0.5
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(. /etc/os-release && echo "$PRETTY_NAME")"
dotnet bench/DesMoe.Bench/bin/Release/net10.0/desmoe-bench.dll "$@"
