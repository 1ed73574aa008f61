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
# pkg-config (libzip, stb) reads the target's .pc files, not the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${PREFLIGHT_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
# Test programs run under qemu-user (Debian's qemu-user), for CTest and try_run. One OpenMP
# thread: under qemu-user 7.2 two threads that wait for each other (libgomp's and pthreadpool's
# barriers) never get through a training epoch here, one runs it in a second (docs/devices.md).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-${PREFLIGHT_QEMU};-L;/usr/${PREFLIGHT_TRIPLE};-E;OMP_NUM_THREADS=1)
# The target's packages that cannot be installed beside the build machine's, unpacked by
# `scripts/install-deps.sh --cross` (XNNPACK, pthreadpool, oneDNN, ONNX for arm64): found there at
# configure and link time, and by the programs under qemu.
get_filename_component(PREFLIGHT_UNPACKED ${CMAKE_CURRENT_LIST_DIR}/../build-deps/${PREFLIGHT_TRIPLE} ABSOLUTE)
if(EXISTS ${PREFLIGHT_UNPACKED}/.packages)
  list(APPEND CMAKE_FIND_ROOT_PATH ${PREFLIGHT_UNPACKED})
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${PREFLIGHT_UNPACKED}/usr/lib/${PREFLIGHT_TRIPLE}")
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -E LD_LIBRARY_PATH=${PREFLIGHT_UNPACKED}/usr/lib/${PREFLIGHT_TRIPLE})
endif()
