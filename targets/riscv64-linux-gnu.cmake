# Cross-compiling for riscv64-linux-gnu with Debian's cross g++ (g++-riscv64-linux-gnu); docs/devices.md.
#   cmake -S . -B build-riscv64-linux-gnu -G Ninja --toolchain targets/riscv64-linux-gnu.cmake -DPREFLIGHT_EMBEDDED=ON ...
# Libraries of the target come from Debian multiarch (dpkg --add-architecture; PACKAGE:ARCH) under
# /usr/lib/riscv64-linux-gnu; headers shared by every architecture stay in /usr/include.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(CMAKE_C_COMPILER riscv64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER riscv64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE riscv64-linux-gnu)
# Programs (flatc) from the build machine; libraries and headers for the target.
set(CMAKE_FIND_ROOT_PATH /usr/riscv64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# Test programs run under qemu-user (Debian's qemu-user), for CTest and try_run.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-riscv64;-L;/usr/riscv64-linux-gnu)
