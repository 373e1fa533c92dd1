#!/bin/sh
# The broker's TLS files: a private CA made once (its key never leaves CA_DIR), and a server
# certificate signed by it for the names agents connect to. Run by the one-shot `mqtt-tls`
# service of docker-compose.yml before the broker starts; the tests run it too.
#
#   CA_DIR          the CA: ca.key (0600) and ca.pem; made when absent, then kept
#                   (default /var/lib/linli/mqtt-ca)
#   TLS_DIR         what the broker reads: ca.pem, server.pem, server.key (0600)
#                   (default /var/lib/linli/mqtt-tls)
#   MQTT_TLS_NAMES  comma-separated host names and IP addresses the agents use to reach
#                   the broker; `mosquitto` (the compose network) and `localhost` are
#                   always added (default localhost,127.0.0.1)
#   MQTT_TLS_DAYS   validity of the server certificate in days (default 825); the CA's
#                   is ten years
#
# The server certificate is made again (with the same CA, so agents need nothing new) when
# it is missing, was issued for other names, no longer chains to the CA, or expires within
# 30 days. Agents verify the broker with ca.pem; `linli hardware provision --client-cert`
# signs client certificates with ca.key.
set -eu

ca_dir="${CA_DIR:-/var/lib/linli/mqtt-ca}"
tls_dir="${TLS_DIR:-/var/lib/linli/mqtt-tls}"
names="${MQTT_TLS_NAMES:-localhost,127.0.0.1},mosquitto,localhost"
days="${MQTT_TLS_DAYS:-825}"

umask 077
mkdir -p "$ca_dir" "$tls_dir"
work="$(mktemp -d "$tls_dir/.make-tls.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [ ! -s "$ca_dir/ca.key" ] || [ ! -s "$ca_dir/ca.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -days 3650 -subj "/CN=Linli MQTT CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
    chmod 600 "$work/ca.key"
    chmod 644 "$work/ca.pem"
    mv "$work/ca.key" "$ca_dir/ca.key"
    mv "$work/ca.pem" "$ca_dir/ca.pem"
    echo "mqtt-tls: made a new CA in $ca_dir"
fi

# the names, de-duplicated in order, as subjectAltName entries
san=""
first=""
seen=","
for name in $(echo "$names" | tr ',' ' '); do
    case "$seen" in *",$name,"*) continue ;; esac
    seen="$seen$name,"
    [ -n "$first" ] || first="$name"
    case "$name" in
        *:*) entry="IP:$name" ;;  # IPv6
        *[!0-9.]*) entry="DNS:$name" ;;
        *) entry="IP:$name" ;;
    esac
    san="${san:+$san,}$entry"
done

cert="$tls_dir/server.pem"
key="$tls_dir/server.key"
current=""
[ -s "$tls_dir/server.names" ] && current="$(cat "$tls_dir/server.names")"
if [ -s "$cert" ] && [ -s "$key" ] && [ "$current" = "$san" ] \
        && openssl verify -CAfile "$ca_dir/ca.pem" "$cert" >/dev/null 2>&1 \
        && openssl x509 -in "$cert" -noout -checkend 2592000 >/dev/null 2>&1; then
    echo "mqtt-tls: using the server certificate in $tls_dir ($san)"
else
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=$first" -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=$san" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
        > "$work/server.ext"
    openssl x509 -req -in "$work/server.csr" -CA "$ca_dir/ca.pem" -CAkey "$ca_dir/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 \
        -extfile "$work/server.ext" -out "$work/server.pem" 2>/dev/null
    chmod 600 "$work/server.key"
    chmod 644 "$work/server.pem"
    printf '%s\n' "$san" > "$work/server.names"
    mv "$work/server.key" "$key"
    mv "$work/server.pem" "$cert"
    mv "$work/server.names" "$tls_dir/server.names"
    echo "mqtt-tls: made a server certificate for $san in $tls_dir (valid $days days)"
fi

# the CA certificate (never its key) next to the server's, for the broker and for clients
cp "$ca_dir/ca.pem" "$work/ca.pem"
chmod 644 "$work/ca.pem"
mv "$work/ca.pem" "$tls_dir/ca.pem"
