"""The registries' errors: each a ``core.errors`` class, so every API turns it into
``{"code", "message", "fields"}`` naming the registry, field, key or row at fault."""

from django.utils.translation import gettext_lazy as _

from yiwang.core.errors import Forbidden, ValidationFailed


class RegistryError(ValidationFailed):
    """Base of the registries' bad-input errors (422)."""

    code = "registry_invalid"


class UnknownRegistry(RegistryError):
    code = "registry_unknown"

    def __init__(self, registry: str):
        super().__init__(
            _("没有名为“%(registry)s”的基础库") % {"registry": registry},
            fields={"registry": [_("可选:population、legal_entity、license、credit、spatial、economy")]},
        )


class UnknownField(RegistryError):
    code = "registry_field_unknown"

    def __init__(self, registry: str, field: str):
        super().__init__(
            _("基础库“%(registry)s”没有字段“%(field)s”") % {"registry": registry, "field": field},
            fields={field: [_("未知字段")]},
        )


class InvalidKey(RegistryError):
    """A key with a wrong length, alphabet or check digit: the message says which."""

    code = "registry_key_invalid"

    def __init__(self, message, *, field: str = "key"):
        super().__init__(message, fields={field: [message]})


class ReadOnlyRegistry(RegistryError):
    code = "registry_read_only"

    def __init__(self, registry: str):
        super().__init__(
            _("基础库“%(registry)s”是只读视图,请在其来源系统中维护") % {"registry": registry},
            fields={"registry": [_("只读")]},
        )


class RowsInvalid(RegistryError):
    """A batch with bad rows: nothing was written. ``rows`` lists every problem as
    (row index from 0, field, message); ``fields`` names them ``records.<i>.<field>``."""

    code = "registry_rows_invalid"

    def __init__(self, rows: list[tuple[int, str, str]], *, total: int):
        self.rows = rows
        fields: dict[str, list[str]] = {}
        for index, field, message in rows:
            fields.setdefault(f"records.{index}.{field}", []).append(str(message))
        bad = len({index for index, _f, _m in rows})
        super().__init__(
            _("共 %(total)d 行,其中 %(bad)d 行有误,全部未写入;请按提示修改后重新提交") % {"total": total, "bad": bad},
            fields=fields,
        )


class NotSourceDepartment(Forbidden):
    """一数一源: the actor is not staff of the field's source department."""

    code = "registry_not_source"
