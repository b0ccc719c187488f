#!/usr/bin/env bash
# Starts a PostgreSQL server for the test suite on 127.0.0.1:${HANGAR_TEST_PG_PORT:-54329}
# (installing Debian's postgresql when no server binary is found) and prints its URL.
# Idempotent: when the server already answers, prints the URL and does nothing else.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port=${HANGAR_TEST_PG_PORT:-54329}
data=${HANGAR_TEST_PG_DATA:-/var/lib/hangar-test-postgres}
run=/run/hangar-test-postgres
url="postgres://postgres@127.0.0.1:$port/postgres"

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { printf '%s' "$d"; return; }; done
  command -v pg_ctl >/dev/null 2>&1 && dirname "$(command -v pg_ctl)"
}

bin=$(find_bin || true)
if [ -z "$bin" ]; then apt_install postgresql; bin=$(find_bin); fi
[ -n "$bin" ] || die "no PostgreSQL server binaries found after installing postgresql."

if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; then echo "$url"; exit 0; fi
is_root || die "starting the test PostgreSQL needs root (it runs as a system user)."

user=postgres
id "$user" >/dev/null 2>&1 || { useradd --system --no-create-home --shell /usr/sbin/nologin hangar-pg; user=hangar-pg; }
mkdir -p "$data" "$run"; chown "$user" "$data" "$run"; chmod 700 "$data"
if [ ! -f "$data/PG_VERSION" ]; then
  runuser -u "$user" -- "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-sync >/dev/null \
    || die "initdb failed for $data."
fi
runuser -u "$user" -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$run -c fsync=on" start >/dev/null \
  || { tail -n 20 "$data/server.log" >&2; die "PostgreSQL did not start; see $data/server.log."; }
echo "$url"
