"""The ``lastmile`` command table: each command loads only its own module."""

from __future__ import annotations

import re

from gateway.cli import COMMANDS, parser


def test_each_command_is_added_by_the_module_the_table_names() -> None:
    for name, module in COMMANDS.items():
        usage = parser([name]).format_usage()
        match = re.search(r"\{([^}]*)\}", usage)
        assert match is not None, usage
        assert set(match[1].split(",")) == {n for n, m in COMMANDS.items() if m == module}


def test_help_lists_every_command_in_table_order() -> None:
    usage = parser().format_usage()
    assert f"{{{','.join(COMMANDS)}}}" in usage
