"""A fault-injecting reverse proxy in front of the real API server, for tests of the door.

It listens on 127.0.0.1 (plain HTTP), forwards every request to the API server over TLS
(verified with the test CA), and answers the first ``count`` requests of a (method, path)
with a fault instead: a status with headers, or a dropped connection. It counts every
request it receives per (method, path), so a test sees how many attempts a client made.
``freeze()`` makes it a silent network (a half-open connection, a hung load balancer):
connections stay open, open streams deliver nothing more and new requests get no answer,
until ``thaw()``.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from kubernetes import client as k8s

from jupyter_kf.k8s import own_retries
from jupyter_kf.k8s.rbac import user_role, user_role_binding

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass
class Fault:
    """What the proxy does instead of forwarding: ``status`` (with ``headers``), or
    ``drop`` (close the connection without an answer), ``count`` times."""

    count: int
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class FaultyProxy:
    def __init__(self, upstream: str, ca_file: str):
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.context = ssl.create_default_context(cafile=ca_file)
        self.faults: dict[tuple[str, str], Fault] = {}
        self.seen: Counter[tuple[str, str]] = Counter()
        self.queries: dict[tuple[str, str], list[str]] = {}
        self.lock = threading.Lock()
        self.flowing = threading.Event()
        self.flowing.set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                proxy.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail(self, method: str, path: str, fault: Fault) -> None:
        with self.lock:
            self.faults[(method, path)] = fault

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    def attempts(self, method: str, path: str) -> int:
        with self.lock:
            return self.seen[(method, path)]

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        self.flowing.wait()
        key = (req.command, urlsplit(req.path).path)
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else None
        with self.lock:
            self.seen[key] += 1
            self.queries.setdefault(key, []).append(urlsplit(req.path).query)
            fault = self.faults.get(key)
            if fault is not None and fault.count > 0:
                fault.count -= 1
            else:
                fault = None
        if fault is not None and fault.drop:
            req.close_connection = True
            req.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None:
            payload = b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected"}'
            req.send_response(fault.status)
            for name, value in fault.headers.items():
                req.send_header(name, value)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(payload)))
            req.end_headers()
            req.wfile.write(payload)
            return
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=600)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Host"] = f"{self.host}:{self.port}"
            conn.request(req.command, req.path, body=body, headers=headers)
            resp = conn.getresponse()
            req.send_response(resp.status)
            for name, value in resp.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    req.send_header(name, value)
            # Chunk by chunk as the API server sends them: watches and followed logs stream.
            req.send_header("Transfer-Encoding", "chunked")
            req.end_headers()
            while True:
                data = resp.read1(65536)
                if not data:
                    break
                self.flowing.wait()
                req.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                req.wfile.flush()
            req.wfile.write(b"0\r\n\r\n")
        except OSError:
            req.close_connection = True  # the client went away: so does the upstream request
        finally:
            conn.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def notebook_behind_proxy(
    cluster: Any, admin_api: k8s.ApiClient, namespace: str, sa_client: Any
) -> tuple[FaultyProxy, k8s.ApiClient]:
    """A notebook's ServiceAccount with the user Role in ``namespace``, and an API client with
    its rights that reaches the API server through a new proxy (retrying as every client the
    package makes or is given). The caller closes both."""
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    rbac.create_namespaced_role(namespace, user_role(namespace))
    rbac.create_namespaced_role_binding(namespace, user_role_binding(namespace, "notebook"))
    direct = sa_client(namespace, "notebook")
    proxy = FaultyProxy(cluster.api_server, direct.configuration.ssl_ca_cert)
    conf = k8s.Configuration()
    conf.host = proxy.url
    conf.api_key = dict(direct.configuration.api_key)
    conf.api_key_prefix = dict(direct.configuration.api_key_prefix)
    return proxy, own_retries(k8s.ApiClient(conf))
