"""Only for the wheel: the shipped CSVs (data/ in the repository) go inside the package, so
that titanic_reg.datasets finds them wherever the wheel is installed. Everything else is in
pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithData(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "titanic_reg" / "data"
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted(Path(__file__).resolve().parent.joinpath("data").iterdir()):
            if source.suffix in (".csv", ".md"):
                shutil.copyfile(source, target / source.name)


setup(cmdclass={"build_py": BuildWithData})
