"""DynaGUI: launch and watch LS-DYNA jobs without ever losing a solver."""

__version__ = "0.1.0"
