#!/usr/bin/env bash
# Installs what the model kit needs (Debian 12). OpenBLAS matters: without it Debian's torch uses the
# reference BLAS and trains ~30x slower.
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update
$SUDO apt-get install -y python3-torch python3-onnx libopenblas0-pthread python3-regex python3-numpy xz-utils
