"""Guardrails: Cedar policy, budgets, approvals, dry run, kill switch, redaction."""
