"""The documented flow walked with the JSON API alone: every id the client sends comes from an
earlier API response (an integrator never scrapes a page nor reads the database).

find the item → read its materials → submit with the files → follow the case (and the
same for a life event: read its merged materials → apply → follow the bundle's cases)."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.cases.tests.bundles import build_bundle_world
from yiwang.cases.tests.test_api import PDF, auth

FORM = {"business_name": "张三小吃店"}


def test_submit_with_materials_using_only_ids_from_the_api(client, world):
    token = auth(world.applicant)
    # 1. Find the item (public catalog).
    listing = client.get("/api/v1/catalog/items", {"department": "SZ-SJJ"}).json()
    listing = listing.get("items", listing) if isinstance(listing, dict) else listing
    code = next(row["implementation_code"] for row in listing if row["name"] == "个体工商户设立登记")
    # 2. Read its materials: each carries the id the submission needs.
    guide = client.get(f"/api/v1/catalog/items/{code}").json()["guide"]
    to_upload = [m for m in guide["materials"] if m["source"] == "applicant"]
    assert to_upload and all(isinstance(m["id"], int) for m in guide["materials"])
    # 3. Submit with one file per material the applicant supplies.
    files = [SimpleUploadedFile(f"{m['id']}.pdf", PDF + str(m["id"]).encode()) for m in to_upload]
    data = {
        "application": json.dumps({"item": code, "form_data": FORM}, ensure_ascii=False),
        "files": files,
        "requirement_ids": [str(m["id"]) for m in to_upload],
    }
    created = client.post("/api/v1/cases/with-materials", data, HTTP_IDEMPOTENCY_KEY="walk-1", **token)
    assert created.status_code == 201, created.json()
    case = created.json()
    assert sorted(m["name"] for m in case["materials"]) == sorted(m["name"] for m in to_upload)
    assert {m["requirement_id"] for m in case["materials"]} == {m["id"] for m in to_upload}
    # 4. Follow it: my cases, its detail, the public progress by its number.
    mine = client.get("/api/v1/cases/mine", **token).json()
    mine = mine.get("items", mine) if isinstance(mine, dict) else mine
    assert case["id"] in [row["id"] for row in mine]
    detail = client.get(f"/api/v1/cases/{case['id']}", **token).json()
    assert detail["state"] == "submitted" and detail["timeline"][0]["kind"] == "submitted"
    # A file added later names its requirement by the same id.
    extra = client.post(
        f"/api/v1/cases/{case['id']}/materials",
        {"file": SimpleUploadedFile("more.pdf", PDF + b"more"), "requirement_id": str(to_upload[0]["id"])},
        **token,
    )
    assert extra.status_code == 201, extra.json()


def test_apply_for_a_life_event_using_only_names_from_the_api(client, db):
    bw = build_bundle_world()
    token = auth(bw.world.applicant)
    events = client.get("/api/v1/catalog/life-events").json()
    events = events.get("items", events) if isinstance(events, dict) else events
    code = next(row["code"] for row in events if row["name"] == "开小吃店一件事")
    merged = client.get(f"/api/v1/catalog/life-events/{code}").json()
    uploads = [m for m in merged["materials"] if m["source"] == "applicant"]
    # Each merged material tells which requirement of which item it is.
    assert all(set(m["requirement_ids"]) == set(m["items"]) for m in merged["materials"])
    body = {
        "life_event": code,
        "form_data": {"business_name": "张三小吃店", "move_reason": "经营需要", "district": "虎丘区"},
        "materials": [
            {"name": m["name"], "filename": "a.pdf", "content_base64": "JVBERi0xLjcKJSVFT0YK"} for m in uploads
        ],
    }
    created = client.post("/api/v1/cases/bundles/", body, content_type="application/json", **token)
    assert created.status_code == 201, created.json()
    bundle = created.json()
    assert len(bundle["cases"]) == 3
    for row in bundle["cases"]:
        case = client.get(f"/api/v1/cases/{row['id']}", **token).json()
        code_of_case = case.get("item_code") or row.get("item_code")
        wanted = {m["requirement_ids"][code_of_case] for m in uploads if code_of_case in m["items"]}
        assert {m["requirement_id"] for m in case["materials"]} == wanted
