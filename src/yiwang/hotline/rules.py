"""Text and rule helpers of the hotline, free of side effects: jieba terms, phone and location
checks, the time limits table, and the dispatch-rule matcher."""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import calendar

_CJK = re.compile(r"[\u4e00-\u9fff]")
STOP_WORDS = frozenset(
    {
        "我们",
        "你们",
        "他们",
        "这个",
        "那个",
        "一个",
        "什么",
        "怎么",
        "如何",
        "可以",
        "没有",
        "已经",
        "现在",
        "问题",
        "反映",
        "希望",
        "请问",
        "谢谢",
        "情况",
        "相关",
        "进行",
        "要求",
        "需要",
        "市民",
        "来电",
        "来信",
        "处理",
        "解决",
        "附近",
        "一直",
        "非常",
        "严重",
        "影响",
    }
)


def terms(text: str, *, limit: int = 40) -> list[str]:
    """jieba search-mode terms of ``text`` (the catalog's segmenter, shared by the process): CJK
    words of two characters or more and runs of letters/digits, stop words removed, first
    occurrence order, at most ``limit``."""
    from yiwang.catalog.selectors import text_words

    seen: dict[str, None] = {}
    for token in text_words(unicodedata.normalize("NFKC", text or "")):
        if token in STOP_WORDS or (not _CJK.search(token) and len(token) < 2):
            continue
        seen.setdefault(token, None)
        if len(seen) >= limit:
            break
    return list(seen)


# --- input checks ------------------------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
_SERVICE = re.compile(r"^(95|96|1[0-2])\d{3,6}$")  # 12345, 95598, 96123: service numbers call too


def normalize_phone(value: str) -> str:
    """Digits of a mainland mobile, landline (with area code) or service number; '' if empty.
    ``ValueError`` with a Chinese message when it is not one."""
    raw = (value or "").strip()
    if not raw:
        return ""
    digits = re.sub(r"[\s\-()()]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not digits.isdigit() or not (_MOBILE.match(digits) or _LANDLINE.match(digits) or _SERVICE.match(digits)):
        raise ValueError(_("不是有效的电话号码:请填写 11 位手机号或带区号的固定电话"))
    return digits


# The whole of China with a margin (CGCS2000 / WGS84 degrees).
LAT_RANGE = (Decimal("3.5"), Decimal("54.0"))
LON_RANGE = (Decimal("73.0"), Decimal("136.0"))


def parse_coordinate(value, *, kind: str) -> Decimal | None:
    """A latitude (``kind="lat"``) or longitude inside China, rounded to 6 places; None if empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(_("坐标必须是数字")) from None
    if not number.is_finite():
        raise ValueError(_("坐标必须是数字"))
    low, high = LAT_RANGE if kind == "lat" else LON_RANGE
    if not (low <= number <= high):
        raise ValueError(_("坐标超出服务范围(不在中国境内)"))
    return number.quantize(Decimal("0.000001"))


# --- time limits -------------------------------------------------------------------------------

# (response, resolution) in working days for ordinary tickets; urgent ones in hours.
LIMITS_WORKING_DAYS = {
    "consult": (1, 3),
    "help": (1, 5),
    "complaint": (1, 5),
    "report": (1, 10),
    "suggestion": (1, 10),
    "praise": (1, 3),
}
URGENT_HOURS = (2, 24)
WARNING_SHARE = 0.8  # a ticket is 临近超期 once 80 % of its resolution time is used


def _end_of_working_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))


def deadlines(*, start: datetime.datetime, kind: str, urgency: str) -> tuple[datetime.datetime, datetime.datetime]:
    """Response and resolution deadlines of a ticket dispatched at ``start``."""
    if urgency == "urgent":
        respond, resolve = URGENT_HOURS
        return start + datetime.timedelta(hours=respond), start + datetime.timedelta(hours=resolve)
    respond, resolve = LIMITS_WORKING_DAYS.get(kind, (1, 5))
    cal = calendar.working_calendar()
    day = timezone.localtime(start).date()
    return _end_of_working_day(cal.add_working_days(day, respond)), _end_of_working_day(
        cal.add_working_days(day, resolve)
    )


def clock_state(
    *,
    start: datetime.datetime | None,
    due: datetime.datetime | None,
    now: datetime.datetime,
    response_due: datetime.datetime | None = None,
    responded: bool = True,
) -> str:
    if due is None or start is None:
        return "on_time"
    if now > due or (not responded and response_due is not None and now > response_due):
        return "overdue"
    span = (due - start).total_seconds()
    if span > 0 and (now - start).total_seconds() >= WARNING_SHARE * span:
        return "warning"
    return "on_time"


# --- dispatch rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledRule:
    id: int
    category_id: int | None
    keywords: tuple[str, ...]
    region_prefix: str
    department_id: int
    priority: int

    def score(self, *, category_id: int | None, text: str, region_code: str) -> int:
        """0 when a condition fails; otherwise higher for more specific matches."""
        if not (self.category_id or self.keywords or self.region_prefix):
            return 0
        score = 1
        if self.category_id:
            if self.category_id != category_id:
                return 0
            score += 1000
        if self.keywords:
            hits = sum(1 for k in self.keywords if k in text)
            if not hits:
                return 0
            score += 100 * hits
        if self.region_prefix:
            if not region_code.startswith(self.region_prefix):
                return 0
            score += 10 * len(self.region_prefix)
        return score


class RuleIndex:
    """The active rules grouped by category, so that a ticket is scored only against the rules
    of its own category and the rules without one (with many categories, a fraction of them)."""

    def __init__(self, rules: list[CompiledRule]):
        self.rules = list(rules)
        self.by_category: dict[int | None, list[CompiledRule]] = {}
        for rule in self.rules:
            if rule.category_id or rule.keywords or rule.region_prefix:  # an empty rule never matches
                self.by_category.setdefault(rule.category_id or None, []).append(rule)

    def candidates(self, category_id: int | None) -> list[CompiledRule]:
        generic = self.by_category.get(None, [])
        if not category_id:
            return generic
        return [*self.by_category.get(category_id, []), *generic]

    def __len__(self) -> int:
        return len(self.rules)


def best_rule(
    rules: list[CompiledRule] | RuleIndex, *, category_id: int | None, text: str, region_code: str
) -> CompiledRule | None:
    if isinstance(rules, RuleIndex):
        rules = rules.candidates(category_id)
    best, best_key = None, None
    for rule in rules:
        score = rule.score(category_id=category_id, text=text, region_code=region_code)
        if score and (best_key is None or (score, rule.priority, -rule.id) > best_key):
            best, best_key = rule, (score, rule.priority, -rule.id)
    return best
