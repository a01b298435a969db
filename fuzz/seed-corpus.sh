#!/usr/bin/env bash
# Seeds corpus/parse and corpus/pipeline with the examples and the rule cases, in the forms the
# targets read: one file per parse seed; a whole plants directory per pipeline seed (its files
# joined as blueprint_tests::fuzz::join_files does: `NAME\nCONTENT`, NUL between files, the
# fleet first). Run from anywhere; rerunning rewrites the same seeds.
set -euo pipefail
cd "$(dirname "$0")"
root=..
mkdir -p corpus/parse corpus/pipeline corpus/valid

# Writes the plants directory $1 as one pipeline seed on stdout.
join_dir() {
  local dir=$1 first=1 f
  local files=()
  [[ -f $dir/fleet.toml ]] && files+=("$dir/fleet.toml")
  while IFS= read -r f; do files+=("$f"); done < <(
    find "$dir" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.toml' \) \
      ! -path "$dir/fleet.toml" | LC_ALL=C sort)
  for f in "${files[@]}"; do
    ((first)) || printf '\0'
    first=0
    printf '%s\n' "$(basename "$f")"
    cat "$f"
  done
}

n=0
for dir in "$root"/examples/*/plants "$root"/tests/cases/check/*/plants; do
  [[ -d $dir ]] || continue
  name=$(basename "$(dirname "$dir")")
  join_dir "$dir" > "corpus/pipeline/$name"
  while IFS= read -r f; do
    cp "$f" "corpus/parse/$name-$(basename "$f")"
  done < <(find "$dir" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.toml' \))
  n=$((n + 1))
done
# The generator's simplest fleet (all choices zero) and a few fixed arbitrary ones.
head -c 64 /dev/zero > corpus/valid/zeros
for i in 1 2 3 4; do seq "$i" 7 9999 | head -c 1024 > "corpus/valid/seq-$i"; done
echo "seeded $n plants directories: $(ls corpus/parse | wc -l) parse seeds, $(ls corpus/pipeline | wc -l) pipeline seeds"
