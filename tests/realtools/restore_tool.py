"""Helpers of backup-restore.sh that need a YAML reader or an S3 client.

Each subcommand reads the generated tree as written; none of them changes it.
Runs in the moto venv (boto3 and PyYAML come with moto[server]).
"""

import json
import os
import re
import sys

import boto3
import yaml

# The pgBackRest options a test may override: where things are (object store endpoint and
# port, CA file, the test's data directory, socket and spool) and the credentials. Anything
# else (schedules, retention, compression, encryption type, archive settings, repository
# path and bucket) must come from the generated configuration as written.
LOCATION_AND_CREDENTIALS = {
    "repo1-storage-host",
    "repo1-storage-port",
    "repo1-storage-ca-file",
    "repo1-s3-uri-style",
    "repo1-s3-key-type",
    "repo1-s3-key",
    "repo1-s3-key-secret",
    "repo1-cipher-pass",
    "pg1-path",
    "pg1-port",
    "pg1-socket-path",
    "spool-path",
    "lock-path",
    "log-path",
}


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def read_ini(path):
    """pgBackRest's reader: sections, key=value, '#' comments; repeated keys are errors."""
    sections, current = {}, None
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = sections.setdefault(line[1:-1], {})
                continue
            if current is None or "=" not in line:
                fail(f"{path}:{number}: not an option of a section: {line!r}")
            key, value = (part.strip() for part in line.split("=", 1))
            if key in current:
                fail(f"{path}:{number}: {key} set twice")
            current[key] = value
    return sections


def postgrescluster(tree, plant, env):
    path = os.path.join(tree, "plants", plant, env, "kubernetes", "postgrescluster-postgres.yaml")
    with open(path, encoding="utf-8") as f:
        return path, yaml.safe_load(f)


def cmd_overrides(_args):
    """Lists the overrides in the environment and refuses any outside LOCATION_AND_CREDENTIALS."""
    overridden = sorted(
        name[len("PGBACKREST_"):].lower().replace("_", "-")
        for name in os.environ
        if name.startswith("PGBACKREST_")
    )
    bad = [option for option in overridden if option not in LOCATION_AND_CREDENTIALS]
    for option in overridden:
        shown = "(secret)" if option.endswith(("key", "key-secret", "cipher-pass")) else os.environ[
            "PGBACKREST_" + option.upper().replace("-", "_")
        ]
        print(f"  override {option} = {shown}")
    if bad:
        fail(
            "these overrides change more than location and credentials: "
            + ", ".join(bad)
            + " (the test must run the generated configuration as written)"
        )


def cmd_consistency(args):
    """The restore host's pgbackrest.conf is what PGO runs, and its path is what IAM grants."""
    tree, plant, env = args
    conf_path = os.path.join(tree, "plants", plant, env, "pgbackrest", "pgbackrest.conf")
    conf = read_ini(conf_path)
    glob = conf.get("global", {})
    cr_path, cr = postgrescluster(tree, plant, env)
    pgbr = cr["spec"]["backups"]["pgbackrest"]
    problems = []
    for key, value in pgbr.get("global", {}).items():
        if glob.get(key) != str(value):
            problems.append(f"{key}: PostgresCluster says {value!r}, pgbackrest.conf {glob.get(key)!r}")
    for repo in pgbr["repos"]:
        n = repo["name"]
        for field in ("bucket", "endpoint", "region"):
            want = repo["s3"][field]
            got = glob.get(f"{n}-s3-{field}")
            if got != want:
                problems.append(f"{n}-s3-{field}: PostgresCluster says {want!r}, pgbackrest.conf {got!r}")
    if problems:
        fail(f"{conf_path} and {cr_path} disagree:\n  " + "\n  ".join(problems))

    # The repository paths the IAM role of the plant may write (terraform/plants/<p>/<e>).
    main_tf = os.path.join(tree, "terraform", "plants", plant, env, "main.tf")
    with open(main_tf, encoding="utf-8") as f:
        text = f.read()
    grants = dict(
        re.findall(
            r'"(repo\d+)"\s*=\s*\{[^}]*?\bpath\s*=\s*"([^"]*)"',
            text,
        )
    )
    buckets = dict(re.findall(r'"(repo\d+)"\s*=\s*\{[^}]*?\bbucket\s*=\s*"([^"]*)"', text))
    for repo in pgbr["repos"]:
        n = repo["name"]
        if n not in grants:
            fail(f"{main_tf}: no IAM grant for {n}")
        if glob.get(f"{n}-path") != grants[n] or glob.get(f"{n}-s3-bucket") != buckets[n]:
            fail(
                f"{n}: pgbackrest.conf writes s3://{glob.get(f'{n}-s3-bucket')}{glob.get(f'{n}-path')}, "
                f"the IAM role of {main_tf} grants s3://{buckets[n]}{grants[n]}"
            )
    print(f"  pgbackrest.conf = PostgresCluster spec.backups.pgbackrest = IAM grant ({len(grants)} repo)")


