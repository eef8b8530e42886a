"""pcclip-tui: the Textual experiment manager (talks to pcclip.store and pcclip.jobs only)."""
