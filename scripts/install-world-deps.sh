#!/usr/bin/env bash
# Installs what tests/world/ needs (DNS daemons, namespace tools, HTTPS pieces) and
# unpacks Courier's reference testmxlookup into a cache directory without installing the
# MTA. Idempotent. Needs root; as another user it explains why it skips and exits 0.
#
# Environment:
#   TESTMXLOOKUP_WORLD_CACHE  where Courier is unpacked (default /var/cache/testmxlookup-world)
set -euo pipefail

CACHE="${TESTMXLOOKUP_WORLD_CACHE:-/var/cache/testmxlookup-world}"
COURIER_DIR="$CACHE/courier"
# posttls-finger, the delivery probe's reference, from Postfix's package unpacked apart from the
# world's own (installed) Postfix servers, as Courier's binary is.
POSTFIX_REF_DIR="$CACHE/postfix"
# time: /usr/bin/time -f %M, the peak RSS figures of scripts/bench.ts.
PACKAGES=(unbound nsd ldnsutils iproute2 bind9-dnsutils util-linux openssl wget libgdbm6 time inotify-tools)
COURIER_PACKAGES=(courier-base libcourier-unicode4 libidn12)
# postfix: the mail servers of the delivery probe's tests (started only inside the world's
# namespace, with its own configuration directory) and posttls-finger, the probe's reference.
PACKAGES+=(postfix)

if [[ "$(id -u)" != 0 ]]; then
  echo "install-world-deps: not root, skipping (the test world needs root for network namespaces)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-world-deps: apt-get not found, skipping (Debian/Ubuntu only)" >&2
  exit 0
fi

# Daemons running before we start: the packages' maintainer scripts may try to start
# services; we only stop what appeared during this run, never what was already there.
daemon_pids() { for n in unbound nsd nginx master; do pgrep -x "$n" || true; done | sort; }
before="$(daemon_pids)"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nginx-light is the small build; bookworm has it, later releases only "nginx".
if ! dpkg-query -W -f='${Status}' nginx-light 2>/dev/null | grep -q 'install ok installed' &&
  ! dpkg-query -W -f='${Status}' nginx 2>/dev/null | grep -q 'install ok installed'; then
  if apt-cache show nginx-light >/dev/null 2>&1; then missing+=(nginx-light); else missing+=(nginx); fi
fi

warn() { echo "install-world-deps: WARNING: $*" >&2; }

if ((${#missing[@]})); then
  echo "install-world-deps: installing ${missing[*]}"
  # policy-rc.d exit 101 tells invoke-rc.d not to start services during installation.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  trap '[[ $created_policy == 1 ]] && rm -f "$policy"' EXIT
  # Postfix without a configuration: no main.cf, so the host's Postfix never runs; the world
  # starts its own instances in its namespace.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # A failure is reported, not fatal: the world's tests then skip and say why.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
    warn "apt-get install failed; the test world may be unavailable"
  fi
  if [[ $created_policy == 1 ]]; then rm -f "$policy"; fi
  trap - EXIT
else
  echo "install-world-deps: packages already installed"
fi

# Stop only daemons that appeared during this run (bounded wait).
after="$(daemon_pids)"
new="$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')"
if [[ -n "$new" ]]; then
  echo "install-world-deps: stopping daemons started by package scripts: $(echo "$new" | tr '\n' ' ')"
  for pid in $new; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    alive=0
    for pid in $new; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
fi

# Postfix's posttls-finger as a reference, unpacked only (apart from the installed servers).
if [[ -x "$POSTFIX_REF_DIR/usr/sbin/posttls-finger" ]]; then
  echo "install-world-deps: posttls-finger already unpacked in $POSTFIX_REF_DIR"
else
  mkdir -p "$CACHE/debs"
  if id _apt >/dev/null 2>&1; then chown _apt "$CACHE/debs"; fi
  if compgen -G "$CACHE/debs/postfix_*.deb" >/dev/null || (cd "$CACHE/debs" && apt-get download postfix); then
    rm -rf "$POSTFIX_REF_DIR.tmp"
    mkdir -p "$POSTFIX_REF_DIR.tmp"
    dpkg -x "$(ls -t "$CACHE/debs/postfix_"*.deb | head -n 1)" "$POSTFIX_REF_DIR.tmp"
    rm -rf "$POSTFIX_REF_DIR"
    mv "$POSTFIX_REF_DIR.tmp" "$POSTFIX_REF_DIR"
    echo "install-world-deps: posttls-finger unpacked in $POSTFIX_REF_DIR"
  else
    warn "cannot download postfix; the posttls-finger comparison will use the installed one"
  fi
fi

# Courier's reference binary, unpacked only (never installed). Unpacked into a fresh
# directory first and renamed, so an interrupted run never leaves half a tree.
if [[ -x "$COURIER_DIR/usr/bin/testmxlookup" ]]; then
  echo "install-world-deps: Courier already unpacked in $COURIER_DIR"
else
  mkdir -p "$CACHE/debs"
  # apt downloads as _apt when it can write there (avoids the "unsandboxed" warning).
  if id _apt >/dev/null 2>&1; then chown _apt "$CACHE/debs"; fi
  have_all=1
  for p in "${COURIER_PACKAGES[@]}"; do
    compgen -G "$CACHE/debs/${p}_*.deb" >/dev/null || have_all=0
  done
  if ((!have_all)) && ! (cd "$CACHE/debs" && apt-get download "${COURIER_PACKAGES[@]}"); then
    warn "cannot download ${COURIER_PACKAGES[*]}; Courier comparisons will be skipped"
    exit 0
  fi
  rm -rf "$COURIER_DIR.tmp"
  mkdir -p "$COURIER_DIR.tmp"
  for p in "${COURIER_PACKAGES[@]}"; do
    dpkg -x "$(ls -t "$CACHE/debs/${p}_"*.deb | head -n 1)" "$COURIER_DIR.tmp"
  done
  rm -rf "$COURIER_DIR"
  mv "$COURIER_DIR.tmp" "$COURIER_DIR"
  echo "install-world-deps: Courier unpacked in $COURIER_DIR"
fi
libs="$(find "$COURIER_DIR/usr/lib" -maxdepth 1 -type d -name '*-linux-*' | paste -sd:)"
if LD_LIBRARY_PATH="$libs" ldd "$COURIER_DIR/usr/bin/testmxlookup" | grep 'not found' >&2; then
  warn "unresolved libraries for Courier's testmxlookup (above)"
fi
echo "install-world-deps: done"
