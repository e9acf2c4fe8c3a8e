"""Which GPU each AWS instance family carries: the Price List API gives only the GPU count.

Kept as an explicit table because the API's own GPU names are unreliable: it reports plain
"NVIDIA" for p5en (H200) and does not tell p4de's 80 GB A100 from p4d's 40 GB one (SkyPilot's
fetch_aws.py overrides the same two families). Names are those of the GPU spec table
(``cost_models/data/gpus.csv``), which also gives the memory per GPU.
"""

from __future__ import annotations

AWS_GPU_MODEL_BY_FAMILY: dict[str, str] = {
    "p3": "V100",
    "g4dn": "T4",
    "g5": "A10G",
    "g6": "L4",
    "gr6": "L4",
    "g6e": "L40S",
    "p4d": "A100-40GB",
    "p4de": "A100-80GB",
    "p5": "H100",
    "p5e": "H200",
    "p5en": "H200",
    "p6-b200": "B200",
}


def aws_gpu_model(instance_type: str) -> str | None:
    """The GPU of ``instance_type`` ("p5en.48xlarge" → "H200"), or None for an unknown family."""
    return AWS_GPU_MODEL_BY_FAMILY.get(instance_type.split(".", 1)[0])
