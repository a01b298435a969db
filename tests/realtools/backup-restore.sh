#!/usr/bin/env bash
# Backs up and restores a real PostgreSQL 15 with the pgBackRest configuration blueprint
# generated for one plant, as written, against an S3-compatible store behind TLS (moto with a
# throw-away CA). Restores to a point in time with the runbook's own block, verbatim, and to
# the latest state; checks row counts, encryption and the repository path the IAM role grants.
#
#   tests/realtools/backup-restore.sh [--blueprints DIR | --tree DIR] [--example NAME --plant P --env E]
#
# --blueprints builds with another template set; --tree takes an already built tree (the test
# of this test, backup-restore-breaks.sh, uses both to break things on purpose).
#
# Exit 0 when every step holds; 1 with the failing step otherwise. docs/testing.md explains it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

example=manufacturing-group plant=bordeaux env=prod blueprints=() tree=
while [ $# -gt 0 ]; do
  case $1 in
    --blueprints) blueprints=(--blueprints "$(cd "$2" && pwd)"); shift 2 ;;
    --tree) tree=$(cd "$2" && pwd); shift 2 ;;
    --example) example=$2; shift 2 ;;
    --plant) plant=$2; shift 2 ;;
    --env) env=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done

PG_MAJOR=15
log "installing PostgreSQL $PG_MAJOR, pgBackRest, nginx, moto"
apt_install "postgresql-$PG_MAJOR" pgbackrest openssl nginx
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PY=$(venv moto -r "$ROOT/tests/realtools/requirements/moto.txt")/python
TOOL=("$PY" "$ROOT/tests/realtools/restore_tool.py")

# Everything of one run lives in a scratch directory the database's OS user can read: the
# tree, the data directories, the CA. Removed on exit with the servers it started.
RUN=$(mktemp -d /tmp/blueprint-restore.XXXXXX)
chmod 755 "$RUN"
# PostgreSQL refuses to run as root: as root, the database commands run as `postgres`.
if [ "$(id -u)" -eq 0 ]; then
  DB_USER=postgres
  as_db() { runuser -u postgres -- env "PATH=$PG_BIN:$PATH" "$@"; }
else
  DB_USER=$(id -un)
  as_db() { env "PATH=$PG_BIN:$PATH" "$@"; }
fi

chown "$DB_USER:" "$RUN"
pids=()
cleanup() {
  local d
  for d in "$RUN"/pgdata-*; do
    [ -f "$d/postmaster.pid" ] && as_db "$PG_BIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
  done
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  [ -n "${KEEP_RUN:-}" ] || rm -rf "$RUN"
}
trap cleanup EXIT

cargo build --locked -q -p blueprint-cli --manifest-path "$ROOT/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/blueprint"
if [ -n "$tree" ]; then
  log "copying the tree $tree to $RUN/gitops"
  cp -r "$tree" "$RUN/gitops"
else
  log "building $example into $RUN/gitops"
  "$BIN" build "$ROOT/examples/$example/plants" --out "$RUN/gitops" "${blueprints[@]}" >&2
fi
chmod -R a+rX "$RUN/gitops"
CONF="$RUN/gitops/plants/$plant/$env/pgbackrest/pgbackrest.conf"
RUNBOOK="$RUN/gitops/runbooks/$plant.md"
[ -f "$CONF" ] || die "$CONF was not generated"

log "the generated configuration agrees with the PostgresCluster and the IAM grant"
"${TOOL[@]}" consistency "$RUN/gitops" "$plant" "$env"
conf() { "${TOOL[@]}" conf "$CONF" db "$1"; }
BUCKET=$(conf repo1-s3-bucket)
REGION=$(conf repo1-s3-region)
ENDPOINT=$(conf repo1-s3-endpoint)
REPO_PATH=$(conf repo1-path)

log "starting moto (S3) behind nginx (TLS, a throw-away CA)"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=blueprint test CA" \
  -keyout "$RUN/ca.key" -out "$RUN/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$ENDPOINT" -keyout "$RUN/s3.key" -out "$RUN/s3.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:*.%s,DNS:localhost\n' "$ENDPOINT" "$ENDPOINT" >"$RUN/san.ext"
openssl x509 -req -in "$RUN/s3.csr" -CA "$RUN/ca.crt" -CAkey "$RUN/ca.key" -CAcreateserial -days 1 \
  -extfile "$RUN/san.ext" -out "$RUN/s3.crt" 2>/dev/null
