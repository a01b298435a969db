# Shared by the real-tools scripts: paths, the example trees, pinned Python tools in venvs.
# Sourced, not run.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Everything the real-tools stage installs or writes lives here: rebuildable, never committed.
WORK="${REALTOOLS_DIR:-$ROOT/target/realtools}"
TREES="$WORK/trees"
mkdir -p "$WORK"

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs apt-get install for the packages that are not installed yet (CI machines start fresh).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq update >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
}

# venv NAME REQUIREMENT...: a virtualenv under $WORK/venv/NAME with exactly these pinned
# requirements (`-r FILE` too); prints its bin directory. Reused while they do not change.
venv() {
  local name=$1; shift
  local dir="$WORK/venv/$name" want
  # The key is the arguments and the content of any requirements file among them.
  want=$(printf '%s\n' "$@"; for arg in "$@"; do [ -f "$arg" ] && cat "$arg"; done)
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.requirements" 2>/dev/null)" != "$want" ]; then
    rm -rf "$dir"
    python3 -m venv "$dir" >&2
    "$dir/bin/pip" install -q --disable-pip-version-check "$@" >&2
    printf '%s\n' "$want" >"$dir/.requirements"
  fi
  printf '%s\n' "$dir/bin"
}

# The examples whose trees every scanner reads.
EXAMPLES=(quickstart manufacturing-group shared-warehouses critical-managed)

# Builds every example's tree into $TREES/<example> (fresh each time) with the debug binary.
build_trees() {
  local ex
  cargo build --locked -q -p blueprint-cli --manifest-path "$ROOT/Cargo.toml"
  local bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/blueprint"
  for ex in "${EXAMPLES[@]}"; do
    rm -rf "${TREES:?}/$ex"
    "$bin" build "$ROOT/examples/$ex/plants" --out "$TREES/$ex" >&2
  done
}

# scanned_trees ARG...: what the scanners share. Takes their arguments (only --no-build: scan
# the trees as last built), builds the example trees otherwise, and sets TREE_ARGS to
# EXAMPLE=DIR for each example, every one checked to exist.
scanned_trees() {
  local build=1 arg ex
  for arg in "$@"; do
    case $arg in
      --no-build) build=0 ;;
      *) die "usage: $0 [--no-build]" ;;
    esac
  done
  [ "$build" -eq 0 ] || build_trees
  TREE_ARGS=()
  for ex in "${EXAMPLES[@]}"; do
    [ -d "$TREES/$ex" ] || die "no tree at $TREES/$ex: run without --no-build"
    TREE_ARGS+=("$ex=$TREES/$ex")
  done
}
