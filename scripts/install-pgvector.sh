#!/usr/bin/env bash
# Install the pgvector extension into the system PostgreSQL when it is missing.
# Debian bookworm ships no pgvector package (it arrives with trixie), so this builds the
# Debian archive's source tarball (pinned by its sha256) against postgresql-server-dev-N.
# Only package registries are reached: deb.debian.org.
set -euo pipefail

pg_config_bin="$(ls /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$pg_config_bin" ]; then
  echo "install-pgvector: PostgreSQL is not installed" >&2
  exit 1
fi
major="$("$pg_config_bin" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
sharedir="/usr/share/postgresql/$major"
if [ -f "$sharedir/extension/vector.control" ]; then
  exit 0
fi

version=0.8.0
sha256=867a2c328d4928a5a9d6f052cd3bc78c7d60228a9b914ad32aa3db88e9de27b0
echo "installing: pgvector $version for PostgreSQL $major (built from the Debian source)"
if ! dpkg-query -W -f='${Status}' "postgresql-server-dev-$major" 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "postgresql-server-dev-$major" gcc make
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
curl -fsSL -o "$work/pgvector.tar.gz" "http://deb.debian.org/debian/pool/main/p/pgvector/pgvector_${version}.orig.tar.gz"
echo "$sha256  $work/pgvector.tar.gz" | sha256sum -c --quiet
tar -xzf "$work/pgvector.tar.gz" -C "$work"
# OPTFLAGS="": no -march=native, so the build runs on any x86-64 machine.
make -s -C "$work/pgvector-$version" PG_CONFIG="$pg_config_bin" OPTFLAGS="" >/dev/null
make -s -C "$work/pgvector-$version" PG_CONFIG="$pg_config_bin" OPTFLAGS="" install >/dev/null
