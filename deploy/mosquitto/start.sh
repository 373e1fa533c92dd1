#!/bin/sh
# Entry point of the mosquitto service: build the password file and the ACL from the
# environment (.env) at every start, owned by the broker's user and unreadable to others,
# then run the broker. Nothing secret is stored in the repository or in the image.
set -eu

auth=/mosquitto/auth
umask 077
mkdir -p "$auth" /mosquitto/data
rm -f "$auth/passwd"
touch "$auth/passwd"
mosquitto_passwd -b "$auth/passwd" ingest "${MQTT_INGEST_PASSWORD:?MQTT_INGEST_PASSWORD is not set}"
mosquitto_passwd -b "$auth/passwd" edge "${MQTT_EDGE_PASSWORD:?MQTT_EDGE_PASSWORD is not set}"
mosquitto_passwd -b "$auth/passwd" monitor "${MQTT_MONITOR_PASSWORD:?MQTT_MONITOR_PASSWORD is not set}"
# Building agents provisioned with `linli hardware provision` (optional, mounted read-only
# at $MOSQUITTO_PROVISIONED): their own users are added, and the generated ACL (services +
# one block per agent + users kept from a seed) replaces the default one.
provisioned="${MOSQUITTO_PROVISIONED:-/linli/provisioned}"
if [ -f "$provisioned/passwd" ]; then
  grep -v -E '^(ingest|edge|monitor):' "$provisioned/passwd" >> "$auth/passwd" || true
fi
if [ -f "$provisioned/acl" ]; then
  cp "$provisioned/acl" "$auth/acl"
else
  cp "$(dirname "$0")/acl" "$auth/acl"
fi
chown -R mosquitto:mosquitto "$auth" /mosquitto/data

exec /usr/sbin/mosquitto -c "${MOSQUITTO_CONF:-$(dirname "$0")/mosquitto.conf}"
