"""The Alembic environment every service's migrations run in (see shared.migrations)."""

from alembic import context

from shared.migrations import run_env

run_env(context)
