"""Import and export of the catalog file (YAML, JSON, Excel), all-or-nothing.

``catalog_import`` reads the whole file, checks everything (every item, material and life
event, the departments, the actor's rights), and only when there is not a single problem
writes it through the catalog services in one transaction. Each problem names its place —
the YAML line and path, or the Excel sheet, row and column — in Chinese. Re-importing the
same file changes nothing; a changed item gets a new draft (published with ``publish``).

``actor=None`` is the platform itself (the ``yiwang catalog`` command run by an operator
and the demo loader); the web and the API always pass the signed-in user.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import transaction
from django.utils.translation import gettext as _

from yiwang.catalog import selectors, services
from yiwang.catalog.content import FORMAT_VERSION, Problem, check_item, check_life_event
from yiwang.catalog.models import LifeEvent, ServiceItem, Status
from yiwang.catalog.xlsx import read_workbook, write_workbook
from yiwang.core.audit import audit_record
from yiwang.core.errors import ValidationFailed, YiwangError
from yiwang.identity.models import Department

FORMATS = ("yaml", "json", "xlsx")
# The C (libyaml) safe loader when PyYAML has it: the same safe subset, many times faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_ERRORS = 500


class CatalogImportFailed(ValidationFailed):
    """The file was rejected whole; ``errors`` lists every problem, each with its place."""

    code = "catalog_import_invalid"

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[:MAX_ERRORS]
        super().__init__(
            _("导入失败：发现 %(n)d 处错误，未写入任何内容。") % {"n": len(errors)},
            fields={"file": shown},
        )


@dataclass
class ImportReport:
    items: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    life_events: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    published_items: int = 0
    published_life_events: int = 0

    def summary(self) -> str:
        return _(
            "事项：新增 %(ic)d，更新 %(iu)d，未变 %(in)d，发布 %(ip)d；"
            "一件事：新增 %(lc)d，更新 %(lu)d，未变 %(ln)d，发布 %(lp)d"
        ) % {
            "ic": self.items["created"],
            "iu": self.items["updated"],
            "in": self.items["unchanged"],
            "ip": self.published_items,
            "lc": self.life_events["created"],
            "lu": self.life_events["updated"],
            "ln": self.life_events["unchanged"],
            "lp": self.published_life_events,
        }


def detect_format(filename: str) -> str | None:
    suffix = Path(filename).suffix.lower()
    return {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".xlsx": "xlsx"}.get(suffix)


# --- reading -----------------------------------------------------------------------------------


class YamlLocator:
    """Names a YAML/JSON path with its line: 第 12 行 items[3]（编码 X）.promised_time_limit："""

    def __init__(self, text: str, document: dict):
        self.document = document
        self.text = text
        self._root = False

    @property
    def root(self):
        # Composing the node tree of a large file takes seconds: only done when an error needs a line.
        if self._root is False:
            try:
                self._root = yaml.compose(self.text, Loader=YAML_LOADER)
            except yaml.YAMLError:
                self._root = None
        return self._root

    def _line(self, path: tuple) -> int | None:
        node, line = self.root, None
        for key in path:
            if node is None:
                break
            line = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                node = None
        if node is not None:
            line = node.start_mark.line + 1
        return line

    def __call__(self, path: tuple) -> str:
        code = None
        if len(path) >= 2 and path[0] in ("items", "life_events") and isinstance(path[1], int):
            try:
                code = self.document[path[0]][path[1]].get("implementation_code" if path[0] == "items" else "code")
            except (KeyError, IndexError, TypeError, AttributeError):
                code = None
        where = ""
        for position, key in enumerate(path):
            where += f"[{key}]" if isinstance(key, int) else (f".{key}" if where else str(key))
            if position == 1 and code:
                where += _("（编码 %(code)s）") % {"code": code}
        line = self._line(path)
        if line:
            where = _("第 %(line)d 行 %(where)s") % {"line": line, "where": where}
        return where + "：" if where else ""


def read_document(content: bytes, *, fmt: str) -> tuple[dict, object, list[str]]:
    """Parse a file: (document, locator, errors that stop before any checking)."""
    if fmt == "xlsx":
        return read_workbook(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}, None, [_("文件必须是 UTF-8 编码的文本")]
    try:
        document = json.loads(text) if fmt == "json" else yaml.load(text, Loader=YAML_LOADER)  # noqa: S506
    except json.JSONDecodeError as exc:
        return {}, None, [_("第 %(line)d 行：JSON 格式错误：%(error)s") % {"line": exc.lineno, "error": exc.msg}]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        return (
            {},
            None,
            [_("第 %(line)d 行：YAML 格式错误：%(error)s") % {"line": line, "error": getattr(exc, "problem", exc)}],
        )
    if not isinstance(document, dict):
        return {}, None, [_("文件内容必须是一个对象，包含 format_version、items、life_events")]
    return document, YamlLocator(text, document), []


# --- checking ----------------------------------------------------------------------------------


def check_document(document: dict, *, actor, publish: bool) -> tuple[list[dict], list[dict], list[Problem]]:
    """Every problem of the whole file, against the catalog as it is now. Writes nothing."""
    problems: list[Problem] = []
    if document.get("format_version") != FORMAT_VERSION:
        problems.append(Problem(("format_version",), "format_version", _("必须是 %(v)d") % {"v": FORMAT_VERSION}))
    for key in document:
        if key not in ("format_version", "items", "life_events"):
            problems.append(Problem((key,), "", _("未知字段「%(key)s」") % {"key": key}))
    raw_items = document.get("items") or []
    raw_events = document.get("life_events") or []
    if not isinstance(raw_items, list):
        problems.append(Problem(("items",), "items", _("必须是事项列表")))
        raw_items = []
    if not isinstance(raw_events, list):
        problems.append(Problem(("life_events",), "life_events", _("必须是一件事列表")))
        raw_events = []

    items: list[dict] = []
    for index, raw in enumerate(raw_items):
        clean, found = check_item(raw, prefix=("items", index))
        items.append(clean)
        problems.extend(found)
    events: list[dict] = []
    for index, raw in enumerate(raw_events):
        clean, found = check_life_event(raw, prefix=("life_events", index))
        events.append(clean)
        problems.extend(found)

    department_codes = {e.get("department") for e in items + events if e.get("department")}
    departments = {d.code: d for d in Department.objects.filter(code__in=department_codes, is_active=True)}
    rights: dict[str, bool] = {}

    def may(code: str) -> bool:
        if code not in rights:
            rights[code] = actor is None or selectors.may_administer(actor=actor, department=departments[code])
        return rights[code]

    def check_department(prefix: tuple, code: str, label: str) -> None:
        if not code:
            return
        if code not in departments:
            problems.append(
                Problem((*prefix, "department"), label, _("部门编码「%(code)s」不存在或已停用") % {"code": code})
            )
        elif not may(code):
            problems.append(
                Problem(
                    (*prefix, "department"),
                    label,
                    _("您不是部门「%(name)s」的管理员，不能导入其事项") % {"name": departments[code].name},
                )
            )

    codes = [i.get("implementation_code") for i in items]
    existing = {
        i.implementation_code: i
        for i in ServiceItem.objects.filter(implementation_code__in=[c for c in codes if c]).select_related(
            "department"
        )
    }
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        code = item.get("implementation_code")
        if code in seen:
            problems.append(
                Problem(
                    ("items", index, "implementation_code"),
                    _("实施编码"),
                    _("「%(code)s」在文件中重复出现（第 %(n)d 个事项已使用）") % {"code": code, "n": seen[code] + 1},
                )
            )
        elif code:
            seen[code] = index
        check_department(("items", index), item.get("department"), _("实施主体编码"))
        current = existing.get(code)
        if current is not None and item.get("department") and current.department.code != item["department"]:
            problems.append(
                Problem(
                    ("items", index, "department"),
                    _("实施主体编码"),
                    _("实施编码「%(code)s」的事项已属于部门「%(name)s」，实施主体不能通过导入变更")
                    % {"code": code, "name": current.department.name},
                )
            )

    in_file = set(seen)
    referenced = {c for e in events for c in e.get("items") or []}
    catalog_items = {
        i.implementation_code: i for i in ServiceItem.objects.filter(implementation_code__in=referenced - in_file)
    }
    existing_events = {
        e.code: e
        for e in LifeEvent.objects.filter(code__in=[e.get("code") for e in events if e.get("code")]).select_related(
            "department"
        )
    }
    seen_events: set[str] = set()
    for index, event in enumerate(events):
        code = event.get("code")
        if code in seen_events:
            problems.append(
                Problem(
                    ("life_events", index, "code"), _("一件事编码"), _("「%(code)s」在文件中重复出现") % {"code": code}
                )
            )
        seen_events.add(code)
        check_department(("life_events", index), event.get("department"), _("牵头部门编码"))
        current = existing_events.get(code)
        if (
            current is not None
            and actor is not None
            and not selectors.may_administer(actor=actor, department=current.department)
        ):
            problems.append(
                Problem(
                    ("life_events", index, "code"), _("一件事编码"), _("「%(code)s」已被其他部门使用") % {"code": code}
                )
            )
        missing = [c for c in event.get("items") or [] if c not in in_file and c not in catalog_items]
        if missing:
            problems.append(
                Problem(
                    ("life_events", index, "items"),
                    _("包含事项"),
                    _("以下实施编码的事项既不在本文件中，也不在目录中：%(codes)s") % {"codes": "、".join(missing)},
                )
            )
        elif publish:
            unpublished = [
                c
                for c in event.get("items") or []
                if c in catalog_items and catalog_items[c].status != Status.PUBLISHED
            ]
            if unpublished:
                problems.append(
                    Problem(
                        ("life_events", index, "items"),
                        _("包含事项"),
                        _("以下事项尚未发布，不能发布一件事：%(codes)s") % {"codes": "、".join(unpublished)},
                    )
                )
    return items, events, problems


# --- the import --------------------------------------------------------------------------------


def catalog_import(*, actor, content: bytes, filename: str, publish: bool = False) -> ImportReport:
    """Import a catalog file (.yaml/.yml/.json/.xlsx), all-or-nothing.

    Guarantees: if anything in the file is wrong, ``CatalogImportFailed`` lists every
    problem with its place and nothing is written; otherwise all items then all life events
    are saved as drafts through the services (unchanged content is left alone) and, with
    ``publish``, every item and life event of the file that has a draft is published — all
    in one transaction, audited as ``catalog.import``.
    """
    fmt = detect_format(filename)
    if fmt is None:
        raise CatalogImportFailed(
            [_("不支持的文件类型「%(name)s」：请上传 .xlsx、.yaml、.yml 或 .json") % {"name": filename}]
        )
    document, locate, errors = read_document(content, fmt=fmt)
    if not document:
        raise CatalogImportFailed(errors)
    items, events, problems = check_document(document, actor=actor, publish=publish)
    # The reader's own findings (Excel: 材料 rows of unknown items, bad JSON cells) come first.
    errors = [*errors, *(f"{locate(p.path)}{p}" for p in problems)]
    if errors:
        raise CatalogImportFailed(errors)
    report = ImportReport()
    with transaction.atomic():
        # The checks above make a failure here rare (e.g. a retired item left out of a bundle
        # being published); if one happens, everything written so far is rolled back.
        where: tuple = ()
        try:
            for index, data in enumerate(items):
                where = ("items", index)
                result = services.item_save_draft(actor=actor, data=data)
                report.items[result.outcome] += 1
                if publish and not result.version.is_published:
                    services.item_publish(actor=actor, item=result.version.item)
                    report.published_items += 1
            for index, data in enumerate(events):
                where = ("life_events", index)
                result = services.life_event_save_draft(actor=actor, data=data)
                report.life_events[result.outcome] += 1
                if publish and not result.version.is_published:
                    services.life_event_publish(actor=actor, life_event=result.version.life_event)
                    report.published_life_events += 1
        except YiwangError as exc:
            details = [f"{key}：{m}" for key, messages in exc.fields.items() for m in messages]
            raise CatalogImportFailed([f"{locate(where)}{exc.message}", *details]) from exc
        audit_record(
            actor=actor,
            action="catalog.import",
            object_type="catalog.file",
            object_id=hashlib.sha256(content).hexdigest()[:32],
            object_repr=filename[:300],
            changes={
                "items": report.items,
                "life_events": report.life_events,
                "published_items": report.published_items,
                "published_life_events": report.published_life_events,
            },
        )
    return report


# --- export ------------------------------------------------------------------------------------


def catalog_document(*, actor, published_only: bool = False) -> dict:
    """The catalog as an import-file dict: for each item its draft if any (unless
    ``published_only``), else its current version. ``actor=None`` exports everything;
    an admin exports their departments."""
    if actor is None:
        items = (
            ServiceItem.objects.select_related("department", "current_version")
            .prefetch_related(*selectors.with_versions_prefetch())
            .order_by("implementation_code")
        )
        events = LifeEvent.objects.select_related("department", "current_version").order_by("code")
    else:
        items = selectors.item_list_for_admin(actor=actor).order_by("implementation_code")
        events = selectors.life_event_list_for_admin(actor=actor)
    out_items = []
    for item in items:
        version = item.current_version if published_only else selectors.item_latest_version(item=item)
        if version is None or (published_only and item.status != Status.PUBLISHED):
            continue
        out_items.append(selectors.item_version_to_data(version, item=item))
    out_events = []
    for event in events:
        version = event.current_version
        if not published_only:
            version = selectors.life_event_draft(life_event=event) or version
        if version is None or (published_only and event.status != Status.PUBLISHED):
            continue
        out_events.append(selectors.life_event_version_to_data(version))
    return {"format_version": FORMAT_VERSION, "items": out_items, "life_events": out_events}


def render_document(document: dict, *, fmt: str) -> bytes:
    if fmt == "xlsx":
        return write_workbook(document)
    if fmt == "json":
        return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()
    if fmt == "yaml":
        return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120).encode()
    raise ValueError(f"unknown format {fmt!r}")


def template_workbook() -> bytes:
    """The blank Excel template departments fill in (事项 / 材料 / 一件事)."""
    return write_workbook({"items": [], "life_events": []})
