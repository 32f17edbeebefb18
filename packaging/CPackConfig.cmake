# `cpack -G DEB` in the build dir: a Debian package of the binary, the restart recipe, the
# example config, the systemd unit, the polkit rule and the Prometheus rules.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/polkit/50-pgvigil.rules DESTINATION share/polkit-1/rules.d)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/prometheus/pgvigil-rules.yml DESTINATION share/pgvigil/prometheus)
set(CPACK_PACKAGE_NAME pgvigil)
set(CPACK_PACKAGE_VENDOR "pgvigil")
set(CPACK_PACKAGE_CONTACT "pgvigil maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "PostgreSQL health-monitoring and watchdog agent")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
