#!/usr/bin/env bash
# Creates the local base images when missing, so that `FROM busybox` and
# `FROM debian:bookworm-slim` resolve with no registry:
#   busybox:latest        a root fs with Debian's static busybox and a link per applet
#   debian:bookworm-slim  debootstrap --variant=minbase, apt lists and caches removed
# The debian root fs is kept as a tarball under $HANGAR_STATE_DIR so it is made once
# per machine even if the engine's store is reset.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

have_image() { docker_cli image inspect "$1" >/dev/null 2>&1; }

make_busybox() {
  [ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 && { ldd /bin/busybox 2>&1 || true; } | grep -q "not a dynamic" \
    || apt_install busybox-static
  local root; root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  mkdir -p "$root"/{bin,etc,tmp,root,home,var,usr/bin,usr/sbin,sbin,proc,sys,dev}
  chmod 1777 "$root/tmp"; chmod 700 "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -c . \
    | docker_cli import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["sh"]' - busybox:latest >/dev/null
  say "created busybox:latest"
}

debian_mirror() {
  # The machine's own Debian mirror, from its apt sources (deb822 or one-line form).
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "found no Debian mirror in /etc/apt/sources.list or sources.list.d/debian.sources; add one."
  printf '%s' "$uri"
}

make_debian() {
  local cache="$HANGAR_STATE_DIR/debian-bookworm-slim.tar"
  if [ ! -s "$cache" ]; then
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    is_root || die "creating debian:bookworm-slim needs root (debootstrap)."
    local root mirror; root=$(mktemp -d /var/tmp/hangar-debian.XXXXXX); mirror=$(debian_mirror)
    say "debootstrap --variant=minbase bookworm from the machine's mirror (about a minute, once per machine)"
    if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$HANGAR_STATE_DIR/debootstrap.log" 2>&1; then
      tail -n 20 "$HANGAR_STATE_DIR/debootstrap.log" >&2; rm -rf "$root"
      die "debootstrap failed; see $HANGAR_STATE_DIR/debootstrap.log."
    fi
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
      "$root"/var/log/*.log "$root"/tmp/* "$root"/debootstrap 2>/dev/null || true
    mkdir -p "$root/var/lib/apt/lists/partial"
    tar --numeric-owner -C "$root" -cf "$cache.tmp" . && mv "$cache.tmp" "$cache"
    rm -rf "$root"
  fi
  docker_cli import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$cache" debian:bookworm-slim >/dev/null
  say "created debian:bookworm-slim"
}

mkdir -p "$HANGAR_STATE_DIR"
have_image busybox:latest || make_busybox
have_image debian:bookworm-slim || make_debian
