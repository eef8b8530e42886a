"""Entry point placeholder for `pcclip-tui` (the TUI's owner replaces this file)."""


def main() -> None:
    from pcclip_tui.app import run

    run()


if __name__ == "__main__":
    main()
