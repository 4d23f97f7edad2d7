"""A generated item catalogue for the ACME WMS sandbox, so a benchmark can read many items.

The demo's five stock rows are too few for a realistic workload: one identical read lets
caches and coalescing flatter the gateway. ``acme_warehouse --catalogue N`` adds ``N``
generated items (material numbers from ``FIRST_MATERIAL`` on, far from the demo's), each
stocked in two of the three plants, so that every item also has one plant where a stock
read gets the sandbox's clean 404. The catalogue is a pure function of ``N``: the benchmark
picks its inputs from the same functions the sandbox seeds from. Off by default, so the demo
is unchanged.
"""

from __future__ import annotations

FIRST_MATERIAL = 500000
PLANTS = ("1000", "2000", "3000")
UNITS = ("ST", "KG", "L", "M", "RL")


def material(index: int) -> str:
    """The material number of the ``index``-th generated item (unpadded, as agents send it)."""
    return str(FIRST_MATERIAL + index)


def stocked_plants(index: int) -> tuple[str, str]:
    """The two plants that hold stock of the ``index``-th item."""
    return PLANTS[index % 3], PLANTS[(index + 1) % 3]


def unstocked_plant(index: int) -> str:
    """The plant where the ``index``-th item is not maintained: its stock read is a 404."""
    return PLANTS[(index + 2) % 3]


def items(count: int) -> list[tuple[str, str, str, str, str]]:
    """MARA rows (MATNR padded to 18 digits, MAKTX, MEINS, BRGEW, EKMAIL)."""
    return [
        (
            material(i).zfill(18),
            f"Generated part {i:06d}",
            UNITS[i % len(UNITS)],
            f"{(i % 997) / 100:.3f}" if i % 4 else "",
            f"buyer{i % 40:02d}@acme.example" if i % 2 else "",
        )
        for i in range(count)
    ]


def stock(count: int) -> list[tuple[str, str, str, str, str]]:
    """MARD rows (MATNR, WERKS, LGORT, LABST padded to 12, LAEDA) for two plants per item."""
    return [
        (
            material(i).zfill(18),
            plant,
            f"{1 + i % 4:04d}",
            f"{(i * 37) % 5000 + 100}.000".zfill(12),
            "20261101",
        )
        for i in range(count)
        for plant in stocked_plants(i)
    ]
