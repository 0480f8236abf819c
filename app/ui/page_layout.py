"""The layout the Models and Settings pages share: a scrolling, centred column of cards."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget


def centred_column(name: str, max_width: int) -> tuple[QScrollArea, QVBoxLayout]:
    """A scroll area (`<name>Scroll`) whose content (`<name>Content`) holds one column at most
    `max_width` wide, centred; returns the area and the column to fill."""
    scroll = QScrollArea()
    scroll.setObjectName(f"{name}Scroll")
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    content = QWidget()
    content.setObjectName(f"{name}Content")
    centre = QHBoxLayout(content)
    centre.setContentsMargins(24, 16, 24, 24)
    column_widget = QWidget()
    column_widget.setMaximumWidth(max_width)
    column = QVBoxLayout(column_widget)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(14)
    centre.addStretch(1)
    centre.addWidget(column_widget, 100)
    centre.addStretch(1)
    scroll.setWidget(content)
    return scroll, column


def section_card(name: str) -> tuple[QFrame, QVBoxLayout, QLabel]:
    """A card (`<name>Section`) with a title label (`sectionTitle`) at the top of its layout."""
    frame = QFrame()
    frame.setObjectName(f"{name}Section")
    frame.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
    box = QVBoxLayout(frame)
    box.setContentsMargins(18, 14, 18, 16)
    box.setSpacing(10)
    title = QLabel()
    title.setObjectName("sectionTitle")
    return frame, box, title