chmod a+r "$RUN"/*.crt
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  "$PY" -c 'import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit("nothing listens on port " + sys.argv[1])' "$1"
}
MOTO_PORT=$(free_port)
S3_PORT=$(free_port)
"$(dirname "$PY")/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$RUN/moto.log" 2>&1 &
pids+=($!)
# pgBackRest speaks S3 over TLS only and expects a clean TLS shutdown and keep-alive, which
# moto's development server does not do: nginx terminates TLS and passes the Host header on.
mkdir -p "$RUN/nginx"
cat >"$RUN/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $RUN/nginx;
  proxy_temp_path $RUN/nginx;
  server {
    listen 127.0.0.1:$S3_PORT ssl;
    ssl_certificate $RUN/s3.crt;
    ssl_certificate_key $RUN/s3.key;
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:$MOTO_PORT;
      proxy_http_version 1.1;
      proxy_set_header Host \$http_host;
      proxy_request_buffering off;
    }
  }
}
NGINX
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" &
pids+=($!)
wait_port "$MOTO_PORT"
wait_port "$S3_PORT"
export S3_URL="https://localhost:$S3_PORT" S3_REGION=$REGION S3_KEY=blueprint-test-key \
  S3_KEY_SECRET=blueprint-test-secret S3_CA_FILE=$RUN/ca.crt
"${TOOL[@]}" bucket-create "$BUCKET"

# The overrides: location and credentials only, through pgBackRest's environment options.
PG_PORT=$(free_port)
mkdir -p "$RUN/spool" "$RUN/lock" "$RUN/socket"
chown "$DB_USER:" "$RUN/spool" "$RUN/lock" "$RUN/socket"
export PGBACKREST_REPO1_STORAGE_HOST=localhost
export PGBACKREST_REPO1_STORAGE_PORT=$S3_PORT
export PGBACKREST_REPO1_STORAGE_CA_FILE=$RUN/ca.crt
export PGBACKREST_REPO1_S3_KEY_TYPE=shared
export PGBACKREST_REPO1_S3_KEY=$S3_KEY
export PGBACKREST_REPO1_S3_KEY_SECRET=$S3_KEY_SECRET
export PGBACKREST_REPO1_CIPHER_PASS=blueprint-test-cipher-passphrase-not-a-secret
export PGBACKREST_PG1_PATH=$RUN/pgdata-source
export PGBACKREST_PG1_PORT=$PG_PORT
export PGBACKREST_PG1_SOCKET_PATH=$RUN/socket
export PGBACKREST_SPOOL_PATH=$RUN/spool
export PGBACKREST_LOCK_PATH=$RUN/lock
log "pgBackRest overrides (everything else is the generated file $CONF as written)"
"${TOOL[@]}" overrides

pgbackrest() { as_db pgbackrest --config="$CONF" --stanza=db "$@"; }
psql_at() { as_db psql -X -q -v ON_ERROR_STOP=1 -h "$RUN/socket" -p "$1" -d postgres -Atc "$2"; }
wait_promoted() {
  local port=$1 _
  for _ in $(seq 600); do
    [ "$(psql_at "$port" 'select pg_is_in_recovery()' 2>/dev/null)" = f ] && return 0
    sleep 0.1
  done
  die "the restored PostgreSQL on port $port did not finish recovery"
}

log "initdb and start PostgreSQL $PG_MAJOR with the PostgresCluster's parameters and PGO's archiving"
mkdir "$RUN/pgdata-source" && chown "$DB_USER:" "$RUN/pgdata-source" && chmod 700 "$RUN/pgdata-source"
as_db initdb -D "$RUN/pgdata-source" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
{
  echo "# PGO's archiving (its archive_command, with this host's --config)"
  echo "archive_mode = on"
  echo "archive_command = 'pgbackrest --config=$CONF --stanza=db archive-push \"%p\"'"
  echo "wal_level = replica"
  echo "listen_addresses = ''"
  echo "port = $PG_PORT"
  echo "unix_socket_directories = '$RUN/socket'"
  echo "# spec.patroni.dynamicConfiguration.postgresql.parameters of the PostgresCluster"
  "${TOOL[@]}" pg-settings "$RUN/gitops" "$plant" "$env"
} >>"$RUN/pgdata-source/postgresql.conf"
as_db pg_ctl -D "$RUN/pgdata-source" -l "$RUN/pgdata-source/server.log" -w start >/dev/null

log "stanza-create, check, full backup"
pgbackrest stanza-create
pgbackrest check
pgbackrest --type=full backup
CANARY="blueprint-plaintext-canary-$RANDOM$RANDOM"
psql_at "$PG_PORT" "create table rows (id bigserial primary key, note text not null, at timestamptz not null default clock_timestamp())"
# A database big enough for the restore rate to mean something (about 150 MiB with indexes).
as_db pgbench -q -i -s 10 -h "$RUN/socket" -p "$PG_PORT" postgres >/dev/null 2>&1
psql_at "$PG_PORT" "insert into rows (note) select '$CANARY' from generate_series(1, 1000)"

log "differential backup, more rows, the target time, more rows"
pgbackrest --type=diff backup
psql_at "$PG_PORT" "insert into rows (note) select 'after diff' from generate_series(1, 500)"
sleep 1
TARGET=$(psql_at "$PG_PORT" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
AT_TARGET=$(psql_at "$PG_PORT" "select count(*) from rows")
sleep 1
psql_at "$PG_PORT" "insert into rows (note) select 'after target' from generate_series(1, 700)"
ALL_ROWS=$(psql_at "$PG_PORT" "select count(*) from rows")
# check switches the WAL segment and waits until it is in the repository.
pgbackrest check
echo "  rows at $TARGET: $AT_TARGET; all rows: $ALL_ROWS" >&2
DB_BYTES=$(psql_at "$PG_PORT" "select sum(pg_database_size(oid)) from pg_database")

log "the repository: under the granted path, encrypted, no plain text"
SCAN=$("${TOOL[@]}" bucket-scan "$BUCKET" "$REPO_PATH" "$CANARY")
echo "  $SCAN" >&2
pgbackrest info >&2

log "point-in-time restore with the runbook's block (env=$env kind=pitr), verbatim"
"${TOOL[@]}" runbook-block "$RUNBOOK" "$env" pitr >"$RUN/pitr.sh"
sed 's/^/  | /' "$RUN/pitr.sh" >&2
mkdir "$RUN/pgdata-pitr" && chown "$DB_USER:" "$RUN/pgdata-pitr" && chmod 700 "$RUN/pgdata-pitr"
SIDE_PORT=$(free_port)
started=$(date +%s.%N)
(
  cd "$RUN/gitops"
  # As on a restore host: no data directory, socket or spool overrides of the source.
  as_db env -u PGBACKREST_PG1_PATH -u PGBACKREST_PG1_PORT -u PGBACKREST_PG1_SOCKET_PATH \
    -u PGBACKREST_SPOOL_PATH \
    "RESTORE_TARGET=$TARGET" "SIDE_PGDATA=$RUN/pgdata-pitr" "SIDE_PORT=$SIDE_PORT" \
    "GITOPS_DIR=$RUN/gitops" bash "$RUN/pitr.sh" 2>&1 | tee "$RUN/pitr.log" >&2
)
wait_promoted_socket() {
  local _
  for _ in $(seq 600); do
    [ "$(as_db psql -X -h /tmp -p "$SIDE_PORT" -d postgres -Atc 'select pg_is_in_recovery()' 2>/dev/null)" = f ] && return 0
    sleep 0.1
  done
  die "the point-in-time copy did not finish recovery"
}
wait_promoted_socket
finished=$(date +%s.%N)
GOT=$(as_db psql -X -h /tmp -p "$SIDE_PORT" -d postgres -Atc "select count(*) from rows")
[ "$GOT" = "$AT_TARGET" ] || die "point-in-time restore to $TARGET has $GOT rows, expected $AT_TARGET"
echo "  restored to $TARGET: $GOT rows, as at the target" >&2
PITR_SECONDS=$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.3f", b - a }')
as_db pg_ctl -D "$RUN/pgdata-pitr" -m fast stop >/dev/null

log "restore of the latest state"
mkdir "$RUN/pgdata-latest" && chown "$DB_USER:" "$RUN/pgdata-latest" && chmod 700 "$RUN/pgdata-latest"
LATEST_PORT=$(free_port)
pgbackrest --pg1-path="$RUN/pgdata-latest" --archive-mode=off restore
as_db pg_ctl -D "$RUN/pgdata-latest" -o "-p $LATEST_PORT" -l "$RUN/pgdata-latest/server.log" -w start >/dev/null
wait_promoted "$LATEST_PORT"
GOT=$(psql_at "$LATEST_PORT" "select count(*) from rows")
[ "$GOT" = "$ALL_ROWS" ] || die "restore of the latest state has $GOT rows, expected $ALL_ROWS"
echo "  latest: $GOT rows, all of them" >&2

EXPLAIN=$("$BIN" explain "$plant" --env "$env" --dir "$ROOT/examples/$example/plants" --format json)
explained() {
  "$PY" -c 'import json, sys
values = json.loads(sys.argv[1])[0]["values"]
print(next(v["value"] for v in values if v["field"] == sys.argv[2]))' "$EXPLAIN" "$1"
}
ESTIMATE=$(explained recovery.rtoEstimate)
RTO=$(explained recovery.rto)
SIZE=$(explained database.size)
# pgBackRest's own time for the restore command; the rest is PostgreSQL replaying to the target.
RESTORE_MS=$(sed -n 's/.*restore command end: completed successfully (\([0-9]*\)ms).*/\1/p' "$RUN/pitr.log")
[ -n "$RESTORE_MS" ] || die "no restore time in the runbook block's output"
log "result"
awk -v bytes="$DB_BYTES" -v total="$PITR_SECONDS" -v ms="$RESTORE_MS" -v size="$SIZE" \
  -v estimate="$ESTIMATE" -v rto="$RTO" -v plant="$plant/$env" 'BEGIN {
  mib = bytes / 1048576; restore = ms / 1000; rate = mib / restore
  gib = size; sub(/Gi$/, "", gib)
  printf "measured  %s: %.0f MiB restored in %.1f s (%.0f MiB/s), replay to the target and start %.1f s, total %.1f s\n", plant, mib, restore, rate, total - restore, total
  printf "compiler  %s: rtoEstimate %s for %s (restore at 200 MiB/s); at the measured rate %s takes %.0f min to restore; rto %s\n", plant, estimate, size, size, gib * 1024 / rate / 60, rto
}'
echo "backup-restore: ok (PostgreSQL $PG_MAJOR, $(as_db pgbackrest version))" >&2
