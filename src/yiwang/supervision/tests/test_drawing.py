"""The pure draw (yiwang-draw/1) and the standalone verification script agree, and bad inputs
are refused with a named reason."""

import importlib.util
import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from yiwang.supervision import drawing

ROOT = Path(__file__).resolve().parents[4]
SCRIPT = ROOT / "scripts" / "verify_draw.py"


def _script():
    spec = importlib.util.spec_from_file_location("verify_draw", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_plan(n_entities=200, n_inspectors=12, conflicts=0, seed=None, team=None):
    seed = seed or secrets.token_hex(32)
    hashes = sorted(drawing.entity_hash(f"91330100MA{i:08d}") for i in range(n_entities))
    entities = {"A": [], "B": [], "C": [], "D": []}
    for i, h in enumerate(hashes):
        entities["ABCD"[i % 4]].append(h)
    inspectors = {
        "SCJG": sorted(drawing.inspector_hash(f"33000{i:05d}") for i in range(n_inspectors)),
        "WJW": sorted(drawing.inspector_hash(f"33990{i:05d}") for i in range(n_inspectors // 2)),
    }
    pairs = sorted([hashes[i % n_entities], inspectors["SCJG"][i % n_inspectors]] for i in range(conflicts))
    plan = {
        "algorithm": drawing.ALGORITHM,
        "entities": entities,
        "ratios_bp": {"A": 500, "B": 1000, "C": 3000, "D": 10000},
        "inspectors": inspectors,
        "team": team or {"SCJG": 2, "WJW": 1},
        "conflicts": pairs,
        "commitment": drawing.commitment_of(seed),
    }
    return plan, seed


def test_draw_takes_the_ceiling_share_per_grade_and_two_inspectors_of_a_department_plus_one_of_the_other():
    plan, seed = make_plan()
    selected = drawing.draw(plan, seed)
    by_grade = {g: [r for r in selected if r["grade"] == g] for g in "ABCD"}
    assert [len(by_grade[g]) for g in "ABCD"] == [3, 5, 15, 50]  # ⌈50·5 %⌉, ⌈50·10 %⌉, ⌈50·30 %⌉, all
    assert len({r["entity"] for r in selected}) == len(selected)
    for row in selected:
        assert len(set(row["inspectors"]["SCJG"])) == 2 and len(row["inspectors"]["WJW"]) == 1
        assert row["entity"] in plan["entities"][row["grade"]]


def test_same_inputs_give_the_same_draw_and_another_seed_or_entropy_another():
    plan, seed = make_plan()
    assert drawing.draw(plan, seed) == drawing.draw(plan, seed)
    assert drawing.draw(plan, seed, "福彩3D 123") != drawing.draw(plan, seed)
    other, seed2 = make_plan(seed=secrets.token_hex(32))
    assert drawing.draw(other, seed2) != drawing.draw(plan, seed)


def test_avoidance_is_never_broken_and_work_is_spread_evenly():
    plan, seed = make_plan(n_entities=400, n_inspectors=10, conflicts=300)
    blocked = {(e, i) for e, i in plan["conflicts"]}
    selected = drawing.draw(plan, seed)
    load = {}
    for row in selected:
        for h in row["inspectors"]["SCJG"]:
            assert (row["entity"], h) not in blocked
            load[h] = load.get(h, 0) + 1
    assert max(load.values()) - min(load.values()) <= 3


def test_the_standalone_script_recomputes_exactly_the_apps_draw(tmp_path):
    verify = _script()
    for n in (1, 37, 500):
        plan, seed = make_plan(n_entities=n, conflicts=n // 3)
        assert verify.recompute(plan, seed, "x") == drawing.draw(plan, seed, "x")


def test_the_script_passes_a_true_result_and_names_a_forged_one(tmp_path):
    plan, seed = make_plan(conflicts=20)
    plan_file = tmp_path / "plan.json"
    plan_file.write_bytes(drawing.canonical(plan))
    result = {
        "plan_digest": drawing.sm3(plan_file.read_bytes()).hex(),
        "seed": seed,
        "public_entropy": "",
        "selected": drawing.draw(plan, seed),
        "openings": {
            drawing.entity_hash(u): {"uscc": u, "salt": ""} for u in (f"91330100MA{i:08d}" for i in range(200))
        },
    }
    result_file = tmp_path / "result.json"
    result_file.write_text(json.dumps(result))
    run = subprocess.run([sys.executable, SCRIPT, plan_file, result_file], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    assert run.stdout.startswith("OK:")
    result["selected"][0]["entity"], result["selected"][1]["entity"] = (
        result["selected"][1]["entity"],
        result["selected"][0]["entity"],
    )
    result_file.write_text(json.dumps(result))
    run = subprocess.run([sys.executable, SCRIPT, plan_file, result_file], capture_output=True, text=True)
    assert run.returncode == 1 and "MISMATCH at #1" in run.stdout
    result["seed"] = secrets.token_hex(32)
    result_file.write_text(json.dumps(result))
    run = subprocess.run([sys.executable, SCRIPT, plan_file, result_file], capture_output=True, text=True)
    assert run.returncode == 1 and "commitment" in run.stdout


def test_pure_python_sm3_of_the_script_is_sm3():
    verify = _script()
    # GB/T 32905 example 1: "abc"
    assert verify._pure_sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert drawing.sm3_hex("abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda p: p.update(entities={"A": [], "B": [], "C": [], "D": []}), "empty_entity_pool"),
        (lambda p: p["ratios_bp"].update(C=10001), "ratio_out_of_range"),
        (lambda p: p["ratios_bp"].update(C=-1), "ratio_out_of_range"),
        (lambda p: p["ratios_bp"].pop("B"), "ratio_missing"),
        (lambda p: p["entities"]["A"].reverse(), "entities_not_sorted"),
        (lambda p: p["team"].update(SCJG=13), "inspector_pool_too_small"),
        (lambda p: p["team"].pop("WJW"), "team_departments_mismatch"),
    ],
)
def test_bad_inputs_are_refused_before_publication(change, code):
    plan, _seed = make_plan()
    change(plan)
    with pytest.raises(drawing.DrawInputError) as exc:
        drawing.check_inputs(plan)
    assert exc.value.code == code


def test_too_few_inspectors_after_avoidance_is_named():
    plan, _seed = make_plan(n_inspectors=3)
    entity = plan["entities"]["D"][0]
    plan["conflicts"] = sorted([entity, h] for h in plan["inspectors"]["SCJG"][:2])
    with pytest.raises(drawing.DrawInputError) as exc:
        drawing.check_inputs(plan)
    assert exc.value.code == "inspector_pool_too_small_after_avoidance" and entity in exc.value.detail


def test_a_seed_not_matching_the_commitment_is_refused():
    plan, _seed = make_plan()
    with pytest.raises(drawing.DrawInputError) as exc:
        drawing.draw(plan, secrets.token_hex(32))
    assert exc.value.code == "seed_mismatch"
    with pytest.raises(drawing.DrawInputError):
        drawing.draw(plan, "not hex")


def test_salted_hashes_hide_the_pool_but_open_for_the_drawn(tmp_path):
    secret = bytes(range(32))
    salt = drawing.entity_salt(secret, "91330100MA00000001")
    hashed = drawing.entity_hash("91330100MA00000001", salt)
    assert hashed != drawing.entity_hash("91330100MA00000001")
    drawing.check_openings([{"entity": hashed}], {hashed: {"uscc": "91330100MA00000001", "salt": salt}})
    with pytest.raises(drawing.DrawInputError):
        drawing.check_openings([{"entity": hashed}], {hashed: {"uscc": "91330100MA00000002", "salt": salt}})
