import os

import pytest


def _soffice_or_fail():
    from titanic_reg.sheets.recalc import find_soffice

    if find_soffice() is None:
        if os.environ.get("TITANIC_REG_SKIP_LIBREOFFICE") == "1":
            pytest.skip("LibreOffice not installed (TITANIC_REG_SKIP_LIBREOFFICE=1)")
        pytest.fail("LibreOffice is needed: apt-get install -y --no-install-recommends libreoffice-calc")


@pytest.fixture
def soffice():
    _soffice_or_fail()


def engine_or_fail(engine: str) -> None:
    """The spreadsheet engine is installed (scripts/test.sh installs both), or the test fails."""
    if engine == "libreoffice":
        _soffice_or_fail()
        return
    from titanic_reg.sheets.recalc import find_ssconvert

    if find_ssconvert() is None:
        if os.environ.get("TITANIC_REG_SKIP_LIBREOFFICE") == "1":
            pytest.skip("Gnumeric not installed (TITANIC_REG_SKIP_LIBREOFFICE=1)")
        pytest.fail("Gnumeric is needed: apt-get install -y --no-install-recommends gnumeric")


@pytest.fixture(scope="session")
def lesson_fit():
    """The lesson's setting: every complete row trains, no validation."""
    import titanic_reg

    return titanic_reg.fit("data/train.csv", missing="drop", valid_pct=0)


@pytest.fixture(scope="session")
def default_fit():
    import titanic_reg

    return titanic_reg.fit("data/train.csv")


@pytest.fixture(scope="session")
def fill_fit():
    import titanic_reg

    return titanic_reg.fit("data/train.csv", missing="fill")
