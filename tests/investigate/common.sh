# tests/investigate/common.sh -- sourced by the investigate suites
# Picks the binary: the release build ($MH_SRC/build/release/mailhound) when it
# has `investigate`, at MH_INV_USERS x MH_INV_DAYS (default 2000 x 14, the
# issue's and `make demo`'s tenant); else the
# ctest binary (ASan, several times slower) at 40 x 4, rerunning (byte
# identity) for the first seed only. Says which it ran.
# Secret rules: gitleaks' own gitleaks.toml (../shared/corpora) when present --
# truth.json names the planted secrets by its rule ids -- else mailhound's
# default rules, compared by message and fingerprint (check.py).
: "${MH:?MH must name the mailhound binary}" "${MH_SRC:?MH_SRC must name the source tree}"
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
bin=$MH users=${MH_INV_USERS:-40} days=${MH_INV_DAYS:-4} kind="ctest binary" rerun_all=0
rel="$MH_SRC/build/release/mailhound"
if [ -x "$rel" ] && "$rel" investigate --help >/dev/null 2>&1; then
  bin=$rel users=${MH_INV_USERS:-2000} days=${MH_INV_DAYS:-14} kind="release binary" rerun_all=1
fi
if ! "$bin" investigate --help >/dev/null 2>&1; then
  echo "skipped: 'mailhound investigate' is not available in this build"; exit 77
fi
export MAILHOUND_DATA="$MH_SRC"
gl="$MH_SRC/../shared/corpora/gitleaks/gitleaks/gitleaks.toml"
if [ -f "$gl" ]; then secopt=(--secrets-rules "$gl") rulemode=gitleaks
else secopt=() rulemode=default; fi
seeds=${MH_INV_SEEDS:-1 2 3 4 5}
first_seed=${seeds%% *}
# rerun SEED: whether this seed also checks reruns
rerun() { [ "$rerun_all" = 1 ] || [ "$1" = "$first_seed" ]; }
check="$MH_SRC/tests/investigate/check.py"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mh-inv.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "$suite: $kind $bin, --users $users --days $days, seeds $seeds, secret rules: $rulemode"

# simulate SEED -> $tmp/sSEED
simulate() {
  "$bin" simulate --out "$tmp/s$1" --users "$users" --days "$days" --seed "$1" --scenario all \
    >"$tmp/sim.log" 2>&1 || { cat "$tmp/sim.log"; echo "FAIL: simulate seed $1"; return 1; }
}

# same_bytes DIR1 DIR2 WHAT: every output file identical
same_bytes() {
  if diff -r "$1" "$2" >"$tmp/diff.txt" 2>&1; then
    echo "  rerun ($3): all outputs byte-identical ($(find "$1" -type f | wc -l) files)"
  else
    head -5 "$tmp/diff.txt"; echo "FAIL: rerun ($3) differs"; return 1
  fi
}
