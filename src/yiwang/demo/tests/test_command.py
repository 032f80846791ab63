"""`yiwang demo`: idempotent, never overwrites, refuses cleanly."""

import pytest
from django.core.management import CommandError, call_command

from yiwang.demo.city import DEMO_PASSWORD, SYSADMIN
from yiwang.demo.services import demo_extensions
from yiwang.demo.tests.helpers import run_demo, snapshot
from yiwang.identity import services as identity
from yiwang.identity.models import Department, User

# --- Idempotence and the command ------------------------------------------------------------


@pytest.mark.django_db
def test_second_run_changes_nothing_and_says_so():
    first = run_demo()
    assert "示范市演示数据已加载" in first
    assert DEMO_PASSWORD in first and "city_admin" in first and "动态口令" in first
    before = snapshot()

    second = run_demo()
    assert snapshot() == before
    assert "已是最新" in second
    assert "新建   0" in second


@pytest.mark.django_db
def test_rerun_keeps_what_someone_changed_and_reports_it():
    run_demo()
    sysadmin = User.objects.get(username=SYSADMIN)
    village = Department.objects.get(code="SFS-XLX-200-202")
    identity.department_deactivate(actor=sysadmin, department=village)

    out = run_demo()
    village.refresh_from_db()
    assert not village.is_active
    assert "已被修改(未覆盖) 1" in out and "SFS-XLX-200-202" in out


@pytest.mark.django_db
def test_all_lists_every_account():
    out = run_demo("--all")
    assert "citizen20" in out and "ent08" in out and "xlx_spj_head" in out


@pytest.mark.django_db
def test_refuses_cleanly_when_sysadmin_is_someone_else():
    identity.user_create(
        actor=None, username=SYSADMIN, password="Another#Pass99", kind=User.Kind.CITIZEN, id_number="11010519491231002X"
    )
    with pytest.raises(CommandError, match="超级用户"):
        run_demo()
    assert Department.objects.count() == 0
    assert not User.objects.filter(username="citizen01").exists()


def test_bad_seed_is_refused_with_a_message():
    with pytest.raises(CommandError, match="seed"):
        call_command("demo", "--seed", "abc")


@pytest.mark.django_db
def test_other_apps_demo_data_loads_in_the_same_run():
    extensions = demo_extensions()
    assert "yiwang.catalog" in [app.name for app, _module in extensions]  # the demo catalog of 示范市
    out = run_demo(city_only=False)
    assert "示范市演示数据已加载" in out
    for app, _module in extensions:
        assert f"  {app.verbose_name}:" in out


def test_a_demo_module_loads_after_the_apps_it_names():
    """identity's demo delegations are checked against the 法人库 through the exchange: its demo
    data names the registries and the exchange in ``LOAD_AFTER`` and is loaded after theirs."""
    names = [app.name for app, _module in demo_extensions()]
    assert names.index("yiwang.registries") < names.index("yiwang.exchange") < names.index("yiwang.identity")
    assert names.index("yiwang.catalog") < names.index("yiwang.cases")  # the others keep INSTALLED_APPS order
