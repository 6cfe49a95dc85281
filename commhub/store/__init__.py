"""Stores: where members, campaigns, deliveries and tokens live (SQLite or PostgreSQL)."""
