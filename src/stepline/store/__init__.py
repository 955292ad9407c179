"""Storage: tables, queries, the work claim and leases, the blob store, migrations."""
