-- jobpool schema, version 3: the ledger of processed events is pruned by age
-- (LEDGER_RETENTION_DAYS), oldest first, so it needs an index on that age.
-- Forward-only: never edit a migration that has shipped; add the next one.
--
-- Migrations run in a transaction, so this index is built with a lock that
-- holds ledger writes until it is done (seconds per million rows). On a large
-- ledger, build it beforehand without that lock and this becomes a no-op:
--   create index concurrently if not exists processed_events_processed_at
--     on processed_events (processed_at);

create index if not exists processed_events_processed_at on processed_events (processed_at);
