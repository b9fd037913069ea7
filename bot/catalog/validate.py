"""One validation style for every content file under ``bot/content``.

Shapes are pydantic models (``bot/catalog/schema.py``, ``bot/catalog/rules_schema.py``);
what a model cannot see (codes that must exist in another file, bands in age order)
is checked in plain code. Every problem is one line ``file: dotted.field: message``,
for example ``rules/eligibility.yml: regions.zhejiang.benefits.elder.age_allowance.automatic:
expected true or false``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Type, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# pydantic error types -> the plain message given to content authors
_MESSAGES = {
    "value_error.missing": "field required",
    "value_error.extra": "unknown field",
    "type_error.integer": "expected a whole number",
    "type_error.bool": "expected true or false",
    "value_error.strictbool": "expected true or false",
    "type_error.date": "expected a date (YYYY-MM-DD)",
    "value_error.date": "expected a date (YYYY-MM-DD)",
    "type_error.datetime": "expected a date and time (YYYY-MM-DD HH:MM)",
    "value_error.datetime": "expected a date and time (YYYY-MM-DD HH:MM)",
    "type_error.list": "expected a list",
    "type_error.dict": "expected a mapping",
    "type_error.str": "expected a non-empty text",
    "value_error.any_str.min_length": "expected a non-empty text",
}


def message(err: dict) -> str:
    """The plain message for one pydantic error."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "value_error.str.regex" and "pattern" in ctx:
        return f"does not have the expected form {ctx['pattern']}"
    if kind == "value_error.const" and "permitted" in ctx:
        allowed = ", ".join(str(p) for p in ctx["permitted"])
        return f"unknown value {ctx.get('given')!r}; expected one of {allowed}"
    return _MESSAGES.get(kind, err.get("msg", "invalid"))


def location(loc: Iterable[Any]) -> str:
    """pydantic's location as a dotted field path (``__root__`` parts dropped)."""
    parts = [str(p) for p in loc if p != "__root__"]
    return ".".join(parts) or "(top)"


def join(where: str, *parts: Any) -> str:
    return ".".join([where, *map(str, parts)]) if where and where != "(top)" else ".".join(map(str, parts))


def parse(model: Type[M], data: Any, shown: str, problems: List[str]) -> Optional[M]:
    """Validate ``data`` against ``model``; problems are appended as ``file: field: message``."""
    try:
        return model.parse_obj(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(f"{shown}: {location(err['loc'])}: {message(err)}")
        return None


def read_yaml(path: Path, shown: str, problems: List[str]) -> Optional[dict]:
    """The YAML mapping in ``path``, or None with the problem (unreadable, bad YAML, not a mapping)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{shown}: (file): cannot read: {exc.strerror or exc}")
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        problems.append(f"{shown}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{shown}: (top): expected a mapping")
        return None
    return data


def split(problem: str) -> Tuple[str, str, str]:
    """``file: field: message`` -> (file, field, message)."""
    file, _, rest = problem.partition(": ")
    field, _, msg = rest.partition(": ")
    return file, field, msg


class References:
    """The codes defined across the content files, and the check that a reference names one.

    ``kinds``: ``service``, ``region``, ``office``, ``entry point``, ``benefit``, ``FAQ``.
    """

    def __init__(self, **known: Iterable[str]):
        self.known: Dict[str, set] = {kind: set(codes) for kind, codes in known.items()}

    def add(self, kind: str, codes: Iterable[str]) -> None:
        self.known.setdefault(kind, set()).update(codes)

    def check(self, where: str, kind: str, code: Optional[str], problems: List[str]) -> bool:
        """True if ``code`` is known (or None, or of a kind not given); else appends
        ``where: unknown <kind> code '...'``."""
        if code is None or kind not in self.known or code in self.known[kind]:
            return True
        problems.append(f"{where}: unknown {kind} code {code!r}")
        return False

    def check_all(self, where: str, kind: str, codes: Sequence[str], problems: List[str]) -> bool:
        ok = True
        for i, code in enumerate(codes):
            ok = self.check(f"{where}.{i}", kind, code, problems) and ok
        return ok


def unique(where: str, kind: str, code: str, seen: Dict[str, str], shown: str, problems: List[str]) -> bool:
    """A code defined twice: ``where: duplicate <kind> 'x' (also in <file>)``."""
    if code in seen:
        problems.append(f"{where}: duplicate {kind} {code!r} (also in {seen[code]})")
        return False
    seen[code] = shown
    return True
