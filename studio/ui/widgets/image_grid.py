"""A grid of picture thumbnails that stays smooth with tens of thousands of pictures, and a viewer for one picture.

The grid is a ``QListView`` in icon mode over a list of rows (path, caption, tooltip), so it only ever paints
the tiles on screen. A tile's thumbnail is asked for when the tile is painted; a few worker threads make it with
``open_image`` (as a QImage, which is safe off the GUI thread), the newest request first, so the tiles in view
come before the ones scrolled past, and requests for tiles no longer in view are dropped. Finished thumbnails are
kept in a cache bounded by memory and reach the view in batches from a timer, so the window never stalls on them.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFontMetrics, QImage, QKeySequence, QPainter, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSizePolicy,
    QStackedLayout,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.progress import Progress, StopCheck
from studio.core.data.images import ImageReadError, display_name, open_image
from studio.workers.runner import JobRunner

THUMBNAIL_SIZE = 112  # pixels on the longer side
CACHE_BYTES = 96 * 2**20  # thumbnails kept in memory; a 112-pixel RGB thumbnail takes about 37 kB
PENDING_LIMIT = 600  # requests waiting beyond this many are the oldest ones: scrolled past long ago, dropped
FLUSH_MS = 40  # finished thumbnails reach the view at most 25 times a second
PRUNE_MS = 80  # after scrolling stops for this long, requests for tiles out of view are dropped
IDLE_S = 2.0  # a thumbnail thread with nothing to do for this long ends (a new request starts it again)
VIEWER_LONGEST = 2048  # the viewer reads pictures at most this large: sharp on any screen, quick to scale
THUMBNAIL_ROLE = Qt.ItemDataRole.UserRole + 1  # the tile: a QImage, a reason it cannot be read, or None (waiting)

Key = tuple[str, int]  # (path, size in device pixels)


@dataclass(frozen=True, slots=True)
class ThumbnailRow:
    """One tile: the picture's file, the words under it and the words shown on hovering."""

    path: str
    caption: str
    tooltip: str = ""


@dataclass(frozen=True, slots=True)
class _Made:
    key: Key
    result: QImage | str  # the thumbnail, or why the file cannot be read


