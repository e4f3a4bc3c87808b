"""DynaGUI's benchmarks: each figure of the budgets in DESIGN.md beside a baseline measured in the same run.

    python -m benchmarks [--quick] [--out FILE] [--only NAME ...]
"""
