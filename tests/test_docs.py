"""Docs are code: every example in README.md and docs/ is parsed, checked or run.

- every fenced ``yaml``/``yml`` and ``json`` block parses;
- a YAML block that is a gateway config (or a part of one) passes ``lastmile
  check-config``: a whole config (it has ``backends`` or ``agents``) as it is, a
  fragment of known sections merged into the embedded default config, so a renamed or
  removed setting fails here;
- every ``lastmile ...`` line in a ``sh``/``bash``/``console`` block parses with the
  real command-line parser (placeholders such as ``<ID>``, ``$KEY`` or ``req_…`` are fine
  as values), and is spelled ``lastmile`` (the README says to activate the venv once);
- every inline ``lastmile ...`` span, synopsis notation and all (``[--config F]``,
  ``list|show``), names existing subcommands and only options they accept;
- every demo key shown is one the embedded config accepts.

A block may opt out of parsing only with ``<!-- not-parsed: why -->`` on the line before
it, for a deliberately partial snippet; keep those rare.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway import cli
from gateway.config import Config, default_config_text, load_config
from gateway.demo.session import DEMO_KEYS
from gateway.identity import hash_key

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)")
_NOT_PARSED = re.compile(r"^\s*<!--\s*not-parsed:\s*\S.*-->\s*$")
_SHELLS = {"sh", "bash", "console", "shell", "shell-session"}
_SECTIONS = set(Config.model_fields)
_INLINE = re.compile(r"`(lastmile [^`]+)`")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    info: str
    text: str
    exempt: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text("utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        before = next((line for line in reversed(lines[:index]) if line.strip()), "")
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index][indent:] if lines[index][:indent].isspace() else lines[index])
            index += 1
        start = index - len(body)
        yield Block(
            path,
            start,
            opening["info"].lower(),
            "\n".join(body) + "\n",
            bool(_NOT_PARSED.match(before)),
        )
        index += 1


BLOCKS = [block for path in DOCS for block in _blocks(path)]


def _cases(kinds: set[str]) -> list[Any]:
    return [pytest.param(b, id=b.where) for b in BLOCKS if b.info in kinds and not b.exempt]


def test_the_docs_have_examples_to_check() -> None:
    """Guards the extraction itself: if the fence parsing broke, every case would vanish."""
    assert len(_cases({"yaml", "yml"})) >= 4
    assert len(_cases({"json"})) >= 6
    assert len(_cases(_SHELLS)) >= 5
    assert sum(b.exempt for b in BLOCKS) <= 3, "not-parsed exemptions must stay rare"


@pytest.mark.parametrize("block", _cases({"json"}))
def test_json_examples_parse(block: Block) -> None:
    try:
        json.loads(block.text)
    except json.JSONDecodeError as exc:
        pytest.fail(f"{block.path.name}:{block.line + exc.lineno}: not JSON: {exc.msg}")


@pytest.mark.parametrize("block", _cases({"yaml", "yml"}))
def test_yaml_examples_parse_and_configs_pass_check_config(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        data = yaml.safe_load(block.text)
    except yaml.YAMLError as exc:
        pytest.fail(f"{block.where}: not YAML: {exc}")
    if not isinstance(data, dict) or not set(data) <= _SECTIONS:
        return  # YAML, but not gateway config
    if not {"backends", "agents"} & set(data):  # a fragment: try it in the embedded config
        data = {**yaml.safe_load(default_config_text()), **data}
    for name in _REFERENCE.findall(block.text):
        monkeypatch.setenv(name, _dummy(name))
    monkeypatch.chdir(tmp_path)  # whatever the config names relative (caches, stores) lands here
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    out, code = _run(["check-config", str(config)])
    assert code == 0, f"{block.where}: lastmile check-config fails:\n{out}"


def _dummy(variable: str) -> str:
    if variable.endswith("_WSDL"):
        return "package:sandbox/acme_finance.wsdl"
    if variable.endswith(("_URL", "_ENDPOINT")):
        return "http://127.0.0.1:9"
    return "dummy-" + variable.lower()


def _run(argv: list[str]) -> tuple[str, int]:
    """``lastmile argv`` in this process: what it printed, and its exit code."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return out.getvalue(), code


@dataclass(frozen=True)
class Command:
    where: str
    spelled: str  # how the program was named: lastmile, .venv/bin/lastmile, ...
    argv: list[str]


