"""The HTTP side: one threaded server, one port, three kinds of request.

  /_sim/...   the admin interface (JSON)
  /latest/... IMDSv2
  anything else: the EC2/STS Query API (POST form body, or GET query string)

HTTP/1.1 with keep-alive, as the daemon's libcurl client uses it. Every answer
carries Content-Length. A 'reset' or 'lost_answer' fault closes the socket with
SO_LINGER 0 so the client sees a real connection reset, not a clean close;
'garbled_http' and 'truncated' write what they write and close cleanly; 'hang'
holds the connection without a word; 'huge_body' streams its body in pieces,
never holding it whole.
"""
import email.utils
import json
import select
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import admin, api, container, imds
from .clock import real_time
from .faults import GARBAGE

PIECE = 256 * 1024      # a huge body goes out in pieces of this size


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'AmazonEC2'
    sys_version = ''

    def date_time_string(self, timestamp=None):
        """The Date header of every answer: the server's wall clock (date_offset_seconds)."""
        offset = self.server.sim.settings.date_offset_seconds
        return email.utils.formatdate((real_time() if timestamp is None else timestamp) + offset,
                                      usegmt=True)

    def log_message(self, fmt, *args):
        if self.server.sim_verbose:
            sys.stderr.write('ec2sim: %s - %s\n' % (self.address_string(), fmt % args))

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _body(self):
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length > 0 else b''

    def _send(self, status, body, content_type, cut=None, headers=None):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body if cut is None else body[:cut])

    def _dispatch(self):
        sim = self.server.sim
        body = self._body()
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith('/_sim/') or path == '/_sim':
            query = dict(parse_qsl(parts.query))
            status, doc = admin.handle(sim, self.command, path.rstrip('/') or path,
                                       query, body.decode('utf-8', 'replace'))
            self._send(status, json.dumps(doc).encode(), 'application/json')
            return
        is_imds = path.startswith('/latest/') or path == '/latest'
        if is_imds or container.is_container_path(path):
            if is_imds:
                answer = imds.handle(sim, self.command, path, self.headers)
            else:
                answer = container.handle(sim, self.command, path, self.headers)
            sim.calls.add({'time': sim.clock.to_json()['now'],
                           'action': f'{self.command} {path}', 'service': 'imds' if is_imds else 'container',
                           'region': None, 'access_key': None, 'params': {},
                           'status': None if answer.hang else answer.status,
                           'error_code': None, 'request_id': None, 'fault': None})
            if answer.hang:
                self._hang()
                return
            self._send(answer.status, answer.body, answer.content_type)
            return
        answer = api.handle(sim, self.command, path, parts.query, self.headers, body)
        if answer.hang is not None:
            self._hang_fault(answer.hang)
            return
        if answer.huge is not None:
            self._send_huge(answer)
            return
        if answer.reset:
            self._reset()
            return
        if answer.raw is not None:
            self.wfile.write(answer.raw)
            self.close_connection = True
            return
        if answer.truncate:
            self._send(answer.status, answer.body, answer.content_type,
                       cut=len(answer.body) // 2)
            self.close_connection = True
            return
        self._send(answer.status, answer.body, answer.content_type, headers=answer.headers)

    def _hang(self):
        """Accept and never answer, until IMDS is switched back or we stop."""
        sim = self.server.sim
        while sim.imds.mode == 'hang' and not sim.stopping.wait(0.1):
            pass
        self.close_connection = True

    def _hang_fault(self, fault):
        """A 'hang' fault: no answer while the fault is in place, its `seconds` have not
        passed, the client is still there and the simulator runs; then close."""
        sim = self.server.sim
        deadline = None if fault['seconds'] is None else time.monotonic() + fault['seconds']
        self.close_connection = True
        while sim.faults.active(fault['id']) and not sim.stopping.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return
            readable, _, _ = select.select([self.connection], [], [], 0.1)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return      # the client gave up and closed
                except OSError:
                    return
                time.sleep(0.1)     # a pipelined request: keep holding

    def _huge_pieces(self, answer, size):
        """The pieces of a 'huge_body' answer of `size` bytes."""
        if answer.huge['body'] == 'garbage':
            left = size
            while left > 0:
                piece = GARBAGE[:min(left, len(GARBAGE))]
                left -= len(piece)
                yield piece
            return
        # The action's answer, well-formed, with a comment before its root's end tag.
        cut = answer.body.rindex(b'</')
        pad = max(size - len(answer.body) - len(b'<!---->'), 0)
        yield answer.body[:cut] + b'<!--'
        while pad > 0:
            piece = min(pad, PIECE)
            pad -= piece
            yield b' ' * piece
        yield b'-->' + answer.body[cut:]

    def _send_huge(self, answer):
        fault = answer.huge
        size = max(fault['bytes'], len(answer.body) + len(b'<!---->'))
        if fault['body'] == 'garbage':
            size = fault['bytes']
        self.send_response(answer.status)
        self.send_header('Content-Type', answer.content_type)
        if fault['chunked']:
            self.send_header('Transfer-Encoding', 'chunked')
        else:
            self.send_header('Content-Length', str(size))
        self.end_headers()
        self.close_connection = True
        try:
            for piece in self._huge_pieces(answer, size):
                for start in range(0, len(piece), PIECE):
                    part = piece[start:start + PIECE]
                    if fault['chunked']:
                        self.wfile.write(b'%x\r\n' % len(part) + part + b'\r\n')
                    else:
                        self.wfile.write(part)
            if fault['chunked']:
                self.wfile.write(b'0\r\n\r\n')
        except OSError:
            pass            # the client stopped reading: as it should, past its limit

    def _reset(self):
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack('ii', 1, 0))
            self.connection.close()
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, sim, verbose=False):
        super().__init__(address, Handler)
        self.sim = sim
        self.sim_verbose = verbose

    def handle_error(self, request, client_address):
        # A client that went away mid-answer is not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)
