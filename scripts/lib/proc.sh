# shellcheck shell=bash
# proc.sh - the processes a cluster script starts (sourced, never run): each in its own
# session, logged to $RUN/NAME.log, its pid in $RUN/NAME.pid, its executable in $RUN/NAME.exe
# and its arguments in $RUN/NAME.args. Only a process whose command line still starts with
# the executable counts as ours (a stale pid file may name a reused pid).

# pid_of NAME [EXE]: the pid of NAME if it runs (EXE: as started, else $BIN/NAME).
pid_of() {
  local f="$RUN/$1.pid" pid exe="${2:-}"
  [[ -f "$f" ]] || return 1
  if [[ -z "$exe" ]]; then
    if [[ -f "$RUN/$1.exe" ]]; then exe="$(<"$RUN/$1.exe")"; else exe="$BIN/$1"; fi
  fi
  pid="$(<"$f")"
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "^$exe " || return 1
  echo "$pid"
}

# start NAME EXE ARGS...: run EXE unless NAME runs with the same arguments already; one that
# runs with other arguments (an older flag set) is restarted. START_KEY (e.g. a digest of its
# configuration file) counts as an argument.
start() {
  local name="$1" exe="$2" args; shift 2
  args="$(printf '%q ' "$@")${START_KEY:+ [key $START_KEY]}"
  mkdir -p "$RUN"
  if pid_of "$name" "$exe" >/dev/null; then
    if [[ -f "$RUN/$name.args" && "$(<"$RUN/$name.args")" == "$args" ]]; then
      return 0
    fi
    log "$name runs with other flags: restarting it"
    stop "$name"
  fi
  setsid "$exe" "$@" >"$RUN/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN/$name.pid"
  printf '%s' "$exe" > "$RUN/$name.exe"
  printf '%s' "$args" > "$RUN/$name.args"
}

# stop NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (5); true if it ran.
stop() {
  local name="$1" limit="${2:-5}" pid ran=1
  if pid="$(pid_of "$name")"; then
    ran=0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq $((limit * 10))); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
    if [[ -d "/proc/$pid" ]]; then kill -9 "$pid" 2>/dev/null || true; fi
    for _ in $(seq 50); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
  fi
  rm -f "$RUN/$name.pid" "$RUN/$name.exe" "$RUN/$name.args"
  return $ran
}

# wait_for SECONDS WHAT CMD...: poll CMD every 0.2 s.
wait_for() {
  local limit="$1" what="$2" t0=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - t0 >= limit )); then
      die "$what not ready after ${limit}s (logs in $RUN)"
    fi
    sleep 0.2
  done
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
