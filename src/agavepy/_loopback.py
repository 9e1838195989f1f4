"""A one-shot HTTP listener on 127.0.0.1 for the browser's OAuth redirect (RFC 8252 §7.3).

``agave login --web`` opens the authorization page in a browser with
``redirect_uri=http://127.0.0.1:PORT/callback``; the listener answers exactly one request on
that path with a short page, hands back the query parameters, and closes. Only loopback is
bound, the port is chosen by the system, and a request with the wrong ``state`` is refused
(RFC 6749 §10.12, CSRF). Standard library only; no prompts here.
"""

from __future__ import annotations

import html
import http.server
import threading
from urllib.parse import parse_qs, urlsplit

CALLBACK_PATH = "/callback"

_DONE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Agave login</title>"
    "<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{text}</p></body></html>"
)


class LoopbackListener:
    """Listen on ``127.0.0.1:<free port>`` until one redirect arrives (or ``wait`` times out)."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.params: dict[str, str] | None = None
        self._arrived = threading.Event()
        self._server = http.server.HTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"

    def __enter__(self) -> LoopbackListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float | None = None) -> dict[str, str] | None:
        """The redirect's query parameters, or None if none came in time.

        Waits in short steps so that Ctrl-C interrupts it at once.
        """
        step = 0.2
        waited = 0.0
        while not self._arrived.wait(step):
            waited += step
            if timeout is not None and waited >= timeout:
                return None
        return self.params

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH or listener._arrived.is_set():
                    self._page(404, "Not found", "This address only takes the login's redirect.")
                    return
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if params.get("state") != listener.state:
                    self._page(400, "Login refused", "The redirect's state does not match.")
                    return
                if "error" in params:
                    text = params.get("error_description") or params["error"]
                    self._page(200, "Login not completed", f"{text}. You can close this tab.")
                else:
                    self._page(200, "Logged in", "You can close this tab and go back to agave.")
                listener.params = params
                listener._arrived.set()

            def _page(self, status: int, title: str, text: str) -> None:
                body = _DONE.format(title=html.escape(title), text=html.escape(text)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the terminal belongs to agave's own messages."""

        return Handler
