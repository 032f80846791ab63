"""Installation B of the two-installation test, built in B's own database by B's own process.

    DATABASE_URL=… YIWANG_VAR_DIR=… python -m yiwang.channels.tests.installation_b <A's URL>

migrates nothing (the test runs ``yiwang migrate`` first) and builds, in B's database only: the
test city, 虎丘区's item, its reviewer and head (with API tokens), B's exchange credential for A,
B's window account that takes A's applications in, and A registered as a peer (A's URL and the
credential A issued to B, for the result call-back). Prints what the test needs as JSON."""

import json
import os
import sys


def main(a_url: str) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")
    django.setup()
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # test accounts only
    from yiwang.cases.tests.factories import build_world, publish_item
    from yiwang.channels import services
    from yiwang.exchange.services import consumer_system_create
    from yiwang.identity.models import Role
    from yiwang.identity.services import api_token_create
    from yiwang.identity.tests.tree import make_staff

    world = build_world()
    root = world.tree.root
    item = publish_item(
        root,
        implementation_code="SZ-HQ-SJJ-0001",
        department="SZ-HQ-SJJ",
        name="个体工商户设立登记(虎丘)",
        aliases=[],
        keywords=[],
        output={},
        promised_time_limit=5,
        process=[{"name": "受理", "role": "window_clerk"}, {"name": "审核", "role": "reviewer"}],
    )
    reviewer = make_staff("hq_reviewer", real_name="虎丘审核老刘")
    head = make_staff("hq_head", real_name="虎丘局长钱")
    world.tree.grant(reviewer, Role.REVIEWER, world.tree.huqiu_market)
    world.tree.grant(head, Role.DEPARTMENT_HEAD, world.tree.huqiu_market)
    consumer_system_create(
        actor=None,
        department=world.tree.wuzhong,
        name="A 平台跨省通办",
        client_id=os.environ["PEER_A_CLIENT_ID"],
        secret=os.environ["PEER_A_SECRET"],
    )
    b_window = make_staff("b_window_for_a", real_name="代收窗口(A 平台)")
    world.tree.grant(b_window, Role.WINDOW_CLERK, world.tree.wuzhong)
    services.peer_save(
        actor=root,
        code="A",
        name="A 省一网",
        base_url=a_url,
        client_id=os.environ["PEER_B_CLIENT_ID"],
        client_secret=os.environ["PEER_B_SECRET"],
        inbound_client_id=os.environ["PEER_A_CLIENT_ID"],
        inbound_clerk=b_window,
    )
    return {
        "item_code": item.implementation_code,
        "materials": list(
            item.current_version.materials.filter(source="applicant", requirement="required").values_list(
                "name", flat=True
            )
        ),
        "reviewer_token": api_token_create(actor=reviewer, user=reviewer, name="test")[1],
        "head_token": api_token_create(actor=head, user=head, name="test")[1],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1]), ensure_ascii=False))
