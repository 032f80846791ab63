"""The 法人库 side of an enterprise delegation in tests: the enterprise's record on the
legal-entity registry and identity's exchange grant to read it (as the demo city sets them up)."""

import datetime

from yiwang.exchange import gateway
from yiwang.exchange import services as exchange
from yiwang.exchange.models import Grant
from yiwang.identity.services import ENTERPRISE_CHECK_FIELDS, REAL_NAME_APP
from yiwang.registries.models import LegalEntity, RegistryField


def register_legal_entity(
    *, root, department, enterprise, status: str = "active", representative: str | None = None, rep_id: str = ""
) -> LegalEntity:
    """``enterprise``'s account registered on the 法人库 (its holder the legal representative unless
    ``representative`` says otherwise), and identity's grant to check it."""
    RegistryField.objects.filter(registry="legal_entity").update(source_department=department)
    entity = LegalEntity.objects.create(
        uscc=enterprise.enterprise_uscc,
        name=enterprise.enterprise_name,
        kind="enterprise",
        legal_representative=enterprise.real_name if representative is None else representative,
        legal_representative_id_number=rep_id,
        region_code="320505",
        status=status,
        established_on=datetime.date(2015, 3, 1),
        address="苏州市姑苏区人民路 1 号",
    )
    if not Grant.objects.filter(consumer_app=REAL_NAME_APP, registry="legal_entity", revoked_at__isnull=True).exists():
        exchange.catalog_sync(actor=root)
        exchange.grant_for_app(
            actor=root,
            app=REAL_NAME_APP,
            department=department,
            registry="legal_entity",
            fields=ENTERPRISE_CHECK_FIELDS,
            purpose="授权代办:核验企业登记状态及法定代表人",
            legal_basis="《优化营商环境条例》",
            valid_until=datetime.date.today() + datetime.timedelta(days=365),
            unmasked_fields=["legal_representative", "legal_representative_id_number"],
        )
    gateway.invalidate()
    return entity
