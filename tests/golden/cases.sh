# tests/golden/cases.sh -- the golden cases, sourced by test_cat.sh, test_stats.sh and update.sh
#
# Every file in inputs/ is one case for `cat` and one for `stats` (text and
# --json); the whole inputs/ folder is one more `stats` case. Commands run
# from tests/golden/ with relative paths, so file names in the output are
# stable. For each case three things are compared byte for byte: standard
# output (.out / .txt / .json), standard error (.err) and the exit status
# (last line of .err, "[exit N]").

golden_inputs() {
  (cd "$GOLDEN" && ls inputs | LC_ALL=C sort)
}

# golden_run NAME OUTFILE ERRFILE CMD... -- run CMD in tests/golden, capture
golden_run() {
  local out=$1 err=$2
  shift 2
  (cd "$GOLDEN" && "$@") >"$out" 2>"$err"
  echo "[exit $?]" >>"$err"
}

# golden_cat DIR / golden_stats DIR / golden_all DIR -- produce actual results into DIR/{cat,stats}/
golden_cat() {
  local dir=$1 f
  mkdir -p "$dir/cat"
  for f in $(golden_inputs); do
    golden_run "$dir/cat/$f.out" "$dir/cat/$f.err" "$MH" cat "inputs/$f"
  done
}

golden_stats() {
  local dir=$1 f
  mkdir -p "$dir/stats"
  for f in $(golden_inputs); do
    golden_run "$dir/stats/$f.txt" "$dir/stats/$f.txt.err" "$MH" stats "inputs/$f"
    golden_run "$dir/stats/$f.json" "$dir/stats/$f.json.err" "$MH" stats --json "inputs/$f"
  done
  golden_run "$dir/stats/ALL.txt" "$dir/stats/ALL.txt.err" "$MH" stats inputs
  golden_run "$dir/stats/ALL.json" "$dir/stats/ALL.json.err" "$MH" stats --json inputs
}

golden_all() {
  golden_cat "$1"
  golden_stats "$1"
}
