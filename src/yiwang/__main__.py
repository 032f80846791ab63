"""The `yiwang` console command: Django's manage.py with Yiwang's settings.

yiwang migrate          yiwang demo          yiwang runserver
yiwang worker           yiwang audit verify  yiwang createsuperuser
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["yiwang", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
