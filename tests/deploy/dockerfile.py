"""Just enough of a Dockerfile reader to ask what an image target is made of, since no
Docker engine runs here: stages, their bases, and what each copies from where."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Copy:
    sources: list[str]
    destination: str
    from_stage: str | None  # COPY --from=STAGE; None: the build context


@dataclass
class Stage:
    name: str
    base: str
    copies: list[Copy] = field(default_factory=list)
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, rest)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    logical, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    pairs = []
    for line in logical:
        word, _, rest = line.partition(" ")
        pairs.append((word.upper(), rest.strip()))
    return pairs


def stages(path: Path) -> dict[str, Stage]:
    """The stages by name (unnamed ones by their index), in file order."""
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for word, rest in instructions(path.read_text()):
        if word == "FROM":
            match = re.fullmatch(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            assert match, f"cannot read FROM {rest!r}"
            current = Stage(name=match.group(2) or str(len(found)), base=match.group(1))
            found[current.name] = current
            continue
        assert current is not None, f"{word} before FROM"
        current.instructions.append((word, rest))
        if word in ("COPY", "ADD"):
            words = shlex.split(rest)
            options = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            source = next((o.split("=", 1)[1] for o in options if o.startswith("--from=")), None)
            current.copies.append(Copy(paths[:-1], paths[-1], source))
    return found


def lineage(all_stages: dict[str, Stage], target: str) -> list[Stage]:
    """``target`` and every stage it is built on or copies from, transitively."""
    seen: dict[str, Stage] = {}
    todo = [target]
    while todo:
        name = todo.pop()
        if name in seen or name not in all_stages:
            continue  # an image from a registry, not a stage of this file
        stage = seen[name] = all_stages[name]
        todo.append(stage.base)
        todo.extend(c.from_stage for c in stage.copies if c.from_stage is not None)
    return list(seen.values())


def context_sources(all_stages: dict[str, Stage], target: str) -> list[str]:
    """Every path of the build context that building ``target`` copies."""
    return [
        source
        for stage in lineage(all_stages, target)
        for copy in stage.copies
        if copy.from_stage is None
        for source in copy.sources
    ]
