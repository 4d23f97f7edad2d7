"""The fleet: gateway processes that share PostgreSQL and know of each other."""
