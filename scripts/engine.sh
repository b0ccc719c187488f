#!/usr/bin/env bash
# Makes sure a Docker Engine answers: uses the one at DOCKER_HOST (or the default
# socket) when it answers /_ping; otherwise, as root on Debian, installs Debian's
# docker.io and starts dockerd off every network but loopback. Never starts a
# second engine when one answers.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Debian's docker client is the peer tool in tests and benchmarks; install it even
# when an engine is reachable elsewhere.
if [ ! -x /usr/bin/docker ] || ! command -v dockerd >/dev/null 2>&1; then
  if ! engine_ping || [ ! -x /usr/bin/docker ]; then
    apt_install docker.io
  fi
fi

if engine_ping; then
  say "engine answers at $(engine_host)"
  exit 0
fi

host=$(engine_host)
case "$host" in
  unix://*) sock=${host#unix://} ;;
  *) die "no Docker Engine answers at $host; start it, or unset DOCKER_HOST to let setup start a local one." ;;
esac
is_root || die "no Docker Engine answers at $host and starting one needs root; start dockerd, or run setup as root."

# A dockerd that is running: not a zombie (a killed engine stays one until it
# is reaped) and really dockerd (pids are reused).
process_alive() {
  local pid=$1 name=$2
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$name"
}

# Stale pid files from an engine we started earlier that has since been killed:
# dockerd's own, and that of the containerd it supervised, which would make a
# new dockerd wait for a containerd that is gone.
if [ -f "$HANGAR_ENGINE_PIDFILE" ] && ! process_alive "$(cat "$HANGAR_ENGINE_PIDFILE")" dockerd; then
  rm -f "$HANGAR_ENGINE_PIDFILE"
fi
containerd_pidfile="$HANGAR_ENGINE_EXEC_ROOT/containerd/containerd.pid"
if [ ! -f "$HANGAR_ENGINE_PIDFILE" ] && [ -f "$containerd_pidfile" ] \
  && ! process_alive "$(cat "$containerd_pidfile")" containerd; then
  rm -f "$containerd_pidfile"
fi

if [ ! -f "$HANGAR_ENGINE_PIDFILE" ]; then
  mkdir -p "$HANGAR_ENGINE_ROOT" "$(dirname "$HANGAR_ENGINE_LOG")" "$(dirname "$sock")"
  say "starting dockerd (data root $HANGAR_ENGINE_ROOT, log $HANGAR_ENGINE_LOG)"
  # --bridge=none and --iptables=false keep the engine off every network but
  # loopback: builds and machines use host networking.
  setsid nohup dockerd \
    --host "unix://$sock" \
    --data-root "$HANGAR_ENGINE_ROOT" \
    --exec-root "$HANGAR_ENGINE_EXEC_ROOT" \
    --pidfile "$HANGAR_ENGINE_PIDFILE" \
    --bridge=none --iptables=false --ip-masq=false \
    --userland-proxy=false \
    >>"$HANGAR_ENGINE_LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 120); do
  if engine_ping; then say "engine answers at $host"; exit 0; fi
  sleep 0.5
done
printf 'setup: dockerd did not answer at %s within 60 s; last lines of %s:\n' "$host" "$HANGAR_ENGINE_LOG" >&2
tail -n 20 "$HANGAR_ENGINE_LOG" >&2 || true
exit 1
