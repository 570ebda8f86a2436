#!/usr/bin/env bash
# The local services the integration tests talk to, on 127.0.0.1, without Docker.
#
#   bash scripts/services.sh start [postgres|mysql|kafka|mongodb|snowflake ...]   (default: all)
#   bash scripts/services.sh stop  [...]
#   bash scripts/services.sh status
#
# `start` is idempotent: it installs what is missing (Debian packages, Kafka's jars from Maven
# Central, FerretDB built with Go, fakesnow in its own virtualenv), starts what is not running,
# and waits until each service answers its own protocol. One line per service on success; on
# failure the reason and the tail of that service's log. State lives in .services/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=$ROOT/.services
LOGS=$STATE/logs
set -a
# shellcheck source=services.env
source "$ROOT/scripts/services.env"
set +a
ALL=(postgres mysql kafka mongodb snowflake)

mkdir -p "$STATE" "$LOGS"

# shellcheck source=process.sh
source "$ROOT/scripts/process.sh"

# Small protocol probes with Python's standard library (no project virtualenv needed).
probe() { python3 "$ROOT/scripts/service_probe.py" "$@"; }

# ---------------------------------------------------------------- PostgreSQL (Debian package)
PG_DIR=$STATE/postgres
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_pg() { if [ "$IS_ROOT" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  [ -n "$(pg_bin)" ] || apt_install postgresql
  local bin; bin=$(pg_bin)
  if [ "$IS_ROOT" = 1 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_DIR" postgres
    mkdir -p "$PG_DIR"; chown postgres "$PG_DIR"
  else
    mkdir -p "$PG_DIR"
  fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      >"$LOGS/postgres-initdb.log" 2>&1 || fail postgres "initdb failed" "$LOGS/postgres-initdb.log"
  fi
  if ! as_pg "$bin/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    as_pg touch "$PG_DIR/postgres.log"
    as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
      -o "-p $CHIMERA_PG_PORT -k $PG_DIR -c listen_addresses=$CHIMERA_PG_HOST" start >/dev/null \
      || fail postgres "server did not start" "$PG_DIR/postgres.log"
  fi
  local psql=("$bin/psql" -h "$PG_DIR" -p "$CHIMERA_PG_PORT" -U postgres -qtA -v ON_ERROR_STOP=1)
  if [ "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$CHIMERA_PG_USER'")" != 1 ]; then
    as_pg "${psql[@]}" -c "CREATE ROLE $CHIMERA_PG_USER LOGIN SUPERUSER PASSWORD '$CHIMERA_PG_PASSWORD'"
  fi
  if [ "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$CHIMERA_PG_DB'")" != 1 ]; then
    as_pg "${psql[@]}" -c "CREATE DATABASE $CHIMERA_PG_DB OWNER $CHIMERA_PG_USER"
  fi
  wait_until 30 env PGPASSWORD="$CHIMERA_PG_PASSWORD" "$bin/psql" -h "$CHIMERA_PG_HOST" -p "$CHIMERA_PG_PORT" \
    -U "$CHIMERA_PG_USER" -d "$CHIMERA_PG_DB" -c 'SELECT 1' \
    || fail postgres "no answer to SELECT 1 over TCP" "$PG_DIR/postgres.log"
  say_ok postgres "$CHIMERA_PG_HOST:$CHIMERA_PG_PORT"
}

stop_postgres() {
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$PG_DIR/data/PG_VERSION" ]; then
    as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
  fi
  printf '%-10s stopped\n' postgres
}

# ---------------------------------------------------------------- MariaDB (stands in for MySQL)
MY_DIR=$STATE/mysql
start_mysql() {
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
  local mariadbd; mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  local user_opt=(); [ "$IS_ROOT" = 1 ] && user_opt=(--user=root)
  mkdir -p "$MY_DIR"
  if [ ! -d "$MY_DIR/data/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$MY_DIR/data" "${user_opt[@]}" --auth-root-authentication-method=normal \
      --skip-test-db >"$LOGS/mysql-install.log" 2>&1 || fail mysql "mariadb-install-db failed" "$LOGS/mysql-install.log"
  fi
  if ! pid_alive "$MY_DIR/mysqld.pid"; then
    setsid "$mariadbd" --no-defaults --datadir="$MY_DIR/data" --port="$CHIMERA_MYSQL_PORT" \
      --bind-address="$CHIMERA_MYSQL_HOST" --socket="$MY_DIR/mysqld.sock" --pid-file="$MY_DIR/mysqld.pid" \
      --log-error="$MY_DIR/mysqld.log" --skip-name-resolve "${user_opt[@]}" </dev/null >/dev/null 2>&1 &
    wait_until 60 mariadb-admin --no-defaults -S "$MY_DIR/mysqld.sock" -uroot ping \
      || fail mysql "server did not start" "$MY_DIR/mysqld.log"
  fi
  mariadb --no-defaults -S "$MY_DIR/mysqld.sock" -uroot -e "
    CREATE DATABASE IF NOT EXISTS $CHIMERA_MYSQL_DB;
    CREATE USER IF NOT EXISTS '$CHIMERA_MYSQL_USER'@'%' IDENTIFIED BY '$CHIMERA_MYSQL_PASSWORD';
    CREATE USER IF NOT EXISTS '$CHIMERA_MYSQL_USER'@'localhost' IDENTIFIED BY '$CHIMERA_MYSQL_PASSWORD';
    GRANT ALL ON *.* TO '$CHIMERA_MYSQL_USER'@'%' WITH GRANT OPTION;
    GRANT ALL ON *.* TO '$CHIMERA_MYSQL_USER'@'localhost' WITH GRANT OPTION;"
  wait_until 30 mariadb-admin --no-defaults -h "$CHIMERA_MYSQL_HOST" -P "$CHIMERA_MYSQL_PORT" \
    -u "$CHIMERA_MYSQL_USER" -p"$CHIMERA_MYSQL_PASSWORD" ping \
    || fail mysql "no answer to ping over TCP" "$MY_DIR/mysqld.log"
  say_ok mysql "$CHIMERA_MYSQL_HOST:$CHIMERA_MYSQL_PORT (MariaDB)"
}

stop_mysql() {
  if pid_alive "$MY_DIR/mysqld.pid"; then
    mariadb-admin --no-defaults -S "$MY_DIR/mysqld.sock" -uroot shutdown >/dev/null 2>&1 || stop_pid mysql "$MY_DIR/mysqld.pid" >/dev/null
  fi
  printf '%-10s stopped\n' mysql
}

# ---------------------------------------------------------------- Apache Kafka (KRaft, Maven jars)
KAFKA_DIR=$STATE/kafka
KAFKA_CLUSTER_ID=q1Sh-9_ISia_zwGINzRvyQ
start_kafka() {
  command -v java >/dev/null || fail kafka "java is not installed"
  mkdir -p "$KAFKA_DIR"
  if [ ! -f "$KAFKA_DIR/libs/.complete" ] || [ "$ROOT/scripts/kafka-pom.xml" -nt "$KAFKA_DIR/libs/.complete" ]; then
    command -v mvn >/dev/null || apt_install maven
    rm -rf "$KAFKA_DIR/libs"
    mvn -q -B -f "$ROOT/scripts/kafka-pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$KAFKA_DIR/libs" >"$LOGS/kafka-mvn.log" 2>&1 || fail kafka "fetching jars from Maven Central failed" "$LOGS/kafka-mvn.log"
    touch "$KAFKA_DIR/libs/.complete"
  fi
  local host=${CHIMERA_KAFKA_BOOTSTRAP%:*} port=${CHIMERA_KAFKA_BOOTSTRAP#*:}
  cat >"$KAFKA_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:19093
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:19093
advertised.listeners=PLAINTEXT://$host:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
  cat >"$KAFKA_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
EOF
  local java=(java -Xms128m -Xmx512m -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -cp "$KAFKA_DIR/libs/*")
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    "${java[@]}" kafka.tools.StorageTool format -t "$KAFKA_CLUSTER_ID" -c "$KAFKA_DIR/server.properties" \
      >"$LOGS/kafka-format.log" 2>&1 || fail kafka "formatting the KRaft storage failed" "$LOGS/kafka-format.log"
  fi
  if ! pid_alive "$KAFKA_DIR/kafka.pid"; then
    setsid "${java[@]}" kafka.Kafka "$KAFKA_DIR/server.properties" </dev/null >"$KAFKA_DIR/kafka.log" 2>&1 &
    echo $! >"$KAFKA_DIR/kafka.pid"
  fi
  wait_until 90 probe kafka "$host" "$port" || fail kafka "no answer to ApiVersions" "$KAFKA_DIR/kafka.log"
  say_ok kafka "$CHIMERA_KAFKA_BOOTSTRAP (KRaft)"
}

stop_kafka() { stop_pid kafka "$KAFKA_DIR/kafka.pid"; }

# ---------------------------------------------------------------- MongoDB wire: FerretDB (SQLite)
MONGO_DIR=$STATE/mongodb
start_mongodb() {
  mkdir -p "$MONGO_DIR" "$STATE/bin"
  local bin=$STATE/bin/ferretdb-local src=$ROOT/scripts/ferretdb
  if [ ! -x "$bin" ] || [ "$src/main.go" -nt "$bin" ] || [ "$src/go.mod" -nt "$bin" ]; then
    command -v go >/dev/null || fail mongodb "go is not installed (FerretDB is built from the Go module proxy)"
    (cd "$src" && go build -o "$bin" .) >"$LOGS/mongodb-build.log" 2>&1 || fail mongodb "building FerretDB failed" "$LOGS/mongodb-build.log"
  fi
  if ! pid_alive "$MONGO_DIR/ferretdb.pid"; then
    setsid "$bin" -listen-addr "$CHIMERA_MONGO_HOST:$CHIMERA_MONGO_PORT" -sqlite-dir "$MONGO_DIR/data" \
      </dev/null >"$MONGO_DIR/ferretdb.log" 2>&1 &
    echo $! >"$MONGO_DIR/ferretdb.pid"
  fi
  wait_until 60 probe mongodb "$CHIMERA_MONGO_HOST" "$CHIMERA_MONGO_PORT" || fail mongodb "no answer to ping" "$MONGO_DIR/ferretdb.log"
  say_ok mongodb "$CHIMERA_MONGO_HOST:$CHIMERA_MONGO_PORT (FerretDB, SQLite backend)"
}

stop_mongodb() { stop_pid mongodb "$MONGO_DIR/ferretdb.pid"; }

# ---------------------------------------------------------------- Snowflake: fakesnow server mode
SNOW_DIR=$STATE/snowflake
start_snowflake() {
  local venv=$STATE/fakesnow-venv req=$ROOT/scripts/fakesnow-requirements.txt
  mkdir -p "$SNOW_DIR"
  if [ ! -f "$venv/.complete" ] || [ "$req" -nt "$venv/.complete" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >"$LOGS/snowflake-install.log" 2>&1 \
      || fail snowflake "installing fakesnow failed" "$LOGS/snowflake-install.log"
    touch "$venv/.complete"
  fi
  if ! pid_alive "$SNOW_DIR/fakesnow.pid"; then
    setsid "$venv/bin/fakesnow" -s --host "$CHIMERA_SNOWFLAKE_HOST" -p "$CHIMERA_SNOWFLAKE_PORT" -d "$SNOW_DIR/data" \
      </dev/null >"$SNOW_DIR/fakesnow.log" 2>&1 &
    echo $! >"$SNOW_DIR/fakesnow.pid"
  fi
  wait_until 60 "$venv/bin/python" "$ROOT/scripts/service_probe.py" snowflake "$CHIMERA_SNOWFLAKE_HOST" "$CHIMERA_SNOWFLAKE_PORT" \
    || fail snowflake "no answer to SELECT 1" "$SNOW_DIR/fakesnow.log"
  say_ok snowflake "$CHIMERA_SNOWFLAKE_HOST:$CHIMERA_SNOWFLAKE_PORT (fakesnow server)"
}

stop_snowflake() { stop_pid snowflake "$SNOW_DIR/fakesnow.pid"; }

# ---------------------------------------------------------------- main
status() {
  for name in "${ALL[@]}"; do
    case $name in
      postgres) port_open "$CHIMERA_PG_HOST" "$CHIMERA_PG_PORT" ;;
      mysql) port_open "$CHIMERA_MYSQL_HOST" "$CHIMERA_MYSQL_PORT" ;;
      kafka) port_open "${CHIMERA_KAFKA_BOOTSTRAP%:*}" "${CHIMERA_KAFKA_BOOTSTRAP#*:}" ;;
      mongodb) port_open "$CHIMERA_MONGO_HOST" "$CHIMERA_MONGO_PORT" ;;
      snowflake) port_open "$CHIMERA_SNOWFLAKE_HOST" "$CHIMERA_SNOWFLAKE_PORT" ;;
    esac && printf '%-10s up\n' "$name" || printf '%-10s down\n' "$name"
  done
}

action=${1:-start}; shift || true
names=("$@"); [ ${#names[@]} -eq 0 ] && names=("${ALL[@]}")
for name in "${names[@]}"; do
  case " ${ALL[*]} " in *" $name "*) ;; *) echo "unknown service '$name' (one of: ${ALL[*]})" >&2; exit 2 ;; esac
done
case $action in
  start) for name in "${names[@]}"; do "start_$name"; done ;;
  stop) for name in "${names[@]}"; do "stop_$name"; done ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status [${ALL[*]}]" >&2; exit 2 ;;
esac
