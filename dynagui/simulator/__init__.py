"""A stand-in for LS-DYNA: same printed formats, honours d3kil, scripted failures.

It imports nothing from dynagui.core on purpose: it plays an external program, so
a format mistake shared with the parser could not hide behind common code.
"""
