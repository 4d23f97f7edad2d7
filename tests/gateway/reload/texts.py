"""New versions of the test configuration, as an operator would edit the file."""

from __future__ import annotations

from gateway.identity import hash_key, new_key

INVENTORY_LINE = '    operations: ["warehouse.items.*", "warehouse.stock.*"]\n'

NEW_BOT_KEY = new_key()


def revoking_inventory(text: str) -> str:
    """``inventory-bot`` revoked."""
    assert INVENTORY_LINE in text
    return text.replace(INVENTORY_LINE, INVENTORY_LINE + "    revoked: true\n", 1)


def adding_agent(text: str, agent_id: str = "audit-bot", key: str = NEW_BOT_KEY) -> str:
    """One more agent, allowed to read stock."""
    entry = (
        f"  - id: {agent_id}\n    owner: team-audit\n    key_sha256: {hash_key(key)}\n"
        '    operations: ["warehouse.stock.get"]\n'
    )
    return text.replace("staff:\n", entry + "staff:\n", 1)


def with_guardrails(text: str, body: str) -> str:
    """``body`` (indented by two) as the ``guardrails:`` section."""
    return text + "guardrails:\n" + body


def with_rate_limit(text: str, limit: int) -> str:
    return text + f"resilience:\n  rate_limits:\n    agent: {{limit: {limit}, window_s: 3600}}\n"