def _shell_commands(block: Block) -> Iterator[Command]:
    logical: list[tuple[int, str]] = []
    pending = ""
    for number, line in enumerate(block.text.splitlines(), start=block.line + 1):
        if block.info == "console":
            if not line.startswith("$ ") and not pending:
                continue  # output
            line = line.removeprefix("$ ")
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append((number, pending))
        pending = ""
    for number, line in logical:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        for position, token in enumerate(tokens):
            if Path(token).name != "lastmile":
                continue
            argv = []
            for word in tokens[position + 1 :]:
                if word and set(word) <= set("|&;<>()"):
                    break
                argv.append(word)
            yield Command(f"{block.path.relative_to(ROOT)}:{number}", token, argv)


COMMANDS = [c for b in BLOCKS if b.info in _SHELLS and not b.exempt for c in _shell_commands(b)]


def test_the_docs_show_commands_to_check() -> None:
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize("command", [pytest.param(c, id=c.where) for c in COMMANDS])
def test_shell_commands_parse_with_the_real_command_line(command: Command) -> None:
    assert command.spelled == "lastmile", (
        f"{command.where}: say `lastmile` (the README has readers activate .venv once), "
        f"not {command.spelled!r}"
    )
    code, errors = _parse(command.argv)
    assert code == 0, f"{command.where}: lastmile {shlex.join(command.argv)}: {errors}"


def _parse(argv: list[str]) -> tuple[int, str]:
    """Parse ``argv`` with the real parser: 0 and nothing, or argparse's exit code and
    complaint (``--version`` and ``--help`` exit 0 too)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            cli.parser().parse_args(argv)
        except SystemExit as exc:
            return (exc.code if isinstance(exc.code, int) else 1), err.getvalue()
    return 0, ""


@dataclass(frozen=True)
class Span:
    where: str
    text: str


def _spans(path: Path) -> Iterator[Span]:
    """Inline ``lastmile ...`` code spans outside fenced blocks (they may wrap lines)."""
    lines = path.read_text("utf-8").splitlines()
    for block in _blocks(path):
        last = min(block.line + block.text.count("\n"), len(lines) - 1)  # its closing fence
        for index in range(block.line - 1, last + 1):
            lines[index] = ""
    text = "\n".join(lines)
    for match in _INLINE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield Span(f"{path.relative_to(ROOT)}:{line}", " ".join(match[1].split()))


SPANS = [span for path in DOCS for span in _spans(path)]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def test_the_docs_mention_commands_inline() -> None:
    assert len(SPANS) >= 20


@pytest.mark.parametrize("span", [pytest.param(s, id=s.where) for s in SPANS])
def test_inline_commands_name_real_subcommands_and_options(span: Span) -> None:
    words = re.sub(r"[\[\]()]", " ", span.text.replace("\\|", "|")).split()[1:]
    parsers = [cli.parser()]
    while words and _subparsers(parsers[0]):
        choices = _subparsers(parsers[0])
        names = words[0].split("|")
        if not all(name in choices for name in names):
            if words[0].startswith("-"):
                break
            pytest.fail(f"{span.where}: `{span.text}`: no subcommand {words[0]!r}")
        parsers = [choices[name] for name in names]
        words = words[1:]
    wanted = {w.split("=")[0] for word in words for w in word.split("|") if w.startswith("-")}
    for parser in parsers:
        unknown = wanted - _options(parser) - {"-h", "--help"}
        assert not unknown, f"{span.where}: `{span.text}`: {parser.prog} has no {sorted(unknown)}"


def test_every_demo_key_the_docs_show_opens_the_embedded_config() -> None:
    """A key copied from the docs must work against ``lastmile serve``'s default config."""
    config = load_config()
    known = {a.key_sha256 for a in config.agents} | {s.key_sha256 for s in config.staff}
    shown = {
        (f"{path.relative_to(ROOT)}", key)
        for path in DOCS
        for key in re.findall(r"lm_demo_[a-z]+_[0-9a-f]{10}", path.read_text("utf-8"))
    }
    assert len({key for _, key in shown}) == len(DEMO_KEYS)  # the README lists them all
    for where, key in sorted(shown):
        assert key in DEMO_KEYS.values(), f"{where}: {key} is not a demo key"
        assert hash_key(key) in known, f"{where}: {key} is not in the embedded config"