def thumbnail_threads() -> int:
    """Leave one core to the window; Pillow decodes without holding the GIL, so the rest all help."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def picture_as_qimage(path: str, longest: int) -> QImage:
    """The picture at ``path`` as a QImage at most ``longest`` pixels on its longer side (any thread)."""
    picture = open_image(path, draft=(longest, longest))
    if max(picture.size) > longest:
        picture.thumbnail((longest, longest))
    data = picture.tobytes("raw", "RGB")
    image = QImage(data, picture.width, picture.height, picture.width * 3, QImage.Format.Format_RGB888)
    return image.copy()  # the QImage must own its pixels: ``data`` goes when this function returns


def _make_thumbnail(path: str, size: int) -> QImage | str:
    try:
        return picture_as_qimage(path, size)
    except ImageReadError as exc:
        return str(exc)
    except Exception as exc:  # one odd file must never end the thumbnail thread; its tile says it
        return f"{display_name(path)} could not be read ({type(exc).__name__})."


class _Requests:
    """Thumbnails asked for and not yet started, newest last; shared by the GUI thread and the workers."""

    def __init__(self, limit: int = PENDING_LIMIT) -> None:
        self._ready = threading.Condition()
        self._pending: OrderedDict[Key, str] = OrderedDict()
        self._limit = limit

    def ask(self, key: Key, path: str) -> list[Key]:
        """Queue ``key`` as the newest request; returns the oldest requests dropped to stay within the limit."""
        with self._ready:
            self._pending[key] = path
            self._pending.move_to_end(key)
            dropped = [self._pending.popitem(last=False)[0] for _ in range(len(self._pending) - self._limit)]
            self._ready.notify()
        return dropped

    def retain(self, keys: set[Key]) -> list[Key]:
        """Drop the requests not in ``keys``; returns them."""
        with self._ready:
            dropped = [key for key in self._pending if key not in keys]
            for key in dropped:
                del self._pending[key]
        return dropped

    def clear(self) -> None:
        with self._ready:
            self._pending.clear()

    def take(self, timeout_s: float) -> tuple[Key, str] | None:
        """The newest request, waiting up to ``timeout_s`` for one (worker threads)."""
        with self._ready:
            if not self._pending:
                self._ready.wait(timeout_s)
            return self._pending.popitem(last=True) if self._pending else None

    def __len__(self) -> int:
        with self._ready:
            return len(self._pending)


def _thumbnail_job(requests: _Requests, should_stop: StopCheck) -> Generator[_Made, None, None]:
    idle_since = time.monotonic()
    while not should_stop():
        job = requests.take(0.1)
        if job is None:
            if time.monotonic() - idle_since > IDLE_S:
                return
            continue
        key, path = job
        yield _Made(key, _make_thumbnail(path, key[1]))
        idle_since = time.monotonic()


class _ThumbnailCache:
    """Least recently used thumbnails (and reasons files cannot be read), bounded by their memory."""

    def __init__(self, limit_bytes: int = CACHE_BYTES) -> None:
        self._items: OrderedDict[Key, QImage | str] = OrderedDict()
        self._bytes = 0
        self._limit = limit_bytes

    def get(self, key: Key) -> QImage | str | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Key, value: QImage | str) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= _size_of(old)
        self._items[key] = value
        self._bytes += _size_of(value)
        while self._bytes > self._limit and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= _size_of(dropped)

    def __len__(self) -> int:
        return len(self._items)


def _size_of(value: QImage | str) -> int:
    return value.sizeInBytes() if isinstance(value, QImage) else len(value) + 64


class ThumbnailTableModel(QAbstractListModel):
    """The grid's rows (a Qt item model). A row's thumbnail is made the first time a view asks for it."""

    thumbnails_arrived = Signal(int)  # how many finished thumbnails the last batch brought

    def __init__(self, size: int = THUMBNAIL_SIZE, threads: int | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = size  # in device pixels
        self._rows: list[ThumbnailRow] = []
        self._cache = _ThumbnailCache()
        self._requests = _Requests()
        self._waiting: dict[Key, set[int]] = {}  # asked, not yet made: the rows that show it
        self._arrived: list[_Made] = []
        self._runners = [JobRunner(self) for _ in range(threads or thumbnail_threads())]
        for runner in self._runners:
            runner.progressed.connect(self._on_runner_progressed)
            runner.finished.connect(self._on_runner_finished)
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._on_flush_timer_timeout)
        self._closed = False

    # -- rows ---------------------------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[ThumbnailRow]) -> None:
        """Show ``rows``. The same pictures with new words keep the view where it is; others start afresh."""
        rows = list(rows)
        if len(rows) == len(self._rows) and all(a.path == b.path for a, b in zip(rows, self._rows, strict=True)):
            self._rows = rows
            if rows:
                self.dataChanged.emit(self.index(0), self.index(len(rows) - 1),
                                      [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole])
            return
        self.beginResetModel()
        self._rows = rows
        self._requests.clear()
        self._waiting.clear()
        self.endResetModel()

    def row_at(self, row: int) -> ThumbnailRow:
        return self._rows[row]

    def rows(self) -> list[ThumbnailRow]:
        return list(self._rows)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.caption
        if role == Qt.ItemDataRole.ToolTipRole:
            tile = self._cache.get((row.path, self.size))
            reason = f"\n{tile}" if isinstance(tile, str) else ""
            return (row.tooltip or row.caption) + reason
        if role == THUMBNAIL_ROLE:
            return self.tile(index.row())
        return None

    def tile(self, row: int) -> QImage | str | None:
        """Row ``row``'s thumbnail, why it cannot be read, or None while it is being made (then it is asked for)."""
        path = self._rows[row].path
        key = (path, self.size)
        found = self._cache.get(key)
        if found is None and not self._closed:
            self._ask(key, path, row)
        return found

    # -- making thumbnails --------------------------------------------------------------------------------------
    def _ask(self, key: Key, path: str, row: int) -> None:
        rows = self._waiting.get(key)
        if rows is not None:
            rows.add(row)
            return
        self._waiting[key] = {row}
        for dropped in self._requests.ask(key, path):
            self._waiting.pop(dropped, None)
        for runner in self._runners:
            if not runner.is_running():
                runner.start(lambda stop: _thumbnail_job(self._requests, stop))

    def keep_only(self, first: int, last: int) -> None:
        """Drop the requests for rows outside ``first``..``last`` (the tiles in view); they are asked for again
        when they come back into view."""
        keys = {(row.path, self.size) for row in self._rows[max(0, first):last + 1]}
        for dropped in self._requests.retain(keys):
            self._waiting.pop(dropped, None)

    def pending(self) -> int:
        """Thumbnails asked for and not yet started."""
        return len(self._requests)

    def waiting(self) -> int:
        """Thumbnails asked for and not yet shown."""
        return len(self._waiting)

    def _on_runner_progressed(self, made: _Made) -> None:
        self._arrived.append(made)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _on_flush_timer_timeout(self) -> None:
        arrived, self._arrived = self._arrived, []
        changed: list[int] = []
        for made in arrived:
            self._cache.put(made.key, made.result)
            changed.extend(self._waiting.pop(made.key, ()))
        changed = [row for row in changed if row < len(self._rows)]
        if changed:
            # One signal for the whole batch: the view repaints the tiles in view once.
            self.dataChanged.emit(self.index(min(changed)), self.index(max(changed)), [THUMBNAIL_ROLE])
        if arrived:
            self.thumbnails_arrived.emit(len(arrived))

    def _on_runner_finished(self) -> None:
        # A thread that ended idle just as a request came must not leave that request waiting.
        if len(self._requests) and not self._closed:
            for runner in self._runners:
                if not runner.is_running():
                    runner.start(lambda stop: _thumbnail_job(self._requests, stop))

    def shutdown(self) -> None:
        """Stop making thumbnails and join the threads (window closing, test teardown)."""
        self._closed = True
        self._requests.clear()
        self._flush_timer.stop()
        for runner in self._runners:
            runner.stop()


