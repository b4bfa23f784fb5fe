# Sourced by bench.sh and infrastructure/arm64-check.sh: their fixed ports on 127.0.0.1 must be free.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
refuse_busy_ports() { # refuse_busy_ports WHO PORT...: exit 1 naming the first port something already listens on
  local who=$1 p; shift
  for p in "$@"; do
    if port_in_use "$p"; then echo "$who: port $p is in use on 127.0.0.1 (is another $who running?)" >&2; exit 1; fi
  done
}
