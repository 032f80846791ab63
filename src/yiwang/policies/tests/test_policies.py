"""惠企政策: rules over registry facts (read through the exchange), 精准推送 on publication,
免申即享 from the eligible list to an Excel payment batch and its answer, 政策计算器."""

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from yiwang.core.codes import make_id_number, make_uscc
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.exchange import services as exchange
from yiwang.identity.models import Role
from yiwang.identity.services import role_grant_create, user_create
from yiwang.identity.tests.factories import make_city_department, make_root
from yiwang.messaging.models import Message
from yiwang.policies import rules, selectors, services
from yiwang.policies.models import Award, Benefit, PaymentBatch
from yiwang.registries.models import LegalEntity, RegistryField

pytestmark = pytest.mark.django_db
PASSWORD = "Huiqi-Zhengce-5820k"
BIG = make_uscc("91320505MA0000101")
SMALL = make_uscc("91320505MA0000202")
SHOP = make_uscc("92320505MA0000303")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world():
    root = make_root("pl_root", PASSWORD)

    def dept(name, code, parent=None):
        return make_city_department(root, name, code, parent)

    city = dept("示范市人民政府", "PL")
    market = dept("示范市市场监督管理局", "PL-SCJG", city)
    reform = dept("示范市发展和改革委员会", "PL-FGW", city)
    head = user_create(actor=root, username="pl_fgw_head", password=PASSWORD, kind="staff", real_name="发改负责人")
    role_grant_create(actor=root, user=head, role=Role.DEPARTMENT_HEAD, department=reform)
    outsider = user_create(actor=root, username="pl_scjg_head", password=PASSWORD, kind="staff", real_name="市监负责人")
    role_grant_create(actor=root, user=outsider, role=Role.DEPARTMENT_HEAD, department=market)
    RegistryField.objects.filter(registry="legal_entity").update(source_department=market)
    today = datetime.date.today()
    for uscc, name, kind, industry, capital, years in (
        (BIG, "示范市精密制造有限公司", "enterprise", "C3411", "5000", 12),
        (SMALL, "示范市新创科技有限公司", "enterprise", "I6510", "100", 1),
        (SHOP, "示范市老街面馆", "individual_business", "H6210", "5", 8),
    ):
        LegalEntity.objects.create(
            uscc=uscc,
            name=name,
            kind=kind,
            legal_representative="某某",
            industry_code=industry,
            registered_capital=Decimal(capital),
            region_code="320505",
            status="active",
            established_on=today.replace(year=today.year - years) - datetime.timedelta(days=1),
            address="示范市",
        )
    agents = {}
    for n, (uscc, name) in enumerate(
        ((BIG, "示范市精密制造有限公司"), (SMALL, "示范市新创科技有限公司"), (SHOP, "示范市老街面馆"))
    ):
        agents[uscc] = user_create(
            actor=root,
            username=f"pl_ent{n}",
            password=PASSWORD,
            kind="enterprise_agent",
            real_name=f"经办{n}",
            id_number=make_id_number("320505", datetime.date(1985, 1, 1), 30 + n),
            enterprise_uscc=uscc,
            enterprise_name=name,
        )
    exchange.catalog_sync(actor=root)
    exchange.grant_for_app(
        actor=root,
        app="policies",
        department=reform,
        registry="legal_entity",
        fields=rules.REGISTRY_FIELDS,
        purpose="惠企政策资格判定",
        legal_basis="优化营商环境条例",
        valid_until=today + datetime.timedelta(days=365),
    )
    return {"root": root, "reform": reform, "head": head, "outsider": outsider, "agents": agents}


BENEFITS = [
    {
        "name": "规上工业企业稳产奖励",
        "kind": "award",
        "mode": "no_application",
        "amount": "200000",
        "rules": [
            {"fact": "kind", "op": "eq", "value": "enterprise"},
            {"fact": "industry_code", "op": "startswith", "value": "C"},
            {"fact": "registered_capital", "op": "ge", "value": 1000},
            {"fact": "years_in_business", "op": "ge", "value": 3},
        ],
        "examples": [
            {
                "name": "老牌制造企业",
                "facts": {
                    "kind": "enterprise",
                    "industry_code": "C3411",
                    "registered_capital": 5000,
                    "years_in_business": 12,
                },
                "expect": "approve",
            },
            {"name": "个体户", "facts": {"kind": "individual_business"}, "expect": "refuse"},
        ],
    },
    {
        "name": "小微企业开办补贴",
        "kind": "subsidy",
        "mode": "no_application",
        "amount": "5000",
        "rules": [
            {"fact": "status", "op": "eq", "value": "active"},
            {"fact": "kind", "op": "in", "value": ["enterprise", "individual_business"]},
            {"fact": "registered_capital", "op": "le", "value": "500"},
        ],
        "examples": [
            {
                "name": "小店",
                "facts": {"status": "active", "kind": "individual_business", "registered_capital": 5},
                "expect": "approve",
            },
        ],
    },
]


def _policy(world, benefits=BENEFITS):
    return services.policy_create(
        actor=world["head"],
        department=world["reform"],
        title="示范市支持实体经济发展若干措施",
        document="第一条……",
        benefits=benefits,
    )


