"""Storage dtypes of weights and KV caches, and the bytes each takes per value.

The one owner of the dtype vocabulary: the memory model, the CLI's ``--dtype`` choices and the
quantization levels (which name the dtype serving is priced at) read ``DTYPES`` and
``dtype_bytes``. Bytes per parameter follow stas00/ml-engineering: fp32 4, bf16/fp16 2, int8 1,
int4 0.5, NF4 0.56 (4-bit codes plus block scales: 0.5–0.56, the upper end is used).
"""

from __future__ import annotations

from typing import Literal, get_args

from cost_models.errors import InvalidInputError

Dtype = Literal["fp32", "bf16", "fp16", "int8", "int4", "nf4"]
#: Every dtype, from most to fewest bytes per value.
DTYPES: tuple[Dtype, ...] = get_args(Dtype)

DTYPE_BYTES: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "int8": 1.0,
    "int4": 0.5,
    "nf4": 0.56,
}


def dtype_bytes(dtype: str) -> float:
    """Bytes per parameter (or cached value) stored in ``dtype``; an unknown name is refused
    with the list of known ones (``Unknown dtype 'int3'. Available: fp32, ...``)."""
    try:
        return DTYPE_BYTES[dtype]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"Unknown dtype {dtype!r}. Available: {', '.join(DTYPES)}"
        ) from None
