"""Light and dark themes, following the system on request, and the app-wide font size.

A theme is three things applied to the QApplication in place: a palette (so the standard
widgets, dialogs and scroll bars match), a stylesheet from the resources folder
(`style.qss` or `style-dark.qss`, which style the same object names), and the application font.
Nothing is rebuilt: Qt re-polishes the existing widgets, so a conversation being read or typed,
scroll positions and open menus survive a switch.

The stylesheets give sizes in px for a base font of `BASE_FONT_SIZE` pt; `stylesheet()` scales
every `font-size: Npx` by the chosen size, so the whole window grows with the setting, not only
the widgets that take the application font.

The Markdown views draw code and tables with their own colours, not the palette: whoever shows
them listens to `ThemeManager.theme_changed` and calls `StreamingMarkdownView.set_dark`
(`set_dark_on_views` does it for every view under a widget).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.markdown_view import StreamingMarkdownView

log = logging.getLogger(__name__)

LIGHT_STYLE = "style.qss"
DARK_STYLE = "style-dark.qss"
BASE_FONT_SIZE = 11
"""The font size (pt) the stylesheets' px sizes are written for: the setting's default."""

_FONT_SIZE_PX = re.compile(r"(font-size\s*:\s*)(\d+(?:\.\d+)?)px")

# Stone greys with the orange accent of the stylesheets. Explicit for light too: on a dark
# desktop the platform palette would otherwise leave "light" half dark.
_LIGHT_COLOURS = {
    QPalette.ColorRole.Window: "#fafaf9",
    QPalette.ColorRole.WindowText: "#1c1917",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f5f5f4",
    QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1c1917",
    QPalette.ColorRole.PlaceholderText: "#a8a29e",
    QPalette.ColorRole.Text: "#1c1917",
    QPalette.ColorRole.Button: "#f5f5f4",
    QPalette.ColorRole.ButtonText: "#1c1917",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Light: "#ffffff",
    QPalette.ColorRole.Midlight: "#e7e5e4",
    QPalette.ColorRole.Mid: "#d6d3d1",
    QPalette.ColorRole.Dark: "#a8a29e",
    QPalette.ColorRole.Shadow: "#78716c",
    QPalette.ColorRole.Highlight: "#ea580c",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#c2410c",
    QPalette.ColorRole.LinkVisited: "#9a3412",
}
_LIGHT_DISABLED = "#a8a29e"

_DARK_COLOURS = {
    QPalette.ColorRole.Window: "#1c1917",
    QPalette.ColorRole.WindowText: "#e7e5e4",
    QPalette.ColorRole.Base: "#332e2b",
    QPalette.ColorRole.AlternateBase: "#2b2624",
    QPalette.ColorRole.ToolTipBase: "#292524",
    QPalette.ColorRole.ToolTipText: "#e7e5e4",
    QPalette.ColorRole.PlaceholderText: "#78716c",
    QPalette.ColorRole.Text: "#e7e5e4",
    QPalette.ColorRole.Button: "#3a3532",
    QPalette.ColorRole.ButtonText: "#e7e5e4",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Light: "#44403c",
    QPalette.ColorRole.Midlight: "#3a3633",
    QPalette.ColorRole.Mid: "#292524",
    QPalette.ColorRole.Dark: "#0c0a09",
    QPalette.ColorRole.Shadow: "#000000",
    QPalette.ColorRole.Highlight: "#ea580c",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#fb923c",
    QPalette.ColorRole.LinkVisited: "#fdba74",
}
_DARK_DISABLED = "#78716c"


def palette(dark: bool) -> QPalette:
    """The light or dark palette."""
    colours, disabled = (_DARK_COLOURS, _DARK_DISABLED) if dark else (
        _LIGHT_COLOURS, _LIGHT_DISABLED)
    pal = QPalette()
    for role, colour in colours.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    return pal


def stylesheet(styles_dir: Path, dark: bool, font_size: int = BASE_FONT_SIZE) -> str:
    """The theme's stylesheet with its font sizes scaled to `font_size` pt ("" if missing)."""
    path = styles_dir / (DARK_STYLE if dark else LIGHT_STYLE)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        # A damaged install still opens, in Qt's plain look.
        log.warning("stylesheet %s not loaded: %s", path, exc)
        return ""
    if font_size == BASE_FONT_SIZE:
        return text
    scale = font_size / BASE_FONT_SIZE

    def scaled(match: re.Match[str]) -> str:
        return f"{match.group(1)}{max(1, round(float(match.group(2)) * scale))}px"

    return _FONT_SIZE_PX.sub(scaled, text)


def system_is_dark() -> bool:
    """Whether the desktop asks for a dark look (False where the platform does not say)."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def set_dark_on_views(root: QWidget, dark: bool) -> None:
    """Switch every Markdown view under `root` to the dark or light colours."""
    for view in root.findChildren(StreamingMarkdownView):
        view.set_dark(dark)


def apply_theme(app: QApplication, styles_dir: Path, dark: bool,
                font_size: int = BASE_FONT_SIZE) -> None:
    """Give `app` the light or dark palette and stylesheet and the font size, in place."""
    app.setPalette(palette(dark))
    font = app.font()
    font.setPointSize(font_size)
    app.setFont(font)
    app.setStyleSheet(stylesheet(styles_dir, dark, font_size))


class ThemeManager(QObject):
    """Applies the theme setting to the application and follows the system when asked to.

    Signals:
        theme_changed(bool): the window turned dark (True) or light; Markdown views need
            `set_dark` then
    """

    theme_changed = Signal(bool)

    def __init__(self, app: QApplication, styles_dir: Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._styles_dir = styles_dir
        self._theme = "system"
        self._font_size = BASE_FONT_SIZE
        self._dark: bool | None = None  # None until the first apply
        self._native_style = app.style().name()
        QGuiApplication.styleHints().colorSchemeChanged.connect(
            self._on_style_hints_color_scheme_changed)

    @property
    def is_dark(self) -> bool:
        """Whether the dark theme is in effect."""
        return bool(self._dark)

    @property
    def theme(self) -> str:
        """The setting: light, dark or system."""
        return self._theme

    def apply(self, theme: str, font_size: int = BASE_FONT_SIZE) -> None:
        """Apply a theme setting ("light", "dark", "system") and font size (pt)."""
        if theme not in ("light", "dark", "system"):
            raise ValueError(f"unknown theme {theme!r}")
        self._theme, self._font_size = theme, font_size
        self._refresh()

    def _refresh(self) -> None:
        dark = system_is_dark() if self._theme == "system" else self._theme == "dark"
        # The classic Windows style draws its controls from system bitmaps and ignores a dark
        # palette; Fusion honours it (Anki does the same).
        if dark and self._native_style.lower() == "windowsvista":
            self._app.setStyle("Fusion")
        elif not dark and self._app.style().name() != self._native_style:
            self._app.setStyle(self._native_style)
        apply_theme(self._app, self._styles_dir, dark, self._font_size)
        changed = dark != self._dark
        self._dark = dark
        log.info("theme %s (%s), font %d pt", self._theme, "dark" if dark else "light",
                 self._font_size)
        if changed:
            self.theme_changed.emit(dark)

    @Slot(Qt.ColorScheme)
    def _on_style_hints_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._theme == "system" and self._dark is not None \
                and system_is_dark() != self._dark:
            self._refresh()
