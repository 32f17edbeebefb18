# CPACK_PRE_BUILD_SCRIPTS: runs on CPack's staging tree after `cmake --install` and before the
# .deb is made. Debian wants man pages gzip-compressed (-9, and -n: no name or timestamp, so the
# package is reproducible); install rules may install them plain (lintian: manpage-not-compressed).
file(GLOB_RECURSE pgvigil_man_pages "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/share/man/*")
foreach(page IN LISTS pgvigil_man_pages)
  if(NOT IS_SYMLINK "${page}" AND NOT page MATCHES "\\.gz$")
    execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "gzip ${page} failed")
    endif()
  endif()
endforeach()
