"""Integrity checks an operator runs after a restore, a migration or an incident: `yiwang integrity`.

Each app may declare checks in an ``integrity.py`` module of its own (found like admin modules)::

    from yiwang.core.integrity import CheckResult, integrity_check

    @integrity_check("licenses.signatures")
    def license_signatures() -> CheckResult: ...

``core`` declares the audit chain here; it imports no app, the apps register themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _


@dataclass
class CheckResult:
    name: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_CHECKS: dict[str, Callable[[], CheckResult]] = {}


def integrity_check(name: str):
    def register(function: Callable[[], CheckResult]):
        _CHECKS[name] = function
        return function

    return register


def run_checks(names: list[str] | None = None) -> list[CheckResult]:
    autodiscover_modules("integrity")
    unknown = sorted(set(names or []) - set(_CHECKS))
    if unknown:
        raise KeyError(", ".join(unknown))
    return [_CHECKS[name]() for name in sorted(_CHECKS) if not names or name in names]


def files_against_manifest(manifest: dict, storage=None) -> CheckResult:
    """Every file a backup's manifest lists is in storage with the same SM3 hash."""
    from django.core.files.storage import default_storage

    from yiwang.core.crypto import sm3_hex

    storage = storage or default_storage
    result = CheckResult("files")
    for entry in manifest.get("files", []):
        result.checked += 1
        try:
            with storage.open(entry["name"], "rb") as handle:
                digest = sm3_hex(handle.read())
        except FileNotFoundError:
            result.problems.append(_("文件缺失:%(name)s") % {"name": entry["name"]})
            continue
        if digest != entry["sm3"]:
            result.problems.append(_("文件内容与备份清单不符:%(name)s") % {"name": entry["name"]})
    return result


@integrity_check("core.audit_chain")
def audit_chain() -> CheckResult:
    from yiwang.core.audit import verify_chain_report

    report = verify_chain_report()
    result = CheckResult("core.audit_chain", checked=report.checked)
    if report.chain_break is not None:
        result.problems.append(str(report.chain_break))
    return result
