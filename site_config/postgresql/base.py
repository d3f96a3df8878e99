"""Django's PostgreSQL backend, batching every statement under PostgreSQL's 65,535 bind parameters.

With server-side binding (DATABASE_SERVER_SIDE_BINDING, on by default) each value travels as a protocol
parameter, and a statement may carry at most 65,535 of them ("number of parameters must be between 0 and
65535"). Django's PostgreSQL backend declares no such limit, so the deletion collector looks up every related
row of 100,000 characters with one `IN (...)` of 100,000 ids, and bulk_create sends all its rows at once.
Declaring the limit (as Django's Oracle and SQLite backends do) makes every one of them batch: the collector's
related lookups and fast deletes, bulk_create, bulk_update and in_bulk. With client-side binding the values
are inlined into the SQL and nothing changes.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from django.db import models
from django.db.backends.postgresql import base, features, operations

# The protocol's limit is 65,535; a little is kept back for the few parameters a batched statement adds
# beside its batch (a filter on a type or a flag).
MAX_QUERY_PARAMS = 65_000


def binds_server_side(connection: Any) -> bool:
    return bool(connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"))


class DatabaseFeatures(features.DatabaseFeatures):
    @property
    def max_query_params(self) -> int | None:  # type: ignore[override]
        return MAX_QUERY_PARAMS if binds_server_side(self.connection) else None


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields: list[Any], objs: list[Any]) -> int:
        limit = self.connection.features.max_query_params
        columns = list(
            chain.from_iterable(
                field.fields if isinstance(field, models.CompositePrimaryKey) else [field] for field in fields
            )
        )
        if limit is None or not columns:
            return super().bulk_batch_size(fields, objs)
        return max(1, limit // len(columns))


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
