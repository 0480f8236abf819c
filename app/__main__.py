"""`python -m app` opens the window, like `hearth` with no arguments."""

import sys

from app.cli import main

sys.exit(main())
