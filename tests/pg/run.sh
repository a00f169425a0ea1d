#!/bin/sh
# Runs a PostgreSQL test (tests/CMakeLists.txt) against the cluster that
# cluster.sh started in STATE: TOKENBOOK_TEST_PG_URL names the server (no
# database), TOKENBOOK_TEST_PG_CLUSTER the script and TOKENBOOK_TEST_PG_STATE
# its STATE, for tests that stop and restart it. Exits 77 (skipped) when there is no cluster.
#   run.sh STATE COMMAND...
set -eu
state=$1
shift
if [ ! -f "$state/url" ]; then
  echo "run.sh: no PostgreSQL test cluster (tests/pg/cluster.sh start skipped or failed): skipped"
  exit 77
fi
TOKENBOOK_TEST_PG_URL=$(cat "$state/url")
TOKENBOOK_TEST_PG_CLUSTER="$(cd "$(dirname "$0")" && pwd)/cluster.sh"
TOKENBOOK_TEST_PG_STATE=$state
export TOKENBOOK_TEST_PG_URL TOKENBOOK_TEST_PG_CLUSTER TOKENBOOK_TEST_PG_STATE
exec "$@"
