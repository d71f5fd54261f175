"""A saved model as a small web service (FastAPI): other programs send rows as JSON and get predictions back.

The service answers exactly like ``studio predict`` (``predict_frame``): the rows become a table and go through the
same ``Predictor``, made once per model so a request pays only for its rows. The request schema is generated from
the model's input columns, so a missing column or a value of the wrong type is refused (422) with the row and the
column named in words before the model sees it. Only this module imports FastAPI (and uvicorn, inside functions):
the rest of the core works without them.

No ``from __future__ import annotations`` here: FastAPI and pydantic read the annotations at run time, and the row
type the request model names is built inside ``create_app``, where a string annotation could not be resolved.
"""

import errno
import json
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass
from itertools import chain
from typing import Annotated, Any, NotRequired, Required

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from studio.core.common.errors import StudioError
from studio.core.data.target import Task
from studio.core.prep.safety import optional_columns
from studio.core.serve.predict import Predictor
from studio.core.store.model_file import ModelBundle

# One request is parsed, checked and predicted in memory at once: bigger tables go in several requests.
MAX_ROWS = 10_000
DEFAULT_HOST = "127.0.0.1"  # this computer only: serving to the network is a choice the person makes (--host)
DEFAULT_PORT = 8000
MAX_PROBLEMS = 5  # sentences in one 422 answer; the full list is under "errors"
NUMBER, TEXT, YES_NO = "number", "text", "yes/no or text"
TOO_MANY_ROWS = (f"A request may hold at most {MAX_ROWS:,} rows{{found}}: send the rows in batches of "
                 f"{MAX_ROWS:,} or fewer.")


class PortInUseError(StudioError):
    """Another program (or another Studio server) listens on the port already."""


@dataclass(frozen=True)
class ServedColumn:
    name: str
    kind: str
    treatment: str
    type: str  # NUMBER, TEXT or YES_NO: what JSON value the service takes
    required: bool  # False when the model had gaps there in training: it fills a missing value as it did then

    def plain(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "treatment": self.treatment, "type": self.type,
                "required": self.required}


def served_columns(bundle: ModelBundle) -> list[ServedColumn]:
    """The columns a request may hold, in the model's order; excluded columns are not among them."""
    # The same rule as predict.schema_problems: a column that had gaps in training may be absent.
    optional = set(optional_columns(bundle.pipeline))
    columns: dict[str, ServedColumn] = {}
    for column in bundle.input_columns:
        name, kind, treatment = str(column["name"]), str(column.get("kind", "")), str(column.get("treatment", ""))
        if treatment == "exclude" or name in columns:
            continue
        if treatment == "numeric" or (treatment not in ("categorical", "text", "date") and kind == "numeric"):
            value_type = NUMBER
        else:
            value_type = YES_NO if kind == "boolean" else TEXT
        columns[name] = ServedColumn(name, kind, treatment, value_type, name not in optional)
    return list(columns.values())


def model_label(bundle: ModelBundle) -> str:
    return str(bundle.metadata.get("model_label", bundle.metadata.get("model", "model")))


def _python_type(value_type: str) -> Any:
    # null is a gap everywhere: the preparation fills it as it filled gaps in training.
    return {NUMBER: float | None, YES_NO: bool | str | None}.get(value_type, str | None)


def _example_row(bundle: ModelBundle, columns: list[ServedColumn]) -> dict[str, Any]:
    """A typical row (medians, most common categories) from the training profile, for the /docs page's
    "Try it out"."""
    profile = (bundle.metadata.get("training_profile") or {}).get("columns", {})
    row: dict[str, Any] = {}
    for column in columns:
        described = profile.get(column.name, {})
        values = described.get("values") or {}
        if column.type == NUMBER:
            row[column.name] = described.get("median", 0.0)
        else:
            row[column.name] = next(iter(values), None) if values else None
    return row


