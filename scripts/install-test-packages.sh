#!/usr/bin/env bash
# Install the Debian packages the test suite runs as real components, when missing:
# chromium (browser tests), nginx (gateway), slapd + ldap-utils (LDAP identity).
# Needs root (CI and the development machines run as root); does nothing when all are there.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapadd >/dev/null 2>&1 || missing+=(ldap-utils)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "[packages] missing ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "[packages] installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
# Debian's packages start their daemons; the tests run their own throw-away ones.
for service in nginx slapd; do
  if [ -x "/etc/init.d/$service" ]; then "/etc/init.d/$service" stop >/dev/null 2>&1 || true; fi
done
