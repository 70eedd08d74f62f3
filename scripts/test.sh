#!/usr/bin/env bash
# The test command: installs what the suite needs (Deno from npm; as root also the Debian
# packages of the test world and Courier's reference binary), then runs every test and
# closes with one line "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
deno=scripts/deno.sh
if [ "$(id -u)" = 0 ]; then
  bash scripts/install-world-deps.sh
else
  echo "test: SKIPPING the test world: not root (it needs network namespaces and Debian packages)" >&2
fi
"$deno" install --frozen --quiet
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
# --doc also runs the examples in the library's documentation.
[ "$#" -gt 0 ] || set -- mod.ts cli.ts lib/ tests/
"$deno" test --allow-all --frozen --no-prompt --doc "$@" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
set -e
# Deno's summary: "ok | 12 passed (3 steps) | 0 failed | 2 ignored (1s)".
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| ' | tail -n 1)
passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '^[0-9]+' || echo 0)
failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '^[0-9]+' || echo 0)
skipped=$(grep -oE '[0-9]+ ignored' <<<"$summary" | grep -oE '^[0-9]+' || echo 0)
if [ -z "$summary" ]; then failed=$((failed + 1)); fi
if [ "$code" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$code"