def test_a_rule_on_a_fact_that_does_not_exist_is_refused_naming_it(world):
    bad = [{**BENEFITS[0], "rules": [{"fact": "turnover", "op": "gt", "value": 1}]}]
    with pytest.raises(ValidationFailed) as caught:
        _policy(world, bad)
    assert "turnover" in str(caught.value.message) and "benefits.0.rules.0" in caught.value.fields
    with pytest.raises(ValidationFailed, match="数字"):
        _policy(world, [{**BENEFITS[0], "rules": [{"fact": "registered_capital", "op": "gt", "value": "很多"}]}])
    with pytest.raises(ValidationFailed):
        _policy(world, [{**BENEFITS[0], "rules": [{"fact": "kind", "op": "__import__", "value": "os"}]}])
    with pytest.raises(Forbidden):
        services.policy_create(actor=world["outsider"], department=world["reform"], title="x", benefits=BENEFITS)


def test_publishing_reaches_exactly_the_eligible_enterprises_with_the_reasons(world):
    policy = _policy(world)
    counts = services.policy_publish(actor=world["head"], policy=policy)
    # BIG: 稳产奖励 only (capital 5000 > 500); SMALL and SHOP: 开办补贴 only.
    assert counts == {"notified": 3, "listed": 3}
    listed = {(a.benefit.name, a.uscc) for a in Award.objects.select_related("benefit")}
    assert listed == {("规上工业企业稳产奖励", BIG), ("小微企业开办补贴", SMALL), ("小微企业开办补贴", SHOP)}
    message = Message.objects.get(recipient=world["agents"][BIG])
    assert "规上工业企业稳产奖励" in message.subject and "行业代码开头为C" in message.body
    assert not Message.objects.filter(recipient=world["agents"][SMALL], body__contains="稳产").exists()


def test_no_application_benefit_is_reviewed_confirmed_and_paid_from_the_excel_answer(world):
    policy = _policy(world)
    services.policy_publish(actor=world["head"], policy=policy)
    subsidy = Benefit.objects.get(name="小微企业开办补贴")
    small, shop = Award.objects.get(uscc=SMALL), Award.objects.get(uscc=SHOP)
    with pytest.raises(Forbidden):
        services.award_review(actor=world["outsider"], award=small, include=True)
    services.award_review(actor=world["head"], award=small, include=True)
    services.award_review(actor=world["head"], award=shop, include=True)
    batch = services.awards_confirm(actor=world["head"], benefit=subsidy)
    assert (batch.count, batch.total) == (2, Decimal("10000.00"))
    sheet = load_workbook(io.BytesIO(bytes(batch.file))).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[-1][:3] == ["合计", None, 10000]

    def answer(total, refs=True):
        for row in rows[1:-1]:
            row[3] = f"CZ2026-{row[0][-4:]}" if refs else None
        rows[-1][2] = total
        from openpyxl import Workbook

        book = Workbook()
        for row in rows:
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    with pytest.raises(ValidationFailed) as caught:
        services.payment_batch_import(actor=world["head"], batch=batch, content=answer(9000))
    assert caught.value.code == "payment_total_mismatch" and "9000" in str(caught.value.message)
    assert Award.objects.filter(status=Award.Status.PAID).count() == 0
    services.payment_batch_import(actor=world["head"], batch=batch, content=answer(10000))
    paid = Award.objects.get(uscc=SMALL)
    assert paid.status == Award.Status.PAID and paid.payment_reference == f"CZ2026-{SMALL[-4:]}"
    assert PaymentBatch.objects.get(pk=batch.pk).status == PaymentBatch.Status.PAID
    assert [a.uscc for a in selectors.awards_of_enterprise(actor=world["agents"][SMALL])] == [SMALL]


def test_the_calculator_shows_an_enterprise_every_benefit_and_why(world):
    services.policy_publish(actor=world["head"], policy=_policy(world))
    lines, total = selectors.calculator(actor=world["agents"][BIG])
    assert total == Decimal("200000")
    assert [(line.benefit.name, line.eligible) for line in lines] == [
        ("规上工业企业稳产奖励", True),
        ("小微企业开办补贴", False),
    ]
    assert any("✗ 注册资本" in reason for reason in lines[1].reasons)
    with pytest.raises(NotFound):
        selectors.calculator(actor=world["head"])


def test_the_pages_calculator_review_confirm_and_batch_download(world, client):
    services.policy_publish(actor=world["head"], policy=_policy(world))
    client.force_login(world["agents"][BIG])
    page = client.get("/policies/").content.decode()
    assert "政策计算器" in page and "规上工业企业稳产奖励" in page and "200000" in page
    award = Award.objects.get(uscc=SMALL)
    client.force_login(world["outsider"])
    assert client.post(f"/workbench/policies/awards/{award.pk}/review/", {"decision": "include"}).status_code == 404
    assert "示范市新创科技有限公司" not in client.get("/workbench/policies/").content.decode()
    client.force_login(world["head"])
    client.post(f"/workbench/policies/awards/{award.pk}/review/", {"decision": "include"})
    assert Award.objects.get(pk=award.pk).status == Award.Status.REVIEWED
    client.post(f"/workbench/policies/benefits/{award.benefit_id}/confirm/")
    batch = PaymentBatch.objects.get()
    download = client.get(f"/workbench/policies/batches/{batch.pk}/file/")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    client.force_login(world["outsider"])
    assert client.get(f"/workbench/policies/batches/{batch.pk}/file/").status_code == 404
