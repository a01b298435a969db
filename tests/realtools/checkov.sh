#!/usr/bin/env bash
# Security scan of the example trees: checkov (pinned) with its kubernetes, terraform and
# secrets frameworks over every example tree, offline. Prints one summary line per example and
# every failed check; exits 1 when a check failed, a file could not be parsed, or the checks
# skipped in the trees (checkov.io/skipN annotations, checkov:skip= comments) differ from the
# table in docs/security.md (check ids and reasons).
# Usage: bash tests/realtools/checkov.sh [--no-build]   (--no-build: scan the trees as built)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CHECKOV_VERSION=3.3.30

log "checkov $CHECKOV_VERSION (venv)"
bin=$(venv checkov -r "$ROOT/tests/realtools/requirements/checkov.txt")
grep -qx "checkov==$CHECKOV_VERSION" "$ROOT/tests/realtools/requirements/checkov.txt" || die "requirements/checkov.txt does not pin checkov $CHECKOV_VERSION"

scanned_trees "$@"

# Offline: no platform key (no Prisma Cloud / Bridgecrew upload or policy download), no
# guideline download (--skip-download), no PyPI version check, no ID mapping download.
unset BC_API_KEY BC_API_URL PRISMA_API_URL
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE LOG_LEVEL=ERROR

out="$WORK/checkov"
rm -rf "$out"
mkdir -p "$out"
log "checkov over ${EXAMPLES[*]}"
# One run over the directory of all trees (the examples are its subdirectories, and results
# are attributed to them by path): one start-up and one worker pool instead of four. The JSON
# report is not --quiet: the doc check below needs the skipped checks, which --quiet drops.
# It runs from $out so that no .checkov.yaml of the caller's directory is read.
rc=0
(cd "$out" && "$bin/checkov" --directory "$TREES" \
  --framework kubernetes terraform secrets \
  --skip-download --compact --output json) >"$out/report.json" 2>"$out/stderr.log" || rc=$?
# 0: nothing failed; 1: a check failed (reported below); anything else: checkov itself failed.
if [ "$rc" -gt 1 ] || [ ! -s "$out/report.json" ]; then
  cat "$out/stderr.log" >&2
  die "checkov exited with $rc"
fi

"$bin/python" - "$out/report.json" "$ROOT/docs/security.md" "${EXAMPLES[@]}" <<'PY'
import json
import re
import sys

report_path, doc_path, *examples = sys.argv[1:]
with open(report_path, encoding="utf-8") as f:
    reports = json.load(f)
if isinstance(reports, dict):  # one framework with results: an object, not a list
    reports = [reports]

counts = {ex: {"passed": 0, "failed": 0, "skipped": 0} for ex in examples}
failed, skipped, parse_errors, outside = [], set(), [], set()


def example_of(path):
    first = path.lstrip("/").split("/", 1)[0]
    if first not in counts:
        outside.add(first)
        counts[first] = {"passed": 0, "failed": 0, "skipped": 0}
    return first


for r in reports:
    results = r["results"]
    for kind in ("passed", "failed", "skipped"):
        for c in results.get(f"{kind}_checks", []):
            counts[example_of(c["file_path"])][kind] += 1
    for c in results.get("failed_checks", []):
        failed.append((r["check_type"], c))
    for c in results.get("skipped_checks", []):
        reason = (c.get("check_result") or {}).get("suppress_comment") or ""
        skipped.add((c["check_id"], reason.strip()))
    parse_errors += results.get("parsing_errors", [])

for ex, n in counts.items():
    print(f"{ex}: {n['passed']} passed, {n['failed']} failed, {n['skipped']} skipped")

errors = 0
for framework, c in sorted(failed, key=lambda x: (x[1]["file_path"], x[1]["check_id"])):
    lines = c.get("file_line_range") or [0, 0]
    print(f"FAILED {c['check_id']} ({framework}) {c['check_name']}")
    print(f"    {c['file_path'].lstrip('/')}:{lines[0]}-{lines[1]}  {c['resource']}")
    if c.get("guideline"):
        print(f"    {c['guideline']}")
    errors += 1
for p in parse_errors:
    print(f"PARSE ERROR {p}")
    errors += 1
if outside:
    print(f"note: scanned directories that are not examples: {', '.join(sorted(outside))}")

# docs/security.md: every table row whose first cell is a check id is a skip; its last cell is
# the reason, word for word as in the trees.
documented = set()
with open(doc_path, encoding="utf-8") as f:
    for line in f:
        m = re.match(r"\|\s*`([A-Z0-9_]+)`\s*\|.*\|\s*(.+?)\s*\|\s*$", line)
        if m:
            documented.add((m.group(1), m.group(2)))
tree_ids = {i for i, _ in skipped}
doc_ids = {i for i, _ in documented}
for i in sorted(tree_ids - doc_ids):
    print(f"SKIP NOT DOCUMENTED: {i} is skipped in the trees but not in docs/security.md")
    errors += 1
for i in sorted(doc_ids - tree_ids):
    print(f"STALE DOC: {i} is in docs/security.md but skipped nowhere in the trees")
    errors += 1
for i, reason in sorted(skipped - documented):
    if i in doc_ids:
        print(f"REASON DIFFERS: {i} in the trees: {reason}")
        errors += 1
for i, reason in sorted(documented - skipped):
    if i in tree_ids:
        print(f"REASON DIFFERS: {i} in docs/security.md only: {reason}")
        errors += 1
print(f"skipped check ids: {' '.join(sorted(tree_ids))}")
sys.exit(1 if errors else 0)
PY
