"""The seam between the predictors and the backends that run the network.

  predict/  ->  backend/  <-  model/ (torch), onnxrt/ (ONNX Runtime)

`TrackingModel` (`backend.model`) is what a backend's model offers: the network's steps as
primitives and its `ArrayOps` (`backend.arrays`), the array operations the prediction glue
performs. The rules between the steps live once in `backend.heads`; what they return in
`backend.outputs`. Predictors import this package and never a backend; a backend imports this
package and never a predictor. See docs/architecture.md, "Add a backend".
"""

from masklet.backend.arrays import ArrayOps, to_numpy
from masklet.backend.model import TrackingModel, require_model
from masklet.backend.numpy_arrays import NumpyArrays

__all__ = ["ArrayOps", "NumpyArrays", "TrackingModel", "require_model", "to_numpy"]