def create_app(bundle: ModelBundle) -> FastAPI:
    """The web service for one model: POST /predict, GET /schema, GET /health, and the documentation at /docs."""
    if any(column.get("kind") == "image" for column in bundle.input_columns):
        # A picture model reads files by their path: served, it would open whatever path a caller sends.
        raise StudioError("A picture model cannot be served over the web yet: it reads picture files from this "
                          "computer, and a web service must not open files a caller names. Predict pictures with "
                          "'studio predict MODEL FOLDER' or on the Predict page.")
    columns = served_columns(bundle)
    by_name = {column.name: column for column in columns}
    label = model_label(bundle)
    classification = bundle.task is Task.CLASSIFICATION
    classes = [str(c) for c in getattr(bundle.pipeline, "classes_", bundle.classes)] if classification else []
    predictor = Predictor(bundle)  # what does not depend on the rows, read from the model once

    # A TypedDict, not a model: a row is checked into a plain dict holding only the keys it was sent with (any
    # column name is a key), faster than building and dumping a model per row. Extra keys are kept so
    # the answer can name them in a note.
    make_row_type: Any = TypedDict
    row_type: Any = make_row_type("Row", {column.name: _field(column) for column in columns}, total=False)
    row_type.__pydantic_config__ = ConfigDict(extra="allow", coerce_numbers_to_str=True)
    example: Any = {"rows": [_example_row(bundle, columns)]}

    class PredictRequest(BaseModel):
        model_config = ConfigDict(json_schema_extra={"examples": [example]})
        rows: list[row_type] = Field(max_length=MAX_ROWS, description="the rows to predict, one object each")

    class PredictResponse(BaseModel):
        predictions: list[Any] = Field(description="one prediction per row, in the rows' order")
        probabilities: list[list[float]] | None = Field(
            default=None, description="classification: one probability per class, in the order of 'classes'")
        classes: list[str] | None = Field(default=None, description="classification: the classes")
        notes: list[str] = Field(description="how rows unlike the training rows were handled, in words")

    class Problem(BaseModel):
        detail: str
        errors: list[dict[str, Any]] | None = None

    app = FastAPI(
        title=f"Studio: {label} predicting {bundle.target}",
        description=(f"Send rows as JSON to **POST /predict** and get the predicted **{bundle.target}** back "
                     f"({bundle.task.value}). **GET /schema** lists the columns the model takes. At most "
                     f"{MAX_ROWS:,} rows per request."),
        version=str(bundle.metadata.get("versions", {}).get("studio", "")) or "0")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        for error in errors:
            if error.get("type") == "too_long" and tuple(error.get("loc", ())) == ("body", "rows"):
                found = (error.get("ctx") or {}).get("actual_length")
                return JSONResponse(status_code=413, content={"detail": TOO_MANY_ROWS.format(
                    found=f" and this one holds {found:,}" if isinstance(found, int) else "")})
        problems = _problems_in_words(errors, by_name)
        sentences = [problem["problem"] for problem in problems]
        more = f" ({len(sentences) - MAX_PROBLEMS} more under 'errors'.)" if len(sentences) > MAX_PROBLEMS else ""
        return JSONResponse(status_code=422, content={"detail": " ".join(sentences[:MAX_PROBLEMS]) + more,
                                                      "errors": problems})

    def answer(rows: list[dict[str, Any]]) -> Response:
        # Only the model's columns become the table; the other keys are only named, in a note, in the order the
        # rows name them.
        keys = rows[0].keys() if len(rows) == 1 else set().union(*rows)
        extra = predictor.extra_columns(keys)
        if len(extra) > 1 and len(rows) > 1:
            extra = predictor.extra_columns(dict.fromkeys(chain.from_iterable(rows)))
        try:
            result = predictor.predict(rows_frame(rows, columns, keys), extra)
        except StudioError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        content: dict[str, Any] = {"predictions": result.predictions.tolist()}
        if result.probabilities is not None:
            content["probabilities"] = result.probabilities.astype(float, copy=False).tolist()
            content["classes"] = classes
        content["notes"] = result.notes
        # Plain lists already, written by pydantic's serializer (several times faster than the json module on a
        # thousand rows of probabilities); a value that is not a number goes as null, as FastAPI would send it.
        return Response(to_json(content, inf_nan_mode="null"), media_type="application/json")

    # The body is read here rather than declared as a parameter: pydantic then parses and checks the JSON in one
    # pass, where FastAPI would parse it with the json module and check the result again (on a thousand rows,
    # about as long as the rest of the serving). The documentation still shows PredictRequest (see _documented).
    @app.post("/predict", response_model=PredictResponse, summary="Predict rows",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/PredictRequest"}}}}},
              responses={413: {"model": Problem, "description": f"More than {MAX_ROWS:,} rows"},
                         422: {"model": Problem, "description": "A missing column or a value of the wrong type"}})
    async def predict(request: Request) -> Response:
        rows = _checked(PredictRequest, await request.body(), request.headers.get("content-type")).rows
        if not rows:
            raise HTTPException(status_code=422, detail="The request has no rows to predict.")
        # In the thread pool, so a big request never stalls the others.
        return await run_in_threadpool(answer, rows)

    @app.get("/schema", summary="The columns the model takes")
    def schema() -> dict[str, Any]:
        return {"model": label, "task": bundle.task.value, "target": bundle.target, "classes": classes,
                "columns": [column.plain() for column in columns],
                "ignored_columns": [str(c["name"]) for c in bundle.input_columns if c.get("treatment") == "exclude"],
                "max_rows": MAX_ROWS, "warning": bundle.warning}

    @app.get("/health", summary="Whether the service is up")
    def health() -> dict[str, str]:
        return {"status": "ok", "model": label}

    _documented(app, PredictRequest)
    return app


def _checked(model: Any, body: bytes, content_type: str | None) -> Any:
    """The request body checked into ``model``, or the RequestValidationError FastAPI would raise for it (locations
    under "body"), so the answer names the rows and columns in the same words."""
    media = (content_type or "").split(";")[0].strip().lower()
    if not body or not (media == "application/json" or (media.startswith("application/") and media.endswith("+json"))):
        # As FastAPI has it: no body, or a body that does not say it is JSON, is not the object the service takes.
        raise RequestValidationError([{"type": "missing" if not body else "model_attributes_type", "loc": ("body",),
                                       "msg": "A JSON object is required", "input": None}])
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])}
                                      for error in exc.errors(include_url=False)]) from None


