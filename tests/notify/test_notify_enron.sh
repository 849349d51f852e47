#!/usr/bin/env bash
# tests/notify/test_notify_enron.sh -- packages for the Enron corpus subset
#
# Takes the mailboxes in MH_ENRON_OWNERS (default: five inboxes, ~600
# messages; "all" for every mailbox) of ../shared/corpora/mail/enron as
# compromised: scope.json lists every message of them as observed
# (tests/notify/enron.py scope). `mailhound notify --internal enron.com` must
# give every external domain the corpus MANIFEST.tsv names for those files its
# package -- the registrable domain's, or one per address for free-mail --
# and only free-mail users individual packages. Prints counts.
# Skips (77) when ../shared or python3 is absent.
set -uo pipefail
MH=${MH:?MH must name the mailhound binary}
src=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
corpus="$src/../shared/corpora/mail/enron/edgar427-inbox-lf"
[ -f "$corpus/MANIFEST.tsv" ] || { echo "../shared/corpora/mail/enron absent: skipped"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
[ -f /usr/share/publicsuffix/public_suffix_list.dat ] || { echo "no public suffix list: skipped"; exit 77; }
owners=${MH_ENRON_OWNERS:-dasovich-j kaminski-v lokey-t steffes-j hodge-j}
[ "$owners" = all ] && owners=$(ls "$corpus/maildir")
work=$(mktemp -d "${TMPDIR:-/tmp}/mh-notify-enron.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
# shellcheck disable=SC2086
python3 "$src/tests/notify/enron.py" scope "$corpus" $owners >"$work/scope.json" || exit 1
if ! "$MH" notify -q --scope "$work/scope.json" --mail "$corpus/maildir" --out "$work/out" \
     --internal enron.com >"$work/notify.log" 2>&1; then
  cat "$work/notify.log"; echo "FAIL: notify"; exit 1
fi
cat "$work/notify.log"
# shellcheck disable=SC2086
python3 "$src/tests/notify/enron.py" check "$corpus" "$work/out" "$src/rules/notify/freemail.txt" \
  $owners || exit 1
echo "ok: every external organisation of the compromised mailboxes has its package"
