# Shared by the toolchain files of targets/: cross-compiling for PREFLIGHT_TRIPLE (a Debian
# multiarch triple) with Debian's cross g++ (g++-<triple>), programs run under qemu-user.
# Libraries of the target come from Debian multiarch (dpkg --add-architecture; PACKAGE:ARCH) under
# /usr/lib/<triple>; headers shared by every architecture stay in /usr/include. docs/devices.md.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${PREFLIGHT_PROCESSOR})
set(CMAKE_C_COMPILER ${PREFLIGHT_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${PREFLIGHT_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${PREFLIGHT_TRIPLE})
# Programs (flatc) from the build machine; libraries and headers for the target.
set(CMAKE_FIND_ROOT_PATH /usr/${PREFLIGHT_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# Test programs run under qemu-user (Debian's qemu-user), for CTest and try_run.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-${PREFLIGHT_QEMU};-L;/usr/${PREFLIGHT_TRIPLE})
