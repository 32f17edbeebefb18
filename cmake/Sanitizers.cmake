# PGVIGIL_SANITIZE: one sanitizer build for the whole tree (scripts/test.sh builds build-asan with
# "address;undefined" and build-tsan with "thread"). Every finding aborts the test that caused it:
# no recovery, so a UBSan report fails ctest like an ASan one. Uninstrumented libraries (Poco,
# yaml-cpp, libpq, libstdc++'s .so) are fine for ASan/UBSan; for TSan see tests/tsan.supp.
#
# PGVIGIL_FUZZ: the libFuzzer harnesses (fuzz/) need clang, coverage instrumentation in the code
# they call (-fsanitize=fuzzer-no-link) and, unless told otherwise, ASan+UBSan. So one build
# serves both the ASan unit tests and the fuzzers.
if(PGVIGIL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PGVIGIL_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  if(NOT PGVIGIL_SANITIZE)
    set(PGVIGIL_SANITIZE address undefined)
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
if(NOT PGVIGIL_SANITIZE)
  return()
endif()

set(_known address undefined thread)
foreach(s ${PGVIGIL_SANITIZE})
  if(NOT s IN_LIST _known)
    message(FATAL_ERROR "PGVIGIL_SANITIZE: unknown sanitizer '${s}' (known: ${_known})")
  endif()
endforeach()
if("thread" IN_LIST PGVIGIL_SANITIZE AND "address" IN_LIST PGVIGIL_SANITIZE)
  message(FATAL_ERROR "PGVIGIL_SANITIZE: thread and address cannot be combined")
endif()

list(JOIN PGVIGIL_SANITIZE "," _sanitizers)
add_compile_options(-fsanitize=${_sanitizers} -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_link_options(-fsanitize=${_sanitizers} -fno-sanitize-recover=all)
