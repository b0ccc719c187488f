#!/usr/bin/env bash
# The main job: sets everything up, starts `hangar server` on its embedded
# defaults (SQLite in ~/.local/share/hangar, the local Docker Engine, listening
# on 127.0.0.1:4280), walks through the build-secrets workflow against it, and
# then keeps the server in the foreground until Ctrl-C.
#   HANGAR_DEMO_ONLY=1   stop the server (if this script started it) after the demo
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HANGAR_ROOT"

bash scripts/setup.sh


api_url=${HANGAR_API_URL:-http://127.0.0.1:4280}
export HANGAR_API_URL=$api_url
state=${XDG_STATE_HOME:-$HOME/.local/state}/hangar
mkdir -p "$state"

api_answers() {
  node -e 'fetch(process.argv[1] + "/v1/health").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$api_url"
}

server_pid=""
stop_server() { if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi; }
trap stop_server EXIT INT TERM

if api_answers; then
  say "hangar server already answers at $api_url; using it"
else
  listen=${api_url#http://}
  say "starting hangar server on $listen (log: $state/server.log)"
  # Its standard output (the one-time admin token on first start) goes to this
  # terminal only; the structured log, which never holds a value or a token, to the file.
  "$HANGAR_ROOT/bin/hangar" server --listen "$listen" 2>>"$state/server.log" &
  server_pid=$!
  for _ in $(seq 1 100); do api_answers && break; sleep 0.1; done
  api_answers || { tail -n 20 "$state/server.log" >&2; die "hangar server did not answer at $api_url; see $state/server.log."; }
fi

bash scripts/demo.sh

if [ "${HANGAR_DEMO_ONLY:-0}" = 1 ] || [ -z "$server_pid" ]; then exit 0; fi
say "hangar server is running at $api_url; press Ctrl-C to stop it"
wait "$server_pid"
