#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""
A scripted HTTP/1.1 server for the unit tests of daemon/aws/http.c and
client.c. Standard library only. It listens on 127.0.0.1, prints the port on
its first line of output, and exits after --lifetime seconds whatever happens,
so a crashed test never leaves it behind.

Paths (GET or POST; query parameters or, for POST, form parameters):
  /ok[?body=TEXT]          200, body TEXT (default "hello"), x-amzn-RequestId: req-ok
  /redirect                302 to /ok (the client must not follow it)
  /echo                    200, the request line, selected headers and body, one per line
  /throttle                503, EC2 RequestLimitExceeded error document
  /internal                500, EC2 InternalError error document
  /invalid                 400, EC2 InvalidParameterValue error document
  /reset                   reads the request, then closes the connection with RST
  /garbled                 reads the request, writes bytes that are not HTTP, closes
  /hang                    reads the request and never answers
  /big[?chunked=1]         200 with a 10 MB body (Content-Length, or chunked)
  /drip?n=N&ms=M           200, N bytes, one every M ms (Content-Length sent first)
  /sleep?ms=M[&body=TEXT]  200 after M ms
  /stats[?reset=1]         "connections=N peak=P": TCP connections accepted so far,
                           highest number of /sleep requests handled at once (reset=1 resets it)
  /                        the Query protocol (client tests): POST form with TestScript=
                           a comma-separated list of answers (ok, throttle, internal,
                           invalid, authfailure, expired, reset, hang, garbled, malformed,
                           skewed) and TestKey= a unique key; the Nth request of a key gets
                           the Nth answer (the last repeats). The ok answer echoes
                           Authorization, X-Amz-Date, X-Amz-Security-Token, Content-Type,
                           Host and the attempt number. malformed: 200 with XML cut in
                           half. skewed: EC2's RequestExpired unless X-Amz-Date is within
                           15 minutes of a server clock 20 minutes ahead (TestSkew=SECONDS
                           sets another offset), whose Date header every skewed answer
                           carries; then the ok answer (TestSkewRefuse=1: RequestExpired
                           whatever the date).
