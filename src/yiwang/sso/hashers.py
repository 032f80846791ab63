"""The hasher of relying parties' client secrets (django-oauth-toolkit's CLIENT_SECRET_HASHER).

A client secret is 128 random characters from the platform's generator, not something a person
chose: nothing can be guessed from a fast keyed digest of it, so a slow password hash (Argon2id,
about a second of CPU on a small machine) bought nothing but made every token request that
slow. HMAC-SM3 with a per-secret salt, compared in constant time. It refuses anything shorter
than 40 characters, so it can never stand in for a human password's hash.
"""

import secrets

from django.contrib.auth.hashers import BasePasswordHasher
from django.utils.crypto import constant_time_compare

from yiwang.core.gm import hmac_sm3

ALGORITHM = "hmac_sm3_client_secret"
MIN_LENGTH = 40


class ClientSecretHasher(BasePasswordHasher):
    algorithm = ALGORITHM

    def salt(self) -> str:
        return secrets.token_hex(16)

    def encode(self, password: str, salt: str) -> str:
        if password is None or len(password) < MIN_LENGTH:
            raise ValueError("only generated client secrets are hashed with this hasher")
        digest = hmac_sm3(salt.encode(), password.encode()).hex()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "salt": salt, "hash": digest}

    def verify(self, password: str, encoded: str) -> bool:
        if password is None or len(password) < MIN_LENGTH:
            return False
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded: str) -> dict:
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": decoded["salt"][:4] + "…", "hash": decoded["hash"][:6] + "…"}

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None
