"""A relying party's redirect endpoint for the tests: a real HTTP server on a loopback port
that records every request the browser is sent to and answers with a small page."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Callback:
    """``http://127.0.0.1:<port>/cb``: records each hit's path and query parameters."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self._arrived = threading.Condition()
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/cb"):  # not /favicon.ico
                    with callback._arrived:
                        callback.hits.append(self.path)
                        callback._arrived.notify_all()
                body = b"<!doctype html><title>Relying party</title><h1>Back at the app</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.origin}/cb"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, count: int = 1, timeout: float = 30) -> str:
        """The full URL of the ``count``-th hit, waiting for it."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.hits) >= count, timeout):
                raise AssertionError(f"the browser never came back to {self.url}")
            return self.origin + self.hits[count - 1]

    @staticmethod
    def params(url: str) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
