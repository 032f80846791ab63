"""Demo delegations (loaded by ``yiwang demo`` after the city): one enterprise delegation (the
demo company ent01's account, held by its legal representative, authorizes citizen01 for all
items for a year) and one family delegation (citizen02 authorizes citizen01, a relative, for a
year). Idempotent; written through ``identity.services.delegation_create``."""

from dataclasses import dataclass, field
from datetime import timedelta

# The enterprise delegation is checked against the 法人库 through the exchange (identity's grant
# on ``legal_entity``, made by the exchange's demo data): load after the registries and exchange.
LOAD_AFTER = ("yiwang.registries", "yiwang.exchange")


@dataclass
class Summary:
    made: int
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"授权代办 {self.made} 条(新建):企业 ent01 → citizen01,个人 citizen02 → citizen01"
        if self.skipped:
            text += f";未通过法人库核验而未建:{'、'.join(self.skipped)}"
        return text


def load(actor=None) -> Summary:
    from django.utils import timezone

    from yiwang.core.errors import Conflict, ValidationFailed
    from yiwang.identity.models import Delegation, User
    from yiwang.identity.services import delegation_create

    users = {u.username: u for u in User.objects.filter(username__in=["ent01", "citizen01", "citizen02"])}
    if len(users) < 3:
        return Summary(made=0)
    agent = users["citizen01"]
    made, skipped = 0, []
    for principal, relation in ((users["ent01"], "employee"), (users["citizen02"], "relative")):
        if Delegation.objects.filter(principal=principal, agent=agent, revoked_at__isnull=True).exists():
            continue
        try:
            delegation_create(
                actor=principal,
                agent_id_number=agent.id_number,
                agent_name=agent.real_name,
                relation=relation,
                all_items=True,
                valid_until=timezone.now() + timedelta(days=365),
            )
        except (ValidationFailed, Conflict):
            # The 法人库 check refused (with another seed the demo company may be registered as
            # cancelled) or could not run: nothing was written; the demo goes on without it.
            skipped.append(principal.username)
            continue
        made += 1
    return Summary(made=made, skipped=skipped)
