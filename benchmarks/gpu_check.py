"""GPU check: LoRA and QLoRA training throughput, MFU and peak memory on this GPU, next to what
the cost model predicts for it.

Builds a random-weight Llama of a real shape from its config (default: a Llama-3.2-1B-like shape,
16 layers, hidden 2048, 32 heads, 8 KV heads, MLP 8192, vocabulary 128256; nothing downloaded),
trains a LoRA (r=16 on every linear layer of the decoder) on random tokens for a few hundred steps

* in bf16 (bf16 weights, float32 adapters, bf16 autocast, PyTorch SDPA attention), and
* as QLoRA (the base 4-bit NF4 through bitsandbytes, compute in bf16,
  ``peft.prepare_model_for_kbit_training``), skipped with a message without bitsandbytes,

then evaluates each (perplexity of held-out random tokens, and a short greedy generation), and
prints measured tokens/s, MFU and peak memory beside the cost model's prediction for this GPU:
tokens/s = peak bf16 FLOP/s x assumed MFU / FLOPs per token (4N + 6A, ``cost_models``), GPU
identified by ``torch.cuda.get_device_name`` in ``cost_models/data/gpus.csv``.

Needs only torch, transformers, peft (bitsandbytes for QLoRA) and this repository's
``cost_models`` (its pure modules are loaded without the price catalog's pandas when pandas is
absent). On a machine without CUDA it says so and exits 0; ``--smoke`` runs a tiny shape on the
CPU for a few steps to show the script works end to end.

    python -m benchmarks.gpu_check                 # on a CUDA machine
    python -m benchmarks.gpu_check --steps 300 --seq-len 2048 --batch 2
    python -m benchmarks.gpu_check --smoke         # anywhere, seconds
"""

from __future__ import annotations

import importlib.util
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import parser, print_table

REPO = Path(__file__).resolve().parents[1]

LLAMA_1B = {
    "num_hidden_layers": 16,
    "hidden_size": 2048,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 8192,
    "vocab_size": 128256,
    "tie_word_embeddings": True,
}
"""Llama-3.2-1B's shape (its config.json), built with random weights."""

TINY = {
    "num_hidden_layers": 2,
    "hidden_size": 64,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 512,
    "tie_word_embeddings": True,
}
"""The --smoke shape: a CPU trains it in seconds."""

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA_R = 16

# Names in gpus.csv, most specific first: how torch.cuda.get_device_name spells them.
_GPU_PATTERNS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("h100", "pcie"), "H100-PCIe"),
    (("h100", "nvl"), "H100-NVL"),
    (("h100",), "H100"),
    (("h200",), "H200"),
    (("b200",), "B200"),
    (("gh200",), "H200"),
    (("a100", "80g"), "A100-80GB"),
    (("a100",), "A100-40GB"),
    (("l40s",), "L40S"),
    (("a10g",), "A10G"),
    (("a10",), "A10"),
    (("l4",), "L4"),
    (("t4",), "T4"),
    (("v100",), "V100"),
    (("mi300x",), "MI300X"),
)


def match_gpu(device_name: str, known: Sequence[str]) -> str | None:
    """The ``gpus.csv`` name of a GPU as ``torch.cuda.get_device_name`` reports it, or None.

    E.g. "NVIDIA H100 80GB HBM3" -> H100, "NVIDIA A100-SXM4-40GB" -> A100-40GB,
    "NVIDIA GH200 480GB" -> H200 (its GPU), "Tesla T4" -> T4.
    """
    words = device_name.lower().replace("-", " ").replace("_", " ")
    tokens = set(words.split())
    for needles, name in _GPU_PATTERNS:
        if name not in known:
            continue
        if all(_has(needle, words, tokens) for needle in needles):
            return name
    return None


def _has(needle: str, words: str, tokens: set[str]) -> bool:
    if needle in ("l4", "t4", "a10"):  # short names: a whole word, not inside L40S or A100
        return needle in tokens
    return needle in words


# --- the cost model ------------------------------------------------------------------------------


def cost_model() -> Any:
    """``cost_models``; without pandas (the price catalog's), only its pure modules are loaded."""
    try:
        import cost_models

        return cost_models
    except ImportError:
        root = REPO / "cost_models"
        spec = importlib.util.spec_from_file_location(
            "cost_models", root / "__init__.py", submodule_search_locations=[str(root)]
        )
        assert spec is not None
        sys.modules["cost_models"] = importlib.util.module_from_spec(spec)  # __init__ not run
        from cost_models import _estimate, _gpus, _memory, _model_shapes, _utilization

        class PureParts:
            gpu_spec = staticmethod(_gpus.gpu_spec)
            load_gpu_specs = staticmethod(_gpus.load_gpu_specs)
            training_flops_per_token = staticmethod(_estimate.training_flops_per_token)
            default_mfu = staticmethod(_utilization.default_mfu)
            training_memory_bytes = staticmethod(_memory.training_memory_bytes)
            ModelShape = _model_shapes.ModelShape
            lora_adapter_params = staticmethod(_model_shapes.lora_adapter_params)

        return PureParts


