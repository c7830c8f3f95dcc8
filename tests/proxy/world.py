# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# world.py - the test internet of tests/proxy: run in the world namespace by
# proxy-integration as `python3 world.py CERT KEY`, prints "ready" once every
# socket is bound, and serves until killed:
#   :80 (HTTP) and :443 (HTTPS, the test certificate) on 11.22.33.44,
#   11.22.33.45, 169.254.169.254, [2a00:1:2:3::44] and [fd00:ec2::254]:
#     answer any request with "HELLO <local addr:port> host=<Host> path=<target>"
#   11.22.33.44:81   read to EOF, then answer "GOT <n>" (half-close)
#   11.22.33.44:82   read and never answer (idle timeout)
#   11.22.33.44:83   read the request head, then send 64 MiB (bulk)
#   11.22.33.44:84   speak first ("BANNER"), then answer one line with "ECHO <line>"
import socket
import ssl
import sys
import threading
import time

CERT, KEY = sys.argv[1], sys.argv[2]
V4 = ["11.22.33.44", "11.22.33.45", "169.254.169.254"]
V6 = ["2a00:1:2:3::44", "fd00:ec2::254"]

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)


def local_str(c):
    a = c.getsockname()
    return "[%s]:%d" % (a[0], a[1]) if ":" in a[0] else "%s:%d" % (a[0], a[1])


def read_head(c):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        d = c.recv(4096)
        if not d:
            break
        data += d
    return data.split(b"\r\n\r\n")[0].decode("latin1")


def http_reply(c, local):
    lines = read_head(c).split("\r\n")
    parts = lines[0].split(" ") if lines else []
    host = ""
    for line in lines[1:]:
        if line.lower().startswith("host:"):
            host = line[5:].strip()
    body = ("HELLO %s host=%s path=%s\n" % (local, host, parts[1] if len(parts) > 1 else "")).encode()
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)


def handle(c, kind):
    try:
        c.settimeout(15)
        local = local_str(c)
        if kind == "https":
            c = ctx.wrap_socket(c, server_side=True)
            http_reply(c, local)
        elif kind == "http":
            http_reply(c, local)
        elif kind == "eof":
            n = 0
            while True:
                d = c.recv(65536)
                if not d:
                    break
                n += len(d)
            c.sendall(b"GOT %d\n" % n)
        elif kind == "hold":
            while c.recv(65536):
                pass
        elif kind == "banner":
            c.sendall(b"BANNER\n")
            line = b""
            while not line.endswith(b"\n"):
                d = c.recv(1024)
                if not d:
                    break
                line += d
            c.sendall(b"ECHO " + line)
        elif kind == "bulk":
            read_head(c)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\nConnection: close\r\n\r\n")
            chunk = b"x" * 65536
            for _ in range(1024):
                c.sendall(chunk)
    except Exception:
        pass
    finally:
        try:
            c.close()
        except Exception:
            pass


def serve(fam, addr, port, kind):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(512)

    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=handle, args=(c, kind), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


for a in V4:
    serve(socket.AF_INET, a, 80, "http")
    serve(socket.AF_INET, a, 443, "https")
for a in V6:
    serve(socket.AF_INET6, a, 80, "http")
    serve(socket.AF_INET6, a, 443, "https")
serve(socket.AF_INET, "11.22.33.44", 81, "eof")
serve(socket.AF_INET, "11.22.33.44", 82, "hold")
serve(socket.AF_INET, "11.22.33.44", 83, "bulk")
serve(socket.AF_INET, "11.22.33.44", 84, "banner")
print("ready", flush=True)
while True:
    time.sleep(3600)
