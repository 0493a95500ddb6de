"""What each endpoint declares (its models, status and auth), and request parsing.

Views carry an `Operation` so the OpenAPI document is generated from the same pydantic
models that validate requests; the two cannot drift apart.

The input rules every endpoint gets from `parse_body` and `parse_query` (no per-view
work; docs/http.md lists them for callers):
- a body is JSON by its Content-Type (`application/json` or `*/*+json`), else 415;
- unparsable JSON, or nested deeper than MAX_DEPTH, is 400;
- no string (value or key) may hold NUL or a lone surrogate, and no number may be NaN
  or +-Infinity (not JSON; Python's parser takes them): 422 naming the field;
- the model validates the JSON strictly: a boolean is not a number nor a number a
  boolean, a string is not a number; an integer field takes 3 or 3.0 (JSON Schema's
  integer), never 3.5;
- rules spanning several fields raise `capabilities.engines.rules.rule_broken` and are listed
  under `x-cross-field-rules` of the model's schema in openapi.yaml.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_args

import orjson
from flask import Response, request
from pydantic import BaseModel, ValidationError

from tools.errors import FieldError, InvalidInput, MalformedRequest, UnsupportedMedia

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])
NOT_FINITE = "must be a finite number (NaN and Infinity are not JSON)"
MAX_DEPTH = 32  # objects and arrays inside one another; our deepest request has 5


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    response: type[BaseModel] | None = None
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    description: str = ""
    extra_statuses: tuple[int, ...] = field(default=())


def operation(**kwargs: Any) -> Callable[[F], F]:
    """Attach an Operation to a view function."""

    def decorate(view: F) -> F:
        view.operation = Operation(**kwargs)  # type: ignore[attr-defined]
        return view

    return decorate


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    errors = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        errors.append(
            FieldError(
                field=prefix + loc if loc else prefix.rstrip(".") or "body", message=err["msg"]
            )
        )
    return errors


def is_json_media(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def parse_body(model: type[M]) -> M:
    """The request's JSON body validated into `model` (415 not JSON by its type, 400
    unparsable or too deep, 422 invalid: the module docstring has the rules)."""
    if not is_json_media(request.mimetype):
        given = request.mimetype or "no Content-Type"
        raise UnsupportedMedia(f"send the body as application/json (got {given})")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise MalformedRequest("the request body is empty; send a JSON object")
    data, sound = _parse(raw)
    if not isinstance(data, dict):
        raise InvalidInput(
            "the request body must be a JSON object", [FieldError("body", "expected a JSON object")]
        )
    errors = list(unacceptable_values(data, sound=sound))
    if errors:
        raise InvalidInput("the request body is invalid", errors)
    try:  # most bodies validate as sent; only a refused one pays for rewriting 3.0 as 3
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        refused = exc
    canonical = decode_json(raw)[1]
    if canonical is not raw:
        try:
            return model.model_validate_json(canonical, strict=True)
        except ValidationError as exc:
            refused = exc
    raise InvalidInput("the request body is invalid", field_errors(refused)) from None


# digits to "0", every other byte to "-": 19 digits in a row are then a substring search
_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else 45 for b in range(256))
_LONG_DIGITS = b"0" * 19
_NUL_ESCAPE = b"\\u0000"


def _parse(raw: bytes) -> tuple[Any, bool]:
    """The body's JSON: orjson's parse, several times faster on a predict batch's thousands
    of numbers; what it refuses (NaN, Infinity, numbers past the float range, lone
    surrogates, raw control characters, broken JSON) or would read otherwise (integers
    past 64 bits become floats there: any 19 digits in a row) goes to the standard
    parser. True beside it when orjson read it and no `\\u0000` escape could hide a NUL
    (`unacceptable_values`' `sound`; a false alarm, a `\\\\u0000` text, costs the full
    check)."""
    if _LONG_DIGITS not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(raw), _NUL_ESCAPE not in raw
        except orjson.JSONDecodeError:
            pass
    return decode_json(raw)[0], False


def decode_json(raw: bytes) -> tuple[Any, bytes]:
    """The parsed JSON (400 when unparsable or too deep), and the text to validate
    strictly: the same, with integral numbers (3.0) written as integers (3)."""
    integral = False

    def number(text: str) -> float | int:
        # JSON Schema's integer is any number without a fraction: 3.0 is the integer 3
        nonlocal integral
        value = float(text)
        if value.is_integer():
            integral = True
            return int(value)
        return value

    try:
        data = json.loads(raw, parse_float=number)
    except RecursionError:
        raise MalformedRequest(f"the JSON is nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"the request body is not valid JSON: {exc}") from None
    return data, (json.dumps(data).encode() if integral else raw)


def unacceptable_values(
    data: object, prefix: str = "", *, sound: bool = False
) -> Iterator[FieldError]:
    """What JSON parsers let through and no field accepts, each with its path: NUL and
    lone surrogates in strings (PostgreSQL and UTF-8 refuse them), NaN and Infinity;
    `sound` when the parser has ruled all of them out, leaving only the depth. Raises
    MalformedRequest past MAX_DEPTH. A predict batch holds thousands of numbers: a path
    is only spelled out for a value at fault (a container keeps its parent and key), and
    a list of numbers whose sum is finite (all numbers, none NaN or infinite) is passed
    in one C loop."""
    top = prefix.rstrip(".")
    problem = _bad_value(data)
    if problem:
        yield FieldError(top or "body", problem)
    stack: list[tuple[object, _Where, int]] = [(data, top, 0)]
    while stack:
        value, where, depth = stack.pop()
        if not isinstance(value, _CONTAINERS):
            continue
        if depth >= MAX_DEPTH:
            raise MalformedRequest(f"the JSON is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key in () if sound else value:
                if isinstance(key, str) and _bad_text(key):
                    yield FieldError(_child(where, key), "the key " + _bad_text(key))  # type: ignore[operator]
            items: Iterable[tuple[object, object]] = value.items()
        elif _finite_numbers(value):  # type: ignore[arg-type]
            continue
        else:
            items = enumerate(value)
        for key, item in items:
            kind = item.__class__
            if kind is int:  # most values are numbers: settled inline
                continue
            if kind is float:
                if not (sound or math.isfinite(item)):  # type: ignore[arg-type]
                    yield FieldError(_child(where, key), NOT_FINITE)
            elif isinstance(item, _CONTAINERS):
                stack.append((item, (where, key), depth + 1))
            elif not sound:
                problem = _bad_value(item)
                if problem:
                    yield FieldError(_child(where, key), problem)


_CONTAINERS = (dict, list)  # a tuple: isinstance checks it faster than `dict | list`
# where a value sits: the prefix, or (the container's place, the key within it)
_Where = str | tuple["_Where", object]


def _finite_numbers(values: list[object]) -> bool:
    """Every item a number (bool, int, float) and none NaN or infinite: a sum of such is
    finite unless it overflows, and anything else (a string, a container) makes `sum`
    raise; both fall back to the item-by-item walk."""
    try:
        total = sum(values)  # type: ignore[arg-type]
    except (TypeError, OverflowError):
        return False
    return total.__class__ is int or (total.__class__ is float and math.isfinite(total))


def _child(where: _Where, key: object) -> str:
    path = where if isinstance(where, str) else _child(*where)
    return f"{path}.{key}" if path else str(key)


def _bad_value(value: object) -> str | None:
    if isinstance(value, str):
        return _bad_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return NOT_FINITE
    return None


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    if text.isascii():  # no surrogate possible; spares an encode per key and id
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (\\ud800-\\udfff), which is not Unicode text"
    return None


def parse_query(model: type[M]) -> M:
    """Query parameters validated into `model` (422 with the parameter named)."""
    args = request.args.to_dict()
    errors = list(unacceptable_values(args, "query."))
    errors += [
        FieldError(f"query.{name}", NOT_FINITE)
        for name, text in args.items()
        if _numeric(model, name) and _non_finite(text)
    ]
    if errors:
        raise InvalidInput("a query parameter is invalid", errors)
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise InvalidInput("a query parameter is invalid", field_errors(exc, "query.")) from None


def _numeric(model: type[BaseModel], name: str) -> bool:
    """A number parameter: "nan" is a fine value of a text one (a mode may be so named)."""
    field = model.model_fields.get(name)
    return field is not None and any(
        t in (int, float) for t in (field.annotation, *get_args(field.annotation))
    )


def _non_finite(text: str) -> bool:
    try:
        return not math.isfinite(float(text))  # "nan", "inf", "1e999"
    except ValueError:
        return False


def json_response(payload: BaseModel | dict, status: int = 200) -> Response:
    body = payload.model_dump_json() if isinstance(payload, BaseModel) else json.dumps(payload)
    return Response(body, status=status, mimetype="application/json")
