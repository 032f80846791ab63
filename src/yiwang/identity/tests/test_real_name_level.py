"""实名等级: a window clerk raises an applicant to L2 (registry match) or L3 (in person); nobody
else can, and the level is what relying parties receive (sso claims)."""

import pytest

from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import department_create, role_grant_create, user_real_name_level_raise
from yiwang.identity.tests.auth_helpers import make_citizen, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    root = make_staff("root")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    hall = department_create(
        actor=root,
        name="政务服务中心",
        code="hall",
        level=Department.Level.CITY,
        kind=Department.Kind.AGENCY,
        region_code="320500",
    )
    clerk = make_staff("clerk")
    role_grant_create(actor=root, user=clerk, role=Role.WINDOW_CLERK, department=hall)
    return clerk


def test_clerk_raises_to_l2_then_l3_audited(clerk):
    citizen = make_citizen()
    assert citizen.real_name_level == User.RealNameLevel.L1
    user_real_name_level_raise(actor=clerk, user=citizen, level=2, method="registry_match")
    user_real_name_level_raise(actor=clerk, user=citizen, level=3, method="in_person")
    citizen.refresh_from_db()
    assert citizen.real_name_level == 3
    changes = [e.changes for e in AuditEvent.objects.filter(action="user.real_name_level").order_by("sequence")]
    assert changes == [
        {"from": "L1", "to": "L2", "method": "registry_match"},
        {"from": "L2", "to": "L3", "method": "in_person"},
    ]
    with pytest.raises(Conflict):
        user_real_name_level_raise(actor=clerk, user=citizen, level=2, method="registry_match")


def test_only_a_clerk_and_only_with_the_right_method(clerk):
    citizen = make_citizen()
    with pytest.raises(Forbidden):
        user_real_name_level_raise(actor=citizen, user=citizen, level=3, method="in_person")
    with pytest.raises(ValidationFailed):
        user_real_name_level_raise(actor=clerk, user=citizen, level=3, method="registry_match")
    with pytest.raises(Forbidden):
        user_real_name_level_raise(actor=clerk, user=clerk, level=3, method="in_person")
    citizen.refresh_from_db()
    assert citizen.real_name_level == 1
