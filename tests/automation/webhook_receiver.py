"""A real HTTP receiver for webhook tests and the benchmark: http.server in a thread, on 127.0.0.1
only. Each request takes the next planned answer (status, delay); when the plan runs out, 200.
Side effects are applied once per webhook-id (what a receiver does with at-least-once delivery)."""
from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self, plan=(), port: int = 0):
        self.plan = list(plan)            # [(status, delay seconds), ...]
        self.requests: list[tuple[dict, bytes]] = []
        self.applied: dict[str, int] = {}  # webhook-id -> times its side effect was applied (must stay 1)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True    # headers and body are two writes: no 40 ms delayed-ACK stall

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status, delay = receiver.plan.pop(0) if receiver.plan else (200, 0)
                if delay:
                    time.sleep(delay)
                if 200 <= status < 300:
                    with receiver.lock:
                        key = self.headers.get("webhook-id")
                        receiver.applied[key] = 1 if key not in receiver.applied else receiver.applied[key]
                answer = b'{"ok": true}' if status < 300 else b'{"error": "nope"}'
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):   # the sender gave up (timeout)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.requests)
