"""The frozen app's entry point: both executables run `hearth` (app.cli.main).

`Hearth` (windowed on Windows) opens the window; `hearth-cli` (a console program) runs the
subcommands, e.g. `hearth-cli selftest --json`: a windowed Windows program has no stdout.
"""

import sys

from app.cli import main

sys.exit(main())
