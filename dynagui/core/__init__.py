"""Qt-free core of DynaGUI: everything that can run without a display."""
