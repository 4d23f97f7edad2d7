"""The WMS sandbox's generated catalogue: off by default (the demo's data is unchanged),
deterministic when on, and each item has one plant that gives a clean 404."""

from __future__ import annotations

from pathlib import Path

from sandbox import acme_warehouse, warehouse_catalogue


def rows(db_path: Path, catalogue: int, table: str) -> list[tuple[str, ...]]:
    db = acme_warehouse.open_database(db_path, catalogue)
    try:
        return sorted(db.execute(f"SELECT * FROM {table}").fetchall())  # noqa: S608 - fixed names
    finally:
        db.close()


def test_without_a_catalogue_the_sandbox_holds_the_demo_stock_only(tmp_path: Path) -> None:
    stock = rows(tmp_path / "wms.sqlite", 0, "MARD")
    assert len(stock) == len(acme_warehouse.SEED_STOCK)
    assert all(not matnr.lstrip("0").startswith("5") for matnr, *_ in stock)


def test_the_catalogue_is_the_same_every_time_and_adds_to_the_demo(tmp_path: Path) -> None:
    first = rows(tmp_path / "a.sqlite", 30, "MARD")
    assert first == rows(tmp_path / "b.sqlite", 30, "MARD")
    assert len(first) == len(acme_warehouse.SEED_STOCK) + 2 * 30
    assert len(rows(tmp_path / "c.sqlite", 30, "MARA")) == 4 + 30  # the demo has 4 items


def test_every_item_is_stocked_in_two_plants_and_missing_in_the_third() -> None:
    for index in range(6):
        stocked = set(warehouse_catalogue.stocked_plants(index))
        assert len(stocked) == 2
        assert warehouse_catalogue.unstocked_plant(index) not in stocked
        assert stocked | {warehouse_catalogue.unstocked_plant(index)} == set(
            warehouse_catalogue.PLANTS
        )
