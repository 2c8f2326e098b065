"""The API's routes, one module per resource; `deps.py` holds what they share."""
