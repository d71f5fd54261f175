"""A small web server on a loopback port, in a thread, serving made-up files for the download tests (core and
window): what each address answers is set per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    """What the server sends for one path: a status, a body, headers, and ways to misbehave."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    length: int | None = -1  # -1: the body's length; None: no Content-Length header
    delay_s: float = 0.0  # before answering
    cut_after: int | None = None  # bytes sent before the connection is closed
    chunk_pause_s: float = 0.0  # between 64 KiB blocks, so a test can watch the progress and cancel


@dataclass
class LocalServer:
    url: str
    answers: dict[str, Answer] = field(default_factory=dict)

    def serve(self, path: str, answer: Answer) -> str:
        self.answers[path] = answer
        return self.url + path


@contextmanager
def local_server() -> Iterator[LocalServer]:
    server_state = LocalServer("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = server_state.answers.get(self.path.split("?")[0])
            if answer is None:
                self.send_error(404, "Not Found")
                return
            time.sleep(answer.delay_s)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            length = len(answer.body) if answer.length == -1 else answer.length
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.send_header("Connection", "close")
            self.end_headers()
            body = answer.body if answer.cut_after is None else answer.body[:answer.cut_after]
            try:
                for start in range(0, len(body), 64 * 1024):
                    self.wfile.write(body[start:start + 64 * 1024])
                    self.wfile.flush()
                    time.sleep(answer.chunk_pause_s)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading (a cancel, a size refused)
            self.close_connection = True

        def log_message(self, *_args: object) -> None:  # quiet: the tests' output is theirs
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    """An address on this computer where nothing listens."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/table.csv"