"""

import argparse
import calendar
import email.utils
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EC2_ERROR = ('<?xml version="1.0" encoding="UTF-8"?>\n'
             '<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>'
             '</Error></Errors><RequestID>{rid}</RequestID></Response>\n')

ANSWERS = {
    "throttle": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "internal": (500, "InternalError", "An internal error has occurred."),
    "invalid": (400, "InvalidParameterValue", "Value (x) for parameter y is invalid."),
    "authfailure": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
    "expired": (400, "RequestExpired", "Request has expired."),
}

lock = threading.Lock()
connections = 0
active = 0
peak = 0
script_counts = {}
request_serial = 0


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def get_request(self):
        global connections
        conn = super().get_request()
        with lock:
            connections += 1
        return conn


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "amirotd-test-httpd"

    def log_message(self, fmt, *args):
        pass

    def leave(self):
        # The request counts as handled before its answer goes out: the client may
        # send the next one as soon as it has read this one.
        global active
        if self.counted:
            self.counted = False
            with lock:
                active -= 1

    def send(self, status, body, headers=()):
        self.leave()
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def params(self, body):
        u = urllib.parse.urlsplit(self.path)
        p = dict(urllib.parse.parse_qsl(u.query))
        if body:
            p.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        return u.path, p

    def garbled(self):
        self.leave()
        self.wfile.write(b"HTPT/1.1 2OO K\r\n\x00\x01\x02garbage\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    def skewed(self, p):
        """True when it answered: the request's date is outside the window of the shifted clock."""
        offset = int(p.get("TestSkew", "1200"))
        server_now = time.time() + offset
        try:
            signed = calendar.timegm(time.strptime(self.headers.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ"))
        except ValueError:
            signed = 0
        self.date_offset = offset
        if abs(server_now - signed) <= 15 * 60 and not p.get("TestSkewRefuse"):
            return False
        status, code, message = ANSWERS["expired"]
        self.send(status, EC2_ERROR.format(code=code, message=message, rid="req-skewed"),
                  [("Content-Type", "text/xml;charset=UTF-8")])
        return True

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate((timestamp or time.time()) + getattr(self, "date_offset", 0),
                                      usegmt=True)

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def handle_any(self):
        global active, peak, request_serial
        self.date_offset = 0
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        path, p = self.params(body)
        # Only /sleep counts towards the peak: a /hang from an earlier test would distort it.
        self.counted = path == "/sleep"
        with lock:
            if self.counted:
                active += 1
                peak = max(peak, active)
            request_serial += 1
            serial = request_serial
        try:
            self.dispatch(path, p, body, serial)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            self.leave()

    def dispatch(self, path, p, body, serial):
        global peak
        rid = "req-%d" % serial
        if path == "/ok":
            self.send(200, p.get("body", "hello"), [("x-amzn-RequestId", "req-ok")])
        elif path == "/redirect":
            self.send(302, "moved\n", [("Location", "/ok")])
        elif path == "/echo":
            lines = ["%s %s" % (self.command, self.path)]
            for h in ("Host", "User-Agent", "Content-Type", "Authorization", "X-Amz-Date",
                      "X-Amz-Security-Token", "Expect", "Accept-Encoding"):
                if h in self.headers:
                    lines.append("%s: %s" % (h, self.headers[h]))
            lines.append("body: " + body.decode("utf-8", "replace"))
            self.send(200, "\n".join(lines) + "\n")
        elif path.lstrip("/") in ANSWERS:
            status, code, message = ANSWERS[path.lstrip("/")]
            self.send(status, EC2_ERROR.format(code=code, message=message, rid=rid),
                      [("Content-Type", "text/xml;charset=UTF-8")])
        elif path == "/reset":
            self.reset()
        elif path == "/garbled":
            self.garbled()
        elif path == "/hang":
            time.sleep(3600)
        elif path == "/big":
            size = 10 * 1024 * 1024
            chunk = b"x" * 65536
            self.send_response(200)
            if p.get("chunked"):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(size // len(chunk)):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(size))
                self.end_headers()
                for _ in range(size // len(chunk)):
                    self.wfile.write(chunk)
        elif path == "/drip":
            n, ms = int(p.get("n", "5")), int(p.get("ms", "100"))
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            for _ in range(n):
                self.wfile.write(b"d")
                self.wfile.flush()
                time.sleep(ms / 1000)
        elif path == "/sleep":
            time.sleep(int(p.get("ms", "100")) / 1000)
            self.send(200, p.get("body", "slept"))
        elif path == "/stats":
            with lock:
                text = "connections=%d peak=%d\n" % (connections, peak)
                if p.get("reset"):
                    peak = 0
            self.send(200, text)
        elif path == "/" and "TestScript" in p:
            self.scripted(p, rid)
        else:
            self.send(404, "no such path\n")

    def scripted(self, p, rid):
        script = p["TestScript"].split(",")
        key = p.get("TestKey", "")
        with lock:
            i = script_counts.get(key, 0)
            script_counts[key] = i + 1
        answer = script[min(i, len(script) - 1)]
        if answer == "reset":
            self.reset()
            return
        if answer == "hang":
            time.sleep(3600)
            return
        if answer == "garbled":
            self.garbled()
            return
        if answer == "skewed" and self.skewed(p):
            return
        if answer == "malformed":
            xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<TestResponse><requestId>%s</requestId>'
                   '<Attempt>%d</Attempt></TestResponse>\n' % (rid, i + 1))
            self.send(200, xml[:len(xml) // 2], [("Content-Type", "text/xml;charset=UTF-8")])
            return
        if answer in ANSWERS:
            status, code, message = ANSWERS[answer]
            self.send(status, EC2_ERROR.format(code=code, message=message, rid=rid),
                      [("Content-Type", "text/xml;charset=UTF-8")])
            return
        fields = [("Attempt", str(i + 1)), ("Action", p.get("Action", "")),
                  ("Version", p.get("Version", ""))]
        for h in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "Content-Type", "Host"):
            fields.append((h.replace("-", ""), self.headers.get(h, "")))
        inner = "".join("<%s>%s</%s>" % (k, escape(v), k) for k, v in fields)
        self.send(200, '<?xml version="1.0" encoding="UTF-8"?>\n'
                  '<TestResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                  "<requestId>%s</requestId>%s</TestResponse>\n" % (rid, inner),
                  [("Content-Type", "text/xml;charset=UTF-8")])


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=300)
    a = ap.parse_args()

    srv = Server(("127.0.0.1", a.port), Handler)
    print(srv.server_address[1], flush=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    # Bounded lifetime; also ends as soon as the test program that started it is gone.
    parent = os.getppid()
    deadline = time.monotonic() + a.lifetime
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
