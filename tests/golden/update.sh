#!/usr/bin/env bash
# tests/golden/update.sh MAILHOUND -- regenerate tests/golden/expected/ from the
# current binary. Review `git diff tests/golden/expected` before committing:
# the golden tests themselves never regenerate anything.
#   usage: MH=build/release/mailhound tests/golden/update.sh   (or pass the binary)
set -euo pipefail
MH=${1:-${MH:?usage: update.sh MAILHOUND}}
MH=$(cd "$(dirname "$MH")" && pwd)/$(basename "$MH")
GOLDEN=$(cd "$(dirname "$0")" && pwd)
. "$GOLDEN/cases.sh"
rm -rf "$GOLDEN/expected"
golden_all "$GOLDEN/expected"
echo "golden: wrote $(find "$GOLDEN/expected" -type f | wc -l) files under tests/golden/expected"
