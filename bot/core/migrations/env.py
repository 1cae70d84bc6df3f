"""Alembic environment: the URL from `bot.core.db.alembic_config`, the schema from the models."""

from alembic import context
from sqlmodel import SQLModel

import bot.core.models  # noqa: F401  (registers the tables)
from bot.core.db import engine_for

config = context.config
connectable = engine_for(config.attributes["url"])

with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
