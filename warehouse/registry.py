"""The table registry (warehouse/tables.yaml): every table of the working and the published warehouse.

One place declares each table's layer, writer, key and columns with type, unit and constraints.
The DDL (schema.sql, staging.sql), the data dictionary's column tables (warehouse/docs.py) and the
blocking column checks (pipelines/checks.py) are generated from it, so they cannot drift apart.
Plain Python: no Dagster import.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from sources.registry import read_yaml
from warehouse.paths import view_statements

TABLES_YAML = Path(__file__).with_name("tables.yaml")
WORKING, PUBLISHED = "working", "published"
HISTORY_COLUMNS = (("valid_from", "TIMESTAMP NOT NULL"), ("valid_to", "TIMESTAMP"))
RULE_KEYS = ("pattern", "min", "max", "enum")
# Tables of these layers live in their writer's own DuckDB file (warehouse.stage_path), the others in the one
# working file. DuckDB lets one process write a file: staging assets of independent sources then write
# different files and can run side by side in the multiprocess executor (pipelines/definitions.py).
OWN_FILE_LAYERS = ("staging",)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = False
    unit: str | None = None
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    enum: tuple | None = None
    comment: str | None = None
    description: str | None = None
    joined_from: str | None = None  # declared in that table, joined in at publish

    def rules(self) -> list[str]:
        """The constraints in words, for the data dictionary."""
        words = ["not null"] if self.not_null else []
        if self.pattern:
            words.append(f"matches `{self.pattern}`")
        if self.min is not None or self.max is not None:
            low = "" if self.min is None else f"{self.min:g}"
            high = "" if self.max is None else f"{self.max:g}"
            words.append(f"{low}..{high}")
        if self.enum:
            words.append("one of " + ", ".join(f"`{v}`" for v in self.enum))
        return words


@dataclass(frozen=True)
class Table:
    name: str
    layer: str
    databases: tuple[str, ...]
    writers: tuple[str, ...]
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    history: bool = False
    working_ddl: bool = False
    working_view: bool = False  # in the working database: UNION ALL of the tables that are part_of it
    part_of: str | None = None
    columns_like: str | None = None
    history_from: str | None = None  # the working table whose rows a history table versions (default: its own name)
    history_scope: tuple[str, ...] = ()  # a current row is closed only when the new data cover its scope

    @property
    def writer(self) -> str | None:
        """The one asset that writes the table; None while several write slices of it."""
        return self.writers[0] if len(self.writers) == 1 else None

    def is_writer(self, asset: str) -> bool:
        """Whether ``asset`` may write the table (``raw_<source>`` stands for every raw landing asset)."""
        return any(asset == w or (w.endswith(">") and asset.startswith(w.split("<")[0])) for w in self.writers)

    @property
    def published_name(self) -> str:
        """The table's name in the published file: versioned tables keep their rows in <name>_history."""
        return f"{self.name}_history" if self.history else self.name

    @property
    def own_columns(self) -> tuple[Column, ...]:
        """The columns the writer stores (the working table); joined columns are another table's."""
        return tuple(c for c in self.columns if c.joined_from is None)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def own_file(self) -> str | None:
        """The writer whose own working file holds the table (staging layer); None: the shared working file."""
        if WORKING not in self.databases or self.layer not in OWN_FILE_LAYERS or self.working_view:
            return None
        return self.writer if self.writer and self.writer.isidentifier() else None


