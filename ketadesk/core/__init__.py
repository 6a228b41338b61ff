"""Clinical logic: plain Python and numpy, never Qt (enforced by tests/test_architecture.py)."""
