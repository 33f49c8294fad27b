#!/usr/bin/env bash
# Install the real FreeSWITCH 1.10.12 build (a test fixture, never vendored) under /usr/local/freeswitch, with
# the runtime libraries it links and the Lua libraries the call flow uses. For the end-to-end tests
# (tests/test_real_freeswitch.py) and the perceived-latency benchmark (bench/freeswitch_latency.py):
#
#   sudo bash scripts/platform/freeswitch.sh
#   export VOICE_AI_TEST_FREESWITCH=/usr/local/freeswitch/bin/freeswitch
#
# The build comes from $VOICE_AI_PLATFORM_DIR (default: <repo>/../shared/platform), checked against its
# SHA256SUMS. Safe to run again: it only does what is missing. It never extracts over a FreeSWITCH it did not
# install (no stamp of ours in /usr/local/freeswitch): that may be someone's real PBX. Debian 12 amd64, as root.
# VOICE_AI_FREESWITCH_ROOT (default /) is the root the build is extracted under, for a staging tree.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
platform="${VOICE_AI_PLATFORM_DIR:-$repo/../shared/platform}"
tarball="freeswitch-1.10.12-debian12-amd64.tar.xz"
root="${VOICE_AI_FREESWITCH_ROOT:-/}"
prefix="${root%/}/usr/local/freeswitch"
binary="$prefix/bin/freeswitch"
stamp="$prefix/.voice-ai-installed"

# checked first (it reads only): a FreeSWITCH that is not ours is never touched
if [ -e "$prefix" ] && [ ! -f "$stamp" ]; then
  echo "error: $prefix exists and was not installed by this script (no $stamp): refusing to extract over it." >&2
  echo "       Move it away, or point VOICE_AI_TEST_FREESWITCH at that FreeSWITCH's own binary instead." >&2
  exit 1
fi

packages=(libssl3 libcurl4 libedit2 libevent-2.1-7 libevent-pthreads-2.1-7 libfreetype6 libjpeg62-turbo
  liblua5.3-0 libpcre3 libsndfile1 libspeex1 libspeexdsp1 libsqlite3-0 libtiff6 libuuid1 zlib1g
  lua-socket lua-cjson xz-utils)

if [ "$(id -u)" -ne 0 ]; then
  echo "error: run as root (it writes $prefix and installs Debian packages)" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# what is installed is recorded by checksum: the same build is not extracted twice, a new one replaces it
expected=""
if [ -f "$platform/SHA256SUMS" ]; then
  expected="$(awk -v f="$tarball" '$2 == f || $2 == "*" f { print $1 }' "$platform/SHA256SUMS")"
fi
if [ -x "$binary" ] && [ -f "$stamp" ] && { [ -z "$expected" ] || [ "$(cat "$stamp")" = "$expected" ]; }; then
  echo "==> FreeSWITCH already installed ($(cat "$stamp"))"
else
  if [ ! -f "$platform/$tarball" ]; then
    echo "error: $platform/$tarball not found (set VOICE_AI_PLATFORM_DIR to the folder that holds it)" >&2
    exit 1
  fi
  if [ -z "$expected" ]; then
    echo "error: $platform/SHA256SUMS has no checksum for $tarball" >&2
    exit 1
  fi
  echo "==> checking $tarball"
  actual="$(sha256sum "$platform/$tarball" | cut -d' ' -f1)"
  if [ "$actual" != "$expected" ]; then
    echo "error: $platform/$tarball does not match SHA256SUMS ($actual, expected $expected)" >&2
    exit 1
  fi
  echo "==> extracting $tarball into $root"
  tar -C "$root" -xJf "$platform/$tarball"
  echo "$actual" > "$stamp"
fi

# the build must start: a missing library shows here, not as a test failure later
if ! "$binary" -version >/dev/null 2>&1; then
  echo "error: $binary does not run:" >&2
  "$binary" -version >&2 || true
  ldd "$binary" | grep "not found" >&2 || true
  exit 1
fi
echo "==> $("$binary" -version 2>/dev/null | head -1)"
echo "    export VOICE_AI_TEST_FREESWITCH=$binary"
