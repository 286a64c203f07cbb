#!/bin/sh
# hello-service: one HTTP/1.0 exchange on stdin/stdout (systemd socket activation, Accept=yes).
#   GET /version -> the installed version;  GET /health -> 200 ok (500 in the broken release)
version=@VERSION@
healthy=@HEALTHY@
cr=$(printf '\r')
IFS=' ' read -r method path _proto || exit 0
# Drain the request headers so closing the socket does not reset the connection under the client.
while IFS= read -r line; do line=${line%"$cr"}; [ -z "$line" ] && break; done
reply() { printf 'HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s\n' \
  "$1" "$(( ${#2} + 1 ))" "$2"; }
case "$method $path" in
  "GET /version") reply '200 OK' "$version" ;;
  "GET /health") if [ "$healthy" = yes ]; then reply '200 OK' ok; else reply '500 Internal Server Error' 'unhealthy'; fi ;;
  GET*) reply '404 Not Found' 'not found' ;;
  *) reply '405 Method Not Allowed' 'method not allowed' ;;
esac
