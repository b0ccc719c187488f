#!/usr/bin/env bash
# Sets up everything, then runs the whole test suite: typecheck, lint, and the
# unit and engine tests (vitest). Store tests also run against PostgreSQL,
# started here on loopback. Exits non-zero on any failure; the last line is
# "N passed, N failed, N skipped" over all of it.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HANGAR_ROOT"

bash scripts/setup.sh || exit 1
HANGAR_TEST_POSTGRES_URL=$(bash scripts/postgres.sh) || exit 1
export HANGAR_TEST_POSTGRES_URL

passed=0; failed=0; skipped=0
check() {
  local name=$1; shift
  say "$name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); printf 'FAILED: %s\n' "$name" >&2; fi
}
check typecheck node node_modules/typescript/bin/tsc --noEmit -p tsconfig.json
check lint node node_modules/eslint/bin/eslint.js --max-warnings=0 .

say "vitest"
out=$(mktemp)
node node_modules/vitest/vitest.mjs run "$@" 2>&1 | tee "$out"
vitest_rc=${PIPESTATUS[0]}
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
rm -f "$out"
if [ -n "$summary" ]; then
  read -r p _ f _ s _ <<<"${summary//,/}"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
fi
[ "$vitest_rc" = 0 ] || [ "$failed" -gt 0 ] || failed=$((failed + 1))

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
