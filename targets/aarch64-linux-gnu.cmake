# Cross-compiling for aarch64-linux-gnu (docs/devices.md):
#   cmake -S . -B build-aarch64-linux-gnu -G Ninja --toolchain targets/aarch64-linux-gnu.cmake -DPREFLIGHT_EMBEDDED=ON ...
set(PREFLIGHT_TRIPLE aarch64-linux-gnu)
set(PREFLIGHT_PROCESSOR aarch64)
set(PREFLIGHT_QEMU aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
