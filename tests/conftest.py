import os

import pytest


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(items):
    """A test that starts LibreOffice or Gnumeric is slow: each recalculation takes seconds,
    so the fast tier (`-m "not slow"`) leaves out every one marked `libreoffice` or taking
    the `soffice` fixture, without a second mark to keep beside the first."""
    for item in items:
        if item.get_closest_marker("libreoffice") or "soffice" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture
def worker_in_process(monkeypatch):
    """The command's background process never starts: its Worker takes the way it takes when the
    process cannot start, computing the rules and loss.png in this process (the same numbers and
    warnings: test_model.py checks both ways). Starting that process, which imports scikit-learn
    and matplotlib, takes seconds per run; for tests whose subject is the input, not the process."""
    from titanic_reg import background

    class InProcess(background.Worker):
        def __init__(self):
            super().__init__(start=False)

    monkeypatch.setattr(background, "Worker", InProcess)


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


# --------------------------------------------------------------------------- which modules a test runs
# TITANIC_REG_TRACE=FILE: record, per test, the project's modules whose functions it called (an
# import alone runs only module-level code, which does not count), and write them to FILE as JSON.
# It shows that a tier of tests (`-m "not slow"`) exercises every module; coverage.py is not a
# dependency. Code run in a subprocess (the command as a process, a notebook kernel) is not seen.

_TRACE = os.environ.get("TITANIC_REG_TRACE")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PROJECT = (os.path.join(_ROOT, "titanic_reg") + os.sep, os.path.join(_ROOT, "sheets") + os.sep)
_ran: dict[str, list[str]] = {}


def _module_of(filename: str) -> str:
    return os.path.relpath(filename, _ROOT).removesuffix(".py").replace(os.sep, ".")


if _TRACE:
    import json
    import sys
    import threading

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        seen = set()

        def profile(frame, event, arg):
            if event == "call":
                code = frame.f_code
                if code.co_name != "<module>" and code.co_filename.startswith(_PROJECT):
                    seen.add(code.co_filename)

        sys.setprofile(profile)
        threading.setprofile(profile)
        try:
            yield
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
        for filename in seen:
            _ran.setdefault(_module_of(filename), []).append(item.nodeid)

    def pytest_sessionfinish(session):
        with open(_TRACE, "w", encoding="utf-8") as fh:
            json.dump(dict(sorted(_ran.items())), fh, indent=1)
