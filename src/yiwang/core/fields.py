"""Model fields for personal data: encrypted at rest, transparent in Python."""

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
