# Cross-compiling for arm-linux-gnueabihf (docs/devices.md):
#   cmake -S . -B build-arm-linux-gnueabihf -G Ninja --toolchain targets/arm-linux-gnueabihf.cmake -DPREFLIGHT_EMBEDDED=ON ...
set(PREFLIGHT_TRIPLE arm-linux-gnueabihf)
set(PREFLIGHT_PROCESSOR arm)
set(PREFLIGHT_QEMU arm)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
