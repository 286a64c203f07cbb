# guestfwd program on a pool member without perl (python3, as RHEL-family hosts have it): the same splice as
# member-relay.pl — guest connection on stdin/stdout to 127.0.0.1:PORT, guest EOF passed on as a half-close,
# upstream EOF ends the relay.
import os, select, socket, sys

try:
    up = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    guest_open = True
    while True:
        r, _, _ = select.select(([0] if guest_open else []) + [up], [], [])
        if 0 in r:
            data = os.read(0, 65536)
            if data:
                up.sendall(data)
            else:
                up.shutdown(socket.SHUT_WR)
                guest_open = False
        if up in r:
            data = up.recv(65536)
            if not data:
                break
            while data:
                data = data[os.write(1, data):]
except OSError:
    sys.exit(1)
