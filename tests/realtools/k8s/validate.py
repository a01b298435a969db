"""Second schema check of every Kubernetes object, custom resource and Helm values file.

Run by tests/realtools/k8s-validate.sh with the python of its pinned venv:
    python validate.py ROOT WORK NAME=TREE...
Every YAML document of each tree goes to exactly one validator, run as its own CLI:
  - built-in kinds: kubernetes-validate -k 1.33.0 --strict (its own 1.33 strict schemas);
  - custom resources: check-jsonschema against the vendored CRD schema (schemas/vendor/crds, the
    ones blueprint's verifier embeds), wrapped so that apiVersion and kind must be the CRD's,
    metadata must be a strict ObjectMeta and no top-level key but apiVersion, kind, metadata and
    spec is allowed;
  - Helm values files: check-jsonschema against the chart's vendored values schema;
and every object also against k8s/metadata.schema.json (names, namespace, label keys and values,
annotation keys) with check-jsonschema, custom resources inside their wrapper. A document no
validator takes is a finding.
Prints one line per tree and a table of objects per kind; exits 1 on any finding.
"""

import collections
import concurrent.futures
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml  # PyYAML, a dependency of kubernetes-validate: only used to split and route.

KUBE_VERSION = "1.33.0"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Helm values files by path (they have no apiVersion/kind): chart -> pattern on the tree path.
HELM = {
    "traefik": re.compile(r"(^|/)traefik/values\.ya?ml$"),
    "redis": re.compile(r"(^|/)helm/redis\.ya?ml$"),
}
# The vendored CRD patterns are Go (RE2) regular expressions; check-jsonschema reads patterns as
# ECMAScript. The three that are not valid ECMAScript, each with its exact ECMAScript equivalent.
# Any other pattern that does not compile stops the check (add it here after reading it).
GO_PATTERNS = {
    # PrometheusRule groups[].partial_response_strategy: RE2 inline case-insensitivity.
    "^(?i)(abort|warn)?$": "^([Aa][Bb][Oo][Rr][Tt]|[Ww][Aa][Rr][Nn])?$",
    # PostgresCluster authentication.rules[].hba: RE2's POSIX class [:print:] is ASCII 0x20-0x7E.
    "^[[:print:]]+$": "^[ -~]+$",
    # PostgresCluster customQueries.add[].name: RE2's one-letter Unicode classes.
    "^[^\\pZ\\pC\\pS]+$": "^[^\\p{Z}\\p{C}\\p{S}]+$",
}
# Kubernetes `duration` is Go's (`1h30m`), not JSON Schema's ISO 8601: never checked as a format.
CHECK_JSONSCHEMA_FLAGS = ["--disable-formats", "duration", "-o", "json"]


def kube_schema_dir():
    """kubernetes-validate's own strict schemas of KUBE_VERSION (not the repository's copy)."""
    import kubernetes_validate

    d = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBE_VERSION}-local-strict"
    if not d.is_dir():
        sys.exit(f"kubernetes-validate has no {KUBE_VERSION} strict schemas ({d})")
    return d


def builtin_schema_name(api_version, kind):
    """The file kubernetes-validate looks up for an object (its naming: rbac.authorization.k8s.io/v1 -> rbac-v1)."""
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{api}.json"


def split_documents(text):
    """The text of each YAML document of a file, as written (each tool parses it itself)."""
    docs, start = [], None
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            start = event.start_mark.index
        elif isinstance(event, yaml.DocumentEndEvent):
            docs.append(text[start:event.end_mark.index])
    return docs


def closure(defs, name):
    """The definitions `name` needs, itself included ($refs are '#/$defs/<name>' in _definitions.json)."""
    seen, todo = {}, [name]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen[n] = defs[n]
        for ref in re.findall(r'"\$ref": "[^"#]*#/\$defs/([^"]+)"', json.dumps(defs[n])):
            todo.append(ref)
    return seen


def ecmascript_patterns(schema, where):
    """`schema` with the Go patterns of GO_PATTERNS replaced; exits on any other that does not compile."""
    import regress  # check-jsonschema's own ECMAScript engine

    def fix(node):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "pattern" and isinstance(v, str):
                    v = GO_PATTERNS.get(v, v)
                    try:
                        regress.Regex(v, "u")
                    except Exception as e:  # noqa: BLE001 - regress raises its own error type
                        sys.exit(f"{where}: pattern {v!r} is not ECMAScript ({e}): add a translation to GO_PATTERNS")
                out[k] = fix(v)
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    return fix(schema)


