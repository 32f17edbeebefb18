# CMake toolchain file: Debian 12's mingw-w64 (posix threads), x86_64 Windows target.
# The Windows-side libraries come from WINDEPS, the prefix scripts/windows-deps.sh prints
# (-DWINDEPS=<prefix> or the WINDEPS environment variable), and from Debian's mingw sysroot.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(PGVIGIL_MINGW_HOST x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${PGVIGIL_MINGW_HOST}-gcc-posix)
set(CMAKE_CXX_COMPILER ${PGVIGIL_MINGW_HOST}-g++-posix)
set(CMAKE_RC_COMPILER ${PGVIGIL_MINGW_HOST}-windres)
set(CMAKE_MC_COMPILER ${PGVIGIL_MINGW_HOST}-windmc)
set(CMAKE_AR ${PGVIGIL_MINGW_HOST}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${PGVIGIL_MINGW_HOST}-ranlib CACHE FILEPATH "")

if(NOT DEFINED WINDEPS)
  set(WINDEPS "$ENV{WINDEPS}")
endif()
# try_compile projects see the same prefix.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WINDEPS)
set(CMAKE_FIND_ROOT_PATH /usr/${PGVIGIL_MINGW_HOST} ${WINDEPS})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The host pkg-config reads only the prefix's .pc files, never the Linux ones.
if(WINDEPS)
  set(ENV{PKG_CONFIG_LIBDIR} "${WINDEPS}/lib/pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "")
endif()
set(OPENSSL_USE_STATIC_LIBS ON)
# Target programs (the unit test runners) run under Wine when CMake or ctest executes them.
set(CMAKE_CROSSCOMPILING_EMULATOR wine)
