#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""
A small IMDSv2 for test-creds: the token dance, one instance role whose
credentials change on every fetch, and misbehaviour on demand. Standard
library only. Listens on 127.0.0.1, prints "imds-server listening on
http://127.0.0.1:PORT" and exits after --lifetime seconds or when its parent
is gone, so a crashed test never leaves it behind.

IMDS paths, as the EC2 user guide gives them:
  PUT /latest/api/token                            needs X-aws-ec2-metadata-token-ttl-seconds
  GET /latest/meta-data/iam/security-credentials/  needs X-aws-ec2-metadata-token; the role name
  GET /latest/meta-data/iam/security-credentials/ROLE
      {"Code": "Success", "AccessKeyId": "ASIAIMDSn", "SecretAccessKey": "imds-secret-n",
       "Token": "imds-token-n", "Expiration": ...}, n counting fetches from 1

Test control (not counted):
  GET /_control?mode=M&expiration=ISO8601   sets either; answers the counters
  GET /_stats                               "requests=N token=T role=R credentials=C"

Modes: ok; hang (accept, never answer); hang-credentials (answer the token and
the role, hang on the keys); no-role (404 for the role list); error (500 for
the keys); bad-json; truncated-json; code (Code "AssumeRoleUnauthorizedAccess");
token-403 (IMDSv2 refused).
"""

import argparse
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLE = "amirotd-test-role"
TOKEN = "imds-session-token-for-tests"
CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"

lock = threading.Lock()
state = {"mode": "ok", "expiration": "2030-01-01T00:00:00Z"}
counts = {"requests": 0, "token": 0, "role": 0, "credentials": 0}


def count(what):
    with lock:
        counts["requests"] += 1
        counts[what] += 1
        return counts[what]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def hang(self):
        time.sleep(120)
        self.close_connection = True

    def do_PUT(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path != "/latest/api/token":
            self.reply(404, "Not Found")
            return
        count("token")
        mode = state["mode"]
        if mode == "hang":
            self.hang()
            return
        if mode == "token-403":
            self.reply(403, "Forbidden")
            return
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            self.reply(400, "Bad Request")
            return
        self.reply(200, TOKEN)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_control":
            query = urllib.parse.parse_qs(url.query)
            with lock:
                for key in ("mode", "expiration"):
                    if key in query:
                        state[key] = query[key][0]
            self.reply(200, json.dumps({**state, **counts}))
            return
        if url.path == "/_stats":
            with lock:
                text = " ".join(f"{k}={counts[k]}" for k in ("requests", "token", "role", "credentials"))
            self.reply(200, text)
            return

        mode = state["mode"]
        if url.path == CREDENTIALS_PATH:
            count("role")
        elif url.path.startswith(CREDENTIALS_PATH):
            n = count("credentials")
        else:
            self.reply(404, "Not Found")
            return
        if mode == "hang":
            self.hang()
            return
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            self.reply(401, "Unauthorized")
            return

        if url.path == CREDENTIALS_PATH:
            if mode == "no-role":
                self.reply(404, "Not Found")
            else:
                self.reply(200, ROLE + "\n")
            return
        if url.path != CREDENTIALS_PATH + ROLE:
            self.reply(404, "Not Found")
            return
        if mode == "hang-credentials":
            self.hang()
        elif mode == "error":
            self.reply(500, "Internal Server Error")
        elif mode == "bad-json":
            self.reply(200, "<html>not json</html>")
        elif mode == "truncated-json":
            self.reply(200, '{"Code": "Success", "AccessKeyId": "ASIAIMDS')
        elif mode == "code":
            self.reply(200, json.dumps({"Code": "AssumeRoleUnauthorizedAccess",
                                        "Message": "cannot assume the role",
                                        "LastUpdated": "2026-11-26T12:00:00Z"}))
        else:
            self.reply(200, json.dumps({
                "Code": "Success",
                "LastUpdated": "2026-11-26T12:00:00Z",
                "Type": "AWS-HMAC",
                "AccessKeyId": f"ASIAIMDS{n}",
                "SecretAccessKey": f"imds-secret-{n}",
                "Token": f"imds-token-{n}",
                "Expiration": state["expiration"],
            }, indent=2))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifetime", type=int, default=120)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    parent = os.getppid()

    def watchdog():
        deadline = time.monotonic() + args.lifetime
        while time.monotonic() < deadline and os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    print(f"imds-server listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
