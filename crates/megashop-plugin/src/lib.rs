//! The plugin API: what an integration crate implements ([`Integration`]) and what it
//! gets from Megashop (`SyncContext`: the catalogue write path, external-id mapping,
//! an HTTP client that retries, credentials, a sync log).