@dataclass(frozen=True)
class Prediction:
    gpu: str
    peak_tflops: float
    mfu: float
    tokens_per_second: float
    memory_gib: float


def predict(
    cm: Any,
    gpu: str,
    shape: Any,
    method: str,
    adapter: int,
    seq_len: int,
    batch: int,
    checkpointing: bool,
) -> Prediction:
    spec = cm.gpu_spec(gpu)
    mfu = float(cm.default_mfu(method, gpu))
    flops = float(cm.training_flops_per_token(shape.params, method, adapter))
    memory = cm.training_memory_bytes(
        shape,
        method,
        adapter_params=adapter,
        seq_len=seq_len,
        batch=batch,
        checkpointing=checkpointing,
    )
    return Prediction(
        gpu=gpu,
        peak_tflops=spec.peak_flops_per_second / 1e12,
        mfu=mfu,
        tokens_per_second=spec.peak_flops_per_second * mfu / flops,
        memory_gib=memory.total_bytes / 2**30,
    )


def model_shape(cm: Any, config: Any, params: int) -> Any:
    return cm.ModelShape(
        params=float(params),
        layers=config.num_hidden_layers,
        hidden=config.hidden_size,
        heads=config.num_attention_heads,
        kv_heads=config.num_key_value_heads,
        head_dim=config.hidden_size // config.num_attention_heads,
        intermediate=config.intermediate_size,
        vocab=config.vocab_size,
        tied_embeddings=bool(config.tie_word_embeddings),
        name="gpu-check",
    )


# --- measuring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    method: str
    steps: int
    tokens_per_second: float
    peak_memory_gib: float | None
    final_loss: float
    eval_perplexity: float
    generated_tokens: int
    trainable_params: int


def build_config(shape: dict[str, int | bool]) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        **shape, max_position_embeddings=4096, bos_token_id=1, eos_token_id=2, pad_token_id=0
    )


def random_model(config: Any, device: str, dtype: Any, seed: int = 0) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation="sdpa")
    return model


