#!/usr/bin/env bash
# Train Synthgate's default model from scratch (see README.md). Idempotent and resumable:
# rerun the same command after an interruption. Extra arguments go to train.py (--help).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
packages=(python3-torch python3-numpy python3-regex libopenblas0-pthread wordnet-base fortunes-min fortunes dict-foldoc dict-vera python3-onnx)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
# Debian's torch, not a pyenv or virtualenv python that lacks it.
exec /usr/bin/python3 "$here/train.py" "$@"
