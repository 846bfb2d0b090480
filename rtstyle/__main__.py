"""``python -m rtstyle`` runs the command line."""
from rtstyle.cli import main

main()
