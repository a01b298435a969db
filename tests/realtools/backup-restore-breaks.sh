#!/usr/bin/env bash
# The test of backup-restore.sh: each case breaks one thing the way a careless change would,
# runs the backup and restore test with it and requires the test to fail with the expected
# message. Template cases edit a copy of blueprints/; tree cases edit a built tree the way a
# wrong derived value would (the build's own verifier compares files with the intended values,
# so a template-only change to them never gets that far). A case whose text is no longer there
# fails too, so a refactoring cannot turn a case into a no-op.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SCRATCH=$(mktemp -d)
trap '[ -n "${KEEP_RUN:-}" ] || rm -rf "$SCRATCH"' EXIT
failures=0

# replace FILE OLD NEW: every OLD (literal) in FILE becomes NEW; fails when OLD is not there.
replace() {
  OLD=$2 NEW=$3 python3 -c 'import os, sys
path, old, new = sys.argv[1], os.environ["OLD"], os.environ["NEW"]
text = open(path, encoding="utf-8").read()
if old not in text:
    sys.exit(f"{path}: the text to break is gone: {old!r}")
open(path, "w", encoding="utf-8").write(text.replace(old, new))' "$1"
}

# expect_failure NAME EXPECTED ARGS...: backup-restore.sh ARGS must fail, printing EXPECTED.
expect_failure() {
  local name=$1 expected=$2
  shift 2
  if bash "$ROOT/tests/realtools/backup-restore.sh" "$@" >"$SCRATCH/$name.log" 2>&1; then
    echo "FAIL $name: the backup and restore test passed" >&2
    failures=$((failures + 1))
  elif ! grep -q -- "$expected" "$SCRATCH/$name.log"; then
    echo "FAIL $name: the test failed, but not with: $expected" >&2
    grep -v "command begin" "$SCRATCH/$name.log" | tail -5 >&2
    failures=$((failures + 1))
  else
    echo "ok   $name: $(grep -m1 -- "$expected" "$SCRATCH/$name.log")" >&2
  fi
}

# template_case NAME TEMPLATE OLD NEW EXPECTED
template_case() {
  local set="$SCRATCH/$1-blueprints"
  log "case $1: $2"
  cp -r "$ROOT/blueprints" "$set"
  replace "$set/$2" "$3" "$4"
  expect_failure "$1" "$5" --blueprints "$set"
}

# tree_case NAME EXPECTED (FILE OLD NEW)...: edits of the tree of the default plant.
tree_case() {
  local name=$1 expected=$2 tree="$SCRATCH/$1-tree"
  shift 2
  log "case $name: the tree"
  cp -r "$TREES/manufacturing-group" "$tree"
  while [ $# -gt 0 ]; do
    replace "$tree/$1" "$2" "$3"
    shift 3
  done
  expect_failure "$name" "$expected" --tree "$tree"
}

build_trees
conf=plants/bordeaux/prod/pgbackrest/pgbackrest.conf
cr=plants/bordeaux/prod/kubernetes/postgrescluster-postgres.yaml

# A template writes another repository path than the one PGO and IAM use: the build refuses.
template_case wrong-repo-path pgbackrest/pgbackrest.conf.j2 \
  '{{ o.key|ini }}={{ o.value|ini }}' \
  '{{ o.key|ini }}={{ o.value|ini }}{{ ("-old" if o.key == "repo1-path" else "")|ini }}' \
  'repo1-path reads back as'
# The same wrong path for pgBackRest and PGO: consistent, but not what the IAM role grants.
tree_case path-outside-grant 'the IAM role of' \
  "$conf" 'repo1-path=/pgbackrest/bordeaux/prod' 'repo1-path=/pgbackrest/bordeaux' \
  "$cr" '"repo1-path": "/pgbackrest/bordeaux/prod"' '"repo1-path": "/pgbackrest/bordeaux"'
# Encryption off for both: the repository would hold the data as plain text.
tree_case no-encryption 'is not encrypted' \
  "$conf" 'repo1-cipher-type=aes-256-cbc' 'repo1-cipher-type=none' \
  "$cr" '"repo1-cipher-type": "aes-256-cbc"' '"repo1-cipher-type": "none"'
# Archiving off in the database parameters: no WAL reaches the repository.
template_case archiving-off kubernetes/postgrescluster.yaml.j2 \
  '        parameters:' \
  '        parameters:
          "archive_mode": "off"' \
  'archive_mode must be enabled'
# The runbook's point-in-time block restores to the backup's end instead of the target time.
# shellcheck disable=SC2016 # the runbook's shell text, not this script's
template_case runbook-wrong-target runbooks/runbook.md.j2 \
  '--stanza=db --repo={{ r.index }} --type=time "--target=${RESTORE_TARGET}"' \
  '--stanza=db --repo={{ r.index }} --type=immediate' \
  'point-in-time restore to .* rows, expected'

# An override beyond location and credentials: the test refuses to run a changed configuration.
log "case override-beyond-location: the environment"
PGBACKREST_COMPRESS_TYPE=none expect_failure override-beyond-location \
  'change more than location and credentials: compress-type'

[ "$failures" -eq 0 ] || die "$failures case(s) of the backup and restore test did not fail as they must"
echo "backup-restore-breaks: every break made the backup and restore test fail" >&2
