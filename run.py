"""Set up and run Guanxi with the machine's python3 alone (standard library only).

    python3 run.py demo [guanxi demo options]   load the demo data, print a login, serve http://127.0.0.1:8000
    python3 run.py test [pytest options]        run the tests (Chromium and a CJK font are installed for them)

Both create .venv when it is missing and `pip install -e .[test]` into it whenever pyproject.toml changed since
the last install. The environment passes through (GUANXI_DATABASE_URL etc.); `test` gives the tests a fresh
temporary GUANXI_HOME unless one is set. Paths in the arguments are relative to this folder.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".guanxi-pyproject.sha256"
BROWSER_PACKAGES = ["chromium", "fonts-noto-cjk"]


def say(message: str) -> None:
    print(f"run.py: {message}", file=sys.stderr, flush=True)


def ensure_environment() -> None:
    """.venv with the project installed as of the current pyproject.toml."""
    if not (BIN / "python").exists() or not (BIN / "pip").exists():
        say("creating .venv")
        if subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)]).returncode != 0:
            sys.exit("run.py: could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    say("installing Guanxi and its dependencies into .venv (pip install -e .[test])")
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", ".[test]"]
    if subprocess.run(pip, cwd=ROOT).returncode != 0:
        sys.exit("run.py: pip install failed (see above)")
    STAMP.write_text(wanted + "\n")


def _installed(package: str) -> bool:
    query = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return "install ok installed" in query.stdout


def ensure_browser_packages() -> None:
    """Debian's chromium and a CJK font for the browser tests; without them those tests skip, saying why."""
    if not shutil.which("dpkg-query"):
        if not shutil.which("chromium"):
            say("WARNING: not a Debian system and no chromium on PATH; browser tests will be skipped")
        return
    missing = [p for p in BROWSER_PACKAGES if not _installed(p)]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"] if shutil.which("sudo") else None
    if sudo is None or not shutil.which("apt-get"):
        say(f"WARNING: cannot install {' '.join(missing)} (need root or sudo, and apt-get); "
            "browser tests will be skipped")
        return
    say(f"installing {' '.join(missing)} with apt-get")
    apt = [*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    if subprocess.run([*apt, "install", "-y", *missing]).returncode != 0:
        # A stale package list is the usual reason; refresh it once.
        subprocess.run([*apt, "update"])
        if subprocess.run([*apt, "install", "-y", *missing]).returncode != 0:
            say(f"WARNING: apt-get could not install {' '.join(missing)}; browser tests will be skipped")


def main(argv: list[str]) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"run.py: Guanxi needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not argv or argv[0] not in ("demo", "test"):
        print("usage: python3 run.py demo [guanxi demo options] | test [pytest options]", file=sys.stderr)
        sys.exit(2)
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    ensure_environment()
    if command == "demo":
        os.execv(BIN / "guanxi", ["guanxi", "demo", *rest])
    ensure_browser_packages()
    os.environ.setdefault("GUANXI_HOME", tempfile.mkdtemp(prefix="guanxi-test-"))
    os.execv(BIN / "pytest", ["pytest", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
