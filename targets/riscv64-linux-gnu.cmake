# Cross-compiling for riscv64-linux-gnu (docs/devices.md):
#   cmake -S . -B build-riscv64-linux-gnu -G Ninja --toolchain targets/riscv64-linux-gnu.cmake -DPREFLIGHT_EMBEDDED=ON ...
set(PREFLIGHT_TRIPLE riscv64-linux-gnu)
set(PREFLIGHT_PROCESSOR riscv64)
set(PREFLIGHT_QEMU riscv64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
