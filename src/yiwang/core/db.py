"""Plain SQL for hot paths: one INSERT or UPDATE of a model instance, one row read by a
unique column (with a foreign key's row joined), or the rows whose keys are IN lists
(``rows_in``), its SQL built once.

Django's ORM compiles every statement anew; for the few writes that every request of a busy
path makes (a case's timeline step, the changed columns of the case, the audit event) that
compilation costs more than the database round trip. These helpers write the same columns
the ORM would, with each field's own preparation (``pre_save`` for ``auto_now``,
``get_db_prep_save`` for JSON, encryption, dates), so that reading the row back through the
ORM gives the same values. They send no model signals: use them only for models nothing
listens to, inside the caller's transaction.
"""

from functools import lru_cache

from django.db import connection, connections, models, router


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


# --- Reads: one row by a unique column, with a many-to-one relation joined -------------------


@lru_cache(maxsize=64)
def _select_plan(model: type[models.Model], vendor: str, by: str, related: str | None) -> tuple:
    """The SELECT of ``model``'s concrete columns (and its ``related`` foreign key's target's,
    joined) WHERE ``by`` = %s, and each column's converters, as the ORM would apply them."""
    from django.db.models.expressions import Col

    qn = connection.ops.quote_name
    parts = [(model, "t0", None)]
    if related:
        fk = model._meta.get_field(related)
        parts.append((fk.related_model, "t1", fk))
    columns, plans = [], []
    for part_model, alias, _fk in parts:
        fields = tuple(part_model._meta.concrete_fields)
        converters = []
        for f in fields:
            columns.append(f"{alias}.{qn(f.column)}")
            col = Col(alias, f)
            found = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            converters.append(tuple((converter, col) for converter in found))
        plans.append((part_model, tuple(f.attname for f in fields), tuple(converters)))
    sql = f"SELECT {', '.join(columns)} FROM {qn(model._meta.db_table)} t0"  # noqa: S608
    if related:
        target = fk.related_model
        sql += f" INNER JOIN {qn(target._meta.db_table)} t1 ON t1.{qn(target._meta.pk.column)} = t0.{qn(fk.column)}"
    sql += f" WHERE t0.{qn(model._meta.get_field(by).column)} = %s"
    return sql, tuple(plans), (model._meta.get_field(related) if related else None)


def get_one(model: type[models.Model], *, by: str, value, related: str | None = None) -> models.Model | None:
    """The ``model`` instance whose unique column ``by`` equals ``value`` (None if none), with
    the object of the foreign key ``related`` read in the same statement (like
    ``select_related``) — one query whose SQL is built once per process.

    For the lookups every request makes (the bearer token and its user): the ORM would build
    and compile the same join anew each time, which costs more than running it. Instances
    come from ``Model.from_db`` with each column converted as the ORM does, so they behave as
    if read by a queryset.
    """
    sql, plans, fk = _select_plan(model, connection.vendor, by, related)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    objects, start = [], 0
    for part_model, names, converters in plans:
        values = list(row[start : start + len(names)])
        start += len(names)
        for i, found in enumerate(converters):
            for converter, col in found:
                values[i] = converter(values[i], col, connection)
        objects.append(part_model.from_db(connection.alias, names, values))
    if fk is not None:
        fk.set_cached_value(objects[0], objects[1])
    return objects[0]


# --- Rows by IN lists, planned once per shape --------------------------------------------------
#
# The exchange's registry read (every gateway lookup, every batch of a policy's eligibility run)
# is the same shape of query each time: some columns of one table WHERE <key> IN (n keys).
# Compiling it with the ORM each time cost more than running it, so the SQL, the order of its
# parameters and each column's converters (decryption of encrypted fields, dates, decimals) are
# taken from the ORM's own compiler once per shape and database, and the rows come back as plain
# attribute holders, not model instances.


class Row:
    """One row's columns as attributes."""


_ROWS_IN_PLANS: dict[tuple, tuple] = {}
_ROWS_IN_PLANS_MAX = 2048  # shapes: registry × asked columns × key counts; bounded all the same


def _rows_in_plan(alias: str, model: type[models.Model], columns: tuple[str, ...], shape: tuple) -> tuple:
    key = (alias, model, columns, shape)
    plan = _ROWS_IN_PLANS.get(key)
    if plan is not None:
        return plan
    connection = connections[alias]
    # Sentinels stand in for the keys; where each lands in the compiled parameters says where
    # the real key goes (Django orders the lookups itself).
    sentinels, origin = {}, {}
    for position, (name, count) in enumerate(shape):
        field = model._meta.get_field(name)
        values = []
        for i in range(count):
            value = field.get_db_prep_value(field.to_python(f"{-(position * 100_000 + i + 1)}"), connection, True)
            values.append(value)
            origin[value] = (position, i)
        sentinels[f"{name}__in"] = values
    queryset = model.objects.using(alias).filter(**sentinels).only(*columns, *(name for name, _count in shape))
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    # A parameter that is no sentinel is the manager's own (a default filter): kept as compiled.
    order = tuple(origin.get(p, (None, p)) for p in params)
    select = [item[0] for item in compiler.select]
    names = tuple(col.target.attname for col in select)
    converters = tuple(sorted(compiler.get_converters(select).items()))
    fields = tuple(model._meta.get_field(name) for name, _count in shape)
    plan = (sql, order, names, converters, fields)
    if len(_ROWS_IN_PLANS) >= _ROWS_IN_PLANS_MAX:
        _ROWS_IN_PLANS.clear()
    _ROWS_IN_PLANS[key] = plan
    return plan


def rows_in(model: type[models.Model], *, columns: list[str], where: dict[str, list]) -> list[Row]:
    """The rows of ``model`` whose ``where`` fields are each IN their (distinct, non-empty) list
    of values: ``columns`` (and the ``where`` fields) as attributes of a ``Row``, converted as the
    ORM converts them. Read from the database the router names for reads of ``model``."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    shape = tuple((name, len(values)) for name, values in where.items())
    sql, order, names, converters, fields = _rows_in_plan(alias, model, tuple(columns), shape)
    lists = [
        [field.get_db_prep_value(field.get_prep_value(v), connection, True) for v in values]
        for field, values in zip(fields, where.values(), strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [value if position is None else lists[position][value] for position, value in order])
        raw = cursor.fetchall()
    rows = []
    for values in raw:
        values = list(values)
        for index, (found, expression) in converters:
            for converter in found:
                values[index] = converter(values[index], expression, connection)
        row = Row()
        row.__dict__.update(zip(names, values, strict=True))
        rows.append(row)
    return rows
