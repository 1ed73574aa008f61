#!/usr/bin/env bash
# Installs the Debian packages preflight builds and tests with. Idempotent: when every package is
# already installed it changes nothing and needs no network. Run as root (or with sudo).
#   bash scripts/install-deps.sh            the build and the tests
#   bash scripts/install-deps.sh --cross    also the cross compilers and qemu-user of targets/
#                                           (aarch64, armhf, riscv64), and the arm64 libraries the
#                                           whole suite builds with for aarch64 (docs/devices.md)
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config
  flatbuffers-compiler libflatbuffers-dev   # the model format (schemas/model.fbs)
  doctest-dev                               # unit tests
  libcli11-dev                              # the command line
  nlohmann-json3-dev                        # test manifests, later the report schema
  zlib1g-dev                                # gzipped CSV data, the checkpoint checksum
  libre2-dev                                # --trainable's regular expression (linear time, no recursion)
  libzip-dev                                # .npz archives (zip, stored or deflated)
  libstb-dev                                # PNG images in the check report (stb_image_write)
  chromium                                  # the report test: headless Chromium loads report.html
  python3-jsonschema                        # the report test: report.json against its JSON Schema
  libonnx-dev libprotobuf-dev               # ONNX import (the generated protobuf types of onnx.proto)
  libxnnpack-dev                            # the XNNPACK backend (SIMD inference kernels)
  libpthreadpool-dev                        # XNNPACK's threads (--threads)
  libdnnl-dev                               # the oneDNN backend (forward and backward primitives, OpenMP)
  ocl-icd-opencl-dev opencl-headers         # the OpenCL backend (the ICD loader and the C headers)
  pocl-opencl-icd                           # an OpenCL device on the CPU (PoCL): the OpenCL tests run on it
  clang-14 libclang-rt-14-dev               # the asan preset: ASan + UBSan builds and libFuzzer (tests/fuzz)
)

cross=false
if [ "${1:-}" = "--cross" ]; then
  cross=true
  PACKAGES+=(
    g++-aarch64-linux-gnu g++-arm-linux-gnueabihf g++-riscv64-linux-gnu   # Debian's cross g++
    qemu-user                                                             # runs their programs here
    # The aarch64 build of the whole suite (targets/aarch64_suite.sh): Debian multiarch, the
    # libraries that install beside the build machine's.
    libflatbuffers-dev:arm64 zlib1g-dev:arm64 libzip-dev:arm64 libstb-dev:arm64 libprotobuf-dev:arm64 libre2-dev:arm64
  )
fi
# The arm64 packages that cannot be installed beside the build machine's: libxnnpack-dev and
# libpthreadpool-dev are not Multi-Arch (installing them removes the amd64 ones), libdnnl-dev's
# dnnl_config.h differs per architecture, libonnxifi ships /usr/lib/libonnxifi.so outside the
# multiarch folder. They are unpacked (dpkg-deb -x, nothing installed) under
# build-deps/aarch64-linux-gnu, where targets/aarch64-linux-gnu.cmake finds them.
UNPACKED=(libxnnpack-dev libxnnpack0 libpthreadpool-dev libpthreadpool0 libcpuinfo0 libdnnl-dev libdnnl2
          libonnx-dev libonnx1 libonnxifi)
unpack_dir="$(cd "$(dirname "$0")/.." && pwd)/build-deps/aarch64-linux-gnu"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if $cross && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "install-deps: adding the arm64 architecture (Debian multiarch)"
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
fi

unpack_arm64() {  # the UNPACKED packages, once per set of versions
  local wanted
  wanted=$(apt-cache policy "${UNPACKED[@]/%/:arm64}" | awk '/^[^ ]/ {name=$1} /Candidate:/ {print name, $2}')
  if [ -f "$unpack_dir/.packages" ] && [ "$(cat "$unpack_dir/.packages")" = "$wanted" ]; then
    echo "install-deps: the ${#UNPACKED[@]} unpacked arm64 packages are in build-deps/aarch64-linux-gnu"
    return
  fi
  echo "install-deps: unpacking ${UNPACKED[*]} (arm64) into build-deps/aarch64-linux-gnu"
  local work
  work=$(mktemp -d)
  chmod a+rwx "$work"  # apt downloads as its own user (_apt)
  (cd "$work" && apt-get download -qq "${UNPACKED[@]/%/:arm64}")
  rm -rf "$unpack_dir.new"
  mkdir -p "$unpack_dir.new"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$unpack_dir.new"; done
  echo "$wanted" > "$unpack_dir.new/.packages"
  rm -rf "$unpack_dir" "$work"
  mv "$unpack_dir.new" "$unpack_dir"
}

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if $cross; then unpack_arm64; fi
