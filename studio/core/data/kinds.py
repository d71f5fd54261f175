"""Kinds of data Studio learns from. A dataset names its kind, models name the kinds they take, and the wizard's
pages may differ by kind."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Protocol


class DataKind(StrEnum):
    TABLE = "table"  # rows and columns: CSV, Excel, Parquet
    IMAGES = "images"  # a folder of pictures, one sub-folder per class

    @property
    def label(self) -> str:
        return {DataKind.TABLE: "a table", DataKind.IMAGES: "images"}[self]


class Dataset(Protocol):
    """What every kind of data Studio opens says about itself; each kind adds its own content (a table's frame,
    an image folder's files)."""

    kind: ClassVar[DataKind]

    @property
    def path(self) -> str: ...

    @property
    def name(self) -> str: ...

    def describe_format(self) -> str: ...
