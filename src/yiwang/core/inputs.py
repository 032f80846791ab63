"""Input that cannot be stored: text that is not encodable, and JSON nested without end.

A JSON string may carry a lone UTF-16 surrogate (``"\\ud800"``): Python decodes it into a
``str`` that can never be encoded as UTF-8, so the row is written but every later read
fails. NUL (``\\u0000``) is refused by PostgreSQL in ``text`` and ``jsonb``. Both are refused
at the input layer — the API's parser (``core.api_errors.YiwangParser``), the page middleware
(``core.middleware.RequestGuardMiddleware``) — with the field named, before anything is
written; ``ensure_storable`` is the same check for a service about to store a JSON value.
"""

from django.utils.translation import gettext as _

from yiwang.core.errors import ValidationFailed

# Deeper than any form a person fills in; well below Python's recursion limit, so a
# client's nesting never reaches code that recurses (json, pydantic, the template engine).
MAX_JSON_DEPTH = 64


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None."""
    if "\x00" in value:
        return _("含有空字符(\\u0000),无法保存")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("含有无法编码的字符(孤立的 UTF-16 代理项),无法保存")
    return None


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def too_deep_message(max_depth: int = MAX_JSON_DEPTH) -> str:
    return _("嵌套层数超过 %(depth)d 层") % {"depth": max_depth}


def json_problems(data, *, root: str = "", max_depth: int = MAX_JSON_DEPTH) -> tuple[dict[str, list[str]], bool]:
    """Messages per JSON path (``"form_data.remark"``, ``"items.0"``) for strings — keys and
    values — that cannot be stored, and for nesting deeper than ``max_depth``; and whether the
    nesting was the problem. Iterative, so any depth the JSON decoder accepted is safe to walk."""
    problems: dict[str, list[str]] = {}
    too_deep = False
    stack = [(root, data, 1)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                problems.setdefault(path or "body", []).append(problem)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            problems.setdefault(path or "body", []).append(too_deep_message(max_depth))
            too_deep = True
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            child_path = _join(path, key)
            if isinstance(key, str):
                problem = text_problem(key)
                if problem:
                    # The key itself cannot be shown safely either: name its parent.
                    problems.setdefault(path or "body", []).append(problem)
                    continue
            stack.append((child_path, child, depth + 1))
    return problems, too_deep


def form_problems(data) -> dict[str, list[str]]:
    """Messages per field of a ``QueryDict`` / ``MultiValueDict`` (query, form fields, and the
    names of uploaded files) holding text that cannot be stored; a bad field *name* is
    reported under ``__all__`` (it cannot be shown back either)."""
    problems: dict[str, list[str]] = {}
    for key, values in data.lists():
        problem = text_problem(key)
        if problem:
            problems.setdefault("__all__", []).append(problem)
            continue
        for value in values:
            text = getattr(value, "name", value)  # an uploaded file: its name
            problem = text_problem(text) if isinstance(text, str) else None
            if problem:
                problems[key] = [problem]
                break
    return problems


def refuse(problems: dict[str, list[str]], *, too_deep: bool = False) -> None:
    """422 ``json_too_deep`` or ``invalid_text`` with the fields named, when there are problems."""
    if problems:
        raise ValidationFailed(code="json_too_deep" if too_deep else "invalid_text", fields=problems)


def ensure_storable(data, *, field: str) -> None:
    """Raise ``ValidationFailed`` (422 ``invalid_text`` / ``json_too_deep``) naming the path when
    ``data`` (a string or a JSON value) holds text that cannot be stored, or is nested too deeply.
    For services that store client JSON: the defence behind the input layer."""
    problems, too_deep = json_problems(data, root=field)
    refuse(problems, too_deep=too_deep)


def clean_text(value, *, field: str, required: bool = False, max_length: int = 4000) -> str:
    """A free-text input made storable: stripped (a non-string is turned into its text), refused
    with a message naming ``field`` when it holds what a database cannot keep (``ensure_storable``),
    is empty but ``required``, or is longer than ``max_length`` characters."""
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    ensure_storable(text, field=field)
    if required and not text:
        raise ValidationFailed(fields={field: [_("此项为必填项")]})
    if len(text) > max_length:
        raise ValidationFailed(fields={field: [_("不能超过 %(n)d 个字") % {"n": max_length}]})
    return text
