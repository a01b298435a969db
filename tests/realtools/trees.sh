#!/usr/bin/env bash
# Builds every example's GitOps tree into target/realtools/trees/<example>.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
build_trees
