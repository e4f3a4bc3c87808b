"""The PySide6 desktop application: a thin adapter over dynagui.core."""
