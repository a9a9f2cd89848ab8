#!/usr/bin/env bash
# Runs once, when the postgres service starts on an empty data volume (the official image runs
# /docker-entrypoint-initdb.d/*.sh). Creates:
#   almanac_state     the shared state store, owned by almanac_state (cluster profile, issue 20)
#   warehouse         the demo warehouse, owned by warehouse_loader (`almanac demo --warehouse`)
#   warehouse_reader  a role that may only read the warehouse: the portals' and generator's login,
#                     so read-only is enforced by the database and not only by Almanac
# Passwords come from the service's environment (deploy/.env). A changed password in .env does
# not reach an existing volume: ALTER ROLE by hand, or `docker compose down -v` to start afresh.
set -euo pipefail
: "${STATE_DB_PASSWORD:?}" "${WAREHOUSE_LOADER_PASSWORD:?}" "${WAREHOUSE_READER_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v state_password="$STATE_DB_PASSWORD" \
    -v loader_password="$WAREHOUSE_LOADER_PASSWORD" \
    -v reader_password="$WAREHOUSE_READER_PASSWORD" <<'SQL'
CREATE ROLE almanac_state LOGIN PASSWORD :'state_password';
CREATE ROLE warehouse_loader LOGIN PASSWORD :'loader_password';
CREATE ROLE warehouse_reader LOGIN PASSWORD :'reader_password';
CREATE DATABASE almanac_state OWNER almanac_state;
CREATE DATABASE warehouse OWNER warehouse_loader;
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;
GRANT CONNECT ON DATABASE warehouse TO warehouse_loader, warehouse_reader;
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname warehouse <<'SQL'
-- PostgreSQL 15+ no longer lets every role create in public; the loader owns its tables.
GRANT ALL ON SCHEMA public TO warehouse_loader;
GRANT USAGE ON SCHEMA public TO warehouse_reader;
-- Tables the loader creates later are readable, and only readable, by the reader.
ALTER DEFAULT PRIVILEGES FOR ROLE warehouse_loader IN SCHEMA public GRANT SELECT ON TABLES TO warehouse_reader;
ALTER ROLE warehouse_reader SET default_transaction_read_only = on;
SQL
