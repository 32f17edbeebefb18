#!/bin/sh
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d):
# the login role pgvigil watches with, its password from PGVIGIL_DB_PASSWORD, and pg_monitor so
# that it sees every session in pg_stat_activity (the connections check). Nothing more.
set -eu
: "${PGVIGIL_DB_PASSWORD:?set PGVIGIL_DB_PASSWORD for the postgres service too}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  -v pw="$PGVIGIL_DB_PASSWORD" <<'SQL'
CREATE ROLE pgvigil LOGIN PASSWORD :'pw';
GRANT pg_monitor TO pgvigil;
SQL
