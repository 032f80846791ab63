"""Model fields for personal data: encrypted at rest, transparent in Python."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from yiwang.core.crypto import decrypt_text, encrypt_text


class EncryptedTextField(models.TextField):
    """Stores SM4-GCM ciphertext; reads back plaintext. Not searchable: pair with a blind index."""

    description = "Text encrypted at rest with SM4-GCM"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value)


def _dumps(value) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate in an old row: kept as its \\u escape
        text = json.dumps(value, cls=DjangoJSONEncoder)
    return text


class EncryptedJSONField(models.TextField):
    """A JSON value (an application form, say) stored as SM4-GCM ciphertext in a text column.

    Reads back the Python value, like ``JSONField``; cannot be filtered on by its contents (no
    ``form_data__name`` lookups): whatever must be searched needs a column or a blind index of its own.
    """

    description = "JSON encrypted at rest with SM4-GCM"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        if value == "":
            return self.get_default()
        return json.loads(decrypt_text(value))

    def to_python(self, value):
        if not isinstance(value, str):
            return value
        try:
            return json.loads(decrypt_text(value) if value.startswith("sm4gcm1:") else value)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt_text(_dumps(value))

    def value_to_string(self, obj):
        return _dumps(self.value_from_object(obj))

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.JSONField, "encoder": DjangoJSONEncoder, **kwargs})
