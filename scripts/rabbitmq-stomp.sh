#!/usr/bin/env bash
# Makes the local RabbitMQ serve STOMP on loopback only, for the relay tests and the bench:
#   STOMP over TCP on 127.0.0.1:61613, Web-STOMP on 127.0.0.1:15674 (path /ws).
# RabbitMQ's STOMP plugins listen on every interface unless rabbitmq.conf says otherwise before
# RabbitMQ boots, so the listener lines are written first and RabbitMQ is restarted when they (or
# the plugin list) change. Idempotent: a second run with everything in place only checks the ports.
# Called by .ci/run; developers run it once by hand (as root) before `npm test` to run the relay suites.
set -euo pipefail

CONF=${RABBITMQ_CONFIG_FILE_PATH:-/etc/rabbitmq/rabbitmq.conf}
PLUGINS="rabbitmq_stomp rabbitmq_web_stomp"
changed=0

if ! command -v rabbitmqctl >/dev/null 2>&1; then
  echo "rabbitmq-stomp: RabbitMQ is not installed on this machine" >&2
  exit 1
fi

mkdir -p "$(dirname "$CONF")"
touch "$CONF"
ensure_line() {
  grep -qxF "$1" "$CONF" || { echo "$1" >> "$CONF"; changed=1; }
}
ensure_line 'stomp.listeners.tcp.1 = 127.0.0.1:61613'
ensure_line 'web_stomp.tcp.ip = 127.0.0.1'
ensure_line 'web_stomp.tcp.port = 15674'

for p in $PLUGINS; do
  rabbitmq-plugins list -e -m 2>/dev/null | grep -qx "$p" || changed=1
done

running=0
rabbitmqctl -q status >/dev/null 2>&1 && running=1

# Every STOMP and Web-STOMP client takes a file descriptor, and RabbitMQ sizes its socket limit from
# the soft open-files limit it starts with (1024 gives 832 sockets): too few for the bench's 1,000
# Web-STOMP subscribers. Start it with the hard limit (at most 65536), and restart a running node
# that has fewer than 2,000 sockets.
MIN_SOCKETS=2000
hard=$(ulimit -H -n)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -S -n "$hard" 2>/dev/null || true
if [ "$running" = 1 ]; then
  sockets=$(rabbitmqctl -q status 2>/dev/null | sed -n 's/.*Sockets: [0-9]*, limit: \([0-9]*\).*/\1/p' | head -1)
  if [ -n "$sockets" ] && [ "$sockets" -lt "$MIN_SOCKETS" ] && [ "$(ulimit -S -n)" -gt 2300 ]; then changed=1; fi
fi

if [ "$changed" = 1 ] || [ "$running" = 0 ]; then
  if [ "$running" = 1 ]; then
    echo "rabbitmq-stomp: restarting RabbitMQ so the loopback STOMP listeners take effect"
    rabbitmqctl stop >/dev/null
  fi
  rabbitmq-plugins enable --offline $PLUGINS >/dev/null
  if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
    # Debian's wrapper would `su rabbitmq`, whose PAM session resets the soft open-files limit to
    # 1024: become rabbitmq ourselves and raise it again inside.
    su rabbitmq -s /bin/sh -c "ulimit -S -n $hard 2>/dev/null; $(command -v rabbitmq-server) -detached" >/dev/null 2>&1 || true
  else
    rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  # The node takes a moment to register with epmd; await_startup fails until it has.
  for _ in $(seq 1 60); do
    rabbitmqctl await_startup >/dev/null 2>&1 && break
    sleep 1
  done
fi

wait_port() {
  for _ in $(seq 1 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "rabbitmq-stomp: nothing listens on 127.0.0.1:$1" >&2
  return 1
}
wait_port 61613
wait_port 15674

# Refuse to leave a STOMP listener on a non-loopback address.
if ss -ltn 2>/dev/null | awk '{print $4}' | grep -E ':(61613|15674)$' | grep -vqE '^(127\.0\.0\.1|\[::1\]):'; then
  echo "rabbitmq-stomp: a STOMP listener is bound beyond loopback; check $CONF" >&2
  exit 1
fi
echo "rabbitmq-stomp: STOMP on 127.0.0.1:61613, Web-STOMP on 127.0.0.1:15674"
