"""How a registry value is shown to a person (脱敏): personal fields masked, the rest as is."""

from typing import Any

from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.registries import schema
from yiwang.registries.schema import FieldSpec
from yiwang.registries.values import as_text


def mask_text(value: str) -> str:
    """An address or other free text: the first few characters, the rest hidden."""
    if not value:
        return ""
    keep = min(6, max(1, len(value) // 3))
    return value[:keep] + "*" * min(len(value) - keep, 8)


def mask_value(field: FieldSpec, value: Any) -> str:
    """The text to show for ``value``; personal fields masked by kind."""
    text = as_text(value)
    if not field.personal or not text:
        return text
    if field.kind in (schema.ID_NUMBER, schema.SUBJECT_KEY):
        # A USCC (legal entity) is public; only a 身份证号 (18 characters, digits) is masked.
        return mask_id_number(text) if text[:17].isdigit() else text
    if field.kind == schema.PHONE:
        return mask_phone(text)
    if field.kind == schema.DATE:
        return text[:4] + "-**-**"
    if field.name in ("name", "legal_representative", "holder_name", "subject_name") and len(text) <= 4:
        return mask_name(text)
    if field.kind == schema.CHOICE:
        return "**"
    return mask_text(text)
