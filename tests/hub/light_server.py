"""A stand-in for jupyterhub-singleuser, used by one test only: the kill -9 test's herd of
50 spawns (test_hub_resilience.py), where 50 real Jupyter servers do not fit a 2-core
machine. It is not a Jupyter server and proves nothing about one: it listens where the real
one would (JUPYTERHUB_SERVICE_URL) and answers every GET with 200, which is all the hub
checks before it calls a server up. Every other hub test runs the real server and checks
what only it does (real_server.py)."""

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"version": "stand-in"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main() -> None:
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    server = ThreadingHTTPServer((url.hostname, url.port or 8888), Handler)
    sys.stdout.write(f"listening on {url.hostname}:{url.port}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
