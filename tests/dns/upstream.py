# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# upstream.py - the test upstream resolver of tests/dns, run in the world
# namespace as `python3 upstream.py ADDR LOG [NAME=IPV4...]` (ADDR an IPv4
# address, port 53, UDP and TCP; each NAME=IPV4 one more A record, as
# make demo gives), prints "ready" once bound, serves until killed.
#
# It writes every query it receives to LOG, one JSON object a line, the
# name exactly as it arrived (case kept), so a test can prove what did and
# did not leave nomoat-dns:
#   {"transport":"udp","name":"allowed.test","qtype":1,"qclass":1,
#    "edns":false,"options":[],"additional":0,"len":30}
#
# The zone (case-insensitive lookups; anything else is NXDOMAIN):
#   allowed.test       A 11.22.33.44, AAAA 2a00:1:2:3::44  (TTL 30)
#   a.wild.test        A 11.22.33.45
#   ttl.test           A 11.22.33.44 with TTL 3600 (the cap)
#   many.test          40 A records 11.22.40.1 .. 11.22.40.40
#   cname.test         CNAME allowed.test, and its A
#   rebind.test        A 169.254.169.254 (the fake metadata address)
#   rebind6.test       AAAA ::ffff:10.1.2.3 (IPv4-mapped, a private address)
#   priv.test          A 11.22.33.44 and 10.1.2.3 (one bad address spoils all)
#   ssh.test           A 11.22.33.44 (the synthetic-names service)
#   v6only.test        AAAA 2a00:1:2:3::44, no A
#   <anything>.any.test     A 11.22.33.44 (floods of distinct names)
import json
import socket
import struct
import sys
import threading

ADDR, LOG = sys.argv[1], sys.argv[2]
lock = threading.Lock()
logf = open(LOG, "a", buffering=1)

A4 = lambda s: socket.inet_pton(socket.AF_INET, s)
A6 = lambda s: socket.inet_pton(socket.AF_INET6, s)
ZONE = {
    ("allowed.test", 1): [(30, A4("11.22.33.44"))],
    ("allowed.test", 28): [(30, A6("2a00:1:2:3::44"))],
    ("a.wild.test", 1): [(30, A4("11.22.33.45"))],
    ("ttl.test", 1): [(3600, A4("11.22.33.44"))],
    ("many.test", 1): [(30, A4("11.22.40.%d" % i)) for i in range(1, 41)],
    ("rebind.test", 1): [(30, A4("169.254.169.254"))],
    ("rebind6.test", 28): [(30, A6("::ffff:10.1.2.3"))],
    ("priv.test", 1): [(30, A4("11.22.33.44")), (30, A4("10.1.2.3"))],
    ("ssh.test", 1): [(30, A4("11.22.33.44"))],
    ("v6only.test", 28): [(30, A6("2a00:1:2:3::44"))],
}
for extra in sys.argv[3:]:
    n, a = extra.split("=")
    ZONE[(n.lower(), 1)] = [(30, A4(a))]
NAMES = {n for n, _ in ZONE} | {"cname.test"}


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return labels, off + 1
        if n & 0xC0:
            raise ValueError("pointer in a question")
        labels.append(msg[off + 1 : off + 1 + n])
        off += 1 + n


def encode(name):
    out = b""
    for l in name.split("."):
        out += bytes([len(l)]) + l.encode()
    return out + b"\0"


def answer(msg, transport):
    qid, flags, qd, an, ns, ar = struct.unpack("!6H", msg[:12])
    labels, off = read_name(msg, 12)
    qtype, qclass = struct.unpack("!HH", msg[off : off + 4])
    qend = off + 4
    # the additional records: an OPT and its options
    edns, options, p = False, [], qend
    for _ in range(ar):
        if msg[p] == 0:
            p += 1
        else:
            _, p = read_name(msg, p)
        t, c, ttl, rdlen = struct.unpack("!HHIH", msg[p : p + 10])
        p += 10
        if t == 41:
            edns = True
            q = p
            while q + 4 <= p + rdlen:
                code, olen = struct.unpack("!HH", msg[q : q + 4])
                options.append(code)
                q += 4 + olen
        p += rdlen
    raw = ".".join(l.decode("latin1") for l in labels)
    with lock:
        logf.write(json.dumps({"transport": transport, "name": raw, "qtype": qtype, "qclass": qclass,
                               "edns": edns, "options": options, "additional": ar, "len": len(msg)}) + "\n")
    name = raw.lower()
    records = []
    if name == "cname.test":
        records.append((5, 30, encode("allowed.test")))
        if qtype == 1:
            records += [(1, t, d) for t, d in ZONE[("allowed.test", 1)]]
        known = True
    elif name.endswith(".any.test"):
        known = True
        if qtype == 1:
            records = [(1, 30, A4("11.22.33.44"))]
    else:
        known = name in NAMES
        records = [(qtype, t, d) for t, d in ZONE.get((name, qtype), [])]
    rcode = 0 if known else 3
    head = struct.pack("!6H", qid, 0x8180 | rcode, 1, len(records), 0, 0)
    body = msg[12:qend]
    for i, (t, ttl, data) in enumerate(records):
        owner = b"\xc0\x0c" if i == 0 or records[0][0] != 5 else encode("allowed.test")
        body += owner + struct.pack("!HHIH", t, 1, ttl, len(data)) + data
    return head + body


usock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
usock.bind((ADDR, 53))
tsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tsock.bind((ADDR, 53))
tsock.listen(64)


def udp():
    s = usock
    while True:
        msg, peer = s.recvfrom(65535)
        try:
            s.sendto(answer(msg, "udp"), peer)
        except Exception as e:  # a malformed query: logged, not answered
            with lock:
                logf.write(json.dumps({"transport": "udp", "error": str(e), "len": len(msg)}) + "\n")


def tcp_conn(c):
    with c:
        buf = b""
        while True:
            d = c.recv(65535)
            if not d:
                return
            buf += d
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                msg, buf = buf[2 : 2 + n], buf[2 + n :]
                out = answer(msg, "tcp")
                c.sendall(struct.pack("!H", len(out)) + out)


def tcp():
    while True:
        c, _ = tsock.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()


threading.Thread(target=udp, daemon=True).start()
threading.Thread(target=tcp, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
