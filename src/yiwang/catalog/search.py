"""Catalog search: citizens type what they mean, not the official name.

"开饭店要办什么", "换身份证", "生孩子", "开公司", "gtgsh" (the pinyin initials of 个体工商户设立登记)
all land on the right item. How:

* **Index** — a denormalized inverted index in the database (``SearchEntry`` one row per
  published item or life event, ``SearchTerm`` its postings). It is rewritten by
  ``index_item`` / ``index_life_event`` whenever an item or bundle is published or retired
  (subscribed to the catalog's domain events, and callable inside the publishing transaction),
  so every web process reads the same index: nothing that matters is cached per process.
* **Terms** — for names, aliases, keywords, materials, department name and description:
  jieba words (search mode), Chinese character bigrams (so any sub-word still matches), the
  whole field (exact-match boost); for names and aliases also their prefixes (suggestions as
  you type) and full pinyin and pinyin initials (pypinyin), of the whole text and of each word.
* **Weights** — a posting's weight is its field's weight (name > alias > keyword > material >
  department) times its match kind (exact > prefix > word > bigram); a result's score is the
  sum over the query's terms; results below a tenth of the best one are dropped as noise.
* **Query** — normalized (NFKC, lower case), filler such as "要办什么" removed, segmented with
  the same jieba, expanded with the admin-editable synonym table (``SearchSynonym``, read on
  every query so an edit applies at once everywhere); a word inside a longer query word is
  dropped (身份 inside 身份证). Then one SQL statement: each term reads at most its
  ``TERM_POSTINGS_CAP`` (1,000) strongest postings from the covering index ``(term, weight, entry)``,
  the sums are ranked, and window functions give the best score and the total in the same
  pass. Portable SQL (window functions, ``UNION ALL``): the same code on SQLite and PostgreSQL.
  The cap makes ``total`` approximate for a query of only very common words; the top results
  are unaffected since a term's strongest postings are the ones read.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from yiwang.catalog.models import (
    LifeEvent,
    SearchEntry,
    SearchSynonym,
    SearchTerm,
    ServiceItem,
    Status,
    localized,
)
from yiwang.core import events
from yiwang.core.audit import audit_record
from yiwang.core.errors import ValidationFailed
from yiwang.core.pagination import MAX_PAGE

logger = logging.getLogger(__name__)

# --- weights ------------------------------------------------------------------------------------

FIELD_WEIGHTS = {"name": 100, "alias": 70, "keyword": 45, "material": 15, "department": 10, "description": 4}
EXACT, PREFIX, WORD, BIGRAM = 30, 15, 10, 5  # match kind, in tenths (×3, ×1.5, ×1, ×0.5)
QUERY_WEIGHT, SYNONYM_WEIGHT = 10, 8  # in tenths: a synonym's expansion counts 0.8 of the typed word

MAX_TERM = 64
MAX_PREFIX_CJK = 12
MAX_PREFIX_PINYIN = 24
MAX_QUERY = 60
PAGE_SIZE_MAX = 100
MIN_RELATIVE_SCORE = 30  # percent of the best result's score (10 listed 39 of 49 items for 身份证丢了)
# A best score under this came only from materials, descriptions or a stray bigram: the page
# says it does not know the need and points to consultation / 12345 (issue #14). A name or alias
# bigram of a typed word alone scores 3,500-5,000; a material word 1,500; a description word 400.
CONFIDENT_SCORE = 2000
TERM_POSTINGS_CAP = 1000  # postings read per query term, strongest first

# Filler citizens add around what they mean; removed from the query (longest first).
FILLER = sorted(
    {
        "要办什么手续",
        "需要办什么",
        "要办什么",
        "要办哪些",
        "办什么",
        "怎么办理",
        "如何办理",
        "怎样办理",
        "怎么办",
        "如何办",
        "去哪里办",
        "去哪办",
        "在哪里办",
        "在哪办",
        "需要什么材料",
        "要什么材料",
        "需要哪些材料",
        "哪些材料",
        "什么材料",
        "需要什么",
        "要什么",
        "的流程",
        "流程",
        "手续",
        "我要",
        "我想",
        "想要",
        "请问",
        "怎么",
        "如何",
        "吗",
        "呢",
        "啊",
    },
    key=len,
    reverse=True,
)
_FILLER_RE = re.compile("|".join(map(re.escape, FILLER)))
_PUNCT_RE = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65!-/:-@\[-`{-~]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_ASCII_WORD = re.compile(r"^[a-z]+$")

# Words of government services jieba's general dictionary does not know as one word.
DOMAIN_WORDS = (
    "个体工商户",
    "营业执照",
    "不动产",
    "不动产权证书",
    "公积金",
    "住房公积金",
    "社保卡",
    "社会保障卡",
    "医保",
    "低保",
    "最低生活保障",
    "一件事",
    "出生医学证明",
    "户口簿",
    "居住证",
    "残疾人证",
    "高龄津贴",
    "失业保险金",
    "食品经营",
    "公章",
    "刻章",
    "数电发票",
    "网约车",
    "水电气",
    "过户",
    "二手房",
    "换领",
    "申领",
    "落户",
)


# --- text ---------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation and spaces removed: the form every term is stored in."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _PUNCT_RE.sub("", text)


_jieba = None
_jieba_lock = threading.Lock()


def _segmenter():
    """jieba, initialized once per process with its bundled dictionary and the domain words."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for word in DOMAIN_WORDS:
                    tokenizer.add_word(word)
                _jieba = tokenizer
    return _jieba


