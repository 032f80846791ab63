"""A cheap argon2 for the test suite only: same algorithm and hash format as production
(``argon2$argon2id$...``), ~1 ms instead of ~0.8 s (production: Django's 100 MiB, t=2, p=8)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024
    parallelism = 1