@dataclass
class Registry:
    tables: dict[str, Table] = field(default_factory=dict)
    planner_views: dict[str, str] = field(default_factory=dict)  # view of views.sql -> German title, export order

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def in_database(self, database: str) -> list[Table]:
        return [t for t in self.tables.values() if database in t.databases]

    def declared_names(self, database: str) -> set[str]:
        """Table and view names the registry allows in a database (history tables and their current-row views)."""
        names = set()
        for table in self.in_database(database):
            names.add(table.name)
            if database == PUBLISHED and table.history:
                names.add(table.published_name)
        return names

    def parts(self, name: str) -> list[Table]:
        """The tables whose UNION ALL is the working view ``name`` (e.g. one per source for observations)."""
        return [t for t in self.tables.values() if t.part_of == name]

    def history_tables(self) -> dict[str, tuple[str, list[str]]]:
        """Published history table -> (working table it versions, scope columns), in declaration order."""
        return {t.published_name: (t.history_from or t.name, list(t.history_scope))
                for t in self.in_database(PUBLISHED) if t.history}

    def current_tables(self) -> list[str]:
        """Published tables copied from the working database as they are (the versioned ones are merged with
        their history instead, ``history_tables``; publish-only tables are filled by the candidate itself)."""
        return [t.name for t in self.in_database(PUBLISHED) if WORKING in t.databases and not t.history]

    def published_keys(self) -> dict[str, list[str]]:
        """Published table (current rows) -> primary key, for the candidate's duplicate-key check."""
        return {t.name: list(t.primary_key) for t in self.in_database(PUBLISHED) if t.primary_key}

    def written_by(self, asset: str) -> list[str]:
        return [t.name for t in self.tables.values() if asset in t.writers]

    def own_files(self) -> list[str]:
        """The writers with a working file of their own (one per staging asset), in registry order."""
        return list(dict.fromkeys(t.own_file for t in self.tables.values() if t.own_file))

    def in_file(self, own_file: str | None) -> list[Table]:
        """The working tables stored in ``own_file`` (a writer's own file; None: the shared working file)."""
        return [t for t in self.in_database(WORKING) if t.own_file == own_file and not t.working_view]

    def working_views(self) -> list[Table]:
        """The working views (UNION ALL of their parts), built per connection over every file (warehouse.workdb.attach_working)."""
        return [t for t in self.in_database(WORKING) if t.working_view]


def load_registry(path: Path = TABLES_YAML) -> Registry:
    """Read tables.yaml, expanding the per-pillar columns from the catalogue and the flag enums."""
    document = read_yaml(path)
    raw = document["tables"]
    if "observations" in raw:  # a registry without the observations table (a test's) has no staging tables
        raw.update({name: spec for name, spec in staged_tables().items() if name not in raw})
    for name, spec in raw.items():  # columns_like: the same columns as another table (declared once), then its own
        if "columns_like" in spec:
            spec["columns"] = {**raw[spec["columns_like"]]["columns"], **(spec.get("columns") or {})}
    tables = {name: _table(name, spec) for name, spec in raw.items()}
    return Registry({name: _resolve_joins(table, tables) for name, table in tables.items()},
                    dict(document.get("planner_views") or {}))


def _resolve_joins(table: Table, tables: dict[str, Table]) -> Table:
    """``from: <table>`` columns take the declaration of that table's column (declared once)."""
    columns = []
    for column in table.columns:
        if column.joined_from:
            source = tables.get(column.joined_from)
            if source is None or column.name not in {c.name for c in source.columns}:
                raise ValueError(f"warehouse/tables.yaml: {table.name}.{column.name}: from {column.joined_from!r} "
                                 "names no declared column")
            column = replace(source.column(column.name), joined_from=column.joined_from)
        columns.append(column)
    return replace(table, columns=tuple(columns))


def staged_tables() -> dict[str, dict]:
    """The observation table of every source with a ``stage:`` in sources.yaml (its staging asset is
    generated, pipelines/assets/staging.py): adding a plain source needs no entry here."""
    from sources.registry import load_sources

    return {f"stg_{spec.source_id}__observations": {
        "layer": "staging", "databases": [WORKING], "working_ddl": True, "writer": spec.stage["asset"],
        "part_of": "observations", "columns_like": "observations",
        "description": f"observations of source `{spec.source_id}` (declared by its `stage:` in sources.yaml)"}
        for spec in load_sources().values() if spec.stage}


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The project's registry, loaded once per process."""
    return load_registry()


def _table(name: str, spec: dict) -> Table:
    writers = spec["writer"] if isinstance(spec["writer"], list) else [spec["writer"]]
    columns = [column for cname, cspec in spec["columns"].items() for column in _columns(name, cname, cspec)]
    names = {c.name for c in columns}
    missing = [k for k in spec.get("primary_key", []) if k not in names]
    if missing:
        raise ValueError(f"warehouse/tables.yaml: {name}: primary key columns {missing} are not declared")
    return Table(name=name, layer=spec["layer"], databases=tuple(spec["databases"]), writers=tuple(writers),
                 description=spec.get("description", ""), columns=tuple(columns),
                 primary_key=tuple(spec.get("primary_key", [])), history=bool(spec.get("history")),
                 working_ddl=bool(spec.get("working_ddl")), working_view=bool(spec.get("working_view")),
                 part_of=spec.get("part_of"), columns_like=spec.get("columns_like"),
                 history_from=spec.get("history_from"), history_scope=tuple(spec.get("history_scope", [])))


