"""The 双随机 draw as a pure function of published inputs: algorithm ``yiwang-draw/1``.

No Django here and nothing but the standard library (SM3 through ``hashlib`` when OpenSSL
has it, else ``gmssl_pyx``): the app draws with these functions, and
``scripts/verify_draw.py`` — a second, standalone implementation that an outsider runs on the
published files alone — must get the same selection (``tests/test_drawing.py`` checks the two
agree). The algorithm, in full (docs/supervision.md repeats it for implementers):

* Inputs, fixed and published in the plan file *before* the seed is revealed:
  ``entities`` {grade: [entity hash, …]} (each list sorted ascending, no hash twice),
  ``ratios_bp`` {grade: 0…10000} (basis points of the grade's pool to draw),
  ``inspectors`` {department code: [inspector hash, …]} (sorted, distinct), ``team``
  {department code: inspectors per entity}, ``conflicts`` [[entity hash, inspector hash], …]
  (回避 pairs), and ``commitment`` = SM3(seed).
* At the draw: ``seed`` (32 bytes, hex) and an optional ``public_entropy`` string (e.g. the
  lottery numbers of the day, unknown when the commitment was published, so that the bureau
  cannot have picked a seed that suits it). ``draw_key`` = SM3(seed ‖ UTF-8(public_entropy)).
* Random words for a label: for counter c = 0, 1, …: SM3(draw_key ‖ UTF-8(label) ‖ 0x00 ‖ c as
  8-byte big-endian), each digest read as four 64-bit big-endian words.
  ``uniform(n)``: take words w until w < 2⁶⁴ − (2⁶⁴ mod n) (no modulo bias), return w mod n.
* Entities: per grade in ascending order, k = ⌈n · bp / 10000⌉; a partial Fisher–Yates
  shuffle of the sorted list with label ``entities/<grade>`` (for j < k: swap a[j] with
  a[j + uniform(n − j)]); the first k are drawn, in that order.
* Inspectors: per department in ascending code order, a queue fed by rounds: round r is a full
  Fisher–Yates shuffle (for i < m − 1: swap a[i] with a[i + uniform(m − i)]) of the sorted list
  with label ``inspectors/<department>/<r>``. For each drawn entity in order, the first
  ``team`` inspectors of the queue that are not in conflict with it (and not already on its
  team) are taken; the ones passed over keep their place at the head of the queue. So the
  work is spread evenly and an inspector is never sent to an entity he must avoid.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator

ALGORITHM = "yiwang-draw/1"
BP = 10000  # basis points in 100 %
GRADES = ("A", "B", "C", "D")


class DrawInputError(ValueError):
    """The published inputs cannot be drawn (``code`` names why; ``detail`` what)."""

    def __init__(self, code: str, detail: str = ""):
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


def _sm3_factory():
    try:
        hashlib.new("sm3")
        return lambda data: hashlib.new("sm3", data).digest()
    except ValueError:  # OpenSSL without SM3
        import gmssl_pyx

        return gmssl_pyx.sm3_hash


sm3 = _sm3_factory()


def sm3_hex(data: bytes | str) -> str:
    return sm3(data.encode() if isinstance(data, str) else data).hex()


def entity_salt(pool_secret: bytes, uscc: str) -> str:
    """An entity's salt in one plan: SM3(pool secret ‖ USCC), first 16 bytes as hex. The pool
    secret never leaves the platform; the salt of a drawn entity is published with the result."""
    return sm3(pool_secret + uscc.encode()).hex()[:32]


def entity_hash(uscc: str, salt: str = "") -> str:
    """The published hash of an entity: SM3("entity|" ‖ salt ‖ "|" ‖ USCC).

    Salted so that the published pool (grouped by credit grade) does not tell anyone the grade
    of every enterprise; the result opens the hashes of the drawn entities only (their salts),
    and an entity can be told its own salt to check it was in the pool.
    """
    return sm3_hex("entity|" + (salt + "|" if salt else "") + uscc)


def check_openings(selected: list[dict], openings: dict[str, dict]) -> None:
    """Every drawn entity's hash must open to its USCC with its published salt."""
    for row in selected:
        opening = openings.get(row["entity"])
        if opening is None or entity_hash(opening["uscc"], opening["salt"]) != row["entity"]:
            raise DrawInputError("opening_mismatch", row["entity"])


def inspector_hash(certificate_number: str) -> str:
    """The published hash of an inspector: SM3("inspector|" ‖ 执法证号)."""
    return sm3_hex("inspector|" + certificate_number)


def commitment_of(seed_hex: str) -> str:
    return sm3(bytes.fromhex(seed_hex)).hex()


