"""The Results page's pictures: the test pictures the model got wrong, and the ones it found hardest to decide.

Numbers alone do not say *why* a picture model fails; looking at its mistakes does (a wrong label in the data, two
classes that look alike, pictures unlike the rest). Each gallery is a thumbnail grid; double-clicking a picture
shows it large.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from studio.core.evaluate.metrics import format_metric
from studio.core.train.images import ImageCase, mistakes, most_uncertain
from studio.ui.widgets.image_grid import ImageGridWidget, ThumbnailRow

UNCERTAIN_SHOWN = 48  # enough to see a pattern, few enough to look at each one


def percent(share: float) -> str:
    """A share written as the Results page writes its scores ("93.4%"), so a confidence reads the same on every
    page. ``format_metric`` writes every share-like score this way; accuracy is one of them."""
    return format_metric("accuracy", share)


def case_caption(case: ImageCase) -> str:
    """The words under a test picture: its true class, what the model said when it was wrong, how sure it was."""
    said = f"{case.true} → {case.predicted}" if case.true != case.predicted else f"{case.true} ✓"
    return f"{said} · {percent(case.confidence)} sure"


def case_tooltip(case: ImageCase) -> str:
    verdict = "Right." if case.true == case.predicted else "Wrong."
    return (f"{verdict} The picture is labelled {case.true}; the model said {case.predicted}, "
            f"{percent(case.confidence)} sure, {percent(case.margin)} ahead of its next guess.")


class GalleryPage(QWidget):
    """One gallery: a sentence saying what the pictures are and what to do about them, then the grid."""

    def __init__(self, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.grid = ImageGridWidget(empty_text=empty_text)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addWidget(self.intro)
        layout.addWidget(self.grid, 1)

    def show_cases(self, intro: str, cases: Sequence[ImageCase]) -> None:
        self.intro.setText(intro)
        self.intro.setVisible(bool(intro))
        self.grid.set_rows([ThumbnailRow(case.path, case_caption(case), case_tooltip(case)) for case in cases])

    def captions(self) -> list[str]:
        return [row.caption for row in self.grid.model.rows()]

    def shutdown(self) -> None:
        self.grid.shutdown()


class ImageGalleries:
    """The two galleries of a picture run, as pages the Results view shows as tabs."""

    MISTAKES_TITLE = "Mistakes"
    UNCERTAIN_TITLE = "Least sure"

    def __init__(self) -> None:
        self.mistakes = GalleryPage("The model got every test picture right: there are no mistakes to show.")
        self.uncertain = GalleryPage("There are no test pictures to show.")

    def set_cases(self, cases: tuple[ImageCase, ...], test_pictures: int) -> None:
        """Show the test pictures of a run; ``test_pictures`` is how many the test part held (a very large test
        part keeps only its first few thousand pictures for these galleries)."""
        wrong = mistakes(cases)
        kept = len(cases)
        among = (f"Among the first {kept:,} of {test_pictures:,} test pictures, " if kept < test_pictures
                 else "")
        if wrong:
            counted = f"{len(wrong):,} of {kept:,} test pictures" if not among else f"{len(wrong):,}"
            self.mistakes.show_cases(
                f"{among}{counted} got the wrong class: true class → the model's answer, surest first. "
                "Double-click one to see it large. <b>Next:</b> a sure mistake is often a picture in the wrong "
                "folder (move it and train again); many mistakes between two classes call for more pictures of "
                "them.", wrong)
        else:
            right = f"{among}the model" if among else "The model"
            self.mistakes.grid.set_empty_text(f"{right} got every test picture right: there are no mistakes to "
                                              "show. Look at the least sure ones to see where it hesitates.")
            self.mistakes.show_cases("", [])
        unsure = most_uncertain(cases, UNCERTAIN_SHOWN)
        which = (f"The {len(unsure):,} test pictures the model found hardest to decide" if len(unsure) < kept
                 else f"All {kept:,} test pictures")
        self.uncertain.show_cases(
            f"{which}, closest call first (the model's two likeliest classes almost level); ✓ means it was still "
            "right. Double-click one to see it large. <b>Next:</b> more pictures like these (blurred, unusual, or "
            "showing two classes) teach the model the most.", unsure)

    def clear(self) -> None:
        for page in (self.mistakes, self.uncertain):
            page.show_cases("", [])

    def shutdown(self) -> None:
        self.mistakes.shutdown()
        self.uncertain.shutdown()
