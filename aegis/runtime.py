"""The composition root: settings, secrets, logging and the database, built once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from aegis.logs import Redactor, configure_logging
from aegis.secrets import SecretError, SecretSource
from aegis.settings import Settings
from integrations import Catalog
from storage.db import Database


@dataclass
class Context:
    settings: Settings
    secrets: SecretSource
    redactor: Redactor
    catalog: Catalog = field(default_factory=Catalog.load)  # the installed integrations

    @property
    def database_url(self) -> str:
        """The database_url secret file when present (it may hold a password), else the settings."""
        secret = self.secrets.get("database_url", required=False)
        if secret is not None:
            if not secret.reveal().startswith(("postgresql", "sqlite")):
                raise SecretError("the database_url secret is not a postgresql:// or sqlite:// URL")
            return secret.reveal()
        return self.settings.resolved_database_url

    @property
    def migration_database_url(self) -> str | None:
        """The role that owns the schema and runs migrations (secret file or settings); None: the app's own."""
        secret = self.secrets.get("migration_database_url", required=False)
        if secret is not None:
            if not secret.reveal().startswith("postgresql"):
                raise SecretError("the migration_database_url secret is not a postgresql:// URL")
            return secret.reveal()
        return self.settings.migration_database_url

    def database(self) -> Database:
        return Database(self.database_url)

    def ensure_data_dir(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.settings.data_dir, 0o700)


def build_context(settings: Settings | None = None) -> Context:
    os.umask(0o077)  # every file Aegis creates (database, keys, backups) is private to its user
    settings = settings or Settings()
    redactor = Redactor()
    configure_logging(redactor, level=settings.log_level, json=settings.log_json or settings.production)
    secrets = SecretSource(settings.secrets_dir, production=settings.production, on_read=redactor.register)
    return Context(settings=settings, secrets=secrets, redactor=redactor)
