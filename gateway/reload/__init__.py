"""Configuration that changes without a restart: agents, keys, revocations, policies,
budgets and rate limits.

- :mod:`~gateway.reload.sections`: which parts of gateway.yaml a reload may change;
- :mod:`~gateway.reload.in_force`: the snapshot of those parts a call reads (one
  attribute read per call) and how a new text becomes one, checked like ``check-config``;
- :mod:`~gateway.reload.board`: publishing a new version in this process alone;
- :mod:`~gateway.reload.board_postgres`: publishing it in PostgreSQL for every process.
"""
