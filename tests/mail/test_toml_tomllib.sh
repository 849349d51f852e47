#!/usr/bin/env bash
# tests/mail/test_toml_tomllib.sh -- differential test of the TOML reader against
# Python's tomllib: every gitleaks config in ../shared (and the project's own
# rule file) must parse to the same tree. Skips (77) without ../shared or tomllib.
set -euo pipefail
src=${MH_SRC:-.}
build=${MH_BUILD:-build}
gl="$src/../shared/corpora/gitleaks/gitleaks"
if [ ! -d "$gl" ]; then echo "skipped: $gl absent"; exit 77; fi
if ! python3 -c 'import tomllib' 2>/dev/null; then echo "skipped: python3 tomllib absent"; exit 77; fi
dump="$build/test_toml"
[ -x "$dump" ] || { echo "missing $dump"; exit 1; }

files=("$gl/gitleaks.toml" "$src/rules/secrets/default.toml")
while IFS= read -r f; do files+=("$f"); done < <(find "$gl/testdata/config" -name '*.toml' | sort)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
i=0
for f in "${files[@]}"; do
  "$dump" --dump "$f" >"$work/$i.json"
  printf '%s\t%s\n' "$f" "$work/$i.json" >>"$work/list.tsv"
  i=$((i + 1))
done
python3 - "$work/list.tsv" <<'EOF2'
import json, math, sys, tomllib
def norm(v):
    if isinstance(v, dict): return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list): return [norm(x) for x in v]
    if isinstance(v, float) and math.isnan(v): return "nan"
    if isinstance(v, float) and math.isinf(v): return "inf" if v > 0 else "-inf"
    return v
bad = 0
n = 0
for line in open(sys.argv[1]):
    path, ours = line.rstrip("\n").split("\t")
    with open(path, "rb") as fh:
        ref = tomllib.load(fh)
    if norm(ref) != json.load(open(ours)):
        print("MISMATCH", path); bad += 1
    n += 1
if bad: sys.exit(1)
print("toml: %d files parse identically to tomllib" % n)
EOF2
