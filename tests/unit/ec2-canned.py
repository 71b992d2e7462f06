#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""
Canned EC2 answers that the simulator, being correct, never gives: for the
tests of daemon/aws/ec2-calls.c. Standard library only. Listens on 127.0.0.1,
prints "ec2-canned listening on http://127.0.0.1:PORT" and exits after
--lifetime seconds. Signatures are not checked.

The scenario is the value of Filter.1.Value.1 of a DescribeImages request:
  repeat     every page: one image and nextToken "same"
  cycle      nextToken a -> b -> a -> ...
  malformed  page 1: one image, nextToken "p2"; page 2: an item without imageId
DeregisterImage answers <return>false</return>. The request id of an answer is
"canned-" and the NextToken it answers, or "canned-first".
"""

import argparse
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NS = 'http://ec2.amazonaws.com/doc/2016-11-15/'
IMAGE = ('<item><imageId>ami-{n:08x}</imageId><name>canned-{n}</name>'
         '<imageState>available</imageState></item>')


def images_page(request_id, items, token):
    body = ''.join(items)
    next_token = f'<nextToken>{token}</nextToken>' if token else ''
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeImagesResponse xmlns="{NS}">'
            f'<requestId>{request_id}</requestId><imagesSet>{body}</imagesSet>'
            f'{next_token}</DescribeImagesResponse>')


def describe_images(params, request_id):
    scenario = params.get('Filter.1.Value.1', '')
    token = params.get('NextToken')
    if scenario == 'repeat':
        return images_page(request_id, [IMAGE.format(n=1)], 'same')
    if scenario == 'cycle':
        return images_page(request_id, [IMAGE.format(n=2)], 'b' if token == 'a' else 'a')
    if scenario == 'malformed':
        if token is None:
            return images_page(request_id, [IMAGE.format(n=3)], 'p2')
        return images_page(request_id, ['<item><name>no-id</name></item>'], None)
    return images_page(request_id, [], None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode()
        params = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        # Request ids name the page they answer: "canned-first", "canned-p2", ...
        request_id = 'canned-' + params.get('NextToken', 'first')
        action = params.get('Action')
        if action == 'DescribeImages':
            answer = describe_images(params, request_id)
        elif action == 'DeregisterImage':
            answer = (f'<?xml version="1.0" encoding="UTF-8"?>\n<DeregisterImageResponse xmlns="{NS}">'
                      f'<requestId>{request_id}</requestId><return>false</return>'
                      '</DeregisterImageResponse>')
        else:
            answer = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                      f'<Code>InvalidAction</Code><Message>{action}</Message></Error></Errors>'
                      f'<RequestID>{request_id}</RequestID></Response>')
        data = answer.encode()
        self.send_response(200 if action in ('DescribeImages', 'DeregisterImage') else 400)
        self.send_header('Content-Type', 'text/xml;charset=UTF-8')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--lifetime', type=float, default=300)
    args = p.parse_args()
    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f'ec2-canned listening on http://127.0.0.1:{server.server_address[1]}', flush=True)
    threading.Event().wait(args.lifetime)
    return 0


if __name__ == '__main__':
    sys.exit(main())
