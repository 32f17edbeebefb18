# The Debian package: `bash scripts/package.sh` (docs/packaging.md). CPack's DEB generator packs
# exactly what `cmake --install` installs, so every install rule of the tree (man pages and
# completions included, wherever they are declared) is in the .deb without a second file list;
# the maintainer scripts and conffiles are in packaging/debian/.
include(GNUInstallDirs)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/polkit/50-pgvigil.rules
        DESTINATION ${CMAKE_INSTALL_DATADIR}/polkit-1/rules.d)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/prometheus/pgvigil-rules.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pgvigil/prometheus)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/grafana/pgvigil-dashboard.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pgvigil/grafana)

# /usr/share/doc/pgvigil: the docs the example config points to, the copyright file and a
# changelog (compressed with -n: no timestamp, so the .deb is reproducible).
file(GLOB PGVIGIL_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PGVIGIL_DOCS} DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pgvigil)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pgvigil)
set(PGVIGIL_CHANGELOG_GZ ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in
               ${CMAKE_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(OUTPUT ${PGVIGIL_CHANGELOG_GZ}
                   COMMAND gzip -9nc ${CMAKE_BINARY_DIR}/packaging/changelog > ${PGVIGIL_CHANGELOG_GZ}
                   DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog VERBATIM)
add_custom_target(pgvigil_changelog ALL DEPENDS ${PGVIGIL_CHANGELOG_GZ})
install(FILES ${PGVIGIL_CHANGELOG_GZ} DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pgvigil)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgvigil)
set(CPACK_PACKAGE_VENDOR "pgvigil")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "pgvigil maintainers <maintainers@pgvigil.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "PostgreSQL health-monitoring and watchdog agent")
# The extended description (CPack puts the summary above it and indents each line).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "pgvigil watches PostgreSQL servers with real liveness checks (TCP, a query
on a fresh connection, connection slots), serves /health, /status and
Prometheus /metrics, logs one structured event per state change, and
restarts a crashed or hung server through systemd, Docker or a command,
with backoff and a restart budget. It never restarts a server an operator
stopped, nor for a cause a restart cannot cure.")
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: postinst makes the system user (deb-systemd-helper/-invoke come from
# init-system-helpers, which is Essential in Debian 12: no dependency needed). procps: the unit's
# ExecReload is /bin/kill, which a minimal Debian (minbase, slim images) does not have: the
# install test's `systemctl reload pgvigil` failed without it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, polkitd, prometheus")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # pgvigil_<version>_<arch>.deb
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/compress-man.cmake)
include(CPack)
