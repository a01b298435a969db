#!/usr/bin/env bash
# A second schema check of every example tree, independent of blueprint's own verifier:
# built-in Kubernetes objects with kubernetes-validate (its own 1.33 strict schemas), custom
# resources with check-jsonschema against the vendored CRD schemas (schemas/vendor/crds; strict
# ObjectMeta, apiVersion/kind fixed, no top-level key but apiVersion/kind/metadata/spec), Helm
# values files against the vendored chart values schemas (schemas/vendor/helm), and the metadata
# of every object against tests/realtools/k8s/metadata.schema.json (names, namespaces, label
# keys and values as the API server checks them). Every YAML document must be taken by one of
# them (multi-document files are split); exit 1 on any finding.
# Usage: tests/realtools/k8s-validate.sh [--no-build]   (--no-build: check the trees already built)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

bin=$(venv k8s-validate -r "$ROOT/tests/realtools/requirements/k8s-validate.txt")
scanned_trees "$@"
rm -rf "$WORK/k8s-validate"
"$bin/python" "$ROOT/tests/realtools/k8s/validate.py" "$ROOT" "$WORK/k8s-validate" "${TREE_ARGS[@]}" \
  || die "objects, custom resources or Helm values that do not validate (above)"