def crd_wrapper(api_version, kind, crd, meta_defs, metadata_rules):
    """The CRD schema plus what the API server adds: apiVersion/kind fixed, ObjectMeta, no
    unknown top-level key, and the metadata rules every object is checked against."""
    meta = {k: json.loads(json.dumps(v).replace('"$ref": "/api/_definitions.json#/$defs/', '"$ref": "#/$defs/'))
            for k, v in meta_defs.items()}
    # metadata.schema.json inline, its definitions renamed into this schema's $defs (an embedded
    # resource with its own $id makes check-jsonschema ten times slower on the large CRDs).
    rules = json.loads(json.dumps({k: v for k, v in metadata_rules.items() if k not in ("$defs", "$schema")})
                       .replace('"$ref": "#/$defs/', '"$ref": "#/$defs/metadata.'))
    for k, v in metadata_rules["$defs"].items():
        meta[f"metadata.{k}"] = v
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": meta,
        "allOf": [crd, rules],
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": {"$ref": f"#/$defs/{OBJECT_META}"},
            "spec": True,
        },
        # A generated object is desired state: no status, no Argo CD `operation`, nothing else.
        "additionalProperties": False,
    }


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    root, work, *trees = sys.argv[1:]
    root, work = Path(root), Path(work)
    bin_dir = Path(sys.executable).parent
    kube_dir = kube_schema_dir()
    crd_dir = root / "schemas" / "vendor" / "crds"
    helm_dir = root / "schemas" / "vendor" / "helm"
    split_dir = work / "split"
    schema_dir = work / "schemas"
    for d in (split_dir, schema_dir):
        d.mkdir(parents=True, exist_ok=True)

    findings = collections.defaultdict(list)  # example -> messages
    kinds = collections.defaultdict(collections.Counter)  # example -> Counter of kind
    origin = {}  # path given to a tool -> (example, "tree path[#doc]")
    builtin, custom, helm, objects = [], collections.defaultdict(list), collections.defaultdict(list), []

    for arg in trees:
        ex, tree = arg.split("=", 1)
        tree = Path(tree)
        files = sorted(p for p in tree.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
        if not files:
            findings[ex].append("no YAML file in the tree")
        for path in files:
            rel = path.relative_to(tree).as_posix()
            text = path.read_text(encoding="utf-8")
            try:
                docs = split_documents(text)
            except yaml.YAMLError as e:
                findings[ex].append(f"{rel}: not YAML: {e}")
                continue
            if not docs:
                findings[ex].append(f"{rel}: no YAML document")
            for i, doc in enumerate(docs):
                where = rel if len(docs) == 1 else f"{rel}#{i + 1}"
                if len(docs) == 1:
                    target = path
                else:
                    target = split_dir / ex / f"{rel}.{i + 1}.yaml"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(doc, encoding="utf-8")
                origin[str(target)] = (ex, where)
                value = yaml.safe_load(doc)
                if isinstance(value, dict) and "apiVersion" in value and "kind" in value:
                    api, kind = str(value["apiVersion"]), str(value["kind"])
                    group, _, version = api.rpartition("/")
                    if (kube_dir / builtin_schema_name(api, kind)).is_file():
                        builtin.append(str(target))
                        objects.append(str(target))
                        kinds[ex][f"{kind} ({api})"] += 1
                    elif group and (crd_dir / group / f"{kind.lower()}_{version}.json").is_file():
                        custom[(api, kind)].append(str(target))
                        kinds[ex][f"{kind} ({api}) CR"] += 1
                    else:
                        objects.append(str(target))
                        findings[ex].append(f"{where}: {kind} ({api}): no schema in kubernetes-validate or schemas/vendor/crds")
                    continue
                chart = next((c for c, pat in HELM.items() if pat.search(rel)), None)
                if chart is not None and isinstance(value, dict):
                    helm[chart].append(str(target))
                    kinds[ex][f"{chart} Helm values"] += 1
                else:
                    findings[ex].append(f"{where}: a YAML document that is neither an object (apiVersion, kind) nor Helm values")

    defs = json.loads((kube_dir / "_definitions.json").read_text())["$defs"]
    meta_defs = closure(defs, OBJECT_META)
    jobs = []  # (description, command, files, parser)
    # kubernetes-validate reads its definitions again for every object: the longest job, so
    # split across the cores.
    workers = os.cpu_count() or 2
    for part in (builtin[i::workers] for i in range(workers)):
        if part:
            jobs.append(("kubernetes-validate", [str(bin_dir / "kubernetes-validate"), "-k", KUBE_VERSION, "--strict", *part], part, "kv"))
    metadata_schema = root / "tests" / "realtools" / "k8s" / "metadata.schema.json"
    metadata_rules = json.loads(metadata_schema.read_text())
    # Objects that are not custom resources; the CR wrappers include the same rules.
    if objects:
        schema = metadata_schema
        jobs.append(("check-jsonschema metadata", [str(bin_dir / "check-jsonschema"), *CHECK_JSONSCHEMA_FLAGS, "--schemafile", str(schema), *objects], objects, "cj"))
    for (api, kind), files in sorted(custom.items()):
        group, _, version = api.rpartition("/")
        source = crd_dir / group / f"{kind.lower()}_{version}.json"
        crd = ecmascript_patterns(json.loads(source.read_text()), source)
        schema = schema_dir / f"{group}_{kind.lower()}_{version}.json"
        schema.write_text(json.dumps(crd_wrapper(api, kind, crd, meta_defs, metadata_rules)))
        jobs.append((f"check-jsonschema {kind}", [str(bin_dir / "check-jsonschema"), *CHECK_JSONSCHEMA_FLAGS, "--schemafile", str(schema), *files], files, "cj"))
    for chart, files in sorted(helm.items()):
        schema = helm_dir / chart / "values.schema.json"
        jobs.append((f"check-jsonschema {chart} values", [str(bin_dir / "check-jsonschema"), *CHECK_JSONSCHEMA_FLAGS, "--schemafile", str(schema), *files], files, "cj"))

    def where(path):
        return origin.get(path, (None, path))

    def judge(job):
        name, cmd, files, kind = job
        code, out, err = run(cmd)
        problems = []  # (path, message)
        if kind == "kv":
            passed = collections.Counter()
            for line in out.splitlines():
                m = re.match(r"^INFO (.*) passed for resource \S+ against version (\S+)$", line)
                if m and m.group(2) == "1.33":
                    passed[m.group(1)] += 1
                elif line.strip():
                    f = next((f for f in files if f" {f} " in f" {line} "), None)
                    problems.append((f, f"{name}: {line}"))
            for f in files:
                if passed[f] != 1 and not any(p == f for p, _ in problems):
                    problems.append((f, f"{name}: validated {passed[f]} times, not once"))
            if code != 0 and not problems:
                problems.append((None, f"{name}: exit {code}: {err.strip()}"))
        else:
            try:
                report = json.loads(out)
            except json.JSONDecodeError:
                return [(None, f"{name}: exit {code}: {out.strip()} {err.strip()}")]
            for e in report.get("errors", []):
                problems.append((e["filename"], f"{name}: {e['path']}: {e['message']}"))
            for e in report.get("parse_errors", []):
                problems.append((e["filename"], f"{name}: {e['message']}"))
            if code != 0 and not problems:
                problems.append((None, f"{name}: exit {code}: {err.strip()}"))
            if report.get("status") != "ok" and not problems:
                problems.append((None, f"{name}: status {report.get('status')}"))
        return problems

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for problems in pool.map(judge, jobs):
            for path, message in problems:
                ex, rel = where(path) if path else (None, "")
                findings[ex or "(all)"].append(f"{rel}: {message}" if rel else message)

    failed = False
    names = [a.split("=", 1)[0] for a in trees]
    for ex in names:
        n_builtin = sum(v for k, v in kinds[ex].items() if not k.endswith((" CR", " values")))
        n_custom = sum(v for k, v in kinds[ex].items() if k.endswith(" CR"))
        n_helm = sum(v for k, v in kinds[ex].items() if k.endswith(" values"))
        print(f"{ex:<22} {n_builtin:4d} built-in objects (kubernetes-validate), {n_custom:4d} custom resources, "
              f"{n_helm:2d} Helm values files (check-jsonschema): {len(findings[ex])} findings")
        for f in findings[ex]:
            print(f"  {ex}/{f}", file=sys.stderr)
        failed |= bool(findings[ex])
    for f in findings.get("(all)", []):
        print(f"  {f}", file=sys.stderr)
        failed = True
    print(f"\n{'objects per kind':<58}" + "".join(f"{n[:12]:>13}" for n in names))
    for k in sorted(set().union(*(kinds[n] for n in names))):
        print(f"{k:<58}" + "".join(f"{kinds[n][k]:>13}" for n in names))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
