"""The soak test of `masklet serve` (run.py)."""
