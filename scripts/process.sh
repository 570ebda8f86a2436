# Shell helpers of the scripts that start local processes (services.sh, catalog.sh): sourced, not run.
# NAME_WIDTH: the width of the name column in their one-line reports (default 10).
NAME_WIDTH=${NAME_WIDTH:-10}
IS_ROOT=$([ "$(id -u)" = 0 ] && echo 1 || echo 0)
SUDO=$([ "$IS_ROOT" = 1 ] && echo "" || echo sudo)

say_ok() { printf "%-${NAME_WIDTH}s ok  %s\n" "$1" "$2"; }
fail() { # name, reason, log
  printf "%-${NAME_WIDTH}s FAILED: %s\n" "$1" "$2" >&2
  [ -n "${3:-}" ] && [ -f "$3" ] && { echo "--- last lines of $3:" >&2; tail -n 25 "$3" >&2; }
  return 1
}

apt_install() { # packages...
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]} (apt)" >&2
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

wait_until() { # seconds, command...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.5
  done
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pid() { # name, pidfile
  if pid_alive "$2"; then
    kill "$(cat "$2")" 2>/dev/null || true
    wait_until 30 bash -c "! kill -0 $(cat "$2") 2>/dev/null" || kill -9 "$(cat "$2")" 2>/dev/null || true
  fi
  rm -f "$2"
  printf "%-${NAME_WIDTH}s stopped\n" "$1"
}
