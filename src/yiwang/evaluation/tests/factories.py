"""Concluded cases to rate, built through the cases services (no shortcuts)."""

from yiwang.cases import services as case_services
from yiwang.cases.tests.factories import FORM, attach_required


def delivered_case(world, *, applicant=None, method="window", channel_actor=None):
    applicant = applicant or world.applicant
    case, _created = case_services.case_submit(actor=applicant, item=world.market_item, form_data=FORM)
    case = attach_required(case)
    case = case_services.case_accept(actor=world.clerk, case_id=case.pk, expected_version=case.version)
    case_services.case_claim(actor=world.reviewer, case_id=case.pk)
    case_services.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="材料齐全")
    case_services.case_decide(actor=world.head, case_id=case.pk, decision="approve")
    return case_services.case_deliver(actor=world.clerk, case_id=case.pk, method=method)


def refused_case(world, *, applicant=None):
    applicant = applicant or world.applicant
    case, _created = case_services.case_submit(actor=applicant, item=world.market_item, form_data=FORM)
    return case_services.case_refuse(actor=world.clerk, case_id=case.pk, reason="不属于本部门职权范围")


def open_case(world):
    case, _created = case_services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    return case
