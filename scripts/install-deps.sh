#!/usr/bin/env bash
# Installs the Debian packages preflight builds and tests with. Idempotent: when every package is
# already installed it changes nothing and needs no network. Run as root (or with sudo).
#   bash scripts/install-deps.sh            the build and the tests
#   bash scripts/install-deps.sh --cross    also the cross compilers and qemu-user of targets/
#                                           (aarch64, armhf, riscv64; docs/devices.md)
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config
  flatbuffers-compiler libflatbuffers-dev   # the model format (schemas/model.fbs)
  doctest-dev                               # unit tests
  libcli11-dev                              # the command line
  nlohmann-json3-dev                        # test manifests, later the report schema
  zlib1g-dev                                # gzipped CSV data, the checkpoint checksum
  libzip-dev                                # .npz archives (zip, stored or deflated)
  libstb-dev                                # PNG images in the check report (stb_image_write)
  chromium                                  # the report test: headless Chromium loads report.html
  python3-jsonschema                        # the report test: report.json against its JSON Schema
  libonnx-dev libprotobuf-dev               # ONNX import (the generated protobuf types of onnx.proto)
  libxnnpack-dev                            # the XNNPACK backend (SIMD inference kernels)
  libpthreadpool-dev                        # XNNPACK's threads (--threads)
  libdnnl-dev                               # the oneDNN backend (forward and backward primitives, OpenMP)
)

if [ "${1:-}" = "--cross" ]; then
  PACKAGES+=(
    g++-aarch64-linux-gnu g++-arm-linux-gnueabihf g++-riscv64-linux-gnu   # Debian's cross g++
    qemu-user                                                             # runs their programs here
  )
fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
