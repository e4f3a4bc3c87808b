def main() -> int:
    return 0


def gui_main() -> int:
    return 0
