#!/usr/bin/env bash
# A walk through the build-secrets workflow against a running `hangar server`
# (HANGAR_API_URL) and the local engine. Secret values are generated here, kept
# in files of mode 0600 in a private temp dir and passed by stdin or by file:
# never in an argument list.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

hangar() { "$HANGAR_ROOT/bin/hangar" "$@"; }
step() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }
app=${HANGAR_DEMO_APP:-demo}
image=hangar-demo/$app

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
cp -r "$HANGAR_ROOT/examples/build-secrets/." "$work/"
cd "$work"
umask 077
rand() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }
printf 'postgres://app:%s@127.0.0.1:5432/app' "$(rand)" > database_url
printf 'key-%s' "$(rand)" > api_key
printf 'tok-%s' "$(rand)" > mysecret.txt
printf "export DATABASE_URL='%s'\nexport API_KEY='%s'\n" "$(cat database_url)" "$(cat api_key)" | base64 -w0 > all_secrets
printf 'mysecret.txt\ndatabase_url\napi_key\nall_secrets\n' > .dockerignore

step "who am I"
hangar auth whoami

step "an app and its runtime secrets (values from stdin, encrypted at rest)"
hangar apps list --json | grep -q "\"$app\"" || hangar apps create "$app"
hangar secrets set DATABASE_URL=- -a "$app" < database_url
hangar secrets set API_KEY=- -a "$app" < api_key
hangar secrets list -a "$app"
hangar secrets list -a "$app" --json

step "what the Dockerfile needs, before anything is built"
hangar dockerfile outline

step "build with a build secret from a file (docker build --secret syntax)"
hangar build --progress plain -t "$image" \
  --secret id=MY_SUPER_SECRET,src=mysecret.txt \
  --secret id=ALL_SECRETS,src=all_secrets .

step "the image ran the steps, and none of the values is in it"
/usr/bin/docker run --rm --network=host "$image"
found=0
for f in mysecret.txt database_url api_key all_secrets; do
  if /usr/bin/docker save "$image" | grep -a -F -q -f "$f"; then echo "LEAK: the value of $f is in the image"; found=1; fi
done
[ "$found" = 0 ] && echo "docker save $image: no secret value in any layer, the config or the history"

step "a missing required secret fails before the builder is contacted"
if hangar build --progress plain --secret id=ALL_SECRETS,src=all_secrets . 2>err.txt; then
  die "the build without MY_SUPER_SECRET should have failed"
fi
cat err.txt

step "the builder image of the ephemeral-machine pattern, offline (# syntax, heredoc, COPY --from)"
hangar build --progress plain -f Dockerfile.builder -t "$image-builder" .
/usr/bin/docker run --rm --network=host "$image-builder" sh -c 'ls -l /srv/deploy.sh /usr/bin/busybox && head -n 3 /srv/deploy.sh'

step "the audit trail (names and digests, never values)"
hangar audit | tail -n 5
[ "$found" = 0 ]
