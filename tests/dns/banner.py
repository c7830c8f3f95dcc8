# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# banner.py - a plain TCP service for the synthetic-names cases of tests/dns
# (a stand-in for SSH: the server speaks first, so nothing a proxy could
# sniff ever comes from the client), run in the world namespace as
# `python3 banner.py ADDR PORT...`; prints "ready", then greets every
# connection with "SSH-2.0-nomoat-test <port>\r\n" and closes it.
import socket
import sys
import threading

socks = []
for port in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(port)))
    s.listen(16)
    socks.append((s, port))


def serve(s, port):
    while True:
        c, _ = s.accept()
        with c:
            c.sendall(("SSH-2.0-nomoat-test %s\r\n" % port).encode())


for s, port in socks:
    threading.Thread(target=serve, args=(s, port), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
