"""guanxi.analytics is pure numpy/scipy/Polars: it imports nothing from Django or the other guanxi apps."""

import ast
import subprocess
import sys
import sys as _sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "guanxi" / "analytics"
ALLOWED_THIRD_PARTY = {"numpy", "scipy", "polars"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: stays inside the package
                names.add("guanxi.analytics")
            elif node.module:
                names.add(node.module)
    return names


def test_every_module_imports_only_stdlib_numpy_scipy_polars_and_itself():
    offenders = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        for name in _imported_modules(path):
            top = name.split(".")[0]
            if name == "guanxi.analytics" or name.startswith("guanxi.analytics."):
                continue
            if top in ALLOWED_THIRD_PARTY or top in _sys.stdlib_module_names or top == "__future__":
                continue
            offenders.append(f"{path.relative_to(PACKAGE.parent.parent)}: {name}")
    assert offenders == [], "guanxi.analytics must stay pure:\n" + "\n".join(offenders)


BLOCKER = r"""
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top == "django" or (name.startswith("guanxi.") and not name.startswith("guanxi.analytics")):
            raise ImportError(f"blocked import of {name}")
        return None

sys.meta_path.insert(0, Block())
import guanxi.analytics as analytics
import guanxi.analytics.fit_file, guanxi.analytics.insight, guanxi.analytics.kpis  # every submodule loads
from guanxi.analytics.fit_file import fit_file
result = fit_file(sys.argv[1], "cdnow-sample", "1997-09-30")
assert result["customers"] == 2357, result
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "django" or (m.startswith("guanxi.") and not m.startswith("guanxi.analytics")))
print("loaded:", loaded)
assert not loaded
print("ok", len(analytics.__all__))
"""


def test_package_imports_and_fits_with_django_unimportable():
    sample = PACKAGE.parent / "data" / "cdnow" / "CDNOW_sample.txt"
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER, str(sample)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PACKAGE.parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout
