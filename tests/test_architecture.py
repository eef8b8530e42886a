"""Architecture rules, checked in fresh interpreters via sys.modules."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys, runpy
{body}
print("MODULES=" + json.dumps(sorted(m.split('.')[0] for m in sys.modules)))
"""


def _modules_after(body: str, *args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(body=body), *args], capture_output=True, text=True, timeout=120
    )
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("MODULES=")]
    assert line, out.stderr
    return set(json.loads(line[-1][len("MODULES="):]))


def test_library_never_imports_textual() -> None:
    import pkgutil

    import pcclip

    names = [m.name for m in pkgutil.walk_packages(pcclip.__path__, "pcclip.") if not m.name.endswith("__main__")]
    body = "import importlib\nfor n in %r:\n    importlib.import_module(n)" % names
    mods = _modules_after(body)
    assert "textual" not in mods


def test_cli_help_does_not_import_torch() -> None:
    body = (
        "import sys\nsys.argv=['pcclip','--help']\nfrom pcclip.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    mods = _modules_after(body)
    assert "torch" not in mods and "textual" not in mods and "open_clip" not in mods


def test_every_command_help_does_not_import_torch() -> None:
    from typer.main import get_command

    from pcclip.cli import app

    root = get_command(app)
    paths = []
    for name, cmd in root.commands.items():
        paths.append([name])
        for sub in getattr(cmd, "commands", {}):
            paths.append([name, sub])
    for path in paths:
        body = (
            "import sys\nsys.argv=['pcclip', *%r, '--help']\nfrom pcclip.cli import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass" % (path,)
        )
        mods = _modules_after(body)
        assert "torch" not in mods, path


def test_tui_start_does_not_import_torch() -> None:
    body = "import pcclip_tui.app"
    mods = _modules_after(body)
    assert "torch" not in mods and "open_clip" not in mods
