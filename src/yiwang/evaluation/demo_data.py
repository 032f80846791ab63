"""Demo ratings of 示范市 (loaded by ``yiwang demo`` after the cases).

Through the services, as people would: citizen01 rates his delivered online case 非常满意 on
the portal; citizen02, who walked in and collected his licence at the window, scans the
window's QR code and rates 不满意 — a 差评 whose rectification the 市场监管局 reviewer has
verified and discussed with him (contacted, waiting for the measures). Idempotent: a case
already rated is left as it is.
"""

from yiwang.core.errors import NotFound
from yiwang.evaluation import services
from yiwang.evaluation.models import Rating, RatingChannel
from yiwang.identity.models import User


class Summary(list):
    def summary(self) -> str:
        return f"评价 {len(self)} 条(新建),已有的不变"


RATINGS = (
    # (applicant, level, channel, comment)
    ("citizen01", "very_satisfied", RatingChannel.PORTAL, "全程网上办,电子证照当天就收到了。"),
    ("citizen02", "dissatisfied", RatingChannel.QR, "窗口排队一个多小时,取证时又让我再跑一趟补签字。"),
)


def load(actor=None):
    from yiwang.cases import selectors as cases_selectors

    created = Summary()
    users = {u.username: u for u in User.objects.filter(username__in=["citizen01", "citizen02", "scjg_reviewer1"])}
    for username, level, channel, comment in RATINGS:
        applicant = users.get(username)
        if applicant is None:
            continue
        # The first delivered case (the cases demo's), not a later one other demos may add.
        case = (
            cases_selectors.case_list_for_applicant(actor=applicant, state="delivered")
            .order_by("submitted_at", "pk")
            .first()
        )
        if case is None or Rating.objects.filter(case_id=case.pk, rater=applicant).exists():
            continue
        try:
            rating = services.rating_submit(
                actor=applicant, case_id=case.pk, level=level, comment=comment, channel=channel
            )
        except NotFound:
            continue
        created.append(rating)
        reviewer = users.get("scjg_reviewer1")
        rectification = getattr(rating, "rectification", None)
        if rectification is not None and reviewer is not None:
            services.rectification_verify(
                actor=reviewer,
                rectification_id=rectification.pk,
                finding="经调取窗口记录,当日排队时间较长属实;取证环节漏签字。",
            )
            services.rectification_contact(
                actor=reviewer, rectification_id=rectification.pk, note="已电话联系申请人致歉,说明将增设取证专窗。"
            )
    return created
