"""The Alembic environment every service's migrations run in (see shared.storage.migrations)."""

from alembic import context

from shared.storage.migrations import run_env

run_env(context)
