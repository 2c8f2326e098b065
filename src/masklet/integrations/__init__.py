"""Glue between Masklet and the tools people already use; each module imports its tool only
when used (optional extras: `pip install 'masklet[supervision]'`, ...)."""
