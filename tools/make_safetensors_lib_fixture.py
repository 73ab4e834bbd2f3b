#!/usr/bin/env python3
"""Writes engine/src/test/resources/io/safetensors_lib.safetensors with the reference `safetensors`
package (numpy API; any python with `pip install safetensors numpy`), so the tests also read a file
written by the reference implementation itself, not only our hand-written ones. Also checks, when given
a file written by our Java writer as argument, that the reference implementation loads it.

  python tools/make_safetensors_lib_fixture.py [java-written.safetensors ...]
"""
import os
import sys

import numpy as np
import safetensors
from safetensors.numpy import load_file, save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine", "src", "test", "resources", "io")

tensors = {
    "b.f32": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
    "a.f16": np.array([1.0, -2.5, 65504.0], dtype=np.float16),
    "c.f64": np.array([[1e-300, 1.0 / 3.0]], dtype=np.float64),
    "d.i64": np.array([-(2 ** 63), 2 ** 62], dtype=np.int64),
    "e.i32": np.array([7, -8], dtype=np.int32),
    "f.bool": np.array([True, False, True]),
    "g.scalar": np.array(3.5, dtype=np.float32),
    "h.empty": np.zeros((0, 4), dtype=np.float32),
}
path = os.path.join(OUT, "safetensors_lib.safetensors")
save_file(tensors, path, metadata={"written_by": "safetensors " + safetensors.__version__})
print("wrote", path, "with safetensors", safetensors.__version__)

for other in sys.argv[1:]:
    loaded = load_file(other)
    print(other, "loads in the reference implementation:", {k: (str(v.dtype), v.shape) for k, v in loaded.items()})