def qlora_model(config: Any, device: str, compute_dtype: Any) -> Any:
    """The random model saved once and reloaded 4-bit NF4, as bitsandbytes quantizes on load."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    with tempfile.TemporaryDirectory(prefix="gpu-check-") as folder:
        random_model(config, "cpu", compute_dtype).save_pretrained(folder)
        return AutoModelForCausalLM.from_pretrained(
            folder,
            quantization_config=BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute_dtype
            ),
            dtype=compute_dtype,
            device_map={"": device},
            attn_implementation="sdpa",
        )


def train_and_evaluate(
    model: Any,
    method: str,
    *,
    device: str,
    steps: int,
    warmup: int,
    seq_len: int,
    batch: int,
    vocab: int,
    checkpointing: bool,
    autocast: Any,
) -> Measured:
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    cuda = device.startswith("cuda")
    if method == "qlora":
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = get_peft_model(
        model,
        LoraConfig(
            r=LORA_R, lora_alpha=2 * LORA_R, target_modules=LORA_TARGETS, task_type="CAUSAL_LM"
        ),
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    generator = torch.Generator(device="cpu").manual_seed(0)

    def tokens() -> Any:
        return torch.randint(3, vocab, (batch, seq_len), generator=generator).to(device)

    def context() -> Any:
        if autocast is None:
            return torch.autocast(device_type="cpu", enabled=False)
        return torch.autocast(device_type="cuda" if cuda else "cpu", dtype=autocast)

    # fp16 autocast (GPUs without bf16) needs loss scaling; a no-op otherwise
    scaler = torch.amp.GradScaler(enabled=autocast == torch.float16)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    model.train()
    loss = torch.tensor(float("nan"))
    started = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            if cuda:
                torch.cuda.synchronize(device)
            started = time.perf_counter()
        ids = tokens()
        with context():
            loss = model(input_ids=ids, labels=ids).loss
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None

    model.eval()
    with torch.no_grad(), context():
        held_out = [tokens() for _ in range(2)]
        losses = [float(model(input_ids=ids, labels=ids).loss) for ids in held_out]
        prompt = held_out[0][:1, :16]
        generated = model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=16,
            do_sample=False,
            pad_token_id=0,
        )
    return Measured(
        method=method,
        steps=steps,
        tokens_per_second=steps * batch * seq_len / seconds,
        peak_memory_gib=peak,
        final_loss=float(loss.detach()),
        eval_perplexity=math.exp(sum(losses) / len(losses)),
        generated_tokens=int(generated.shape[1] - prompt.shape[1]),
        trainable_params=trainable,
    )


# --- the run -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200, help="timed optimizer steps per method")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--skip-qlora", action="store_true")
    args = p.parse_args(argv)

    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        print(
            "gpu_check: no CUDA device here; it measures a GPU. Nothing was run "
            "(python -m benchmarks.gpu_check --smoke runs a tiny CPU self-test)."
        )
        return 0
    smoke = args.smoke
    device = "cuda:0" if cuda and not smoke else "cpu"
    shape_args = TINY if smoke else LLAMA_1B
    steps, warmup = (3, 1) if smoke else (args.steps, args.warmup)
    seq_len, batch = (32, 2) if smoke else (args.seq_len, args.batch)
    bf16 = cuda and torch.cuda.is_bf16_supported() and not smoke
    dtype = torch.bfloat16 if bf16 else (torch.float16 if cuda and not smoke else torch.float32)
    autocast = dtype if device.startswith("cuda") else None

    cm = cost_model()
    config = build_config(shape_args)
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    gpu = match_gpu(name, list(cm.load_gpu_specs())) if device.startswith("cuda") else None
    print(f"device: {device} ({name}); cost-model GPU: {gpu or 'none (no prediction)'}")
    print(
        f"shape: {shape_args}; LoRA r={LORA_R} on {'+'.join(LORA_TARGETS)}; "
        f"batch {batch} x seq {seq_len}; {steps} timed steps after {warmup}; dtype {dtype}"
    )

    results: list[tuple[Measured, Prediction | None]] = []
    model = random_model(config, device, dtype)
    params = sum(p.numel() for p in model.parameters())
    shape = model_shape(cm, config, params)
    adapter = int(cm.lora_adapter_params(shape, LORA_R, LORA_TARGETS))
    run = dict(
        device=device,
        steps=steps,
        warmup=warmup,
        seq_len=seq_len,
        batch=batch,
        vocab=config.vocab_size,
        checkpointing=args.gradient_checkpointing,
        autocast=autocast,
    )
    measured = train_and_evaluate(model, "lora", **run)
    results.append((measured, _predict(cm, gpu, shape, "lora", adapter, args, seq_len, batch)))
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()

    if args.skip_qlora:
        print("QLoRA: skipped (--skip-qlora)")
    elif not device.startswith("cuda"):
        print("QLoRA: skipped (4-bit NF4 through bitsandbytes needs a CUDA device)")
    elif importlib.util.find_spec("bitsandbytes") is None:
        print("QLoRA: skipped (bitsandbytes is not installed: pip install bitsandbytes)")
    else:
        qmodel = qlora_model(config, device, dtype)
        measured = train_and_evaluate(qmodel, "qlora", **run)
        results.append((measured, _predict(cm, gpu, shape, "qlora", adapter, args, seq_len, batch)))

    rows = []
    for m, pred in results:
        flops = float(cm.training_flops_per_token(shape.params, m.method, adapter))
        peak_tflops = pred.peak_tflops if pred else None
        mfu = m.tokens_per_second * flops / (peak_tflops * 1e12) if peak_tflops else None
        rows.append(
            [
                m.method,
                m.tokens_per_second,
                pred.tokens_per_second if pred else "-",
                mfu if mfu is not None else "-",
                pred.mfu if pred else "-",
                m.peak_memory_gib if m.peak_memory_gib is not None else "-",
                pred.memory_gib if pred else "-",
                m.final_loss,
                m.eval_perplexity,
                m.generated_tokens,
            ]
        )
    print(
        f"\nmodel: {params / 1e9:.3f}B parameters ({params}), LoRA adapter {adapter} "
        f"(trainable here: {results[0][0].trainable_params}); FLOPs/token 4N+6A = "
        f"{cm.training_flops_per_token(shape.params, 'lora', adapter):.3e}"
    )
    print_table(
        f"measured vs cost model ({gpu or name})",
        [
            "method",
            "tok/s",
            "tok/s predicted",
            "MFU",
            "MFU assumed",
            "peak GiB",
            "GiB predicted",
            "train loss",
            "eval ppl",
            "generated",
        ],
        rows,
    )
    ratios = [
        f"{m.method} {m.tokens_per_second / pred.tokens_per_second:.2f}"
        for m, pred in results
        if pred is not None
    ]
    print(
        "ratio (measured / predicted tokens per second): "
        + (", ".join(ratios) if ratios else f"n/a on {name} (no GPU in the cost model)")
    )
    return 0


def _predict(
    cm: Any,
    gpu: str | None,
    shape: Any,
    method: str,
    adapter: int,
    args: Any,
    seq_len: int,
    batch: int,
) -> Prediction | None:
    if gpu is None:
        return None
    from cost_models.errors import CostModelError

    try:
        return predict(cm, gpu, shape, method, adapter, seq_len, batch, args.gradient_checkpointing)
    except CostModelError as exc:  # e.g. a GPU without a bf16 figure in gpus.csv
        print(f"no {method} prediction for {gpu}: {exc}")
        return None


if __name__ == "__main__":
    raise SystemExit(main())
