"""Plain-SQL writes for hot paths: one INSERT or UPDATE of a model instance, its SQL built once.

Django's ORM compiles every statement anew; for the few writes that every request of a busy
path makes (a case's timeline step, the changed columns of the case, the audit event) that
compilation costs more than the database round trip. These helpers write the same columns
the ORM would, with each field's own preparation (``pre_save`` for ``auto_now``,
``get_db_prep_save`` for JSON, encryption, dates), so that reading the row back through the
ORM gives the same values. They send no model signals: use them only for models nothing
listens to, inside the caller's transaction.
"""

from functools import lru_cache

from django.db import connection, models


@lru_cache(maxsize=256)
def _insert_sql(model: type[models.Model], vendor: str, returning: bool) -> tuple[str, tuple]:
    qn = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(qn(f.column) for f in fields)
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    if returning:
        sql += f" RETURNING {qn(model._meta.pk.column)}"
    return sql, fields


def insert_statement(obj: models.Model) -> tuple[str, list]:
    """The INSERT of ``obj`` without RETURNING, with its parameters (to embed in a larger
    statement, e.g. a data-modifying WITH)."""
    sql, fields = _insert_sql(type(obj), connection.vendor, False)
    return sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def insert(obj: models.Model, *, cursor=None) -> models.Model:
    """INSERT ``obj`` (primary key from the database) and mark it saved; returns ``obj``."""
    model = type(obj)
    returning = connection.features.can_return_columns_from_insert
    sql, fields = _insert_sql(model, connection.vendor, returning)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    if cursor is None:
        with connection.cursor() as own:
            obj.pk = _execute_insert(own, sql, params, model, returning)
    else:
        obj.pk = _execute_insert(cursor, sql, params, model, returning)
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def _execute_insert(cursor, sql: str, params: list, model, returning: bool):
    cursor.execute(sql, params)
    if returning:
        return cursor.fetchone()[0]
    return connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)


@lru_cache(maxsize=1024)
def _update_sql(model: type[models.Model], vendor: str, names: tuple[str, ...]) -> tuple[str, tuple]:
    qn = connection.ops.quote_name
    fields = tuple(model._meta.get_field(name) for name in names)
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in fields)
    sql = f"UPDATE {qn(model._meta.db_table)} SET {assignments} WHERE {qn(model._meta.pk.column)} = %s"  # noqa: S608
    return sql, fields


def update(obj: models.Model, fields: list[str] | tuple[str, ...]) -> None:
    """UPDATE the named fields of ``obj`` (plus any ``auto_now`` field) by primary key."""
    model = type(obj)
    names = list(dict.fromkeys(fields))
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False) and field.name not in names:
            names.append(field.name)
    sql, prepared = _update_sql(model, connection.vendor, tuple(names))
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in prepared]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, obj.pk])
