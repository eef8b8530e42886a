"""pcclip: reproduce PC-CLIP and run the ablations the paper never ran."""

__version__ = "0.1.0"