def _columns(table: str, name: str, spec: dict) -> list[Column]:
    """One column, or one per catalogue pillar for ``for_each: pillar`` (pillars are declared only there);
    ``{codes}`` in its comment or description becomes its enum's codes."""
    spec = dict(spec)
    if "from" in spec:
        return [Column(name=name, type="", joined_from=spec["from"])]
    enum = _enum(spec.pop("enum_from", None)) or spec.pop("enum", None)
    spec.pop("enum", None)
    for key in ("comment", "description"):  # a code list is written from the enum, never by hand (it drifted)
        if spec.get(key) and "{codes}" in spec[key]:
            if not enum:
                raise ValueError(f"warehouse/tables.yaml: {table}.{name}: {key} has {{codes}} but the column has no enum")
            spec[key] = spec[key].replace("{codes}", " | ".join(str(code) for code in enum))
    if spec.pop("for_each", None) != "pillar":
        return [Column(name=name, enum=tuple(enum) if enum else None, **spec)]
    from indicators.catalogue import load_catalogue

    columns = []
    for pillar, pillar_spec in load_catalogue().pillars.items():
        fill = {"pillar": pillar, "label": pillar_spec.get("label", pillar),
                "required": "required" if pillar_spec.get("required", True) else "optional"}
        texts = {k: spec[k].format(**fill) for k in ("comment", "description") if spec.get(k)}
        columns.append(Column(name=name.format(**fill), enum=tuple(enum) if enum else None, **{**spec, **texts}))
    return columns


def _enum(source: str | None) -> list | None:
    """Allowed values from the code that owns them: ``flags.<DICT>``, ``sources.<module>.<DICT>`` or
    ``staging.<module>.<DICT>`` (its keys),
    ``catalogue.pillars(+context)`` or ``catalogue.units``."""
    if source is None:
        return None
    if source.startswith(("sources.", "staging.")):
        module, _, name = source.rpartition(".")
        return list(getattr(importlib.import_module(module), name))
    if source.startswith("flags."):
        from indicators import flags

        return list(getattr(flags, source.removeprefix("flags.")))
    if source.startswith("catalogue.pillars"):
        from indicators.catalogue import CONTEXT, load_catalogue

        extra = [CONTEXT] if source.endswith("+context") else []
        return [*load_catalogue().pillars, *extra]
    if source == "catalogue.units":
        from indicators.catalogue import load_catalogue

        return list(load_catalogue().units)
    raise ValueError(f"warehouse/tables.yaml: unknown enum_from {source!r}")


# --- DDL ---------------------------------------------------------------------------------------------

SCHEMA_HEADER = """\
-- GENERATED from warehouse/tables.yaml by `python -m warehouse.docs`: edit the registry, not this file.
--
-- Published warehouse (warehouse/readiness.duckdb): the tables and views planners query.
-- Built by warehouse.publish.build_candidate() into a candidate file from the working database and the
-- previous published file (history), validated by blocking checks, then renamed over the
-- published file. Column meanings: docs/data-dictionary.md; example queries: docs/planner-guide.md.
--
-- History: *_history tables keep every version of a row. valid_from is the publish that first
-- showed it, valid_to the publish that replaced it (NULL: current). The views without the
-- suffix show the current rows; the *_as_of(timestamp) macros show the warehouse as it was.
"""
STAGING_HEADER = """\
-- GENERATED from warehouse/tables.yaml by `python -m warehouse.docs`: edit the registry, not this file.
--
-- Working database: staging tables written by the pipeline, shown here as one database. On disk the
-- staging-layer tables live in their writer's own file (warehouse/readiness.staging/<asset>.duckdb), the
-- others in warehouse/readiness.work.duckdb; `observations` is built per connection over all files.
-- Tables not declared here (working_ddl in the registry) are created from the first frame written to them.
"""


