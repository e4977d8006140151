#!/usr/bin/env bash
# Re-fetches the vendored @huggingface/jinja (src/Formats/Chat/Vendor): its self-contained CommonJS build
# dist/index.cjs and its LICENSE, from the npm registry, at the version pinned here (default 0.5.11).
# ChatTemplate runs the file in Jint as an embedded resource; the same version reproduces it byte for byte.
set -euo pipefail
version="${1:-0.5.11}"
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$repo_root/src/Formats/Chat/Vendor"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && npm pack --silent "@huggingface/jinja@$version" >/dev/null && tar -xzf huggingface-jinja-"$version".tgz)
cp "$scratch/package/dist/index.cjs" "$vendor/huggingface-jinja.cjs"
cp "$scratch/package/LICENSE" "$vendor/LICENSE"
echo "vendored @huggingface/jinja@$version into $vendor (sha256 $(sha256sum "$vendor/huggingface-jinja.cjs" | cut -d' ' -f1))"
