#!/usr/bin/env bash
# tests/detect/test_incident_ids.sh -- incident ids depend on the evidence, not on where it lies
#
# scope.json, notify packages, the ledger and summary.md name incidents by
# id, so the same logs hunted from another place must give the same ids
# (docs/hunt.md "Incidents"). One simulated tenant (seed 1) is hunted with
# --incidents as
#   - an absolute folder path;
#   - a copy of the folder elsewhere, named with a trailing slash;
#   - a symbolic link to the folder;
#   - a relative path ("logs" from its parent) and "." from inside it;
#   - with -j 1 and -j 2;
#   - every file named on the command line (sorted), once by absolute path
#     and once relative from inside a copy: files named by the caller are
#     keyed by their base name;
# and every run must write byte-identical incidents.json with at least one
# incident. Another seed's tenant must share no id with it (the ids still
# tell different evidence apart).
# Skipped (77) without `mailhound hunt` running the detectors.
set -uo pipefail
: "${MH:?MH must name the mailhound binary}" "${MH_SRC:?MH_SRC must name the source tree}"
case $MH in /*) ;; *) MH=$PWD/$MH ;; esac # the runs below change directory
if ! "$MH" hunt --help 2>&1 | grep -q -- '--incidents'; then
  echo "skipped: this 'mailhound hunt' writes no incidents"
  exit 77
fi
export MAILHOUND_DATA="$MH_SRC"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
sim=(--users 60 --days 3 --scenario all)
"$MH" simulate --out "$tmp/s1" --seed 1 "${sim[@]}" 2>/dev/null || { echo "FAIL: simulate seed 1"; exit 1; }
"$MH" simulate --out "$tmp/s2" --seed 2 "${sim[@]}" 2>/dev/null || { echo "FAIL: simulate seed 2"; exit 1; }
mkdir -p "$tmp/elsewhere/deeper"
cp -R "$tmp/s1/logs" "$tmp/elsewhere/deeper/copy"
ln -s "$tmp/s1/logs" "$tmp/link"

# hunt NAME DIR ARGS...: incidents of a run from DIR into $tmp/NAME.json
hunt() {
  local name=$1 dir=$2
  shift 2
  if ! (cd "$dir" && "$MH" hunt -q --incidents "$tmp/$name.json" -o /dev/null "$@") 2>"$tmp/$name.err"; then
    bad "hunt $name failed: $(head -3 "$tmp/$name.err")"
  fi
}

hunt abs / "$tmp/s1/logs"
hunt copy / "$tmp/elsewhere/deeper/copy/"
hunt link / "$tmp/link"
hunt rel "$tmp/s1" logs
hunt dot "$tmp/s1/logs" .
hunt j1 / -j 1 "$tmp/s1/logs"
hunt j2 / -j 2 "$tmp/elsewhere/deeper/copy"
mapfile -t files < <(cd "$tmp/s1/logs" && find . -type f | LC_ALL=C sort)
hunt files_abs / "${files[@]/#./$tmp/s1/logs}"
hunt files_rel "$tmp/elsewhere/deeper/copy" "${files[@]}"
hunt seed2 / "$tmp/s2/logs"
[ $fail = 0 ] || exit 1

ids() { grep -o '"id":"INC-[0-9a-f]*"' "$1" | sed 's/.*"\(INC-[0-9a-f]*\)"/\1/'; }
n=$(ids "$tmp/abs.json" | wc -l)
[ "$n" -ge 1 ] || bad "seed 1 gave no incident (the test needs one)"
for r in copy link rel dot j1 j2; do
  if ! cmp -s "$tmp/abs.json" "$tmp/$r.json"; then
    bad "$r: other incidents than the absolute path: $(ids "$tmp/abs.json" | tr '\n' ' ') vs $(ids "$tmp/$r.json" | tr '\n' ' ')"
  fi
done
if ! cmp -s "$tmp/files_abs.json" "$tmp/files_rel.json"; then
  bad "files named one by one: ids differ between absolute and relative names:" \
    "$(ids "$tmp/files_abs.json" | tr '\n' ' ') vs $(ids "$tmp/files_rel.json" | tr '\n' ' ')"
fi
[ "$(ids "$tmp/files_abs.json" | wc -l)" -ge 1 ] || bad "files named one by one: no incident"
n2=$(ids "$tmp/seed2.json" | wc -l)
[ "$n2" -ge 1 ] || bad "seed 2 gave no incident (the test needs one)"
common=$(LC_ALL=C comm -12 <(ids "$tmp/abs.json" | LC_ALL=C sort) <(ids "$tmp/seed2.json" | LC_ALL=C sort))
[ -z "$common" ] || bad "seeds 1 and 2 share incident ids: $common"

if [ $fail = 0 ]; then
  echo "ok: $n incident ids identical over 7 runs on the folder (absolute, copy/, link, relative, ., -j 1, -j 2) and 2 on its files (absolute, relative); seed 2: $n2 other ids"
fi
exit $fail