def _documented(app: FastAPI, request_model: Any) -> None:
    """Puts ``request_model``'s schema (and the row schema it names) among the documentation's components: the
    /predict endpoint reads its body itself, so FastAPI does not see the model to list it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # FastAPI keeps it as app.openapi_schema: what is added here is kept with it
        described = request_model.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(described.pop("$defs", {}))
        components[request_model.__name__] = described
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _field(column: ServedColumn) -> Any:
    """The row's key for ``column``: its JSON type, described, and Required (a request without it is refused) or
    NotRequired."""
    value = {NUMBER: "a number", YES_NO: "true, false or text"}.get(column.type, "text")
    need = "required" if column.required else "may be left out (the model fills it as it filled gaps in training)"
    field = Field(title=column.name, description=f"{value} or null; {need}")
    described: Any = Annotated[_python_type(column.type), field]
    return Required[described] if column.required else NotRequired[described]


def rows_frame(rows: list[dict[str, Any]], columns: list[ServedColumn], keys: Collection[str]) -> pd.DataFrame:
    """The checked rows as the table ``studio predict`` would have read, with only the model's columns, in its
    order: numbers as floats, gaps as NaN. ``keys`` are those the rows hold: a column no row has is no column at
    all (then the predictor says how the model copes)."""
    # Column by column from the checked values in one go, each number column typed as it is built.
    data: dict[str, Any] = {}
    for column in columns:
        if column.name in keys:
            values = [row.get(column.name) for row in rows]
            data[column.name] = np.array(values, dtype="float64") if column.type == NUMBER else values
    return pd.DataFrame(data)


def _problems_in_words(errors: list[Any], columns: dict[str, ServedColumn]) -> list[dict[str, Any]]:
    """pydantic's errors as sentences naming the row (counted from 1) and the column; one per row and column."""
    problems: dict[tuple[Any, Any], dict[str, Any]] = {}
    for error in errors:
        loc = tuple(error.get("loc", ()))
        kind = str(error.get("type", ""))
        where = loc[1:]  # loc starts with "body"
        if len(where) >= 3 and where[0] == "rows" and isinstance(where[1], int):
            row, name = where[1] + 1, str(where[2])
            column = columns.get(name)
            if kind == "missing":
                text = (f"Row {row} has no '{name}': the model needs this column (send null when the value is "
                        "unknown).")
            elif column is not None:
                expected = {NUMBER: "a number", YES_NO: "true, false or text"}.get(column.type, "text")
                text = f"Row {row}: '{name}' should be {expected} (or null), not {_shown(error.get('input'))}."
            else:
                text = f"Row {row}: '{name}': {error.get('msg', 'not valid')}."
            problems.setdefault((row, name), {"row": row, "column": name, "problem": text})
        elif len(where) == 2 and where[0] == "rows" and isinstance(where[1], int):
            row = where[1] + 1
            problems.setdefault((row, None), {"row": row, "column": None, "problem": (
                f"Row {row} should be an object of column names and values, not {_shown(error.get('input'))}.")})
        else:
            if kind == "json_invalid":
                text = f"The request is not valid JSON ({error.get('ctx', {}).get('error', 'cannot be read')})."
            else:
                text = 'The request should be a JSON object such as {"rows": [{"column": value, ...}]}.'
            problems.setdefault((None, None), {"row": None, "column": None, "problem": text})
    return list(problems.values())


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


# -- running it ---------------------------------------------------------------------------------------------------
def bind_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` (0: a free port), for the server to listen on; a StudioError in words when
    the port is taken or the address is not this computer's. Binding first, here, means the server never starts
    only to fail."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP spelled out: asyncio turns Nagle's algorithm off only on sockets that say so, and with it on every
    # answer waits for the client's delayed acknowledgement (about 40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if os.name != "nt":  # lets a just-stopped server's port be used again; on Windows it would let two servers share it
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)):
            raise PortInUseError(f"Port {port} on {host} is already in use by another program.") from None
        if exc.errno in (errno.EACCES, getattr(errno, "WSAEACCES", errno.EACCES)):
            raise StudioError(f"Studio may not use port {port} on {host} (ports below 1024 usually need "
                              "administrator rights).") from None
        if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            raise StudioError(f"{host} is not an address of this computer, so Studio cannot serve there: use "
                              f"{DEFAULT_HOST} (this computer only) or 0.0.0.0 (every network).") from None
        raise StudioError(f"Studio cannot serve at {host}:{port}: {exc.strerror or exc}.") from None
    return sock


def bind_free_socket(host: str = DEFAULT_HOST, preferred: int = DEFAULT_PORT) -> socket.socket:
    """``preferred`` when it is free, else any free port."""
    try:
        return bind_socket(host, preferred)
    except PortInUseError:
        return bind_socket(host, 0)


def make_server(app: FastAPI) -> Any:
    """A uvicorn server for ``app``, to be run with ``server.run(sockets=[bind_socket(...)])``; quiet, and it leaves
    the process's logging as it was (the window has its own)."""
    import uvicorn

    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=3)
    return uvicorn.Server(config)
