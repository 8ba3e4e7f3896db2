#!/usr/bin/env bash
# Make sure the integration tests can run a throwaway OpenLDAP server:
# slapd + slapadd (package slapd) and ldapsearch (package ldap-utils), and a
# throwaway Redis (redis-server, for auth_relay's POP-before-SMTP grants), and
# swaks (a real third-party SMTP client the end-to-end tests drive too) with
# Net::SSLeay (package libnet-ssleay-perl), which swaks needs for STARTTLS and
# implicit TLS; AUTH PLAIN and LOGIN need no further Perl module.
# No-op when they are present; installs them on Debian/Ubuntu when run as root.
set -euo pipefail

SBIN_DIRS="/usr/sbin /usr/local/sbin /sbin"

have() {
  command -v "$1" >/dev/null 2>&1 && return 0
  local dir
  for dir in $SBIN_DIRS; do
    [ -x "$dir/$1" ] && return 0
  done
  return 1
}

missing() {
  local tool out=''
  for tool in slapd slapadd ldapsearch redis-server swaks; do
    have "$tool" || out="$out $tool"
  done
  perl -MNet::SSLeay -e 1 >/dev/null 2>&1 || out="$out Net::SSLeay"
  echo "${out# }"
}

need=$(missing)
[ -z "$need" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-deps: missing: $need" >&2
  echo "ensure-deps: the integration tests need OpenLDAP's slapd, slapadd and ldapsearch, redis-server," >&2
  echo "ensure-deps: and swaks with Perl's Net::SSLeay (for TLS)." >&2
  echo "ensure-deps: install them, e.g. 'sudo apt-get install slapd ldap-utils redis-server swaks libnet-ssleay-perl'" >&2
  echo "ensure-deps: (Debian/Ubuntu), 'dnf install openldap-servers openldap-clients redis swaks perl-Net-SSLeay'" >&2
  echo "ensure-deps: or 'brew install openldap redis swaks' (add Net::SSLeay with cpan if swaks --support lacks TLS)." >&2
  exit 1
fi

echo "ensure-deps: installing slapd, ldap-utils, redis-server, swaks and libnet-ssleay-perl (missing: $need)" >&2

# A policy-rc.d that answers 101 stops the package scripts from starting the system slapd
# and redis-server: the tests run their own on free ports and must not find one on 389 or 6379.
policy=/usr/sbin/policy-rc.d
saved_policy=''
if [ -e "$policy" ]; then
  saved_policy=$(mktemp)
  cp -p "$policy" "$saved_policy"
fi
restore_policy() {
  if [ -n "$saved_policy" ]; then
    mv -f "$saved_policy" "$policy"
  else
    rm -f "$policy"
  fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends slapd ldap-utils redis-server swaks libnet-ssleay-perl

# If a postinst started the system slapd or redis-server anyway, stop it by the PID it recorded.
for pidfile in /run/slapd/slapd.pid /var/run/slapd/slapd.pid /run/redis/redis-server.pid /var/run/redis/redis-server.pid; do
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      echo "ensure-deps: stopping the system server the package started (pid $pid, $pidfile)" >&2
      kill -TERM "$pid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
  fi
done

need=$(missing)
if [ -n "$need" ]; then
  echo "ensure-deps: still missing after install: $need" >&2
  exit 1
fi
echo "ensure-deps: slapd, ldap-utils, redis-server, swaks and libnet-ssleay-perl installed" >&2
