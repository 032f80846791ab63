"""PBKDF2-HMAC-SM3 password hashing, for deployments whose 密评 (commercial-cryptography
assessment) asks for 国密 algorithms end to end.

Chosen with ``YIWANG_PASSWORD_HASHER=sm3`` (default ``argon2``). Both hashers stay in
``PASSWORD_HASHERS`` whichever is chosen, so every stored hash keeps verifying; Django
rewrites a hash with the chosen one at the user's next successful sign-in. Stored as
``pbkdf2_sm3$<iterations>$<salt>$<base64 digest>``; raising ``iterations`` later upgrades
hashes at sign-in the same way.
"""

import base64

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils.crypto import RANDOM_STRING_CHARS, get_random_string

from yiwang.core.crypto import pbkdf2_sm3


class PBKDF2SM3PasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sm3"
    # ~0.6 s on one core of a 2024 server, the cost of Django's PBKDF2-SHA256 default; argon2
    # remains the stronger choice against GPUs where 密评 does not rule it out.
    iterations = 600_000
    digest = None  # not a hashlib digest: encode() derives with SM3 itself

    def salt(self) -> str:
        return get_random_string(22, RANDOM_STRING_CHARS)  # ~131 bits

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        self._check_encode_args(password, salt)
        iterations = iterations or self.iterations
        derived = pbkdf2_sm3(password.encode(), salt.encode(), iterations)
        return f"{self.algorithm}${iterations}${salt}${base64.b64encode(derived).decode('ascii')}"
