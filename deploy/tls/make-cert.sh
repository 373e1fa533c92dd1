#!/bin/sh
# A self-signed certificate for the API, unless one is already there (mounted by the
# operator, or made by an earlier run). Run by the one-shot `tls-cert` service of
# docker-compose.yml; tests/unit/test_compose_file.py runs it too.
#
#   TLS_DIR    where cert.pem and key.pem are (default /var/lib/linli/tls)
#   TLS_NAMES  comma-separated host names and IP addresses the certificate is for
#              (default localhost,127.0.0.1); the first is its common name
#   TLS_DAYS   validity in days (default 825, the most browsers accept)
set -eu

dir="${TLS_DIR:-/var/lib/linli/tls}"
names="${TLS_NAMES:-localhost,127.0.0.1}"
days="${TLS_DAYS:-825}"
cert="$dir/cert.pem"
key="$dir/key.pem"

if [ -s "$cert" ] && [ -s "$key" ]; then
    echo "tls-cert: using the certificate in $dir"
    exit 0
fi

san=""
first=""
for name in $(echo "$names" | tr ',' ' '); do
    [ -n "$first" ] || first="$name"
    case "$name" in
        *:*) entry="IP:$name" ;;  # IPv6
        *[!0-9.]*) entry="DNS:$name" ;;
        *) entry="IP:$name" ;;
    esac
    san="${san:+$san,}$entry"
done
[ -n "$first" ] || { echo "tls-cert: TLS_NAMES is empty" >&2; exit 1; }

umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days "$days" -subj "/CN=$first" -addext "subjectAltName=$san" \
    -keyout "$key.tmp" -out "$cert.tmp" 2>/dev/null
chmod 600 "$key.tmp"
chmod 644 "$cert.tmp"
mv "$key.tmp" "$key"
mv "$cert.tmp" "$cert"
echo "tls-cert: made a self-signed certificate for $names in $dir (valid $days days)"
