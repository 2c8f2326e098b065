"""Input mutation for the fuzzer: byte-level, and structure-aware for JSON documents."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable

# Values swapped into JSON documents: wrong types, extremes, empties, and shapes readers index.
ODD_VALUES: list[object] = [
    None, True, -1, 0, 1, 2**31, 2**63, -(2**63), 1e308, -1e-308, float("nan"), "", "x", "0", "\u00ff\u0000",
    [], [0], [1, 2], [[1, 2], [3]], [2**40, 2**40], {}, {"size": [2, 2]}, "~~~~", "0" * 300,
]


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One random byte-level change: flip, overwrite, insert, delete, truncate or repeat a span."""
    buffer = bytearray(data)
    choice = rng.randrange(6)
    position = rng.randrange(len(buffer) + 1)
    if choice == 0 and buffer:
        buffer[min(position, len(buffer) - 1)] ^= 1 << rng.randrange(8)
    elif choice == 1 and buffer:
        buffer[min(position, len(buffer) - 1)] = rng.choice([0, 0xFF, 0x7F, 0x80, ord("9"), ord("-"), ord('"')])
    elif choice == 2:
        buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    elif choice == 3:
        del buffer[position:position + rng.randint(1, 64)]
    elif choice == 4:
        del buffer[position:]
    else:
        span = bytes(buffer[position:position + rng.randint(1, 256)])
        buffer[position:position] = span * rng.randint(1, 4)
    return bytes(buffer)


def _nodes(document: object, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _nodes(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document[:50]):
            found += _nodes(value, (*path, index))
    return found


def mutate_json(document: object, rng: random.Random) -> object:
    """The document with one node replaced by an odd value, dropped, or duplicated."""
    path = rng.choice(_nodes(document))
    if not path:
        return copy.deepcopy(rng.choice(ODD_VALUES))
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    choice = rng.randrange(4)
    if choice == 0:
        parent[last] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif choice == 1:
        del parent[last]
    elif choice == 2 and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(parent[last]))
    elif isinstance(parent[last], (int, float)) and not isinstance(parent[last], bool):
        parent[last] = parent[last] * rng.choice([-1, 0, 2, 10**6]) + rng.choice([-1, 0, 1])
    else:
        parent[last] = copy.deepcopy(rng.choice(ODD_VALUES))
    return document


def mutate(data: bytes, rng: random.Random, byte_mutator: Callable[[bytes], bytes] | None = None) -> bytes:
    """A mutant of `data`: for a JSON document, half the time a structural change, else bytes."""
    if rng.random() < 0.5:
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            document = None
        if document is not None:
            for _ in range(rng.randint(1, 3)):
                document = mutate_json(document, rng)
            return json.dumps(document).encode()
    if byte_mutator is not None:
        return byte_mutator(data)
    for _ in range(rng.randint(1, 4)):
        data = mutate_bytes(data, rng)
    return data
