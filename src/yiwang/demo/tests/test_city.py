"""Generation of the demo city: same seed, same city, in any process."""

import os
import subprocess
import sys

from yiwang.demo.city import DEFAULT_SEED, generate_city
from yiwang.demo.tests.helpers import DEFAULT_CITY_DIGEST

# --- Determinism ----------------------------------------------------------------------------


def test_same_seed_gives_the_same_city_and_another_seed_another():
    assert generate_city(DEFAULT_SEED).digest() == DEFAULT_CITY_DIGEST
    assert generate_city(7).digest() == generate_city(7).digest()
    other = generate_city(8)
    assert other.digest() != generate_city(7).digest()
    # Structure (codes, usernames) is fixed; people differ.
    assert [d.code for d in other.departments] == [d.code for d in generate_city(7).departments]
    assert [u.real_name for u in other.users] != [u.real_name for u in generate_city(7).users]


def test_city_is_identical_in_another_process_with_another_hash_seed():
    code = (
        "import django; django.setup();"
        f"from yiwang.demo.city import generate_city; print(generate_city({DEFAULT_SEED}).digest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "DJANGO_SETTINGS_MODULE": "yiwang.settings_test"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == DEFAULT_CITY_DIGEST
