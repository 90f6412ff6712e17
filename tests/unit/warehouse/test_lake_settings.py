"""The lake catalog setting never carries a password: describe() puts it into logs and the UI's metadata."""

from __future__ import annotations

import pytest

from warehouse.lake import Lake, LakeError


@pytest.mark.parametrize("catalog", [
    "postgres:dbname=lake password=secret",
    "postgres:dbname=lake sslpassword=secret",
    "postgres:postgresql://planner:S3cretPW@127.0.0.1:5432/lake",
    "postgres:postgres://planner:pw@db.example/lake?sslmode=require",
    "postgres:postgresql://planner:@127.0.0.1/lake",  # an empty password is still one in the URI
    "postgres:postgresql://planner@127.0.0.1/lake?%70assword=secret",  # libpq decodes the escape
])
def test_a_password_in_any_libpq_form_is_refused(tmp_path, catalog):
    for data_path in (str(tmp_path), ""):  # also before the missing-data-path message, which quotes the catalog
        with pytest.raises(LakeError, match="must not contain a password.*PGPASSWORD") as error:
            Lake.from_settings(catalog, data_path)
        assert "S3cret" not in str(error.value) and "secret" not in str(error.value)


@pytest.mark.parametrize("catalog", ["postgres:dbname=lake host=127.0.0.1 user=planner",
                                     "postgres:postgresql://planner@127.0.0.1:5432/lake",
                                     "postgres:postgresql://127.0.0.1/lake?passfile=/srv/pgpass"])
def test_a_catalog_without_a_password_is_taken_as_it_is(tmp_path, catalog):
    lake = Lake.from_settings(catalog, str(tmp_path))
    assert lake.catalog == catalog and lake.describe().startswith(f"ducklake:{catalog} ")

