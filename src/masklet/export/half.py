"""float16 weights for an exported graph: every float32 initializer of at least
MIN_ELEMENTS values is stored as float16 and cast back to float32 when the graph runs, so
files are half the size and the arithmetic stays float32."""

from __future__ import annotations

import numpy as np

MIN_ELEMENTS = 16


def halve_weights(proto):
    """An onnx ModelProto -> the same graph with float16-stored weights (in place)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    casts, kept = [], []
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or array.size < MIN_ELEMENTS:
            kept.append(init)
            continue
        stored = numpy_helper.from_array(array.astype(np.float16), f"{init.name}__float16")
        kept.append(stored)
        casts.append(helper.make_node("Cast", [stored.name], [init.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # Casts read only initializers, so they may run first.
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return proto
