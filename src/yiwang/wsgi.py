import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")
django.setup(set_prefix=False)

from yiwang.core.handlers import YiwangWSGIHandler  # noqa: E402  (after setup: it reads settings)

application = YiwangWSGIHandler()