class _TileDelegate(QStyledItemDelegate):
    """Draws a tile: the thumbnail (a grey square while it is made, a red one when the file cannot be read) and
    up to two lines of caption."""

    def __init__(self, size: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = size  # in logical pixels

    def tile_size(self, option_font_metrics: QFontMetrics) -> QSize:
        return QSize(self.size + 20, self.size + 16 + 2 * option_font_metrics.lineSpacing())

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.tile_size(option.fontMetrics)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        rect = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, option.palette.highlight().color().lighter(170))
        box = QRect(rect.left() + (rect.width() - self.size) // 2, rect.top() + 4, self.size, self.size)
        tile = index.data(THUMBNAIL_ROLE)
        if isinstance(tile, QImage):
            # Fitted to the square, small pictures enlarged too: a 28-pixel digit is still something to look at.
            scale = self.size / max(tile.width(), tile.height(), 1)
            width, height = max(1, round(tile.width() * scale)), max(1, round(tile.height() * scale))
            target = QRect(box.left() + (self.size - width) // 2, box.top() + (self.size - height) // 2,
                           width, height)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, tile)
        elif isinstance(tile, str):
            painter.fillRect(box, QColor("#fdecea"))
            painter.setPen(QColor("#c9837b"))
            painter.drawRect(box.adjusted(0, 0, -1, -1))
            painter.setPen(QColor("#8a1c12"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "✕\nCan't read\nthis file")
        else:
            painter.fillRect(box, QColor("#e4e4e4"))
        metrics = option.fontMetrics
        text_rect = QRect(rect.left() + 2, box.bottom() + 6, rect.width() - 4, 2 * metrics.lineSpacing())
        painter.setPen(option.palette.text().color())
        lines = caption_lines(metrics, str(index.data(Qt.ItemDataRole.DisplayRole) or ""), text_rect.width())
        for number, line in enumerate(lines):
            line_rect = QRect(text_rect.left(), text_rect.top() + number * metrics.lineSpacing(),
                              text_rect.width(), metrics.lineSpacing())
            painter.drawText(line_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, line)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(option.palette.highlight().color())
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.restore()


def caption_lines(metrics: QFontMetrics, text: str, width: int) -> list[str]:
    """``text`` in at most two lines of ``width`` pixels: broken between words, the rest cut with "…"."""
    if metrics.horizontalAdvance(text) <= width:
        return [text]
    words = text.split(" ")
    first = ""
    for count in range(len(words), 0, -1):
        candidate = " ".join(words[:count])
        if metrics.horizontalAdvance(candidate) <= width:
            first = candidate
            rest = " ".join(words[count:])
            break
    if not first:  # one long word (a file name): keep its start and its end
        return [metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, width)]
    return [first, metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width)] if rest else [first]


