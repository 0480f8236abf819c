"""Render resources/icons/hearth.svg to hearth.png (256 px) and a multi-size hearth.ico.

    .venv/bin/python packaging/make_icon.py

The .ico holds 16, 24, 32, 48 and 64 px as 32-bit bitmaps and 256 px as PNG, the sizes Inno
Setup's SetupIconFile documentation recommends and the layout Windows expects. Uses QtSvg, so it
runs in the dev environment; the outputs are committed, and builds only read them.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
BITMAP_SIZES = (16, 24, 32, 48, 64)
PNG_SIZE = 256


def render(renderer: QSvgRenderer, size: int) -> QImage:
    """The icon at `size` px, straight (not premultiplied) ARGB."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(image: QImage) -> bytes:
    """The image encoded as PNG."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def dib_bytes(image: QImage) -> bytes:
    """An icon bitmap: BITMAPINFOHEADER (height doubled for the mask), BGRA rows bottom-up, then
    the 1-bit AND mask (set where fully transparent, for renderers that ignore alpha)."""
    size = image.width()
    rows = [bytes(image.constScanLine(y))[:size * 4] for y in range(size)]  # BGRA in memory
    mask_stride = (size + 31) // 32 * 4
    mask_rows = []
    for row in rows:
        bits = bytearray(mask_stride)
        for x in range(size):
            if row[x * 4 + 3] == 0:
                bits[x // 8] |= 0x80 >> (x % 8)
        mask_rows.append(bytes(bits))
    pixels = b"".join(reversed(rows)) + b"".join(reversed(mask_rows))
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, len(pixels), 0, 0, 0, 0)
    return header + pixels


def ico_bytes(entries: list[tuple[int, bytes]]) -> bytes:
    """An ICONDIR with one ICONDIRENTRY per (size, image data)."""
    offset = 6 + 16 * len(entries)
    directory = struct.pack("<HHH", 0, 1, len(entries))
    for size, data in entries:
        directory += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data),
                                 offset)
        offset += len(data)
    return directory + b"".join(data for _, data in entries)


def main() -> None:
    """Write hearth.png and hearth.ico beside hearth.svg."""
    app = QGuiApplication([])
    renderer = QSvgRenderer(str(ICONS / "hearth.svg"))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {ICONS / 'hearth.svg'}")
    big = png_bytes(render(renderer, PNG_SIZE))
    (ICONS / "hearth.png").write_bytes(big)
    entries = [(size, dib_bytes(render(renderer, size))) for size in BITMAP_SIZES]
    (ICONS / "hearth.ico").write_bytes(ico_bytes([*entries, (PNG_SIZE, big)]))
    del app
    sys.stdout.write(f"wrote {ICONS / 'hearth.png'} and {ICONS / 'hearth.ico'}\n")


if __name__ == "__main__":
    main()
