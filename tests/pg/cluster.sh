#!/bin/sh
# A throwaway PostgreSQL cluster for the tests of the postgresql:// ledger
# (tests/CMakeLists.txt runs it as a ctest fixture).
#
#   cluster.sh start STATE   initdb and start a cluster listening on 127.0.0.1
#                            only, on a free port, as an unprivileged user (as
#                            root: `nobody`); writes STATE/url (the server's
#                            URL without a database) and STATE/env
#   cluster.sh stop STATE    stop it and delete its files
#   cluster.sh pause STATE   stop the server, keeping its files (tests of the
#   cluster.sh resume STATE  spool) / start it again on the same port
#
# The server runs with fsync off; TOKENBOOK_PG_DURABLE=1 at `start` keeps
# PostgreSQL's durable defaults instead (benchmarks).
#
# Exits 77 (ctest's SKIP_RETURN_CODE) when the server binaries are absent.
set -eu
cmd=${1:?usage: cluster.sh start|stop|pause|resume STATE}
state=${2:?usage: cluster.sh start|stop|pause|resume STATE}

bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && bindir=$d
done

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

pg_ctl_do() {  # pg_ctl_do start|stop
  data=$(cat "$state/datadir")
  port=$(cat "$state/port")
  if [ "$1" = start ]; then
    as_owner "$bindir/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $data $(cat "$state/settings")" \
      start >/dev/null
  else
    as_owner "$bindir/pg_ctl" -D "$data/db" -w -t 30 -m fast stop >/dev/null
  fi
}

case $cmd in
  start)
    if [ -z "$bindir" ]; then
      echo "cluster.sh: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: the PostgreSQL tests are skipped"
      exit 77
    fi
    if [ -f "$state/datadir" ]; then "$0" stop "$state" || true; fi
    rm -rf "$state"
    mkdir -p "$state"
    data=$(mktemp -d /tmp/tokenbook-pg.XXXXXX)
    chmod 0700 "$data"
    if [ "$(id -u)" -eq 0 ]; then chown nobody "$data"; fi
    echo "$data" >"$state/datadir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" >"$state/port"
    # Tests need no durability; TOKENBOOK_PG_DURABLE=1 keeps PostgreSQL's
    # defaults (fsync, synchronous commit) for benchmarks of a real server.
    if [ "${TOKENBOOK_PG_DURABLE:-0}" = 1 ]; then
      echo "" >"$state/settings"
    else
      echo "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" >"$state/settings"
    fi
    as_owner "$bindir/initdb" -D "$data/db" -U tokenbook --auth=trust -E UTF8 --no-locale --no-sync >"$data/initdb.log" 2>&1 ||
      { cat "$data/initdb.log"; exit 1; }
    pg_ctl_do start || { cat "$data/server.log"; exit 1; }
    echo "postgresql://tokenbook@127.0.0.1:$port" >"$state/url"
    printf 'PG_BINDIR=%s\n' "$bindir" >"$state/env"
    echo "cluster.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $(cat "$state/url")"
    ;;
  stop)
    [ -f "$state/datadir" ] || exit 0
    data=$(cat "$state/datadir")
    pg_ctl_do stop 2>/dev/null || true
    rm -rf "$data" "$state"
    ;;
  pause) pg_ctl_do stop ;;
  resume) pg_ctl_do start ;;
  *) echo "cluster.sh: unknown command $cmd" >&2; exit 2 ;;
esac
