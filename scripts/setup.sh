#!/usr/bin/env bash
# Sets up everything Hangar needs on this machine, idempotently:
#   npm packages (from the lockfile), the built CLI (dist/), a reachable Docker
#   Engine (Debian's docker.io started off-network when none answers), and the
#   local base images busybox:latest and debian:bookworm-slim.
# A second run with everything in place changes nothing and takes seconds.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HANGAR_ROOT"

command -v node >/dev/null 2>&1 || die "Node.js 20 is required; install it (node --version should print v20.19 or later)."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js $(node --version) is too old; Hangar needs v20.19 or later."

# npm packages, only when the lockfile changed since the last install.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.hangar-lock ] || [ "$(cat node_modules/.hangar-lock)" != "$lock_sum" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed; see the output above."
  printf '%s' "$lock_sum" > node_modules/.hangar-lock
fi

# The CLI bundle, only when a source is newer than it.
if [ ! -f dist/hangar.cjs ] || [ -n "$(find src package.json tsup.config.ts -newer dist/hangar.cjs -print -quit)" ]; then
  say "building dist/"
  node node_modules/tsup/dist/cli-default.js --silent || die "building the CLI failed; see the output above."
fi

bash scripts/engine.sh
bash scripts/base-images.sh
say "setup done"
