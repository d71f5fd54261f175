"""The formula editor checks a formula completely as it is typed: what cannot be computed gets a sentence and no
Add button, so it never reaches training."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.core.data.profile import ColumnKind
from studio.core.prep.config import ColumnPrep, PrepConfig, Treatment
from studio.ui.widgets.prep_formulas import FormulaEditor

PREP = PrepConfig(tuple(ColumnPrep(name, ColumnKind.NUMERIC, Treatment.NUMERIC)
                        for name in ("price", "log", "_col0", "weight (kg)", "<b>bold</b>")))


@pytest.fixture
def editor(qtbot: QtBot) -> FormulaEditor:
    widget = FormulaEditor()
    qtbot.addWidget(widget)
    widget.show_prep(PREP, target="price")
    widget.show()
    return widget


def type_formula(qtbot: QtBot, editor: FormulaEditor, name: str, formula: str) -> None:
    for field, text in ((editor.name_edit, name), (editor.formula_edit, formula)):
        field.clear()
        qtbot.keyClicks(field, text)


@pytest.mark.parametrize(("formula", "said"), [
    ("sqrt + 1", "'sqrt' is a function"),
    ("min(log)", "min(…) takes two values"),
    ("log(_col0, 2, 3)", "takes one value, or two"),
    ("_col0 + " + "9" * 400, "too large to compute with"),
    ("_col0 * 1e400", "The number 1e400 is too large"),
    ("round(_col0, log)", "how many decimals"),
    ("`nope` + 1", "no column called 'nope'"),
    ("price * 2", "the column to predict"),
    ("`<b>bold</b>` +", "not complete"),
])
def test_a_formula_that_cannot_be_computed_gets_a_sentence(qtbot: QtBot, editor: FormulaEditor, formula: str,
                                                           said: str) -> None:
    type_formula(qtbot, editor, "new", formula)
    assert said in editor.message.text()
    assert not editor.add_button.isEnabled()
    assert "Error" not in editor.message.text() and "Something went wrong" not in editor.message.text()


@pytest.mark.parametrize("formula", ["log + 1", "log(log, 2)", "`_col0` + _col0", "`weight (kg)` / 2",
                                     "round(_col0, 2)", "max(log, 0)"])
def test_a_formula_that_computes_can_be_added(qtbot: QtBot, editor: FormulaEditor, formula: str) -> None:
    type_formula(qtbot, editor, "new", formula)
    assert editor.message.text() == ""
    assert editor.add_button.isEnabled()
    with qtbot.waitSignal(editor.added) as added:
        qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert added.args == ["new", formula]


def test_names_in_the_list_of_new_columns_are_plain_text(qtbot: QtBot, editor: FormulaEditor) -> None:
    prep = PREP.with_derived("<i>x</i>", "`<b>bold</b>` * 2")
    editor.show_prep(prep, target="price")
    name, formula, _remove = editor.row_widgets()[0]
    assert "&lt;i&gt;x&lt;/i&gt;" in name.text()
    assert formula.text() == "= `<b>bold</b>` * 2"
    assert formula.textFormat().name == "PlainText"
