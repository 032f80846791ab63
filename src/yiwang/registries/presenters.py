"""Records and history as shown to staff (pages and API): every personal value masked."""

from __future__ import annotations

from typing import Any

from yiwang.registries import schema
from yiwang.registries.masking import mask_value
from yiwang.registries.models import RecordChange
from yiwang.registries.selectors import record_key


def masked_record(registry: str, record) -> dict[str, Any]:
    spec = schema.REGISTRIES[registry]
    key = record_key(registry=registry, record=record)
    return {
        "id": record.pk,
        "registry": registry,
        "key": mask_value(spec.key_fields[0], key) if spec.name != "economy" else key,
        "values": {f.name: mask_value(f, getattr(record, f.name)) for f in spec.fields},
        "labels": {f.name: str(f.label) for f in spec.fields},
        "updated_at": record.updated_at,
    }


def masked_change(change: RecordChange) -> dict[str, Any]:
    spec = schema.REGISTRIES[change.registry]
    field = spec.field(change.field) if change.field else None

    def show(value: str) -> str:
        return mask_value(field, value) if field is not None and field.personal else value

    return {
        "id": change.pk,
        "action": change.action,
        "action_label": str(change.get_action_display()),
        "field": change.field,
        "field_label": str(field.label) if field else "",
        "old_value": show(change.old_value),
        "new_value": show(change.new_value),
        "source_department": change.source_department.name if change.source_department_id else "",
        "actor": change.actor_repr,
        "channel": change.channel,
        "batch": change.batch,
        "reason": change.reason,
        "created_at": change.created_at,
    }