def cmd_conf(args):
    """Prints one option of the generated pgbackrest.conf ([global] then the stanza)."""
    conf_path, section, key = args
    conf = read_ini(conf_path)
    value = conf.get(section, {}).get(key, conf.get("global", {}).get(key))
    if value is None:
        fail(f"{conf_path}: no {key}")
    print(value)


def cmd_pg_settings(args):
    """postgresql.conf lines of the PostgresCluster's parameters, as PGO's Patroni sets them."""
    tree, plant, env = args
    _, cr = postgrescluster(tree, plant, env)
    params = cr["spec"].get("patroni", {}).get("dynamicConfiguration", {}).get("postgresql", {}).get(
        "parameters", {}
    )
    for key, value in sorted(params.items()):
        text = str(value).replace("'", "''")
        print(f"{key} = '{text}'")


def cmd_runbook_block(args):
    """The shell block of the runbook under <!-- blueprint:restore env=ENV kind=KIND ... -->."""
    runbook, env, kind = args
    with open(runbook, encoding="utf-8") as f:
        text = f.read()
    pattern = re.compile(
        r"<!-- blueprint:restore env=" + re.escape(env) + r" kind=" + re.escape(kind)
        + r"(?: [^>]*)? -->\n```sh\n(.*?)```\n",
        re.S,
    )
    found = pattern.findall(text)
    if len(found) != 1:
        fail(f"{runbook}: {len(found)} blocks marked env={env} kind={kind}, expected 1")
    sys.stdout.write(found[0])


def s3():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_URL"],
        region_name=os.environ["S3_REGION"],
        aws_access_key_id=os.environ["S3_KEY"],
        aws_secret_access_key=os.environ["S3_KEY_SECRET"],
        verify=os.environ["S3_CA_FILE"],
    )


def cmd_bucket_create(args):
    """The bucket as the backup-bucket module makes it: versioned, with object lock."""
    (bucket,) = args
    client = s3()
    client.create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": os.environ["S3_REGION"]},
        ObjectLockEnabledForBucket=True,
    )
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def objects(client, bucket):
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield item["Key"], item["Size"]


def cmd_bucket_scan(args):
    """Every repository object lies under the granted path, is encrypted, hides the canary."""
    bucket, path, canary = args
    client = s3()
    prefix = path.strip("/") + "/"
    count = total = 0
    for key, size in objects(client, bucket):
        count += 1
        total += size
        if not key.startswith(prefix):
            fail(f"s3://{bucket}/{key} lies outside the repository path {path} the IAM role grants")
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        if not body.startswith(b"Salted__"):
            fail(f"s3://{bucket}/{key} is not encrypted (no cipher header): {body[:32]!r}")
        if canary.encode() in body:
            fail(f"s3://{bucket}/{key} contains the plain-text canary")
    if count == 0:
        fail(f"s3://{bucket} is empty")
    print(json.dumps({"objects": count, "bytes": total}))


def main():
    commands = {
        "overrides": cmd_overrides,
        "consistency": cmd_consistency,
        "conf": cmd_conf,
        "pg-settings": cmd_pg_settings,
        "runbook-block": cmd_runbook_block,
        "bucket-create": cmd_bucket_create,
        "bucket-scan": cmd_bucket_scan,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        fail("usage: restore_tool.py " + "|".join(commands) + " ARGS...")
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
