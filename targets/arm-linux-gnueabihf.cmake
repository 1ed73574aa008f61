# Cross-compiling for arm-linux-gnueabihf with Debian's cross g++ (g++-arm-linux-gnueabihf); docs/devices.md.
#   cmake -S . -B build-arm-linux-gnueabihf -G Ninja --toolchain targets/arm-linux-gnueabihf.cmake -DPREFLIGHT_EMBEDDED=ON ...
# Libraries of the target come from Debian multiarch (dpkg --add-architecture; PACKAGE:ARCH) under
# /usr/lib/arm-linux-gnueabihf; headers shared by every architecture stay in /usr/include.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)
# Programs (flatc) from the build machine; libraries and headers for the target.
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# Test programs run under qemu-user (Debian's qemu-user), for CTest and try_run.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm;-L;/usr/arm-linux-gnueabihf)
