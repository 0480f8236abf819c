"""Stream a sample reply into a StreamingMarkdownView and save a PNG of it, to eyeball the look.

Usage: QT_QPA_PLATFORM=offscreen python tools/screenshot_markdown.py [out.png] [--dark]
       [--partial N]  (N characters only, to see the open tail while it streams)
(Japanese needs a CJK font, e.g. fonts-ipafont-gothic on Debian/Ubuntu.)
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.markdown_view import StreamingMarkdownView

SAMPLE = """\
# Reading a CSV file in Python

Python's standard library has a **`csv`** module, so you need *no* extra package.
See the [csv documentation](https://docs.python.org/3/library/csv.html) for every option.

## Steps

1. Open the file with `newline=""`.
2. Wrap it in a `csv.DictReader`.
3. Iterate over the rows:
   - each row is a `dict`
   - keys come from the header line

| Column | Type | Example |
|:-------|:----:|--------:|
| name | `str` | Alice |
| age | `int` | 42 |
| score | `float` | 3.14 |

```python
import csv
from pathlib import Path


def read_rows(path: Path) -> list[dict[str, str]]:
    \"\"\"Return every row of a CSV file as a dict.\"\"\"
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))  # header -> keys
```

> Tip: for large files, iterate instead of building a list.

日本語のテキストも正しく表示されます。CSV ファイルを読み込む例です。

---

Raw HTML from the model stays text: <b>not bold</b> <script>alert(1)</script>
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", default="screenshots/tmp/markdown.png")
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--width", type=int, default=700)
    parser.add_argument(
        "--partial", type=int, metavar="N", help="stop after N characters, mid-stream"
    )
    args = parser.parse_args()

    app = QApplication(sys.argv)
    app.setStyle("Fusion")
    if args.dark:
        palette = QPalette()
        for role, color in (
            (QPalette.ColorRole.Window, "#1e2228"),
            (QPalette.ColorRole.Base, "#1e2228"),
            (QPalette.ColorRole.Text, "#e6e6e6"),
            (QPalette.ColorRole.WindowText, "#e6e6e6"),
        ):
            palette.setColor(role, QColor(color))
        app.setPalette(palette)

    view = StreamingMarkdownView(dark=args.dark)
    view.setBackgroundRole(QPalette.ColorRole.Base)  # like a message bubble
    view.setAutoFillBackground(True)
    view.resize(args.width, 100)
    view.show()
    rng = random.Random(0)
    text = SAMPLE[: args.partial] if args.partial is not None else SAMPLE
    pos = 0
    while pos < len(text):
        size = rng.randint(1, 8)
        view.append(text[pos : pos + size])
        pos += size
        app.processEvents()
    if args.partial is None:
        view.finish()
    view.resize(args.width, view.heightForWidth(args.width))
    app.processEvents()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not view.grab().save(str(out)):
        print(f"could not write {out}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
