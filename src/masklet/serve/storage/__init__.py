"""What the annotation server keeps: SQLite (WAL) by default, or any SQLAlchemy URL (PostgreSQL).

`database.py` opens the engine and runs the migrations (`migrations.py`) up to the schema of
`schema.py`; `records.py` holds the typed rows; `catalog.py` the projects, media and objects;
`history.py` the prompts and propagations of each video (the log a session is rebuilt from,
with undo and redo); `masklets.py` the masks those steps produced.
"""

from masklet.serve.storage.catalog import Catalog
from masklet.serve.storage.database import open_database
from masklet.serve.storage.history import History
from masklet.serve.storage.masklets import Masklets

__all__ = ["Catalog", "History", "Masklets", "open_database"]
