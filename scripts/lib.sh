# Shared helpers for Hangar's setup scripts. Sourced, never run.
# Everything here must be idempotent: a second run with everything in place changes nothing.

HANGAR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HANGAR_STATE_DIR=${HANGAR_STATE_DIR:-/var/lib/hangar-setup}
HANGAR_ENGINE_ROOT=${HANGAR_ENGINE_ROOT:-/var/lib/hangar-docker}
HANGAR_ENGINE_LOG=${HANGAR_ENGINE_LOG:-/var/log/hangar-dockerd.log}
HANGAR_ENGINE_PIDFILE=${HANGAR_ENGINE_PIDFILE:-/run/hangar-dockerd.pid}
HANGAR_ENGINE_EXEC_ROOT=${HANGAR_ENGINE_EXEC_ROOT:-/run/hangar-docker}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
is_debian() { [ -f /etc/debian_version ]; }

apt_updated=0
apt_install() {
  # Installs Debian packages by name from the machine's own apt sources.
  is_root && is_debian || die "missing $*: install them (Debian packages: $*) or run this script as root on Debian."
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -q >/dev/null || die "apt-get update failed; check the machine's apt sources."
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed."
}

# The engine endpoint the tools will use: DOCKER_HOST, else the default socket.
engine_host() { printf '%s' "${DOCKER_HOST:-unix:///var/run/docker.sock}"; }

# Returns 0 when the engine answers GET /_ping with OK.
engine_ping() {
  local host; host=$(engine_host)
  node -e '
    const http = require("node:http");
    const host = process.argv[1];
    const opts = { path: "/_ping", method: "GET", timeout: 2000 };
    if (host.startsWith("unix://")) opts.socketPath = host.slice(7);
    else if (host.startsWith("tcp://")) { const u = new URL("http://" + host.slice(6)); opts.host = u.hostname; opts.port = u.port || 2375; }
    else process.exit(2);
    const req = http.request(opts, (res) => { let b = ""; res.on("data", (d) => (b += d)); res.on("end", () => process.exit(res.statusCode === 200 && b === "OK" ? 0 : 1)); });
    req.on("error", () => process.exit(1)); req.on("timeout", () => { req.destroy(); process.exit(1); }); req.end();
  ' "$host"
}

docker_cli() {
  # Debian's 20.10 client (BuildKit built in) is preferred; a newer client without buildx is not.
  if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}
