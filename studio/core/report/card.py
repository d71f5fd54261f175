"""A model card: a short, plain-words description written beside every saved model file, as Markdown and HTML.

``churn.studio`` gets ``churn.card.md`` and ``churn.card.html`` (``card_paths``). Both are rendered from one
content (sections of paragraphs, bullet lists and code blocks), so they always say the same thing. The card reads
the model file's metadata only, with the training details when the caller still has them (the data fingerprint
and how the classes were shared among the training rows are not in the metadata), so a card can be written for an
old model too: whatever its metadata lacks is called unknown rather than guessed.

The store layer sits under this one and must not import it, so the callers that save a model write its card:
``save_with_card_job`` for the window, ``write_card`` after ``save_model`` for the command line.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shlex
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.common.errors import StudioError, first_line
from studio.core.common.files import atomic_write
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.common.words import local_time, plural
from studio.core.data.target import Task
from studio.core.evaluate.details import Imbalance, imbalance_of_counts, lead_metrics
from studio.core.evaluate.metrics import HIGHER_IS_BETTER, METRIC_LABELS, format_metric, number_or_nan
from studio.core.evaluate.result_details import ResultDetails
from studio.core.models.registry import get_model
from studio.core.report.svg import escape_text as _e
from studio.core.store.model_file import MODEL_SUFFIX, OLD_SUFFIX, export_job

CARD_MARKDOWN_SUFFIX = ".card.md"
CARD_HTML_SUFFIX = ".card.html"
# Suffixes taken off a model file's name before the card's are added, longest first.
_MODEL_SUFFIXES = (OLD_SUFFIX, MODEL_SUFFIX, ".joblib", ".pkl")
# Under this many test rows, one row more or less right moves the scores by more than two points.
FEW_TEST_ROWS = 50
MAX_CLASSES_SHOWN = 20
PLACEHOLDER_MODEL = "MODEL.studio"  # the file name used in the examples when the card does not know it

_TREATMENT_WORDS = {
    "numeric": "used as a number",
    "categorical": "used as a category",
    "date": "used as a date",
    "text": "used as free text",
    "exclude": "left out (the model does not read it)",
    "formula input": "read only by a formula made in the Prepare step",
}
_KIND_WORDS = {"numeric": "numbers", "categorical": "categories", "boolean": "yes / no", "date": "dates",
               "text": "free text", "id": "an identifier", "constant": "one value only"}
# Characters Markdown would read as formatting inside running text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


# -- the content: what both formats render -------------------------------------------------------------------
@dataclass(frozen=True)
class Code:
    """Text shown as code: column names, file names, commands."""

    text: str


Span = str | Code
Line = tuple[Span, ...]


@dataclass(frozen=True)
class Paragraph:
    line: Line


@dataclass(frozen=True)
class Bullets:
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class CodeBlock:
    text: str
    language: str


Block = Paragraph | Bullets | CodeBlock


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Card:
    title: Line
    intro: tuple[Block, ...]
    sections: tuple[Section, ...]


# -- public ---------------------------------------------------------------------------------------------------
def card_paths(model_path: str | Path) -> tuple[Path, Path]:
    """Where the Markdown and HTML cards of ``model_path`` go: beside it, named after it without its suffix."""
    path = Path(model_path)
    name = path.name
    suffix = next((s for s in _MODEL_SUFFIXES if name.endswith(s) and len(name) > len(s)), path.suffix)
    stem = name[:-len(suffix)] if suffix else name
    return path.with_name(stem + CARD_MARKDOWN_SUFFIX), path.with_name(stem + CARD_HTML_SUFFIX)


def card_markdown(metadata: dict[str, Any], *, model_name: str = "", details: ResultDetails | None = None,
                  pipeline: Any = None) -> str:
    """The card as Markdown. ``model_name`` is the model file's name, used in the examples; ``details`` the
    training details and ``pipeline`` the fitted pipeline, when the caller still has them."""
    return _markdown(build_card(metadata, model_name=model_name, details=details, pipeline=pipeline))


def card_html(metadata: dict[str, Any], *, model_name: str = "", details: ResultDetails | None = None,
              pipeline: Any = None) -> str:
    """The card as one self-contained HTML page (no scripts, no other files)."""
    return _html(build_card(metadata, model_name=model_name, details=details, pipeline=pipeline))


def write_card(model_path: str | Path, metadata: dict[str, Any],
               details: ResultDetails | None = None, pipeline: Any = None) -> tuple[Path, Path]:
    """Write the Markdown and HTML cards beside ``model_path``; returns their paths. With the fitted ``pipeline``,
    whether it can be exported to ONNX is decided by building the ONNX graph; without it, from the settings the
    metadata keeps."""
    card = build_card(metadata, model_name=Path(model_path).name, details=details, pipeline=pipeline)
    markdown_path, html_path = card_paths(model_path)
    for path, text in ((markdown_path, _markdown(card)), (html_path, _html(card))):
        data = text.encode("utf-8")
        atomic_write(path, lambda handle, data=data: handle.write(data))
    return markdown_path, html_path


CARD_NOT_WRITTEN = "its card could not be written beside it"


def save_with_card_job(path: str | Path, pipeline: Any, metadata: dict[str, Any], details: ResultDetails | None = None,
                       should_stop: StopCheck = never_stop) -> Generator[Progress, None, Path]:
    """Save the model file, then its card beside it (the Export page's save): returns the model file's path."""
    saved = yield from export_job(path, pipeline, metadata, should_stop)
    # Not cancellable from here on: the model file exists, and a file without its card would look complete.
    yield Progress("Saving", None, f"Writing the model card beside {saved.name}")
    try:
        write_card(saved, metadata, details, pipeline)
    except OSError as exc:
        raise StudioError(f"The model file {saved.name} was written, but {CARD_NOT_WRITTEN} "
                          f"({first_line(exc)}). Save again once the folder can be written to.") from exc
    return saved


def build_card(metadata: dict[str, Any], *, model_name: str = "", details: ResultDetails | None = None,
               pipeline: Any = None) -> Card:
    meta = metadata if isinstance(metadata, dict) else {}
    facts = _Facts.of(meta, details)
    model_name = model_name or PLACEHOLDER_MODEL
    title: Line = (f"Model card: {facts.model_label or 'a model'}",)
    if facts.target:
        title += (" predicting ", Code(facts.target))
    made: list[Span] = ["This card describes the model file ", Code(model_name), " beside it. "]
    created = _text(meta.get("created"))
    studio_version = facts.versions.get("studio", "")
    if created:
        made.append(f"It was made {_when(created)}"
                    + (f" with Studio {studio_version}." if studio_version else "."))
    else:
        made.append("When it was made is not recorded in the file.")
    sections = (
        _what_it_predicts(facts),
        _training_data(facts),
        _preparation(facts),
        _model_section(facts),
        _scores_section(facts),
        _limits_section(facts, meta, model_name, pipeline),
        _usage_section(facts, model_name),
    )
    return Card(title, (Paragraph(tuple(made)),), sections)


# -- what the metadata says, read defensively (old or hand-edited files may lack or bend anything) ---------------
@dataclass(frozen=True)
class _Facts:
    task: Task | None
    target: str
    model_key: str
    model_label: str
    params: dict[str, Any]
    classes: tuple[str, ...]
    columns: tuple[tuple[str, str, str], ...]  # name, kind, treatment
    test: dict[str, float]
    baseline: dict[str, float]
    split: tuple[int, int, int] | None
    source: str
    fingerprint: str
    versions: dict[str, str]
    imbalance: Imbalance | None  # None: not known
    imbalance_of_training_rows: bool  # False: estimated from the test rows

    @staticmethod
    def of(meta: dict[str, Any], details: ResultDetails | None) -> _Facts:
        try:
            task: Task | None = Task(_text(meta.get("task")))
        except ValueError:
            task = None
        columns = tuple((_text(c.get("name")), _text(c.get("kind")), _text(c.get("treatment")))
                        for c in _list(meta.get("input_columns")) if isinstance(c, dict) and _text(c.get("name")))
        metrics = _dict(meta.get("metrics"))
        split = _list(meta.get("split_sizes"))
        sizes = tuple(int(n) for n in split if isinstance(n, int | float) and math.isfinite(n))
        fingerprint = (details.data_fingerprint if details is not None else "") \
            or _text(meta.get("data_fingerprint")) or _text(meta.get("dataset_fingerprint"))
        classes = tuple(_text(c) for c in _list(meta.get("classes")))
        baseline = _numbers(metrics.get("test_baseline"))
        imbalance, from_training = None, False
        if details is not None and details.classification is not None:
            imbalance, from_training = details.classification.imbalance, True
        elif task is Task.CLASSIFICATION:
            imbalance = _imbalance_from_baseline(classes, baseline)
        return _Facts(
            task=task, target=_text(meta.get("target")), model_key=_text(meta.get("model")),
            model_label=_text(meta.get("model_label")) or _text(meta.get("model")), params=_dict(meta.get("params")),
            classes=classes, columns=columns, test=_numbers(metrics.get("test")), baseline=baseline,
            split=(sizes[0], sizes[1], sizes[2]) if len(sizes) == 3 else None, source=_text(meta.get("source")),
            fingerprint=fingerprint, versions={_text(k): _text(v) for k, v in _dict(meta.get("versions")).items()},
            imbalance=imbalance, imbalance_of_training_rows=from_training)


def _imbalance_from_baseline(classes: tuple[str, ...], baseline: dict[str, float]) -> Imbalance | None:
    """What the metadata alone tells about the classes: always guessing the most common training class is right
    on that class's share of the test rows. With two classes that gives both shares; with more, only whether the
    rest are so few that one of them must be rare (else unknown)."""
    share = baseline.get("accuracy")
    count = len(classes)
    if share is None or math.isnan(share) or count < 2:
        return None
    rest = (1.0 - share) / (count - 1)  # the largest the rarest class's share can be
    if count == 2:
        # Which class is the common one is not recorded, only how common it is.
        return imbalance_of_counts((("the most common class", round(share * 10_000)),
                                    ("the other class", round((1 - share) * 10_000))))
    if rest < 0.5 / count:
        return Imbalance((("the most common class", share), ("the rarest class", rest)), True)
    return None


# -- the sections -----------------------------------------------------------------------------------------------
def _what_it_predicts(facts: _Facts) -> Section:
    if not facts.target:
        line: Line = ("Which column it predicts is not recorded in this file.",)
    elif facts.task is Task.CLASSIFICATION and facts.classes:
        shown = ", ".join(facts.classes[:MAX_CLASSES_SHOWN])
        more = len(facts.classes) - MAX_CLASSES_SHOWN
        line = ("It predicts ", Code(facts.target), f", one of {shown}" + (f" and {more} more" if more > 0 else "")
                + ". For each row it picks one of these classes (classification).")
    elif facts.task is Task.CLASSIFICATION:
        line = ("It predicts ", Code(facts.target), ", a class (classification); the classes are not recorded in "
                "this file.")
    elif facts.task is Task.REGRESSION:
        line = ("It predicts ", Code(facts.target), ", a number (regression).")
    else:
        line = ("It predicts ", Code(facts.target), "; whether that is a class or a number is not recorded in "
                "this file.")
    return Section("What it predicts", (Paragraph(line),))


def _training_data(facts: _Facts) -> Section:
    lines: list[Line] = []
    if facts.source:
        lines.append(("Table: ", Code(facts.source), "."))
    else:
        lines.append(("The table it learned from is not recorded in this file.",))
    if facts.split is not None:
        train, validation, test = facts.split
        lines.append((f"{plural(train, 'row')} for training (the model learned from these).",))
        if validation:
            lines.append((f"{plural(validation, 'row')} for validation (to check it while it was trained).",))
        lines.append((f"{plural(test, 'row')} for testing (kept apart until the end; the scores below are on these).",))
    else:
        lines.append(("How many rows were used for training and testing is not recorded in this file.",))
    if facts.fingerprint:
        lines.append(("Data fingerprint: ", Code(facts.fingerprint), " (a short code computed from the table's "
                      "contents: the same table gives the same code, so you can tell whether a table is the one "
                      "this model learned from)."))
    return Section("Training data", (Bullets(tuple(lines)),))


def _preparation(facts: _Facts) -> Section:
    if not facts.columns:
        return Section("Preparation", (Paragraph(("The input columns are not recorded in this file.",)),))
    lines: list[Line] = []
    for name, kind, treatment in facts.columns:
        if name == facts.target:
            continue  # what the model predicts, not an input it prepares
        holds = _KIND_WORDS.get(kind, kind)
        what = _TREATMENT_WORDS.get(treatment, f"used as {treatment}" if treatment else "use not recorded")
        lines.append((Code(name), (f" (holds {holds}): " if holds else ": ") + what + "."))
    intro = ("Each input column and what is done with it. These steps are inside the model file, so it takes raw "
             "rows like the ones it learned from.")
    return Section("Preparation", (Paragraph((intro,)), Bullets(tuple(lines))))


def _model_section(facts: _Facts) -> Section:
    if not facts.model_label:
        return Section("Model and settings", (Paragraph(("The kind of model is not recorded in this file.",)),))
    settings = _settings_words(facts)
    text = f"{facts.model_label}. " + (f"Settings: {settings}." if settings else "Its settings are not recorded.")
    return Section("Model and settings", (Paragraph((text,)),))


def _settings_words(facts: _Facts) -> str:
    if not facts.params:
        return ""
    try:
        return get_model(facts.model_key).describe(facts.params)
    except (StudioError, KeyError, TypeError, ValueError):  # a model family this Studio no longer has
        return ", ".join(f"{name}: {value}" for name, value in facts.params.items())


def _scores_section(facts: _Facts) -> Section:
    if not facts.test:
        return Section("Scores against guessing", (Paragraph(("The test scores are not recorded in this file.",)),))
    imbalanced = facts.imbalance is not None and facts.imbalance.imbalanced
    order = lead_metrics(facts.task, imbalanced) if facts.task is not None else ()
    names = [n for n in order if n in facts.test] + [n for n in facts.test if n not in order]
    guess = "always guessing the average" if facts.task is Task.REGRESSION else \
        "always guessing the most common class"
    lines: list[Line] = []
    for name in names:
        text = f"{_metric_name(name)} {_score(name, facts.test[name])}"
        if not HIGHER_IS_BETTER.get(name, True):
            text += ", lower is better"
        if name in facts.baseline:
            text += f" ({guess}: {_score(name, facts.baseline[name])})"
        lines.append((text,))
    rows = f"the {plural(facts.split[2], 'test row')}" if facts.split is not None else "the test rows"
    intro = (f"On {rows}, which the model never saw while it learned, next to what {guess} scores on the same "
             "rows. A model is only useful where it clearly beats guessing.")
    return Section("Scores against guessing", (Paragraph((intro,)), Bullets(tuple(lines))))


def _limits_section(facts: _Facts, meta: dict[str, Any], model_name: str, pipeline: Any) -> Section:
    lines: list[Line] = []
    if facts.task is Task.CLASSIFICATION:
        lines.append((_imbalance_words(facts),))
    if facts.split is None:
        lines.append(("How many rows it was tested on is not recorded, so how far to trust the scores is unknown.",))
    elif facts.split[2] < FEW_TEST_ROWS:
        lines.append((f"Only {facts.split[2]:,} rows were kept for testing, so the scores are rough: a few rows "
                      "more or less right would move them by several points.",))
    sklearn_version = facts.versions.get("scikit-learn", "")
    if sklearn_version:
        needs = f"It needs scikit-learn {sklearn_version}, the version it was made with"
        if facts.versions.get("torch"):
            needs += f", and PyTorch {facts.versions['torch']}"
        lines.append((needs + ". With other versions it may not open, or may predict slightly differently.",))
    else:
        lines.append(("The scikit-learn version it was made with is not recorded; it may not open with other "
                      "versions.",))
    lines.append(_onnx_line(facts, meta, pipeline))
    source = f"the rows of {facts.source}" if facts.source else "the rows it was trained on"
    unlike: list[Span] = [f"It learned from {source} only: rows unlike them (values outside the ranges it saw, "
                          "categories it never met) get less reliable predictions."]
    if meta.get("training_profile"):
        unlike += [" ", Code(f"studio check {_shell(model_name)} new-rows.csv"),
                   " tells whether new rows look like the ones it learned from."]
    lines.append(tuple(unlike))
    return Section("Known limits", (Bullets(tuple(lines)),))


def _imbalance_words(facts: _Facts) -> str:
    imbalance, target = facts.imbalance, facts.target or "the target"
    if imbalance is None or not imbalance.shares:
        return f"How evenly the classes of {target} are spread is not recorded in this file."
    (common, common_share), (rare, rare_share) = imbalance.largest, imbalance.smallest
    misleads = "Accuracy misleads here (always guessing {} already scores high); balanced accuracy and macro F1 " \
        "count every class equally."
    if not facts.imbalance_of_training_rows:
        # Estimated from the test rows: only the most common class's share is known, not which class it is.
        if not imbalance.imbalanced:
            return f"The classes are balanced enough: the rarer one is {rare_share:.0%} of the test rows."
        return (f"The classes are imbalanced: the most common class alone is {common_share:.0%} of the test rows. "
                + misleads.format("it"))
    if not imbalance.imbalanced:
        return f"The classes are balanced enough: the rarest, '{rare}', is {rare_share:.0%} of the training rows."
    return (f"The classes are imbalanced: '{rare}' is only {rare_share:.0%} of the training rows, while '{common}' "
            f"is {common_share:.0%}. " + misleads.format(f"'{common}'"))


def _onnx_line(facts: _Facts, meta: dict[str, Any], pipeline: Any) -> Line:
    from studio.core.models.pipeline_onnx import pipeline_onnx_job

    try:
        export = get_model(facts.model_key).onnx_export
    except StudioError:
        return ("Whether it can be exported to ONNX is unknown: its kind of model is not recorded, or unknown to "
                "this Studio.",)
    if export is None:
        return ("It cannot be exported to ONNX: this kind of model runs with Python and Studio only.",)
    # Only the table pipeline's export writes the preparation piece by piece; pictures have their own.
    refusal = _onnx_refusal(meta, facts.target, pipeline) if export is pipeline_onnx_job else ""
    if refusal:
        return (f"It cannot be exported to ONNX as it is. {refusal}",)
    line: Line = ("It can also be exported to ONNX, preparation included, for programs without Python: on the "
                  "Export page, or with ", Code("studio train ... --onnx FILE.onnx"), ". The export checks the file "
                  "against Studio on the test rows before writing it.")
    if any(treatment == "date" for _name, _kind, treatment in facts.columns):
        line += (" ONNX cannot read dates, so the file takes each date column as seconds since 1970-01-01 00:00 "
                 "UTC.",)
    return line


def _onnx_refusal(meta: dict[str, Any], target: str, pipeline: Any) -> str:
    """Why this model cannot be written as ONNX ("" when it can, or when nothing tells): from what the fitted model
    is made of, then from the preparation settings the metadata keeps (see onnx_refusal_of_model)."""
    from studio.core.models.pipeline_onnx import onnx_refusal_of_model, onnx_refusal_of_settings

    if pipeline is not None:
        refusal = onnx_refusal_of_model(pipeline)
        if refusal:
            return refusal
    raw = meta.get("prep")
    if not isinstance(raw, dict):
        return ""
    from studio.core.prep.config import PrepConfig
    from studio.core.store.runs import config_from_plain

    try:
        prep = config_from_plain(PrepConfig, raw)
    except (TypeError, ValueError, KeyError, StudioError):
        return ""  # settings this Studio cannot read: the export itself will tell
    return onnx_refusal_of_settings(prep, target or None)


def _usage_section(facts: _Facts, model_name: str) -> Section:
    needs: list[Span] = ["From the command line, with the rows to predict in ", Code("rows.csv"),
                         " (it needs the input columns above"]
    needs += [", not ", Code(facts.target), "):"] if facts.target else ["):"]
    python = (f"import pandas as pd\nfrom studio.core.store.model_file import load_model\n\n"
              f"model = load_model({json.dumps(model_name, ensure_ascii=False)})\n"
              'frame = pd.read_csv("rows.csv")\npredictions = model.pipeline.predict(frame)')
    return Section("How to use it", (
        Paragraph(tuple(needs)),
        CodeBlock(f"studio predict {_shell(model_name)} rows.csv --out predictions.csv", "sh"),
        Paragraph(("In the Studio window: open it on the Predict page.",)),
        Paragraph(("From Python:",)),
        CodeBlock(python, "python"),
    ))


# -- rendering ----------------------------------------------------------------------------------------------------
def _markdown(card: Card) -> str:
    out = [f"# {_md_line(card.title)}", ""]
    out += _md_blocks(card.intro)
    for section in card.sections:
        out += [f"## {_md_text(section.title)}", ""]
        out += _md_blocks(section.blocks)
    return "\n".join(out).rstrip("\n") + "\n"


def _md_blocks(blocks: Sequence[Block]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            out.append(_md_line(block.line))
        elif isinstance(block, Bullets):
            out += [f"- {_md_line(line)}" for line in block.lines]
        else:
            fence = "`" * max(3, _longest_run(block.text, "`") + 1)
            out += [f"{fence}{block.language}", block.text, fence]
        out.append("")
    return out


def _md_line(line: Line) -> str:
    return "".join(_md_code(span.text) if isinstance(span, Code) else _md_text(span) for span in line)


def _md_text(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text))


def _md_code(text: str) -> str:
    text = _one_line(text)
    fence = "`" * (_longest_run(text, "`") + 1)
    # A code span that starts or ends with a backtick needs a space inside its fence, which Markdown strips.
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


# Sizes in points: Qt's page view (QTextBrowser) ignores pixel sizes on headings, browsers take either.
_STYLE = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; max-width: 860px; margin: 20px auto;
       padding: 0 16px; color: #22313f; line-height: 1.45; }
h1 { font-size: 15pt; margin: 0 0 6px 0; }
h2 { font-size: 12pt; border-bottom: 1px solid #dde1e6; padding-bottom: 3px; margin: 18px 0 6px 0; }
p, ul { margin: 4px 0; } li { margin: 2px 0; }
code { font-family: Menlo, Consolas, monospace; background-color: #f1f3f5; }
pre { font-family: Menlo, Consolas, monospace; background-color: #f3f6fa; padding: 8px 10px; margin: 4px 0 8px 0;
      white-space: pre-wrap; }
.intro { color: #555555; }
"""


def _html(card: Card) -> str:
    plain_title = "".join(span.text if isinstance(span, Code) else span for span in card.title)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(plain_title)}</title>"
             f"<style>{_STYLE}</style></head><body>", f"<h1>{_html_line(card.title)}</h1>"]
    parts += _html_blocks(card.intro, "intro")
    for section in card.sections:
        parts.append(f"<h2>{_e(section.title)}</h2>")
        parts += _html_blocks(section.blocks)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_blocks(blocks: Sequence[Block], css_class: str = "") -> list[str]:
    attribute = f" class='{css_class}'" if css_class else ""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            out.append(f"<p{attribute}>{_html_line(block.line)}</p>")
        elif isinstance(block, Bullets):
            out.append("<ul>" + "".join(f"<li>{_html_line(line)}</li>" for line in block.lines) + "</ul>")
        else:
            out.append(f"<pre><code>{_e(block.text)}</code></pre>")
    return out


def _html_line(line: Line) -> str:
    return "".join(f"<code>{_e(span.text)}</code>" if isinstance(span, Code) else _e(span) for span in line)


# -- small helpers --------------------------------------------------------------------------------------------
def _metric_name(name: str) -> str:
    label = METRIC_LABELS.get(name, name)
    # "Accuracy" reads as "accuracy" mid-sentence; "ROC AUC" and "R²" stay as they are.
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


def _score(name: str, value: float) -> str:
    return format_metric(name, value)


def _when(created: str) -> str:
    """When the model was made, in the reader's local time, like every time Studio shows."""
    try:
        dt.datetime.fromisoformat(created)
    except ValueError:
        return f"on {created}"
    return f"on {local_time(created)}"


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _numbers(value: Any) -> dict[str, float]:
    return {str(k): number_or_nan(v) for k, v in _dict(value).items()}


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


def _shell(name: str) -> str:
    return shlex.quote(name)
