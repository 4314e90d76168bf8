#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ answer on localhost, for the demo and the tests.
#
# Already answering: nothing to do. Otherwise, with a Docker engine: `docker compose
# up` of compose.yaml's postgres and rabbitmq. Otherwise, as root on Debian: install
# the `postgresql` and `rabbitmq-server` packages when absent, start them, and wait
# until they accept connections. Exits non-zero, saying what to do, when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_HOST=127.0.0.1 PG_PORT=5432 MQ_HOST=127.0.0.1 MQ_PORT=5672
WAIT_S=${SERVICES_WAIT_S:-120}

say() { printf 'services: %s\n' "$*" >&2; }
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
postgres_up() { answers "$PG_HOST" "$PG_PORT"; }
rabbitmq_up() { answers "$MQ_HOST" "$MQ_PORT"; }

wait_for() {  # name, check function
  local deadline=$((SECONDS + WAIT_S))
  until "$2"; do
    if ((SECONDS > deadline)); then say "$1 did not answer within ${WAIT_S}s"; return 1; fi
    sleep 1
  done
  say "$1 answers"
}

if postgres_up && rabbitmq_up; then
  say "PostgreSQL ($PG_HOST:$PG_PORT) and RabbitMQ ($MQ_HOST:$MQ_PORT) answer"
  exit 0
fi

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  say "starting PostgreSQL and RabbitMQ with docker compose"
  docker compose up -d --wait postgres rabbitmq
  wait_for PostgreSQL postgres_up && wait_for RabbitMQ rabbitmq_up
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "PostgreSQL or RabbitMQ does not answer, and this script can only install them as root"
  say "on Debian/Ubuntu. Start them yourself (docker compose up -d postgres rabbitmq, or your"
  say "system's packages), or point DATABASE_URL and RABBITMQ_URL at running servers."
  exit 1
fi

apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! postgres_up; then
  if [ ! -d /etc/postgresql ] || [ -z "$(ls -A /etc/postgresql 2>/dev/null)" ]; then
    say "installing PostgreSQL (Debian package postgresql)"
    apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL postgres_up
  # the default DATABASE_URL logs in as postgres/postgres over TCP
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1 || true
fi

if ! rabbitmq_up; then
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    say "installing RabbitMQ (Debian package rabbitmq-server)"
    apt_install rabbitmq-server
  fi
  say "starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_for RabbitMQ rabbitmq_up
  timeout "$WAIT_S" rabbitmqctl -q await_startup >/dev/null 2>&1 || true
fi
