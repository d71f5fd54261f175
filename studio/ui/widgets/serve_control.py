"""Export step: serve the saved model on this computer (the web service of ``studio serve``), with Start and Stop.

The server runs in a thread this widget owns; the GUI thread only reads its state every POLL_MS, so neither
loading the model nor importing FastAPI ever freezes the window.
"""

from __future__ import annotations

import html
import importlib.util
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.common.errors import StudioError, first_line
from studio.core.project import Project
from studio.ui.widgets.common import MessageBanner, section_label

INSTALL_HINT = ('Serving needs FastAPI and uvicorn, which are not installed: run pip install -e ".[serve]" in '
                "Studio's folder, then start Studio again.")
IDLE_TEXT = ("Start a small web service, and other programs on this computer can send rows to the model and get "
             "its predictions back, for as long as Studio stays open.")
POLL_MS = 100
JOIN_S = 5.0  # uvicorn's graceful shutdown is limited to 3 s (make_server); this leaves it room


class ServeControl(QWidget):
    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.available = all(importlib.util.find_spec(name) is not None for name in ("fastapi", "uvicorn"))
        self.address = ""  # http://127.0.0.1:PORT once the socket is bound
        self.served_path = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._error = ""
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.status = QLabel(IDLE_TEXT if self.available else INSTALL_HINT)
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.status.setOpenExternalLinks(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.banner = MessageBanner()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._show_state)
        row = QHBoxLayout()  # buttons and words side by side: the page is full already on a small screen
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(section_label("Serve this model on this computer"))
        layout.addLayout(row)
        layout.addWidget(self.banner)
        self.start_button.setVisible(self.available)
        self.stop_button.setVisible(self.available)
        self.refresh()

    def refresh(self) -> None:
        result = self.project.result
        pictures = result is not None and bool(result.image_cases)
        self.setVisible((bool(self.project.exported_path) and not pictures) or self._thread is not None)
        self._show_state()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and bool(getattr(self._server, "started", False))

    def start(self) -> bool:
        path = self.project.exported_path
        if not path or not self.available or self._thread is not None:
            return False
        self.banner.clear()
        self._stopping, self._error, self.address, self.served_path = False, "", "", path
        self._thread = threading.Thread(target=self._serve, args=(Path(path),), name="studio-serve", daemon=True)
        self._thread.start()
        self.timer.start()
        self._show_state()
        return True

    def stop(self) -> None:
        # Read by the thread before it runs the server, so a stop during start-up is never missed (see _serve).
        self._stopping = True
        if self._server is not None:
            self._server.should_exit = True
        self._show_state()

    def shutdown(self) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(JOIN_S)
        self.timer.stop()
        self._show_state()

    def _serve(self, path: Path) -> None:
        """The background thread: import, bind a port, open the model file, serve until told to stop."""
        try:
            from studio.core.serve.http import bind_free_socket, create_app, make_server
            from studio.core.store.model_file import load_model

            with bind_free_socket() as sock:
                host, port = sock.getsockname()[:2]
                self.address = f"http://{host}:{port}"
                server = make_server(create_app(load_model(path)))
                self._server = server
                if not self._stopping:
                    server.run(sockets=[sock])
        except StudioError as exc:
            self._error = str(exc)
        except (Exception, SystemExit) as exc:  # the thread's last stop (uvicorn exits when it cannot start)
            self._error = f"The server stopped: {first_line(exc)}"

    def _show_state(self) -> None:
        thread = self._thread
        if thread is not None and not thread.is_alive():  # it ended: stopped, or failed
            thread.join()
            self._thread, self._server = None, None
            self.timer.stop()
            if self._error:
                self.banner.show_message(f"The model could not be served. {self._error}", "error")
        running, busy = self.is_running(), self._thread is not None
        self.start_button.setEnabled(self.available and not busy and bool(self.project.exported_path))
        self.stop_button.setEnabled(busy and not self._stopping)
        if not self.available:
            return
        if running and not self._stopping:
            docs = f"{self.address}/docs"
            name = html.escape(Path(self.served_path).name, quote=False)
            self.status.setText(f'Serving {name} at <a href="{docs}">{docs}</a> (how to call it, with a form to try '
                                "it).")
        elif busy:
            self.status.setText("Stopping…" if self._stopping else "Starting…")
        else:
            self.status.setText(IDLE_TEXT)
