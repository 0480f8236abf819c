"""Hearth: an offline desktop app for chatting with open-weight language models."""

__version__ = "0.1.0"
