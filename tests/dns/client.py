# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# client.py - the sandboxed clients of tests/dns that dig is not: run inside
# a sandbox's cgroup in the client namespace.  Every wait is bounded.
#
#   client.py query SERVER NAME TYPE [--tcp] [--edns]   one query; prints
#        "rcode=N tc=0|1 ancount=N ttl=T addrs=A,B" (or "timeout")
#   client.py raw SERVER HEX     send bytes, print "reply len=N rcode=N" or "none"
#   client.py flood SERVER N NAME  N queries at once (distinct ids, one socket),
#        then count answers for 2 s: "sent=N answered=N refused=N servfail=N noerror=N"
#   client.py distinct SERVER N SUFFIX   N queries of qNNNN.SUFFIX at once, the same count line
#   client.py gai NAME           socket.getaddrinfo (glibc, /etc/resolv.conf): the addresses
#   client.py connect NAME PORT  connect by name (getaddrinfo), print what the server sends first
import socket
import struct
import sys
import time


def encode(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("latin1")
    return out + b"\0"


TYPES = {"A": 1, "AAAA": 28, "TXT": 16, "NULL": 10, "ANY": 255, "HTTPS": 65, "MX": 15}


def build(name, qtype, qid=0x1234, edns=False):
    msg = struct.pack("!6H", qid, 0x0100, 1, 0, 0, 1 if edns else 0) + encode(name)
    msg += struct.pack("!HH", TYPES.get(qtype, 1) if isinstance(qtype, str) else qtype, 1)
    if edns:
        # an OPT with a client subnet option: never to be passed on
        ecs = struct.pack("!HBB", 1, 24, 0) + bytes([10, 250, 0])
        msg += b"\0" + struct.pack("!HHIH", 41, 1232, 0, 4 + len(ecs)) + struct.pack("!HH", 8, len(ecs)) + ecs
    return msg


def family(server):
    return socket.AF_INET6 if ":" in server else socket.AF_INET


def parse(reply):
    qid, flags, qd, an, ns, ar = struct.unpack("!6H", reply[:12])
    off = 12
    for _ in range(qd):
        while reply[off] != 0:
            off += 1 + reply[off]
        off += 5
    addrs, ttl = [], None
    for _ in range(an):
        if reply[off] & 0xC0:
            off += 2
        else:
            while reply[off] != 0:
                off += 1 + reply[off]
            off += 1
        t, c, tt, rdlen = struct.unpack("!HHIH", reply[off : off + 10])
        off += 10
        data = reply[off : off + rdlen]
        off += rdlen
        ttl = tt if ttl is None else min(ttl, tt)
        if t == 1:
            addrs.append(socket.inet_ntop(socket.AF_INET, data))
        elif t == 28:
            addrs.append(socket.inet_ntop(socket.AF_INET6, data))
    return qid, flags & 0xF, (flags >> 9) & 1, an, ttl, addrs


def query(server, name, qtype, tcp, edns):
    msg = build(name, qtype, edns=edns)
    if tcp:
        s = socket.socket(family(server), socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((server, 53))
        s.sendall(struct.pack("!H", len(msg)) + msg)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            d = s.recv(65535)
            if not d:
                break
            buf += d
        reply = buf[2:]
    else:
        s = socket.socket(family(server), socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(msg, (server, 53))
        reply, _ = s.recvfrom(65535)
    qid, rcode, tc, an, ttl, addrs = parse(reply)
    print("rcode=%d tc=%d ancount=%d ttl=%s addrs=%s len=%d" % (rcode, tc, an, ttl, ",".join(addrs), len(reply)))


def count(s, qids, wait):
    res = {"answered": 0, "refused": 0, "servfail": 0, "noerror": 0, "nxdomain": 0}
    end = time.time() + wait
    s.settimeout(0.2)
    while time.time() < end and res["answered"] < len(qids):
        try:
            reply = s.recv(65535)
        except socket.timeout:
            continue
        qid, rcode = struct.unpack("!HH", reply[:4])
        if qid not in qids:
            continue
        res["answered"] += 1
        key = {0: "noerror", 2: "servfail", 3: "nxdomain", 5: "refused"}.get(rcode & 0xF)
        if key:
            res[key] += 1
    return res


def burst(server, names):
    s = socket.socket(family(server), socket.SOCK_DGRAM)
    s.connect((server, 53))
    qids = set()
    for i, n in enumerate(names):
        qids.add(i + 1)
        s.send(build(n, "A", qid=i + 1))
    r = count(s, qids, 3.0 if len(names) < 200 else 4.0)
    print("sent=%d " % len(names) + " ".join("%s=%d" % kv for kv in r.items()))


def main():
    cmd = sys.argv[1]
    if cmd == "query":
        try:
            query(sys.argv[2], sys.argv[3], sys.argv[4], "--tcp" in sys.argv, "--edns" in sys.argv)
        except (socket.timeout, ConnectionError) as e:
            print("timeout", e)
    elif cmd == "raw":
        s = socket.socket(family(sys.argv[2]), socket.SOCK_DGRAM)
        s.settimeout(1.5)
        s.sendto(bytes.fromhex(sys.argv[3]), (sys.argv[2], 53))
        try:
            reply = s.recv(65535)
            print("reply len=%d rcode=%d" % (len(reply), reply[3] & 0xF if len(reply) > 3 else -1))
        except socket.timeout:
            print("none")
    elif cmd == "flood":
        burst(sys.argv[2], [sys.argv[4]] * int(sys.argv[3]))
    elif cmd == "distinct":
        burst(sys.argv[2], ["q%04d.%s" % (i, sys.argv[4]) for i in range(int(sys.argv[3]))])
    elif cmd == "gai":
        try:
            print(" ".join(sorted({a[4][0] for a in socket.getaddrinfo(sys.argv[2], 80, proto=socket.IPPROTO_TCP)})))
        except socket.gaierror as e:
            print("gaierror", e)
    elif cmd == "connect":
        try:
            s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5)
            s.settimeout(5)
            print("peer=%s got=%r" % (s.getpeername()[0], s.recv(200)))
        except OSError as e:
            print("error", e)


main()
