"""Guardrails: Cedar policy, budgets, approvals, dry run, kill switch, redaction.

The stages that apply them live in ``gateway/stages/``; this package holds what they
use, assembled once at start-up by ``gateway.guardrails.runtime.build_guardrails`` (see
docs/guardrails.md). Import the modules directly: ``gateway.config`` imports
``gateway.config.guardrails`` while it loads, so this package re-exports nothing.
"""
