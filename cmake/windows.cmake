# The Windows build (issue 14), included by the top-level CMakeLists.txt when the target is
# Windows: cross-built on Debian with cmake/mingw-w64-x86_64.cmake against the static prefix of
# scripts/windows-deps.sh (-DWINDEPS=<prefix>). Everything is linked statically, so each .exe
# imports system DLLs only and runs under Wine (and Windows) as it is.
#
# Only the layers ported so far are built; each one that builds brings its unit tests along
# (tests/windows/unit), which the Linux build runs under Wine as the test `windows_unit`.

if(NOT WINDEPS OR NOT EXISTS "${WINDEPS}/windeps.lock")
  message(FATAL_ERROR "WINDEPS must name the prefix scripts/windows-deps.sh printed (got '${WINDEPS}')")
endif()
add_link_options(-static)

# PostgreSQL's libpq.a on Windows is the import library of libpq.dll; windows-deps.sh makes a
# real static archive, libpq_static.a, plus the two helper libraries libpq needs.
find_library(PGVIGIL_LIBPQ_STATIC NAMES libpq_static.a REQUIRED)
find_library(PGVIGIL_PGCOMMON NAMES libpgcommon_shlib.a REQUIRED)
find_library(PGVIGIL_PGPORT NAMES libpgport_shlib.a REQUIRED)
set_target_properties(PostgreSQL::PostgreSQL PROPERTIES IMPORTED_LOCATION ${PGVIGIL_LIBPQ_STATIC})
set_property(TARGET PostgreSQL::PostgreSQL APPEND PROPERTY INTERFACE_LINK_LIBRARIES
             ${PGVIGIL_PGCOMMON} ${PGVIGIL_PGPORT} OpenSSL::SSL OpenSSL::Crypto secur32 shell32
             ws2_32 crypt32 advapi32)
# A static c-ares says so to its headers (otherwise they declare dllimport functions).
set_property(TARGET PkgConfig::CARES APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS CARES_STATICLIB)
set_property(TARGET PkgConfig::CARES APPEND PROPERTY INTERFACE_LINK_LIBRARIES ws2_32 advapi32
                                                                              iphlpapi)

# The layers that build for Windows today, bottom to top (the others: docs/windows.md).
set(PGVIGIL_WINDOWS_LAYERS core probes restart events http agent)
foreach(layer IN LISTS PGVIGIL_WINDOWS_LAYERS)
  add_subdirectory(src/${layer})
endforeach()
# The app layer and pgvigil.exe (src/app/CMakeLists.txt: the service host, `service install`,
# the event log's message table, the zip) sit on every layer above: built as soon as the agent
# layer is. Its unit tests run under Wine like the others' (tests/windows/unit); its Win32 parts
# are also tested under Wine's real SCM by wine_service, wine_pgvigil and wine_e2e.
if("agent" IN_LIST PGVIGIL_WINDOWS_LAYERS)
  add_subdirectory(src/app)
endif()

if(PGVIGIL_BUILD_TESTS)
  enable_testing()
  add_subdirectory(tests/windows/unit)
endif()