def published_ddl(reg: Registry | None = None, defer_composite_keys: bool = False) -> str:
    """schema.sql: every published table, history tables with valid_from/valid_to.

    ``defer_composite_keys``: without the multi-column primary keys (``composite_keys`` gives them), for
    a writer that fills the tables first and adds the keys afterwards (warehouse/publish.py).
    """
    reg = reg or registry()
    deferred = composite_keys(reg) if defer_composite_keys else {}
    blocks = [_create(t, history=t.history, if_not_exists=False, keys=(t.published_name if t.history else t.name)
                      not in deferred) for t in reg.in_database(PUBLISHED)]
    return SCHEMA_HEADER + "\n" + "\n\n".join(blocks) + "\n"


class OutdatedWarehouse(RuntimeError):
    """A published file made by an older version of the code: it lacks tables or columns the registry declares."""

    def __init__(self, path, missing: list[str]):
        self.path, self.missing = path, missing
        super().__init__(f"published warehouse {path} was made by an older version of the code: it lacks "
                         f"{', '.join(missing)}; publish it again (a refresh)")

    def __reduce__(self):  # pickled with its own arguments (an exception pickles its message as the only one)
        return type(self), (self.path, self.missing)


def missing_published(con, reg: Registry | None = None) -> list[str]:
    """'table.column' (or 'table', or a view's name) of every published table, column and view (views.sql) the file open
    on ``con`` lacks: a file published by an older version of the code, which a reader of today's columns cannot
    read (the report commands stopped with DuckDB's binder error when peer_towns gained its dates; review of
    6 December 2026). A published file is never migrated: the next publish writes today's schema."""
    reg = reg or registry()
    present: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                     "WHERE database_name = current_database()").fetchall():
        present.setdefault(table, set()).add(column)
    missing = []
    for table in reg.in_database(PUBLISHED):
        columns = present.get(table.published_name)
        if columns is None:
            missing.append(table.published_name)
        else:
            missing += [f"{table.published_name}.{c.name}" for c in table.columns if c.name not in columns]
    # and the views of views.sql the readers query (a view's own column list is not compared: it is rebuilt by the
    # publish that writes the tables it reads)
    views = {name for (name,) in con.execute("SELECT view_name FROM duckdb_views() "
                                             "WHERE database_name = current_database() AND NOT internal").fetchall()}
    return missing + [name for name in view_statements() if name not in views]


def composite_keys(reg: Registry | None = None) -> dict[str, list[str]]:
    """Published table -> its primary key of more than one column (history tables have none: ``history_keys``)."""
    reg = reg or registry()
    keys = {t.name: list(t.primary_key) for t in reg.in_database(PUBLISHED) if t.primary_key and not t.history}
    return {name: key for name, key in keys.items() if len(key) > 1}


def history_keys(reg: Registry | None = None) -> dict[str, list[str]]:
    """Published history table -> its key (the working table's primary key and valid_from): unique, checked at
    each publish (warehouse/publish.py), not declared as a primary key.

    Why no primary key: DuckDB holds a primary key's index (an ART) in memory, and the history only grows. With the
    Germany-wide history doubled (2.2 M indicator versions, about a year of new releases) adding it ran out of the
    candidate's 256 MB, and 4.3 M rows needed 1.3 GiB of RSS; the duplicate check (a spillable GROUP BY) takes
    0.1-1.4 s for 1.1-8.7 M rows within 256 MB (5 December 2026)."""
    reg = reg or registry()
    return {t.published_name: [*t.primary_key, "valid_from"] for t in reg.in_database(PUBLISHED)
            if t.history and t.primary_key}


def working_ddl(reg: Registry | None = None) -> str:
    """staging.sql: the working tables declared up front, as one database (the files' DDL: ``file_ddl``)."""
    reg = reg or registry()
    # no key constraint: the writer's delete-and-insert stays as it is; the generated check tests the key
    blocks = [_create(t, history=False, if_not_exists=True, keys=False)
              for t in reg.in_database(WORKING) if t.working_ddl]
    blocks += [_union_view(t, reg.parts(t.name)) for t in reg.in_database(WORKING) if t.working_view]
    return STAGING_HEADER + "\n" + "\n\n".join(blocks) + "\n"


