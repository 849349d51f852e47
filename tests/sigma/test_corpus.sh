#!/usr/bin/env bash
# tests/sigma/test_corpus.sh -- every rule of the shared Sigma corpus loads
# (docs/sigma.md §1): `rules check` totals, no rejection. Skips without ../shared.
set -uo pipefail
: "${MH:?set MH to the mailhound binary}" "${MH_SRC:?}"
cd "$MH_SRC"
C=../shared/corpora/sigma
if [ ! -d "$C" ]; then echo "skipped: $C absent"; exit 77; fi
out=$("$MH" rules check -q "$C" 2>&1); rc=$?
tot=$(printf '%s\n' "$out" | grep '^totals:')
echo "$tot"
want='totals: 3823 documents in 3817 files: 3823 loaded (3808 detection, 13 correlation, 2 filter), 0 rejected'
case "$tot" in "$want"*) ;; *) echo "FAIL: want '$want...'"; exit 1 ;; esac
[ $rc -eq 0 ] || { echo "FAIL: exit $rc"; exit 1; }
# the routed cloud rules: 152 SigmaHQ azure/m365 + 21 third-party
printf '%s\n' "$tot" | grep -q '173 routed to a log source' || { echo "FAIL: routed count"; exit 1; }
# a rejection names file:line:col and the reason
printf 'title: x\nlogsource: {product: json}\ndetection:\n  sel: {a|nope: 1}\n  condition: sel\n' >/tmp/mh_bad_rule.$$.yml
line=$("$MH" rules check /tmp/mh_bad_rule.$$.yml 2>&1 | grep rejected); rc=$?
rm -f /tmp/mh_bad_rule.$$.yml
case "$line" in *"mh_bad_rule.$$.yml:4:9: rejected: unknown modifier"*) ;; *) echo "FAIL: rejection line: $line"; exit 1 ;; esac
echo "corpus: ok"
