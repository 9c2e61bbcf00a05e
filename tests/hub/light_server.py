"""A stand-in for jupyterhub-singleuser where many servers run at once (the kill -9 test,
the benchmarks): it listens where the real one would (JUPYTERHUB_SERVICE_URL) and answers
every request with 200, which is all the hub checks before it calls a server up. Not a
Jupyter server: tests that open a server's API use the real one."""

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
