"""What the command-line tests read from a command's output: its last JSON line and its one error line."""

from __future__ import annotations

import json


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def assert_one_error_line(err: str, *fragments: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
