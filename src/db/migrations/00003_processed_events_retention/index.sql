-- jobpool schema, version 3: the ledger of processed events is pruned by age
-- (LEDGER_RETENTION_DAYS), oldest first, so it needs an index on that age.
-- Forward-only: never edit a migration that has shipped; add the next one.

create index processed_events_processed_at on processed_events (processed_at);