class ImageGridWidget(QWidget):
    """Thumbnails of pictures with a caption each. Double-click or Enter opens the picture large."""

    viewer_opened = Signal(object)  # the ImageViewer

    def __init__(self, size: int = THUMBNAIL_SIZE, empty_text: str = "No pictures to show.",
                 threads: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        ratio = max(1.0, self.devicePixelRatioF())
        self.model = ThumbnailTableModel(int(size * ratio), threads, self)
        self.delegate = _TileDelegate(size, self)
        self.view = QListView()
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setUniformItemSizes(True)
        self.view.setWrapping(True)
        # One pass (about 5 ms per 1,000 tiles): in batches, icon mode starts a new line at every batch, so the
        # grid would have gaps and the tiles in view could not be worked out from the first one.
        self.view.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setDragEnabled(False)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.model)
        self._cell = self.delegate.tile_size(self.view.fontMetrics())  # the narrowest a tile may be
        self.view.setGridSize(self._cell)
        self.view.verticalScrollBar().setSingleStep(max(8, self._cell.height() // 4))
        self.view.viewport().installEventFilter(self)
        self.view.activated.connect(self._on_view_activated)
        self.view.verticalScrollBar().valueChanged.connect(self._on_view_scrolled)
        self.empty_label = QLabel(empty_text)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: #666;")
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.empty_label)
        self._prune_timer = QTimer(self)
        self._prune_timer.setSingleShot(True)
        self._prune_timer.setInterval(PRUNE_MS)
        self._prune_timer.timeout.connect(self._on_prune_timer_timeout)
        self.viewer: ImageViewer | None = None
        self._show_empty()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _layout_width(self) -> int:
        """The width the view lays its tiles out in: Qt keeps room for the scroll bar even while it is hidden,
        so the lines do not rewrap when it appears."""
        view = self.view
        style = view.style()
        bar = view.verticalScrollBar()
        frame = (2 * style.pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth)
                 if style.styleHint(QStyle.StyleHint.SH_ScrollView_FrameOnlyAroundContents) else 0)
        # Less one pixel: a line whose tiles end exactly at the edge is wrapped.
        return view.width() - 2 * view.frameWidth() - style.pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent,
                                                                          None, bar) - frame - 1

    def _per_line(self) -> int:
        return max(1, self._layout_width() // max(1, self.view.gridSize().width()))

    def _fit_columns(self) -> None:
        """Share the width left over by the last whole tile among the columns, so the grid fills its width
        instead of leaving a strip on the right."""
        width = self._layout_width()
        columns = max(1, width // self._cell.width())
        cell = QSize(max(self._cell.width(), width // columns), self._cell.height())
        if cell != self.view.gridSize():
            self.view.setGridSize(cell)

    def set_rows(self, rows: Sequence[ThumbnailRow]) -> None:
        """Replace what the grid shows."""
        self.model.set_rows(rows)
        self._show_empty()

    def set_empty_text(self, text: str) -> None:
        self.empty_label.setText(text)

    def _show_empty(self) -> None:
        self._stack.setCurrentWidget(self.view if self.model.rowCount() else self.empty_label)

    def visible_rows(self) -> range:
        """The rows whose tiles are (at least partly) in view."""
        count = self.model.rowCount()
        viewport = self.view.viewport().rect()
        if not count or viewport.isEmpty():
            return range(0)
        # The tiles sit on a regular grid from the first one, so the lines in view follow from its position.
        first_rect = self.view.visualRect(self.model.index(0))
        cell = self.view.gridSize()
        per_line = self._per_line()
        top_line = max(0, (viewport.top() - first_rect.top()) // max(1, cell.height()))
        bottom_line = max(top_line, (viewport.bottom() - first_rect.top()) // max(1, cell.height()))
        return range(min(top_line * per_line, count), min(count, (bottom_line + 1) * per_line))

    def open_viewer(self, row: int) -> ImageViewer:
        """Show row ``row``'s picture large."""
        if self.viewer is not None:
            self.viewer.shutdown()
            self.viewer.deleteLater()
        self.viewer = ImageViewer(self.model.rows(), row, self)
        self.viewer.open()
        self.viewer_opened.emit(self.viewer)
        return self.viewer

    def _on_view_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_viewer(index.row())

    def _on_view_scrolled(self, _value: int) -> None:
        self._prune_timer.start()

    def _on_prune_timer_timeout(self) -> None:
        shown = self.visible_rows()
        if len(shown):
            per_line = self._per_line()
            self.model.keep_only(shown.start - per_line, shown.stop + per_line)

    def shutdown(self) -> None:
        """Stop the thumbnail threads and the viewer's reading (window closing, test teardown)."""
        self._prune_timer.stop()
        self.model.shutdown()
        if self.viewer is not None:
            self.viewer.shutdown()


class ImageViewer(QDialog):
    """One picture, as large as the window allows, with its caption; Previous and Next walk through the grid."""

    shown_picture = Signal(int)  # the row whose picture is now on screen (or its reason it cannot be read)

    def __init__(self, rows: Sequence[ThumbnailRow], row: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Picture")
        self._rows = list(rows)
        self.row = row
        self._pixmap: QPixmap | None = None
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setMinimumSize(200, 150)
        self.picture.setStyleSheet("background: #f2f2f2; color: #555;")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("font-weight: 600;")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setStyleSheet("color: #666;")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.previous_button = QPushButton("‹ Previous")
        self.next_button = QPushButton("Next ›")
        self.close_button = QPushButton("Close")
        self.previous_button.clicked.connect(self._on_previous_clicked)
        self.next_button.clicked.connect(self._on_next_clicked)
        self.close_button.clicked.connect(self.accept)
        QShortcut(QKeySequence(Qt.Key.Key_Left), self, activated=self._on_previous_clicked)
        QShortcut(QKeySequence(Qt.Key.Key_Right), self, activated=self._on_next_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.caption)
        layout.addWidget(self.where)
        layout.addLayout(buttons)
        self.reader = JobRunner(self)
        self.reader.succeeded.connect(self._on_reader_succeeded)
        self.reader.failed.connect(self._on_reader_failed)
        self.reader.finished.connect(self._on_reader_finished)
        self._queued: int | None = None
        screen = (parent.screen() if parent is not None else self.screen()).availableGeometry()
        self.resize(min(960, int(screen.width() * 0.9)), min(720, int(screen.height() * 0.9)))
        self.finished.connect(self._on_finished)
        self.show_row(row)

    def show_row(self, row: int) -> None:
        if not 0 <= row < len(self._rows):
            return
        self.row = row
        shown = self._rows[row]
        self.caption.setText(shown.caption)
        more = shown.tooltip if shown.tooltip and shown.tooltip != shown.caption else ""
        self.where.setText("\n".join(part for part in (more, display_name(shown.path)) if part))
        self.setWindowTitle(os.path.basename(display_name(shown.path)))
        self.previous_button.setEnabled(row > 0)
        self.next_button.setEnabled(row < len(self._rows) - 1)
        self._pixmap = None
        self.picture.setPixmap(QPixmap())
        self.picture.setText("Opening the picture…")
        if self.reader.is_running():
            self._queued = row  # read when the current one is done: reading cannot be interrupted midway
            return
        self._read(row)

    def _read(self, row: int) -> None:
        path = self._rows[row].path
        self.reader.start(lambda stop: _picture_job(path, VIEWER_LONGEST, stop))

    def _on_previous_clicked(self) -> None:
        self.show_row(self.row - 1)

    def _on_next_clicked(self) -> None:
        self.show_row(self.row + 1)

    def _on_reader_succeeded(self, image: QImage) -> None:
        if self._queued is not None:
            return
        self._pixmap = QPixmap.fromImage(image)
        self._fit()
        self.shown_picture.emit(self.row)

    def _on_reader_failed(self, message: str, _details: str) -> None:
        if self._queued is not None:
            return
        self.picture.setText(message)
        self.shown_picture.emit(self.row)

    def _on_reader_finished(self) -> None:
        if self._queued is not None:
            row, self._queued = self._queued, None
            self._read(row)

    def _fit(self) -> None:
        if self._pixmap is None or self._pixmap.isNull():
            return
        area = self.picture.size()
        # Enlarged with square pixels rather than smoothed: a 28-pixel picture is shown as it is, only bigger.
        smaller = self._pixmap.width() > area.width() or self._pixmap.height() > area.height()
        self.picture.setPixmap(self._pixmap.scaled(
            area, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation if smaller else Qt.TransformationMode.FastTransformation))

    def has_picture(self) -> bool:
        return self._pixmap is not None and not self._pixmap.isNull()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _on_finished(self, _result: int) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        self._queued = None
        self.reader.stop()


def _picture_job(path: str, longest: int, _should_stop: Callable[[], bool]) -> Generator[Progress, None, QImage]:
    yield Progress("Opening", None, display_name(path))
    return picture_as_qimage(path, longest)
