#!/usr/bin/env python3
"""Verify a Yiwang 双随机 draw from its two published files, with nothing but Python 3.

    python3 verify_draw.py plan.json result.json

``plan.json`` was published before the draw (pools as sorted hashed lists, ratios, teams,
回避 pairs, the commitment SM3(seed)); ``result.json`` after it (the revealed seed, the public
entropy, the selection). This script checks that the result names the plan it was drawn
from (SM3 of the plan file's bytes), that the seed matches the commitment, and recomputes
the whole selection — entities and inspectors — with algorithm ``yiwang-draw/1`` (described
in docs/supervision.md), and that each drawn entity's salted hash opens to the USCC the result
names. Exit status 0: the draw is exactly what the inputs give; 1: it is
not (the first difference is printed); 2: the files cannot be read.

It is a second implementation, written apart from the platform's (``yiwang.supervision.
drawing``); the platform's tests check that both agree. It needs no Django and no Yiwang:
SM3 comes from ``hashlib`` (OpenSSL ≥ 1.1.1), else ``gmssl_pyx``, else ``cryptography``,
else a pure-Python SM3 below (slow but enough for a county's pool).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import struct
import sys


def _pure_sm3(msg: bytes) -> bytes:  # GB/T 32905-2016
    iv = [0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E]
    rotl = lambda x, n: ((x << (n % 32)) | (x >> (32 - n % 32))) & 0xFFFFFFFF  # noqa: E731
    p0 = lambda x: x ^ rotl(x, 9) ^ rotl(x, 17)  # noqa: E731
    p1 = lambda x: x ^ rotl(x, 15) ^ rotl(x, 23)  # noqa: E731
    length = len(msg) * 8
    msg = msg + b"\x80" + b"\x00" * ((55 - len(msg)) % 64) + struct.pack(">Q", length)
    v = iv
    for off in range(0, len(msg), 64):
        w = list(struct.unpack(">16I", msg[off : off + 64]))
        for j in range(16, 68):
            w.append(p1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6])
        w1 = [w[j] ^ w[j + 4] for j in range(64)]
        a, b, c, d, e, f, g, h = v
        for j in range(64):
            t = 0x79CC4519 if j < 16 else 0x7A879D8A
            ss1 = rotl((rotl(a, 12) + e + rotl(t, j)) & 0xFFFFFFFF, 7)
            ss2 = ss1 ^ rotl(a, 12)
            ff = (a ^ b ^ c) if j < 16 else ((a & b) | (a & c) | (b & c))
            gg = (e ^ f ^ g) if j < 16 else ((e & f) | (~e & g))
            tt1 = (ff + d + ss2 + w1[j]) & 0xFFFFFFFF
            tt2 = (gg + h + ss1 + w[j]) & 0xFFFFFFFF
            a, b, c, d, e, f, g, h = tt1, a, rotl(b, 9), c, p0(tt2), e, rotl(f, 19), g
        v = [x ^ y for x, y in zip(v, (a, b, c, d, e, f, g, h), strict=True)]
    return struct.pack(">8I", *v)


def _sm3():
    try:
        hashlib.new("sm3")
        return lambda data: hashlib.new("sm3", data).digest()
    except ValueError:
        pass
    try:
        import gmssl_pyx

        return gmssl_pyx.sm3_hash
    except ImportError:
        pass
    try:
        from cryptography.hazmat.primitives import hashes

        def digest(data: bytes) -> bytes:
            h = hashes.Hash(hashes.SM3())
            h.update(data)
            return h.finalize()

        digest(b"")
        return digest
    except Exception:  # any failure means: not available here
        return _pure_sm3


SM3 = _sm3()


def random_words(key: bytes, label: str):
    prefix = key + label.encode("utf-8") + b"\x00"
    counter = 0
    while True:
        digest = SM3(prefix + struct.pack(">Q", counter))
        yield from struct.unpack(">4Q", digest)
        counter += 1


def below(words, n: int) -> int:
    limit = 2**64 - 2**64 % n
    for w in words:
        if w < limit:
            return w % n
    raise AssertionError("unreachable")


def recompute(plan: dict, seed: str, public_entropy: str) -> list[dict]:
    key = SM3(bytes.fromhex(seed) + public_entropy.encode("utf-8"))
    drawn = []
    for grade in sorted(plan["entities"]):
        pool = plan["entities"][grade]
        if any(a >= b for a, b in itertools.pairwise(pool)):  # sorted and distinct, in one pass
            raise SystemExit(f"plan: the pool of grade {grade} is not a sorted list of distinct hashes")
        pool = list(pool)
        n, bp = len(pool), plan["ratios_bp"][grade]
        if not 0 <= bp <= 10000:
            raise SystemExit(f"plan: ratio of grade {grade} is outside 0–100 %")
        k = -(-n * bp // 10000)
        words = random_words(key, "entities/" + grade)
        for j in range(k):
            r = j + below(words, n - j)
            pool[j], pool[r] = pool[r], pool[j]
        drawn += [{"grade": grade, "entity": h, "inspectors": {}} for h in pool[:k]]
    avoid: dict[str, set] = {}
    for entity, inspector in plan["conflicts"]:
        avoid.setdefault(entity, set()).add(inspector)
    for dept in sorted(plan["inspectors"]):
        members, size = plan["inspectors"][dept], plan["team"][dept]

        def rounds(dept=dept, members=members):
            r = 0
            while True:
                order = list(members)
                words = random_words(key, f"inspectors/{dept}/{r}")
                for i in range(len(order) - 1):
                    j = i + below(words, len(order) - i)
                    order[i], order[j] = order[j], order[i]
                yield from order
                r += 1

        queue, stream, member_set = [], rounds(), set(members)
        for row in drawn:
            no = avoid.get(row["entity"], set())
            if len(member_set) - len(no & member_set) < size:
                raise SystemExit(f"plan: too few inspectors of {dept} for {row['entity']} after avoidance")
            team, rest = [], []
            for h in queue:
                (team if len(team) < size and h not in no and h not in team else rest).append(h)
            while len(team) < size:
                h = next(stream)
                (team if h not in no and h not in team else rest).append(h)
            queue = rest
            row["inspectors"][dept] = team
    return drawn


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    try:
        with open(argv[1], "rb") as f:
            plan_bytes = f.read()
        with open(argv[2], encoding="utf-8") as f:
            result = json.load(f)
        plan = json.loads(plan_bytes)
    except (OSError, ValueError) as exc:
        print(f"cannot read the files: {exc}")
        return 2
    digest = SM3(plan_bytes).hex()
    if result.get("plan_digest") != digest:
        print(f"MISMATCH: the result names plan {result.get('plan_digest')}, this plan file is {digest}")
        return 1
    if plan.get("algorithm") != "yiwang-draw/1":
        print(f"unknown algorithm {plan.get('algorithm')!r}")
        return 2
    seed = result.get("seed", "")
    try:
        seed_ok = SM3(bytes.fromhex(seed)).hex() == plan["commitment"]
    except ValueError:
        seed_ok = False
    if not seed_ok:
        print("MISMATCH: SM3(seed) is not the commitment published before the draw")
        return 1
    expected = recompute(plan, seed, result.get("public_entropy", ""))
    published = result.get("selected", [])
    for index, (want, got) in enumerate(zip(expected, published, strict=False)):
        if want != got:
            print(f"MISMATCH at #{index + 1}: expected {want}, published {got}")
            return 1
    if len(expected) != len(published):
        print(f"MISMATCH: expected {len(expected)} entities, published {len(published)}")
        return 1
    openings = result.get("openings", {})
    for row in expected:
        opening = openings.get(row["entity"]) or {}
        salt = opening.get("salt", "")
        text = "entity|" + (salt + "|" if salt else "") + opening.get("uscc", "")
        if SM3(text.encode("utf-8")).hex() != row["entity"]:
            print(f"MISMATCH: the drawn entity {row['entity']} is not opened to a USCC by the result")
            return 1
    teams = sum(len(t) for row in expected for t in row["inspectors"].values())
    print(f"OK: {len(expected)} entities and {teams} inspector places are exactly what the published inputs give")
    for row in expected:
        print(
            f"  {openings[row['entity']]['uscc']}  grade {row['grade']}  "
            + "  ".join(f"{dept}:{','.join(h[:12] for h in hashes)}" for dept, hashes in row["inspectors"].items())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
