#!/bin/sh
# Entry point of the mosquitto service: build the password file and the ACL from the
# environment (.env) and the provisioned buildings at every start, copy the TLS files
# (owned by the broker's user and unreadable to others), then run the broker. Nothing
# secret is stored in the repository or in the image.
#
# Users: ingest and monitor (services, on the plain listener inside the compose network),
# the simulated building's agent when MQTT_SIM_AGENT=community/building is set (its own
# building only, like any provisioned agent), and every agent provisioned with
# `linli hardware provision` (mounted at $MOSQUITTO_PROVISIONED). No user may write all
# buildings' topics.
#
# The paths can be moved (MOSQUITTO_AUTH, MOSQUITTO_DATA, MOSQUITTO_TLS, MOSQUITTO_BIN):
# tests/integration/test_compose_broker.py runs this very script against a private broker.
set -eu

here="$(dirname "$0")"
auth="${MOSQUITTO_AUTH:-/mosquitto/auth}"
data="${MOSQUITTO_DATA:-/mosquitto/data}"
tls="${MOSQUITTO_TLS:-/linli/mqtt-tls}"
conf="${MOSQUITTO_CONF:-$here/mosquitto.conf}"
provisioned="${MOSQUITTO_PROVISIONED:-/linli/provisioned}"
umask 077
mkdir -p "$auth" "$auth/tls" "$data"

# TLS: the CA certificate and the server's certificate and key from make-tls.sh
for file in ca.pem server.pem server.key; do
  [ -s "$tls/$file" ] || { echo "start.sh: $tls/$file is missing (run make-tls.sh)" >&2; exit 1; }
  cp "$tls/$file" "$auth/tls/$file"
done

sim_user=""
if [ -n "${MQTT_SIM_AGENT:-}" ]; then
  case "$MQTT_SIM_AGENT" in
    */*/*|/*|*/|*[!A-Za-z0-9_/-]*) echo "start.sh: MQTT_SIM_AGENT must be community/building" >&2; exit 1 ;;
    */*) ;;
    *) echo "start.sh: MQTT_SIM_AGENT must be community/building" >&2; exit 1 ;;
  esac
  sim_community="${MQTT_SIM_AGENT%/*}"
  sim_building="${MQTT_SIM_AGENT#*/}"
  sim_user="agent-$sim_community-$sim_building"
fi

rm -f "$auth/passwd"
touch "$auth/passwd"
mosquitto_passwd -b "$auth/passwd" ingest "${MQTT_INGEST_PASSWORD:?MQTT_INGEST_PASSWORD is not set}"
mosquitto_passwd -b "$auth/passwd" monitor "${MQTT_MONITOR_PASSWORD:?MQTT_MONITOR_PASSWORD is not set}"
if [ -n "$sim_user" ]; then
  mosquitto_passwd -b "$auth/passwd" "$sim_user" "${MQTT_SIM_AGENT_PASSWORD:?MQTT_SIM_AGENT_PASSWORD is not set}"
fi
# Provisioned agents are added; a provisioned entry never replaces a service's password.
if [ -f "$provisioned/passwd" ]; then
  grep -v -E "^(ingest|monitor|edge${sim_user:+|$sim_user}):" "$provisioned/passwd" >> "$auth/passwd" || true
fi
# The generated ACL (services + one block per agent + users kept from a seed) replaces the
# default one (services only).
if [ -f "$provisioned/acl" ]; then
  cp "$provisioned/acl" "$auth/acl"
else
  cp "$here/acl" "$auth/acl"
fi
if [ -n "$sim_user" ] && ! grep -q -x "user $sim_user" "$auth/acl"; then
  printf '\n# the simulated building of docker-compose.yml\nuser %s\n%s\n%s\n%s\n%s\n' "$sim_user" \
    "topic write linli/v1/$sim_community/$sim_building/+/events" \
    "topic write linli/v1/$sim_community/$sim_building/+/status" \
    "topic read linli/v1/$sim_community/$sim_building/+/stored" \
    "topic read linli/v1/_ingest/session" >> "$auth/acl"
fi
if [ "${MQTT_REQUIRE_CERTIFICATE:-false}" = "true" ]; then
  sed 's/^require_certificate false$/require_certificate true/' "$conf" > "$auth/mosquitto.conf"
  conf="$auth/mosquitto.conf"
fi
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
  chown -R mosquitto:mosquitto "$auth" "$data"
fi

exec "${MOSQUITTO_BIN:-/usr/sbin/mosquitto}" -c "$conf"
