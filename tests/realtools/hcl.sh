#!/usr/bin/env bash
# Every Terraform file of every example tree parses with HashiCorp's HCL parser (@cdktf/hcl2json,
# wasm) and is byte-identical to hclwrite.Format's layout of it (@cdktf/hcl-tools, wasm), both
# pinned by tests/realtools/hcl/package-lock.json; exit 1 on any finding.
# Usage: tests/realtools/hcl.sh [--no-build]   (--no-build: check the trees already built)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# The pinned packages, installed with `npm ci` under $WORK/hcl (never in the source tree);
# reused while the committed lock file is unchanged.
src="$ROOT/tests/realtools/hcl"
mods="$WORK/hcl"
command -v node >/dev/null || die "node (20 or later) is needed"
if [ ! -d "$mods/node_modules/@cdktf/hcl2json" ] || ! cmp -s "$src/package-lock.json" "$mods/package-lock.json"; then
  rm -rf "$mods"
  mkdir -p "$mods"
  cp "$src/package.json" "$src/package-lock.json" "$mods/"
  (cd "$mods" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

scanned_trees "$@"
node "$src/check.mjs" "$mods" "${TREE_ARGS[@]}" || die "Terraform files that do not parse or are not formatted (above)"
