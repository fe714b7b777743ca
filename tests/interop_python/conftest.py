import sys
from pathlib import Path

# The test modules import their helpers (peers, specs) from this folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))