def file_ddl(own_file: str | None, reg: Registry | None = None) -> str:
    """The declared tables of one working file: a writer's own file, or (None) the shared one. No views:
    the union views span files and are built per connection (warehouse.workdb.attach_working)."""
    reg = reg or registry()
    return "\n\n".join(_create(t, history=False, if_not_exists=True, keys=False)
                       for t in reg.in_file(own_file) if t.working_ddl)


def union_view_sql(table: Table, parts: list[str], temporary: bool = False) -> str:
    """CREATE VIEW ``table`` as the UNION ALL BY NAME of the relations ``parts`` (one per writer)."""
    union = "\nUNION ALL BY NAME\n".join(f"SELECT * FROM {p}" for p in parts)
    return f"CREATE OR REPLACE {'TEMP ' if temporary else ''}VIEW {table.name} AS\n{union};"


def _union_view(table: Table, parts: list[Table]) -> str:
    """The working view over the tables each writer stores its part in (no asset writes another's table)."""
    if not parts:
        raise ValueError(f"warehouse/tables.yaml: {table.name} is a working view but no table is part_of it")
    return f"-- {table.description}: one table per writer\n" + union_view_sql(table, [p.name for p in parts])


def _create(table: Table, history: bool, if_not_exists: bool, keys: bool = True) -> str:
    """One CREATE TABLE with aligned columns and the registry's comments."""
    key = list(table.primary_key) if keys and not history else []  # a history table's key is checked (history_keys)
    single_key = key[0] if len(key) == 1 else None
    lines = []
    for column in table.columns:
        null = " NOT NULL" if column.not_null and column.name != single_key else ""
        pk = " PRIMARY KEY" if column.name == single_key else ""
        lines.append((f"{column.name} {column.type}{null}{pk}", column.comment))
    if history:
        lines += [(f"{name} {sql}", None) for name, sql in HISTORY_COLUMNS]
    if key and not single_key:
        lines.append((f"PRIMARY KEY ({', '.join(key)})", None))
    width = max(len(code) for code, _ in lines) + 1
    body = []
    for i, (code, comment) in enumerate(lines):
        code += "," if i < len(lines) - 1 else ""
        body.append(f"    {code:<{width}} -- {comment}".rstrip() if comment else f"    {code}")
    exists = "IF NOT EXISTS " if if_not_exists else ""
    name = table.published_name if history else table.name
    unique = (f"\n-- unique ({', '.join([*table.primary_key, 'valid_from'])}), checked at each publish; no primary key "
              "(its index would grow with the history)") if history and table.primary_key else ""
    return f"-- {table.description}{unique}\nCREATE TABLE {exists}{name} (\n" + "\n".join(body) + "\n);"


# --- column checks -----------------------------------------------------------------------------------

def violation_queries(table: Table, relation: str | None = None) -> dict[str, str]:
    """rule name -> SQL counting the rows of ``relation`` (default: the table) that break the rule.

    Plain SQL over DuckDB; the checks in pipelines/checks.py run these on the working database.
    """
    from warehouse.sql import identifier, literal

    relation = relation or identifier(table.name)
    queries = {}
    for column in table.own_columns:
        ref = identifier(column.name)
        conditions = {}
        if column.not_null:
            conditions["not_null"] = f"{ref} IS NULL"
        if column.pattern:
            conditions["pattern"] = f"NOT regexp_full_match(CAST({ref} AS VARCHAR), {literal(column.pattern)})"
        if column.min is not None:
            conditions["min"] = f"{ref} < {column.min!r}"
        if column.max is not None:
            conditions["max"] = f"{ref} > {column.max!r}"
        if column.enum and all(isinstance(v, (int, float)) for v in column.enum):
            conditions["enum"] = f"{ref} NOT IN ({', '.join(repr(v) for v in column.enum)})"
        elif column.enum:
            values = ", ".join(literal(str(v)) for v in column.enum)
            conditions["enum"] = f"CAST({ref} AS VARCHAR) NOT IN ({values})"
        for rule, condition in conditions.items():
            queries[f"{column.name}:{rule}"] = f"SELECT count(*) FROM {relation} WHERE {condition}"
    if table.primary_key:
        key = ", ".join(identifier(c) for c in table.primary_key)
        queries["primary_key:unique"] = (f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {relation} "
                                         f"GROUP BY {key} HAVING count(*) > 1)")
    return queries
