"""Training, export and evaluation tools for rtstyle (need the ``[train]`` extra: torch)."""
