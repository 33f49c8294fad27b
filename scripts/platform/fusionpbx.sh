#!/usr/bin/env bash
# Prepare a Debian 12 machine for the end-to-end tests against a real FusionPBX 5.5 (a test fixture, never
# vendored): the Debian packages FusionPBX runs on (nginx, PHP-FPM, PostgreSQL 15), FusionPBX's source in
# /var/www/fusionpbx, pgvector for PostgreSQL 15 and the folders FusionPBX's installer writes into.
#
#   sudo bash scripts/platform/fusionpbx.sh
#   export VOICE_AI_TEST_FUSIONPBX=/var/www/fusionpbx
#
# tests/test_real_fusionpbx.py then installs FusionPBX as an admin would (its web installer, a fresh database),
# installs the voice_secretary app and drives the pages. No service is left running by this script: the tests
# start nginx and PHP-FPM on free ports, and PostgreSQL 15 while they run.
#
# The tarballs come from $VOICE_AI_PLATFORM_DIR (default: <repo>/../shared/platform), checked against its
# SHA256SUMS. Safe to run again: it only does what is missing. As root.
#
# It changes the owner only of the folders it creates: on a machine that already has FreeSWITCH (e.g. Debian's
# packages, owned by root or freeswitch) the existing folders keep their owner. $VOICE_AI_PLATFORM_ROOT (default:
# /) is the file-system root it writes under; the tests (tests/test_fusionpbx_platform_script.py) set it to a
# scratch folder.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
platform="${VOICE_AI_PLATFORM_DIR:-$repo/../shared/platform}"
root="${VOICE_AI_PLATFORM_ROOT:-}"
root="${root%/}"
fusionpbx_tarball="fusionpbx-5.5-56cb26d.tar.xz"
pgvector_tarball="pgvector-0.8.6-pg15-debian12-amd64.tar.xz"
webroot="$root/var/www/fusionpbx"

packages=(nginx-light php8.2-fpm php8.2-cli php8.2-pgsql php8.2-xml php8.2-mbstring php8.2-curl php8.2-gd
  postgresql-15 xz-utils)

if [ "$(id -u)" -ne 0 ]; then
  echo "error: run as root (it installs Debian packages and writes $webroot, /etc/fusionpbx, /etc/freeswitch)" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # packages must not start their services here (nginx would take port 80): the tests start their own
  # (removed however this ends: a policy left behind would keep every later package's service from starting)
  policy="$root/usr/sbin/policy-rc.d"
  added_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    trap 'rm -f "$policy"' EXIT
    added_policy="yes"
    chmod 755 "$policy"
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$added_policy" ]; then
    rm -f "$policy"
    trap - EXIT
  fi
fi

check() {
  local tarball="$1"
  if [ ! -f "$platform/$tarball" ]; then
    echo "error: $platform/$tarball not found (set VOICE_AI_PLATFORM_DIR to the folder that holds it)" >&2
    exit 1
  fi
  (cd "$platform" && grep " $tarball\$" SHA256SUMS | sha256sum --check --strict --quiet -) || {
    echo "error: $platform/$tarball does not match SHA256SUMS" >&2
    exit 1
  }
}

# FusionPBX's source, owned by the web user (its installer hard-codes /var/www/fusionpbx)
stamp="$webroot/.voice-ai-platform"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fusionpbx_tarball" ]; then
  echo "==> FusionPBX source already in $webroot"
else
  if [ -e "$webroot" ] && [ ! -f "$stamp" ]; then
    echo "error: $webroot exists and was not put there by this script: refusing to replace it" >&2
    exit 1
  fi
  check "$fusionpbx_tarball"
  echo "==> extracting $fusionpbx_tarball into $webroot"
  staging="$(mktemp -d /var/www/.fusionpbx-XXXXXX 2>/dev/null || { mkdir -p /var/www && mktemp -d /var/www/.fusionpbx-XXXXXX; })"
  tar -C "$staging" -xJf "$platform/$fusionpbx_tarball"
  rm -rf "$webroot"
  mv "$staging/fusionpbx" "$webroot"
  rmdir "$staging"
  echo "$fusionpbx_tarball" > "$stamp"
  chown -R www-data:www-data "$webroot"
fi

# pgvector for Debian's PostgreSQL 15 (Debian 12 has no postgresql-15-pgvector package)
if [ -f "$root/usr/lib/postgresql/15/lib/vector.so" ] \
  && grep -q "default_version = '0.8.6'" "$root/usr/share/postgresql/15/extension/vector.control" 2>/dev/null; then
  echo "==> pgvector already installed for PostgreSQL 15"
else
  check "$pgvector_tarball"
  echo "==> extracting $pgvector_tarball into $root/"
  tar -C "$root/" -xJf "$platform/$pgvector_tarball"
fi

# PostgreSQL 15's default cluster (left stopped: the tests start it while they run)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "15 main"; then
  echo "==> creating the PostgreSQL 15 cluster 15/main"
  pg_createcluster 15 main >/dev/null
fi

# the folders FusionPBX's installer and upgrade write into: its config and cache, and FreeSWITCH's layout as
# FusionPBX expects it (without /etc/freeswitch/languages the installer creates no groups, menu or permissions).
# Only the folders created here are given to www-data: existing ones (a packaged FreeSWITCH's) keep their owner.
for dir in /etc/fusionpbx /var/cache/fusionpbx /etc/freeswitch /etc/freeswitch/languages \
  /etc/freeswitch/dialplan /etc/freeswitch/directory /etc/freeswitch/sip_profiles /etc/freeswitch/autoload_configs \
  /usr/share/freeswitch /usr/share/freeswitch/scripts /usr/share/freeswitch/sounds /var/lib/freeswitch \
  /var/lib/freeswitch/db /var/lib/freeswitch/recordings /var/lib/freeswitch/storage \
  /var/lib/freeswitch/storage/voicemail; do
  if [ ! -d "$root$dir" ]; then
    mkdir -p "$root$dir"
    chown www-data:www-data "$root$dir"
  elif ! runuser -u www-data -- test -w "$root$dir"; then
    echo "note: $root$dir exists and www-data cannot write it; FusionPBX's installer writes there" \
      "(a FusionPBX server gives FreeSWITCH's folders to www-data; this script leaves existing ones alone)" >&2
  fi
done

for tool in nginx php-fpm8.2 php8.2 pg_ctlcluster; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "error: $tool is missing" >&2; exit 1; }
done
echo "==> FusionPBX $(grep -o "return '5\.[0-9.]*'" "$webroot/core/software/resources/classes/software.php" | grep -o "5[0-9.]*") ready in $webroot"
echo "    export VOICE_AI_TEST_FUSIONPBX=$webroot"
