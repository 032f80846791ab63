"""``{% case_bills case staff_view=True %}``: the bills of a case on the case pages (portal and
workbench) without the cases app knowing of payments."""

from django import template

from yiwang.payments import selectors, services

register = template.Library()


@register.inclusion_tag("payments/_case_bills.html", takes_context=True)
def case_bills(context, case, staff_view=False):
    user = context["request"].user
    bills = selectors.bills_for_case(actor=user, case_id=case.pk)
    may_raise = bool(
        staff_view
        and case.state in services.BILLING_STATES
        and case.item_version.fees
        and services.may_bill(user, case)
    )
    return {"case_bills": bills, "staff_view": staff_view, "case": case, "may_raise_bill": may_raise}
