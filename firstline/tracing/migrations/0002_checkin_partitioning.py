"""On PostgreSQL, the check-in table becomes ``PARTITION BY RANGE (start)`` with daily partitions.

The table Django created in 0001 is rebuilt with the same columns, the same index and foreign-key names and a
primary key of (id, start) (PostgreSQL requires the partition key in every unique constraint); ``id`` takes its
values from a sequence owned by the column, so Django's sequence resets and ``pg_get_serial_sequence`` work as
before. A DEFAULT partition catches rows whose day has no partition yet, so an insert never fails; daily partitions
are created from (today − retention) to (today + 7) and kept ahead by the ``purge_checkins`` task. Rows already in
the table are kept. The model state does not change, and on SQLite nothing happens (a plain table).
See firstline/tracing/venues/partitions.py for the day boundaries (Asia/Shanghai midnights).
"""

from django.db import migrations

TABLE = "tracing_checkin"
SEQUENCE = f"{TABLE}_id_seq"


def _fetch(cursor, sql, params=()):
    cursor.execute(sql, params)
    return cursor.fetchall()


def partition_table(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from firstline.tracing.venues import partitions

    with schema_editor.connection.cursor() as cursor:
        (kind,) = _fetch(cursor, "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])[0]
        if kind == "p":
            return
        columns = _fetch(
            cursor,
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
            "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [TABLE],
        )
        indexes = _fetch(
            cursor,
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = to_regclass(%s) AND NOT x.indisprimary ORDER BY i.relname",
            [TABLE],
        )
        foreign_keys = _fetch(
            cursor,
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND contype = 'f' ORDER BY conname",
            [TABLE],
        )
        names = ", ".join(f'"{name}"' for name, _type, _notnull in columns)
        cursor.execute(f'CREATE TEMPORARY TABLE checkin_rows ON COMMIT DROP AS SELECT {names} FROM "{TABLE}"')
        cursor.execute(f'DROP TABLE "{TABLE}"')
        cursor.execute(f'CREATE SEQUENCE "{SEQUENCE}"')
        definitions = []
        for name, type_, notnull in columns:
            default = f" DEFAULT nextval('{SEQUENCE}'::regclass)" if name == "id" else ""
            definitions.append(f'"{name}" {type_}{" NOT NULL" if notnull else ""}{default}')
        definitions.append(f'CONSTRAINT "{TABLE}_pkey" PRIMARY KEY ("id", "start")')
        cursor.execute(f'CREATE TABLE "{TABLE}" ({", ".join(definitions)}) PARTITION BY RANGE ("start")')
        cursor.execute(f'ALTER SEQUENCE "{SEQUENCE}" OWNED BY "{TABLE}"."id"')
        for _name, definition in indexes:
            cursor.execute(definition)  # CREATE INDEX <Django's name> ON tracing_checkin …: cascades to partitions
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(f'CREATE TABLE "{partitions.DEFAULT_PARTITION}" PARTITION OF "{TABLE}" DEFAULT')
    partitions.ensure_partitions(days_ahead=7)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{TABLE}" ({names}) SELECT {names} FROM checkin_rows')
        cursor.execute(f"SELECT setval('{SEQUENCE}', COALESCE((SELECT MAX(id) FROM \"{TABLE}\"), 0) + 1, false)")
        cursor.execute("DROP TABLE checkin_rows")


def unpartition_table(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        (kind,) = _fetch(cursor, "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])[0]
        if kind != "p":
            return
        columns = _fetch(
            cursor,
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum",
            [TABLE],
        )
        names = ", ".join(f'"{name}"' for (name,) in columns)
        cursor.execute(f'CREATE TEMPORARY TABLE checkin_rows ON COMMIT DROP AS SELECT {names} FROM "{TABLE}"')
        cursor.execute(f'DROP TABLE "{TABLE}" CASCADE')
    schema_editor.create_model(apps.get_model("tracing", "CheckIn"))
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{TABLE}" ({names}) SELECT {names} FROM checkin_rows')
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), "
            f'COALESCE((SELECT MAX(id) FROM "{TABLE}"), 0) + 1, false)'
        )
        cursor.execute("DROP TABLE checkin_rows")


class Migration(migrations.Migration):
    dependencies = [("tracing", "0001_initial")]

    operations = [migrations.RunPython(partition_table, unpartition_table, elidable=False)]
