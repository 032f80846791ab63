"""The smallest organisation a test needs: a superuser root and a city's departments."""

from yiwang.identity.models import Department, User
from yiwang.identity.services import department_create, user_create


def make_root(username: str, password: str) -> User:
    root = user_create(actor=None, username=username, password=password, kind="staff")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    return root


def make_city_department(root: User, name: str, code: str, parent: Department | None = None) -> Department:
    """A city-level department in 320500: the government itself (no parent) or one of its agencies."""
    return department_create(
        actor=root,
        name=name,
        code=code,
        level=Department.Level.CITY,
        kind=Department.Kind.GOVERNMENT if parent is None else Department.Kind.AGENCY,
        region_code="320500",
        parent=parent,
    )
