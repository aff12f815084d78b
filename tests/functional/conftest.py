"""Puts this folder on ``sys.path`` so that each section's tests can ``from _cases import ...`` (the test
files are not a package: ``--import-mode=importlib``)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
