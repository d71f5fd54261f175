"""The window: PySide6 and pyqtgraph views over the core Project."""
