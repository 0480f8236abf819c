"""The interface language: Hearth's own translations and Qt's, switched while the app runs.

The source strings are English; `resources/translations/hearth_ja.ts` holds the Japanese ones
(edited with `pyside6-linguist` or by hand) and `hearth_ja.qm` is its compiled form, loaded at
run time. After adding or changing a `self.tr()` string, from the repository root:

    .venv/bin/pyside6-lupdate app/ui/*.py app/workers/*.py -locations relative -no-obsolete \\
        -ts resources/translations/hearth_ja.ts
    (translate the entries lupdate marked unfinished)
    .venv/bin/pyside6-lrelease resources/translations/hearth_ja.ts \\
        -qm resources/translations/hearth_ja.qm

`tests/ui/test_i18n.py` fails while an entry is untranslated or the .qm is older than the .ts.

`LanguageManager.apply` swaps the installed translators. Installing or removing one makes Qt send
`QEvent.LanguageChange` to every widget; a widget whose texts are set once at construction
re-sets them in `changeEvent` (the panes' `retranslate()`), so switching loses no state.

Labels of setting choices shown in more than one place (the header's provider menu and the
settings pane) are marked here with `QT_TRANSLATE_NOOP` and translated by `choice_text`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QEvent,
    QLibraryInfo,
    QLocale,
    QObject,
    QTranslator,
    Signal,
)
from PySide6.QtGui import QGuiApplication

log = logging.getLogger(__name__)


class Retranslating:
    """Mixed into a widget (before its Qt base) that sets its texts in `retranslate()`: it calls
    that again when the language changes (Qt sends every widget a LanguageChange event)."""

    def retranslate(self) -> None:
        """Set the widget's texts in the current language."""
        raise NotImplementedError

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)  # type: ignore[misc]

LANGUAGES = ("en", "ja")
"""Interface languages: English (the source strings) and Japanese."""
CATALOG = "hearth"
"""Translation files are `<CATALOG>_<language>.qm`."""
QT_CATALOG = "qtbase"
"""Qt's own strings (standard buttons and dialogs), shipped with PySide6."""

CHOICES_CONTEXT = "Choices"
PROVIDER_LABELS = {
    "auto": QT_TRANSLATE_NOOP("Choices", "Auto (GPU if available)"),
    "cpu": QT_TRANSLATE_NOOP("Choices", "CPU"),
    "cuda": QT_TRANSLATE_NOOP("Choices", "CUDA (NVIDIA)"),
    "dml": QT_TRANSLATE_NOOP("Choices", "DirectML (Windows GPU)"),
}
"""Where a model runs (the `model.provider` setting), as the menus name it."""
EFFORT_LABELS = {
    "low": QT_TRANSLATE_NOOP("Choices", "Low"),
    "medium": QT_TRANSLATE_NOOP("Choices", "Medium"),
    "high": QT_TRANSLATE_NOOP("Choices", "High"),
}
"""gpt-oss reasoning efforts."""

UI_FONTS = {
    "ja": ("Yu Gothic UI", "Meiryo UI", "Hiragino Sans", "Hiragino Kaku Gothic ProN",
           "Noto Sans CJK JP", "Noto Sans JP", "IPAPGothic", "IPAGothic"),
}
"""Fonts made for the language's interface text, first found wins. Left to fallback, Japanese
comes from whichever CJK font Qt finds beside a Latin UI font: mismatched glyph sizes, and no
bold where that font has none (Qt synthesises bold only for the font it was asked for)."""


def choice_text(label: object) -> str:
    """A label from the tables above in the current language."""
    return QCoreApplication.translate(CHOICES_CONTEXT, str(label))


def resolve_language(setting: str, system: QLocale | None = None) -> str:
    """The language to show for the `appearance.language` setting ("system", "en", "ja").

    "system" takes the first of the system's preferred UI languages that Hearth speaks, and
    English when there is none.
    """
    if setting in LANGUAGES:
        return setting
    locale = system if system is not None else QLocale.system()
    for tag in locale.uiLanguages():
        code = tag.replace("_", "-").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def qt_translations_dir() -> Path:
    """Where Qt's own .qm files are (inside the PySide6 package, also when frozen)."""
    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))


class LanguageManager(QObject):
    """Installs the translators for the language setting, replacing the previous ones.

    Signals:
        language_changed(str): the interface language now shown ("en", "ja")
    """

    language_changed = Signal(str)

    def __init__(self, translations_dir: Path, qt_dir: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dir = translations_dir
        self._qt_dir = qt_dir if qt_dir is not None else qt_translations_dir()
        self._installed: list[QTranslator] = []
        self._language = "en"
        self._default_families = QGuiApplication.font().families()

    @property
    def language(self) -> str:
        """The interface language in effect."""
        return self._language

    def apply(self, setting: str) -> str:
        """Show the interface in the language `setting` asks for; returns that language.

        A missing or damaged translation file leaves the interface in English (logged).
        """
        language = resolve_language(setting)
        if language == self._language and (self._installed or language == "en"):
            return language
        for translator in self._installed:
            QCoreApplication.removeTranslator(translator)
            translator.deleteLater()
        self._installed = []
        if language != "en":
            hearth = QTranslator(self)
            if hearth.load(f"{CATALOG}_{language}", str(self._dir)):
                # Qt's first, so Hearth's (installed last, searched first) win any clash.
                qt = QTranslator(self)
                if qt.load(f"{QT_CATALOG}_{language}", str(self._qt_dir)):
                    self._install(qt)
                else:
                    log.warning("Qt's %s translation is missing from %s", language, self._qt_dir)
                self._install(hearth)
            else:
                log.warning("no %s translation %s_%s.qm in %s; showing English", language,
                            CATALOG, language, self._dir)
                language = "en"
        self._language = language
        font = QGuiApplication.font()
        font.setFamilies([*UI_FONTS.get(language, ()), *self._default_families])
        QGuiApplication.setFont(font)
        log.info("interface language: %s (setting %s)", language, setting)
        self.language_changed.emit(language)
        return language

    def _install(self, translator: QTranslator) -> None:
        QCoreApplication.installTranslator(translator)
        self._installed.append(translator)