def canonical(document) -> bytes:
    """The bytes of a published file: sorted keys, no spaces, UTF-8; its digest is SM3 of these."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def draw_key(seed_hex: str, public_entropy: str = "") -> bytes:
    return sm3(bytes.fromhex(seed_hex) + public_entropy.encode())


class Words:
    """The random words of one label (see the module doc)."""

    def __init__(self, key: bytes, label: str):
        self._prefix = key + label.encode() + b"\x00"
        self._counter = 0
        self._buffer: list[int] = []

    def next(self) -> int:
        if not self._buffer:
            digest = sm3(self._prefix + self._counter.to_bytes(8, "big"))
            self._counter += 1
            self._buffer = [int.from_bytes(digest[i : i + 8], "big") for i in (24, 16, 8, 0)]
        return self._buffer.pop()  # pops words 0, 1, 2, 3 in order

    def uniform(self, n: int) -> int:
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            w = self.next()
            if w < limit:
                return w % n


def ceil_share(n: int, bp: int) -> int:
    return (n * bp + BP - 1) // BP


def check_inputs(plan: dict) -> None:
    """Raise ``DrawInputError`` unless the plan's draw inputs are well formed and drawable.

    Checked before a plan is published: a pool that is empty, a ratio outside 0–100 %, a list
    not sorted or with a hash twice, a department whose inspectors are too few for the team
    once an entity's conflicts are set aside.
    """
    entities, ratios = plan["entities"], plan["ratios_bp"]
    if not any(entities.values()):
        raise DrawInputError("empty_entity_pool")
    seen: set[str] = set()
    for grade, hashes in entities.items():
        if grade not in ratios:
            raise DrawInputError("ratio_missing", grade)
        if any(a >= b for a, b in itertools.pairwise(hashes)):
            raise DrawInputError("entities_not_sorted", grade)
        seen.update(hashes)
    if len(seen) != sum(len(h) for h in entities.values()):
        raise DrawInputError("entity_twice")
    for grade, bp in ratios.items():
        if not isinstance(bp, int) or isinstance(bp, bool) or bp < 0 or bp > BP:
            raise DrawInputError("ratio_out_of_range", grade)
    inspectors, team = plan["inspectors"], plan["team"]
    if not team or set(team) != set(inspectors):
        raise DrawInputError("team_departments_mismatch")
    blocked: dict[str, set[str]] = {}
    for entity, inspector in plan["conflicts"]:
        blocked.setdefault(entity, set()).add(inspector)
    for dept, hashes in inspectors.items():
        size = team[dept]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise DrawInputError("team_size_invalid", dept)
        if any(a >= b for a, b in itertools.pairwise(hashes)):
            raise DrawInputError("inspectors_not_sorted", dept)
        if len(hashes) < size:
            raise DrawInputError("inspector_pool_too_small", dept)
        members = set(hashes)
        for entity, avoid in blocked.items():
            if entity in seen and len(members) - len(avoid & members) < size:
                raise DrawInputError("inspector_pool_too_small_after_avoidance", f"{dept} {entity}")


def select_entities(plan: dict, key: bytes) -> list[tuple[str, str]]:
    """[(grade, entity hash)] in draw order."""
    drawn = []
    for grade in sorted(plan["entities"]):
        pool = list(plan["entities"][grade])
        k = ceil_share(len(pool), plan["ratios_bp"][grade])
        words = Words(key, f"entities/{grade}")
        for j in range(k):
            r = j + words.uniform(len(pool) - j)
            pool[j], pool[r] = pool[r], pool[j]
        drawn.extend((grade, h) for h in pool[:k])
    return drawn


def _rounds(key: bytes, dept: str, hashes: list[str]) -> Iterator[str]:
    r = 0
    while True:
        order = list(hashes)
        words = Words(key, f"inspectors/{dept}/{r}")
        for i in range(len(order) - 1):
            j = i + words.uniform(len(order) - i)
            order[i], order[j] = order[j], order[i]
        yield from order
        r += 1


def assign_inspectors(plan: dict, key: bytes, drawn: list[tuple[str, str]]) -> list[dict[str, list[str]]]:
    """For each drawn entity (in order): {department code: [inspector hash, …]}."""
    blocked: dict[str, set[str]] = {}
    for entity, inspector in plan["conflicts"]:
        blocked.setdefault(entity, set()).add(inspector)
    teams: list[dict[str, list[str]]] = [{} for _ in drawn]
    for dept in sorted(plan["inspectors"]):
        hashes, size = plan["inspectors"][dept], plan["team"][dept]
        members = set(hashes)
        stream = _rounds(key, dept, hashes)
        pending: list[str] = []
        for index, (_grade, entity) in enumerate(drawn):
            avoid = blocked.get(entity, set())
            if len(members) - len(avoid & members) < size:
                raise DrawInputError("inspector_pool_too_small_after_avoidance", f"{dept} {entity}")
            chosen: list[str] = []
            kept: list[str] = []
            for h in pending:
                if len(chosen) < size and h not in avoid and h not in chosen:
                    chosen.append(h)
                else:
                    kept.append(h)
            while len(chosen) < size:
                h = next(stream)
                if h not in avoid and h not in chosen:
                    chosen.append(h)
                else:
                    kept.append(h)
            pending = kept
            teams[index][dept] = chosen
    return teams


def draw(plan: dict, seed_hex: str, public_entropy: str = "") -> list[dict]:
    """The selection: [{"grade", "entity", "inspectors": {dept: [hash, …]}}] in draw order.

    Raises ``DrawInputError("seed_mismatch")`` when SM3(seed) is not the plan's commitment.
    """
    try:
        matches = commitment_of(seed_hex) == plan["commitment"]
    except ValueError:
        matches = False
    if not matches:
        raise DrawInputError("seed_mismatch")
    key = draw_key(seed_hex, public_entropy)
    drawn = select_entities(plan, key)
    teams = assign_inspectors(plan, key, drawn)
    return [
        {"grade": grade, "entity": entity, "inspectors": team}
        for (grade, entity), team in zip(drawn, teams, strict=True)
    ]
