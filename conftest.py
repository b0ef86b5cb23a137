"""Repository-wide pytest options: ``--slow`` runs the tests that build large presets."""

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="also run tests marked slow (large presets, minutes each)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: builds a large preset; run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _worldflux_records_reach_caplog():
    """A CLI call in this process (CliRunner) detaches the worldflux logger from the root, where caplog listens."""
    import logging

    yield
    logging.getLogger("worldflux").propagate = True
