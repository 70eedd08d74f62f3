#!/usr/bin/env bash
# Runs the project's pinned Deno, installing it from the npm package `deno` on first use.
# It lives outside the work tree: a package.json in the repository would change how Deno
# resolves npm packages.
set -euo pipefail
DENO_VERSION=2.9.6
prefix="${TESTMXLOOKUP_DENO_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/testmxlookup/deno-$DENO_VERSION}"
bin="$prefix/node_modules/deno/deno"
if [ ! -x "$bin" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION" >&2
  [ -x "$bin" ] || bin="$prefix/node_modules/.bin/deno"
  # First use: fill Deno's cache from the lock file, so `deno task lookup` (--cached-only)
  # runs at once.
  (cd "$(dirname "$0")/.." && "$bin" install --frozen --quiet) >&2
fi
# No update check: it would ask this machine's resolver for dl.deno.land, and the tests and
# benchmarks send packets only to servers they start (also for the deno processes they spawn).
export DENO_NO_UPDATE_CHECK=1
exec "$bin" "$@"
