"""Adapters to external systems: identity-graph stores (memory, SQLite, Bigtable) and Pub/Sub naming."""