def add_words(words: Iterable[str]) -> None:
    """Teach jieba domain words (item names, synonym terms). Only refines segmentation: the
    bigram postings make a result independent of whether a process knows the word."""
    seg = _segmenter()
    learned = False
    for word in words:
        word = normalize(word)
        if 2 <= len(word) <= 20 and _CJK.search(word) and seg.FREQ.get(word) is None:
            seg.add_word(word)
            learned = True
    if learned:
        _field_terms.cache_clear()


def words(text: str) -> list[str]:
    """jieba search-mode words of normalized ``text``: CJK words of two or more characters and
    runs of letters or digits."""
    out = []
    for token in _segmenter().lcut_for_search(text):
        token = token.strip()
        if not token:
            continue
        if _CJK.search(token):
            if len(token) >= 2:
                out.append(token)
        elif token.isalnum():
            out.append(token)
    return out


def bigrams(text: str) -> list[str]:
    grams = []
    for run in _CJK_RUN.findall(text):
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def pinyin(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the CJK characters in ``text``, letters only: 个体户 → (getihu, gth)."""
    from pypinyin import Style, lazy_pinyin

    syllables = [s for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if s.isalpha()]
    return "".join(syllables), "".join(s[0] for s in syllables)


# --- indexing -----------------------------------------------------------------------------------


def terms_for(fields: Iterable[tuple[str, str]]) -> dict[str, int]:
    """The postings of one entry: ``{term: weight}`` from ``(field, text)`` pairs."""
    postings: dict[str, int] = {}
    for field_name, raw in fields:
        for term, weight in _field_terms(field_name, normalize(raw)):
            if weight > postings.get(term, 0):
                postings[term] = weight
    return postings


@lru_cache(maxsize=50_000)
def _field_terms(field_name: str, text: str) -> tuple[tuple[str, int], ...]:
    """Postings of one normalized field value. Cached: materials, keywords and department
    names repeat across items, and segmentation and pinyin are the costly part of indexing."""
    if not text:
        return ()
    out: dict[str, int] = {}

    def put(term: str, weight: int) -> None:
        term = term[:MAX_TERM]
        if term and weight > out.get(term, 0):
            out[term] = weight

    base = FIELD_WEIGHTS[field_name]
    put("=" + text, base * EXACT // 10)
    tokens = words(text)
    for token in tokens:
        put(token, base * WORD // 10)
    if field_name == "description":
        return tuple(out.items())
    for gram in bigrams(text):
        put(gram, base * BIGRAM // 10)
    if field_name in ("name", "alias"):
        for k in range(1, min(len(text), MAX_PREFIX_CJK) + 1):
            put("^" + text[:k], base * PREFIX // 10)
        full, initials = pinyin(text)
        # Full pinyin as you type for names; aliases get their whole pinyin (and per word, below).
        first = 2 if field_name == "name" else len(full)
        for k in range(first, min(len(full), MAX_PREFIX_PINYIN) + 1):
            put("p:" + full[:k], base * WORD // 10)
        for k in range(2, min(len(initials), MAX_PREFIX_CJK) + 1):
            put("i:" + initials[:k], base * WORD // 10)
        for token in tokens:
            if _CJK.search(token):
                full, initials = pinyin(token)
                put("p:" + full, base * WORD // 10)
                if len(initials) >= 2:
                    put("i:" + initials, base * WORD // 10)
    return tuple(out.items())


@dataclass
class EntryData:
    """What the index needs of an item or life event, independent of how it is stored."""

    kind: str
    code: str
    name: str
    department_id: int
    department_name: str
    item_kind: str = ""
    targets: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)
    description: str = ""
    department_names: list[str] = field(default_factory=list)
    promised_time_limit: int | None = None
    onsite_visits: int | None = None
    name_en: str = ""
    description_en: str = ""

    def fields(self) -> list[tuple[str, str]]:
        return [
            ("name", self.name),
            *(("alias", a) for a in self.aliases),
            *(("keyword", k) for k in self.keywords),
            *(("material", m) for m in self.materials),
            *(("department", d) for d in self.department_names),
            ("description", self.description),
        ]


def _write_entry(data: EntryData, *, item_id: int | None = None, life_event_id: int | None = None) -> SearchEntry:
    entry, _created = SearchEntry.objects.update_or_create(
        kind=data.kind,
        code=data.code,
        defaults={
            "item_id": item_id,
            "life_event_id": life_event_id,
            "name": data.name[:200],
            "item_kind": data.item_kind,
            "department_id": data.department_id,
            "department_name": data.department_name[:100],
            "for_natural_person": "natural_person" in data.targets,
            "for_legal_person": "legal_person" in data.targets,
            "summary": (data.description or "")[:300],
            "name_en": (data.name_en or "")[:200],
            "summary_en": (data.description_en or "")[:300],
            "promised_time_limit": data.promised_time_limit,
            "onsite_visits": data.onsite_visits,
        },
    )
    add_words([data.name, *data.aliases])
    SearchTerm.objects.filter(entry=entry).delete()
    SearchTerm.objects.bulk_create(
        [SearchTerm(entry=entry, term=t, weight=w) for t, w in terms_for(data.fields()).items()], batch_size=1000
    )
    return entry


def bulk_index(entries: list[EntryData], *, batch_size: int = 1000) -> int:
    """Add many entries at once (a large import, the benchmark's synthetic catalog): one
    ``bulk_create`` for the entries and batched ones for their postings. Returns the number
    of postings written. Entries must not exist yet (``kind`` and ``code`` are unique)."""
    add_words(w for e in entries for w in (e.name, *e.aliases))
    written = 0
    for start in range(0, len(entries), batch_size):
        chunk = entries[start : start + batch_size]
        with transaction.atomic():
            rows = SearchEntry.objects.bulk_create(
                [
                    SearchEntry(
                        kind=e.kind,
                        code=e.code,
                        name=e.name[:200],
                        item_kind=e.item_kind,
                        department_id=e.department_id,
                        department_name=e.department_name[:100],
                        for_natural_person="natural_person" in e.targets,
                        for_legal_person="legal_person" in e.targets,
                        summary=(e.description or "")[:300],
                        name_en=(e.name_en or "")[:200],
                        summary_en=(e.description_en or "")[:300],
                        promised_time_limit=e.promised_time_limit,
                        onsite_visits=e.onsite_visits,
                    )
                    for e in chunk
                ]
            )
            if any(r.pk is None for r in rows):  # backends without RETURNING on bulk insert
                by_code = dict(SearchEntry.objects.filter(code__in=[e.code for e in chunk]).values_list("code", "pk"))
                for r in rows:
                    r.pk = by_code[r.code]
            postings = [
                SearchTerm(entry_id=row.pk, term=t, weight=w)
                for row, e in zip(rows, chunk, strict=True)
                for t, w in terms_for(e.fields()).items()
            ]
            SearchTerm.objects.bulk_create(postings, batch_size=batch_size)
            written += len(postings)
    return written


def _department_names(department) -> list[str]:
    return [n for n in (department.name, department.short_name) if n]


def _item_data(item: ServiceItem) -> EntryData:
    version = item.current_version
    return EntryData(
        kind=SearchEntry.Kind.ITEM,
        code=item.implementation_code,
        name=version.name,
        department_id=item.department_id,
        department_name=item.department.name,
        department_names=_department_names(item.department),
        item_kind=version.kind,
        targets=list(version.targets or []),
        aliases=list(version.aliases or []),
        keywords=list(version.keywords or []),
        materials=[m.name for m in version.materials.all()],
        description=version.description,
        promised_time_limit=version.promised_time_limit,
        onsite_visits=version.onsite_visits,
        name_en=version.name_en,
        description_en=version.description_en,
    )


def _life_event_data(life_event: LifeEvent) -> EntryData:
    version = life_event.current_version
    items = [e.item for e in version.entries.select_related("item__current_version").order_by("sort")]
    return EntryData(
        kind=SearchEntry.Kind.LIFE_EVENT,
        code=life_event.code,
        name=version.name,
        department_id=life_event.department_id,
        department_name=life_event.department.name,
        department_names=_department_names(life_event.department),
        item_kind="life_event",
        targets=list(version.targets or []),
        aliases=list(version.aliases or []),
        # A bundle is also found by the names of the items it bundles.
        keywords=[*(version.keywords or []), *(i.current_version.name for i in items if i.current_version)],
        description=version.description,
        name_en=version.name_en,
        description_en=version.description_en,
    )


@transaction.atomic
def index_item(item_id: int) -> SearchEntry | None:
    """Bring the item's index entry in line with the database: its current published version,
    or no entry when it is not published. Idempotent; safe inside the publishing transaction."""
    item = (
        ServiceItem.objects.select_related("department", "current_version")
        .filter(pk=item_id, status=Status.PUBLISHED, current_version__isnull=False)
        .first()
    )
    if item is None:
        SearchEntry.objects.filter(item_id=item_id).delete()
        return None
    return _write_entry(_item_data(item), item_id=item.pk)


@transaction.atomic
def index_life_event(life_event_id: int) -> SearchEntry | None:
    """Same as ``index_item`` for a life-event bundle."""
    life_event = (
        LifeEvent.objects.select_related("department", "current_version")
        .filter(pk=life_event_id, status=Status.PUBLISHED, current_version__isnull=False)
        .first()
    )
    if life_event is None:
        SearchEntry.objects.filter(life_event_id=life_event_id).delete()
        return None
    return _write_entry(_life_event_data(life_event), life_event_id=life_event.pk)


@transaction.atomic
def reindex_all() -> int:
    """Rebuild the whole index from the published catalog (``yiwang catalog_search_reindex``)."""
    SearchEntry.objects.filter(
        Q(item__isnull=False) & ~Q(item__status=Status.PUBLISHED)
        | Q(life_event__isnull=False) & ~Q(life_event__status=Status.PUBLISHED)
    ).delete()
    count = 0
    for pk in ServiceItem.objects.filter(status=Status.PUBLISHED).values_list("pk", flat=True):
        count += index_item(pk) is not None
    for pk in LifeEvent.objects.filter(status=Status.PUBLISHED).values_list("pk", flat=True):
        count += index_life_event(pk) is not None
    return count


@events.subscribe("catalog.item_published")
@events.subscribe("catalog.item_retired")
def on_item_changed(event: events.DomainEvent) -> None:
    index_item(event.payload["item_id"])
    # A bundle's entry lists its items' names: refresh the bundles that contain the item.
    for pk in (
        LifeEvent.objects.filter(status=Status.PUBLISHED, current_version__entries__item_id=event.payload["item_id"])
        .values_list("pk", flat=True)
        .distinct()
    ):
        index_life_event(pk)


@events.subscribe("catalog.life_event_published")
@events.subscribe("catalog.life_event_retired")
def on_life_event_changed(event: events.DomainEvent) -> None:
    index_life_event(event.payload["life_event_id"])


# --- synonyms -----------------------------------------------------------------------------------

# What citizens say → the official words. Seeded into ``SearchSynonym`` (admins edit them there).
DEFAULT_SYNONYMS: dict[str, list[str]] = {
    "开饭店": ["餐饮", "食品经营"],
    "开餐馆": ["餐饮", "食品经营"],
    "开餐厅": ["餐饮", "食品经营"],
    "开小吃店": ["餐饮", "食品经营"],
    "开奶茶店": ["餐饮", "食品经营"],
    "开超市": ["食品销售", "食品经营", "个体工商户"],
    "开店": ["个体工商户", "营业执照"],
    "开公司": ["企业设立", "开办企业"],
    "注册公司": ["企业设立", "开办企业"],
    "办公司": ["企业设立", "开办企业"],
    "创业": ["企业设立", "个体工商户", "就业创业"],
    "生孩子": ["出生", "生育", "新生儿"],
    "生小孩": ["出生", "生育", "新生儿"],
    "生宝宝": ["出生", "生育", "新生儿"],
    "怀孕": ["生育"],
    "上户口": ["出生户口登记", "户口"],
    "报户口": ["出生户口登记", "户口"],
    "身份证": ["居民身份证"],
    "丢了": ["补领"],
    "丢失": ["补领"],
    "遗失": ["补领"],
    "弄丢": ["补领"],
    "掉了": ["补领"],
    "补办": ["补领"],
    "驾照": ["机动车驾驶证"],
    "个体户": ["个体工商户"],
    "驾驶证": ["机动车驾驶证"],
    "换证": ["换领"],
    "结婚": ["结婚登记"],
    "领证": ["结婚登记"],
    "离婚": ["离婚登记"],
    "买房": ["不动产转移登记", "二手房"],
    "卖房": ["不动产转移登记", "二手房"],
    "过户": ["转移登记"],
    "房产证": ["不动产权证书", "不动产登记"],
    "房本": ["不动产权证书", "不动产登记"],
    "失业": ["失业保险金"],
    "失业金": ["失业保险金"],
    "退休": ["养老保险待遇"],
    "养老金": ["养老保险待遇"],
    "低保": ["最低生活保障"],
    "老人补贴": ["高龄津贴"],
    "残疾证": ["残疾人证"],
    "社保卡": ["社会保障卡"],
    "医保卡": ["社会保障卡", "医疗保险"],
    "交医保": ["医疗保险参保"],
    "看病报销": ["医疗保险", "异地就医"],
    "盖房子": ["建设工程规划许可", "施工许可"],
    "建房": ["建设工程规划许可", "施工许可"],
    "跑货运": ["道路运输经营许可"],
    "开货车": ["道路运输经营许可"],
    "刻章": ["公章刻制"],
    "开发票": ["发票申领"],
    "交税": ["税费缴纳"],
    "退税": ["个人所得税综合所得年度汇算"],
    "打官司": ["法律援助"],
    "请律师": ["法律援助"],
    "当老师": ["教师资格认定"],
    "上学": ["入学登记"],
    "租房": ["保障性租赁住房", "住房公积金提取"],
    "当医生": ["医师执业注册"],
    "开宾馆": ["公共场所卫生许可"],
    "开理发店": ["公共场所卫生许可", "个体工商户"],
}


@transaction.atomic
def synonyms_seed() -> int:
    """Add the default synonyms an install does not have yet; never overwrites an admin's edit."""
    existing = set(SearchSynonym.objects.values_list("term", flat=True))
    new = [SearchSynonym(term=t, expansions=e) for t, e in DEFAULT_SYNONYMS.items() if t not in existing]
    SearchSynonym.objects.bulk_create(new)
    return len(new)


def _clean_expansions(expansions) -> list[str]:
    if isinstance(expansions, str):
        expansions = re.split(r"[,，、;；\s]+", expansions)
    cleaned = []
    for value in expansions or []:
        value = str(value).strip()
        if value and value not in cleaned:
            cleaned.append(value[:50])
    return cleaned


@transaction.atomic
def synonym_save(
    *, actor, term: str, expansions, is_active: bool = True, synonym: SearchSynonym | None = None
) -> SearchSynonym:
    """Create or change a synonym (what citizens type → official words), audited.

    ``expansions`` is a list or a text separated by commas or 、. Raises ``ValidationFailed``
    naming the field for an empty term, an empty expansion list or a term already taken.
    Takes effect on the next search in every process (synonyms are read per query).
    """
    errors: dict[str, list[str]] = {}
    term = (term or "").strip()
    words_ = _clean_expansions(expansions)
    if not term or len(term) > 50:
        errors["term"] = [_("请输入群众用语(1 至 50 个字)")]
    if not words_:
        errors["expansions"] = [_("请至少填写一个对应规范用语,多个用逗号或顿号分隔")]
    clash = SearchSynonym.objects.filter(term=term)
    if synonym is not None:
        clash = clash.exclude(pk=synonym.pk)
    if term and clash.exists():
        errors["term"] = [_("群众用语「%(term)s」已存在") % {"term": term}]
    if errors:
        raise ValidationFailed(fields=errors)
    before = None
    if synonym is None:
        synonym = SearchSynonym(term=term, expansions=words_, is_active=is_active)
    else:
        before = {"term": synonym.term, "expansions": synonym.expansions, "is_active": synonym.is_active}
        synonym.term, synonym.expansions, synonym.is_active = term, words_, is_active
    synonym.save()
    after = {"term": term, "expansions": words_, "is_active": is_active}
    audit_record(
        actor=actor,
        action="catalog.search_synonym_save",
        obj=synonym,
        changes={"before": before, "after": after} if before else after,
    )
    return synonym


@transaction.atomic
def synonym_delete(*, actor, synonym: SearchSynonym) -> None:
    """Delete a synonym, audited."""
    audit_record(
        actor=actor,
        action="catalog.search_synonym_delete",
        obj=synonym,
        changes={"term": synonym.term, "expansions": synonym.expansions},
    )
    synonym.delete()


def _substrings(text: str, longest: int = 12) -> set[str]:
    return {text[i:j] for i in range(len(text)) for j in range(i + 2, min(len(text), i + longest) + 1)}


def _expansions(text: str) -> list[str]:
    """Official words of the active synonyms whose term occurs in ``text`` (one indexed query)."""
    if len(text) < 2:
        return []
    subs = sorted(_substrings(text))
    table = SearchSynonym._meta.db_table
    marks = ", ".join(["%s"] * len(subs))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT expansions FROM {table} WHERE is_active = %s AND term IN ({marks}) ORDER BY term",  # noqa: S608
            [True, *subs],
        )
        found = [row[0] for row in cursor.fetchall()]
    out: list[str] = []
    for raw in found:
        expansions = json.loads(raw) if isinstance(raw, str) else raw
        out.extend(e for e in expansions or [] if isinstance(e, str))
    return out


# --- querying -----------------------------------------------------------------------------------


def strip_filler(text: str) -> str:
    core = _FILLER_RE.sub("", text)
    return core or text


def query_terms(query: str) -> dict[str, int]:
    """``{term: query weight}`` for a raw query: its own terms, then its synonyms' terms."""
    text = strip_filler(normalize(query)[:MAX_QUERY])
    if not text:
        return {}
    weights: dict[str, int] = {}

    def put(term: str, weight: int) -> None:
        term = term[:MAX_TERM]
        if term and weight > weights.get(term, 0):
            weights[term] = weight

    def add_text(value: str, weight: int, *, with_bigrams: bool = True) -> None:
        put("=" + value, weight)
        put("^" + value[:MAX_PREFIX_CJK], weight)
        for token in words(value):
            put(token, weight)
        if with_bigrams:
            for gram in bigrams(value):
                put(gram, weight)

    if _ASCII_WORD.match(text):
        # Pinyin or its initials: "gtgsh", "getihu", "shenfenzheng".
        put("p:" + text[:MAX_PREFIX_PINYIN], QUERY_WEIGHT)
        if len(text) <= MAX_PREFIX_CJK:
            put("i:" + text, QUERY_WEIGHT)
        put(text, QUERY_WEIGHT)
        return weights
    add_text(text, QUERY_WEIGHT)
    for expansion in _expansions(text):
        value = normalize(expansion)
        if value:
            # Official words are indexed as words: their bigrams would add reads, not answers.
            add_text(value, SYNONYM_WEIGHT, with_bigrams=False)
    return weights


@dataclass
class SearchHit:
    kind: str
    code: str
    name: str
    item_kind: str
    department_id: int
    department_name: str
    summary: str
    promised_time_limit: int | None
    onsite_visits: int | None
    score: int
    name_en: str = ""
    summary_en: str = ""

    @property
    def display_name(self) -> str:
        """The English name when the interface is English and the catalog has one (issue #14)."""
        return localized(self.name, self.name_en)

    @property
    def display_summary(self) -> str:
        return localized(self.summary, self.summary_en)


@dataclass
class SearchPage:
    query: str
    hits: list[SearchHit]
    total: int
    page: int
    page_size: int

    @property
    def confident(self) -> bool:
        """Whether the best result matched the need itself (a name, alias or keyword), not a mention."""
        return bool(self.hits) and self.hits[0].score >= CONFIDENT_SCORE

    @property
    def pages(self) -> int:
        return (self.total + self.page_size - 1) // self.page_size if self.total else 0


def _filter_sql(*, department_id=None, target=None, kind=None) -> tuple[str, str, list]:
    """(join, where, params) restricting postings to entries that pass the filters."""
    where, params = [], []
    if department_id:
        where.append("e.department_id = %s")
        params.append(int(department_id))
    if target == "natural_person":
        where.append("e.for_natural_person = %s")
        params.append(True)
    elif target == "legal_person":
        where.append("e.for_legal_person = %s")
        params.append(True)
    if kind == "life_event":
        where.append("e.kind = %s")
        params.append(SearchEntry.Kind.LIFE_EVENT)
    elif kind:
        where.append("e.item_kind = %s")
        params.append(kind)
    if not where:
        return "", "", []
    join = f"JOIN {SearchEntry._meta.db_table} e ON e.id = t.entry_id"
    return join, " AND " + " AND ".join(where), params


def _existing(terms: Iterable[str]) -> set[str]:
    """The terms that have at least one posting (one index probe each)."""
    terms = list(terms)
    if not terms:
        return set()
    table = SearchTerm._meta.db_table
    probes = " UNION ALL ".join(
        f"SELECT * FROM (SELECT term FROM {table} WHERE term = %s LIMIT 1) p{n}"  # noqa: S608 (only placeholders)
        for n in range(len(terms))
    )
    with connection.cursor() as cursor:
        cursor.execute(probes, terms)
        return {row[0] for row in cursor.fetchall()}


def prune(weights: dict[str, int]) -> dict[str, int]:
    """Drop a word or bigram of the query that lies inside a longer word of the query that the
    index knows: 身份 and 份证 add nothing to 身份证 but read as many postings again."""
    plain = [t for t in weights if t[:1] not in "=^" and not t.startswith(("p:", "i:"))]
    known = _existing(plain)
    longer = sorted((t for t in plain if t in known), key=len, reverse=True)
    kept = {}
    for term, weight in weights.items():
        if term in plain and any(len(u) > len(term) and term in u and weights[u] >= weight for u in longer):
            continue
        if term in plain and term not in known:
            continue  # no postings: nothing to read
        kept[term] = weight
    return kept


_HIT_FIELDS = (
    "id",
    "kind",
    "code",
    "name",
    "item_kind",
    "department_id",
    "department_name",
    "summary",
    "promised_time_limit",
    "onsite_visits",
    "name_en",
    "summary_en",
)


def _live(ids: list[int]) -> dict[int, dict]:
    """The entries among ``ids`` whose item or bundle is still published, as dicts: a
    retirement hides a result at once, even before its index entry is removed."""
    if not ids:
        return {}
    rows = (
        SearchEntry.objects.filter(pk__in=ids)
        .filter(Q(item__isnull=True) | Q(item__status=Status.PUBLISHED))
        .filter(Q(life_event__isnull=True) | Q(life_event__status=Status.PUBLISHED))
        .values(*_HIT_FIELDS)
    )
    return {row["id"]: row for row in rows}


def _ranked(
    weights: dict[str, int],
    *,
    join: str = "",
    where: str = "",
    filter_params: list | None = None,
    limit: int,
    offset: int = 0,
    relative: int = 0,
) -> list[tuple[int, int, int]]:
    """``(entry_id, score, total)`` rows, best first: the one SQL statement behind search.

    Each term contributes its strongest ``TERM_POSTINGS_CAP`` postings (read in index order),
    so a word found in every item's materials (身份证) costs a bounded read. One pass sums
    the scores, drops results under ``relative`` % of the best, counts and pages.
    """
    table = SearchTerm._meta.db_table
    arms, params = [], []
    for n, (term, qw) in enumerate(weights.items()):
        arms.append(
            # Identifiers come from model metadata; every value is a placeholder.
            f"SELECT * FROM (SELECT t.entry_id AS entry_id, t.weight * %s AS w FROM {table} t {join} "  # noqa: S608
            f"WHERE t.term = %s{where} ORDER BY t.weight DESC, t.entry_id DESC LIMIT %s) a{n}"
        )
        params += [qw, term, *(filter_params or []), TERM_POSTINGS_CAP]
    sql = (
        "SELECT entry_id, score, COUNT(*) OVER () AS total FROM ("  # noqa: S608 (placeholders only)
        " SELECT entry_id, score, MAX(score) OVER () AS best FROM ("
        f"  SELECT entry_id, SUM(w) AS score FROM ({' UNION ALL '.join(arms)}) u GROUP BY entry_id"
        " ) g"
        ") r WHERE score * 100 >= best * %s ORDER BY score DESC, entry_id LIMIT %s OFFSET %s"
    )
    params += [relative, limit, offset]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def search(
    query: str,
    *,
    department_id: int | None = None,
    target: str | None = None,
    kind: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> SearchPage:
    """Published items and life events matching ``query``, best first, one page of them.

    ``target`` is ``natural_person`` or ``legal_person``; ``kind`` an item kind or
    ``life_event``. Public data only: no actor is needed.
    """
    page = max(1, min(int(page), MAX_PAGE))  # an offset past 64 bits fails in the database
    page_size = max(1, min(int(page_size), PAGE_SIZE_MAX))
    weights = prune(query_terms(query))
    if not weights:
        return SearchPage(query=query, hits=[], total=0, page=page, page_size=page_size)
    join, where, filter_params = _filter_sql(department_id=department_id, target=target, kind=kind)
    rows = _ranked(
        weights,
        join=join,
        where=where,
        filter_params=filter_params,
        limit=page_size + 10,
        offset=(page - 1) * page_size,
        relative=MIN_RELATIVE_SCORE,
    )
    if rows:
        total = rows[0][2]
    elif page > 1:
        total = search(query, department_id=department_id, target=target, kind=kind, page_size=1).total
    else:
        total = 0
    entries = _live([r[0] for r in rows])
    hits = [_hit(entries[entry_id], score) for entry_id, score, _total in rows if entry_id in entries][:page_size]
    return SearchPage(query=query, hits=hits, total=total, page=page, page_size=page_size)


def _hit(entry: dict, score: int) -> SearchHit:
    return SearchHit(**{k: v for k, v in entry.items() if k != "id"}, score=score)


def suggest(prefix: str, *, limit: int = 8) -> list[SearchHit]:
    """Suggestions as you type: names and aliases starting with ``prefix`` (Chinese, pinyin or
    initials), then the best search results; each entry once."""
    limit = max(1, min(int(limit), 20))
    text = strip_filler(normalize(prefix)[:MAX_QUERY])
    if not text:
        return []
    if _ASCII_WORD.match(text):
        weights = {"p:" + text[:MAX_PREFIX_PINYIN]: QUERY_WEIGHT, "i:" + text[:MAX_PREFIX_CJK]: QUERY_WEIGHT}
    else:
        weights = {"^" + text[:MAX_PREFIX_CJK]: QUERY_WEIGHT}
    rows = _ranked(weights, limit=limit + 5)
    entries = _live([r[0] for r in rows])
    hits = [_hit(entries[entry_id], score) for entry_id, score, _total in rows if entry_id in entries]
    if len(hits) < limit:
        seen = {h.code for h in hits}
        hits += [h for h in search(prefix, page_size=limit).hits if h.code not in seen]
    return hits[:limit]
