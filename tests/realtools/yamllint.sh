#!/usr/bin/env bash
# yamllint (pinned) over every .yaml/.yml file of every example tree, with the committed
# tests/realtools/yamllint.yaml: 0 errors and 0 warnings, or exit 1.
# Usage: tests/realtools/yamllint.sh [--no-build]   (--no-build: lint the trees already built)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

bin=$(venv yamllint -r "$ROOT/tests/realtools/requirements/yamllint.txt")
scanned_trees "$@"

config="$ROOT/tests/realtools/yamllint.yaml"
report="$WORK/yamllint"
mkdir -p "$report"
# One yamllint per tree, all at once (yamllint uses one core), then the counts in order.
pids=()
for ex in "${EXAMPLES[@]}"; do
  tree="$TREES/$ex"
  find "$tree" -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 | sort -z >"$report/$ex.files"
  [ -s "$report/$ex.files" ] || die "$ex: no YAML file in $tree"
  # Exit 1 on errors, 2 on warnings only (--strict); the counts below decide.
  xargs -0 "$bin/yamllint" --strict -f parsable -c "$config" <"$report/$ex.files" >"$report/$ex.txt" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done

failed=0
for ex in "${EXAMPLES[@]}"; do
  tree="$TREES/$ex"
  files=$(tr -cd '\0' <"$report/$ex.files" | wc -c)
  errors=$(grep -c ': \[error\] ' "$report/$ex.txt" || true)
  warnings=$(grep -c ': \[warning\] ' "$report/$ex.txt" || true)
  other=$(grep -vc ': \[\(error\|warning\)\] ' "$report/$ex.txt" || true)
  printf '%-22s %4d YAML files: %d errors, %d warnings\n' "$ex" "$files" "$errors" "$warnings"
  if [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ] || [ "$other" -ne 0 ]; then
    sed "s|^$tree/||" "$report/$ex.txt" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || die "yamllint found problems (full reports in $report/)"
