"""The English catalog is complete, and the compiled .mo that ships is the .po as written."""

import ast
import gettext
from pathlib import Path

import yiwang

LOCALE = Path(yiwang.__file__).parent / "locale" / "en" / "LC_MESSAGES"


def _unquote(line: str) -> str:
    return ast.literal_eval(line.strip())


def parse_po(path: Path) -> tuple[dict[str, str], set[str]]:
    """(msgid → msgstr, fuzzy msgids) for singular, non-obsolete entries (enough for this catalog)."""
    entries: dict[str, str] = {}
    msgid = msgstr = context = None
    field = None
    fuzzy = False
    fuzzy_ids: set[str] = set()

    def flush():
        if msgid is not None and msgstr is not None:
            key = f"{context}\x04{msgid}" if context else msgid  # msgctxt: the .mo's key
            entries[key] = msgstr
            if fuzzy:
                fuzzy_ids.add(msgid)

    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            flush()
            msgid = msgstr = field = context = None
            fuzzy = False
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith("msgctxt "):
            context = _unquote(line[8:])
        elif line.startswith("msgid "):
            msgid, field = _unquote(line[6:]), "id"
        elif line.startswith("msgstr "):
            msgstr, field = _unquote(line[7:]), "str"
        elif line.startswith('"'):
            if field == "id":
                msgid += _unquote(line)
            elif field == "str":
                msgstr += _unquote(line)
    entries.pop("", None)
    return entries, fuzzy_ids


def test_every_message_has_an_english_translation():
    entries, fuzzy = parse_po(LOCALE / "django.po")
    assert len(entries) > 500
    missing = [msgid for msgid, msgstr in entries.items() if not msgstr]
    assert missing == [], f"untranslated: {missing[:10]}"
    assert fuzzy == set(), f"fuzzy: {sorted(fuzzy)[:10]}"


def test_compiled_catalog_matches_the_po_file():
    entries, _ = parse_po(LOCALE / "django.po")
    with open(LOCALE / "django.mo", "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = [msgid for msgid, msgstr in entries.items() if compiled.gettext(msgid) != msgstr]
    assert stale == [], f"run compilemessages: {stale[:5]}"


def test_the_parser_sees_an_untranslated_and_a_fuzzy_entry(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr "Language: en\\n"\n\nmsgid "办件"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "事项"\nmsgstr "Item"\n\nmsgid ""\n"长"\n"句"\nmsgstr "Long "\n"line"\n',
        encoding="utf-8",
    )
    entries, fuzzy = parse_po(po)
    assert entries == {"办件": "", "事项": "Item", "长句": "Long line"}
    assert fuzzy == {"事项"}
