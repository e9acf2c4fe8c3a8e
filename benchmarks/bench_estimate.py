"""Estimate accuracy: the quote's predicted seconds against measured ones, after one calibration.

    python -m benchmarks.bench_estimate [--smoke] [--repeats N]

The quote's uncalibrated estimate (``sweeper.quote.physics_time_model``: training FLOPs
``cost_models.training_flops`` of the model's parameters N and adapter parameters A over this
machine's measured matmul speed; evaluation from prompt tokens and decode bandwidth) is
calibrated from ONE short run -- the first case below: measured / predicted seconds, one factor
for training and one for evaluation, as the study's first completed trial calibrates a quote --
and then predicts every other case: tiny random Llamas of three sizes
(``objectives.make_tiny_random_model``'s tokenizer, ``transformers.LlamaConfig``) at LoRA ranks 4
and 16, and the bundled SmolLM2-135M-Instruct in the full run. Measured: the median over
``--repeats`` runs of ``objectives.train_lora`` (its timed ``trainer.train()``) and of one lm-eval
task (``TaskScore.seconds``). On CUDA machines the same runs happen on the GPU (the device
train_lora and evaluate pick).
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import warnings
from pathlib import Path
from typing import Any

import yaml

from benchmarks._common import machine, parser, print_table

REPO = Path(__file__).resolve().parents[1]
TASK = "sweeper_json_extract"
#: (name, hidden, intermediate, layers, heads)
TINY_SIZES = (
    ("tiny-h64-l2", 64, 128, 2, 4),
    ("tiny-h128-l4", 128, 256, 4, 4),
    ("tiny-h256-l4", 256, 512, 4, 8),
)


def make_models(folder: Path, sizes: tuple) -> dict[str, Path]:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from objectives import make_tiny_random_model

    tok_dir = make_tiny_random_model(folder / "tokenizer-source")
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    out = {}
    for name, hidden, inter, layers, heads in sizes:
        torch.manual_seed(0)
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=hidden,
            intermediate_size=inter,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            max_position_embeddings=512,
            tie_word_embeddings=True,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        path = folder / name
        LlamaForCausalLM(config).save_pretrained(path)
        tokenizer.save_pretrained(path)
        out[name] = path
    return out


def _study(folder: Path, model: Path, steps: int, limit: int) -> Any:
    from sweeper.study import load_study

    data = yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())
    for key in ("merge", "serving", "constraints", "pruning"):
        data.pop(key, None)
    data = copy.deepcopy(data)
    data["name"] = "estimate"
    data["model"] = {"path": str(model)}
    data["eval"] = {"tasks": {"quality": TASK}, "limit": limit, "batch_size": 8}
    data["training"] = {"steps_per_epoch": steps, "batch_size": 4, "seq_len": 128}
    data["objectives"] = [{"name": "quality", "direction": "maximize"}]
    data["search_space"] = {"lora_r": {"choices": [4, 8, 16]}, "learning_rate": {"value": 1e-3}}
    path = folder / f"estimate-{model.name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_study(path)


def measure(model: Path, r: int, steps: int, limit: int, repeats: int) -> dict[str, float]:
    from objectives import LoraTrainConfig, evaluate_base_model, load_model, train_lora

    train, evals, params = [], [], {}
    for _ in range(repeats):
        m, tok = load_model(str(model))
        _, result = train_lora(
            m,
            tok,
            LoraTrainConfig(
                r=r,
                alpha=2 * r,
                target_modules="all-linear",
                max_steps=steps,
                batch_size=4,
                seq_len=128,
            ),
        )
        train.append(result.train_seconds)
        params = {
            "N": float(result.total_params - result.trainable_params),
            "A": float(result.trainable_params),
            "tokens": float(result.tokens_trained),
        }
    for _ in range(repeats):
        score = evaluate_base_model(str(model), [TASK], eval_limit=limit, batch_size=8)[TASK]
        evals.append(score.seconds)
    return {"train_s": statistics.median(train), "eval_s": statistics.median(evals)} | params


def predict(folder: Path, model: Path, m: dict[str, float], steps: int, limit: int) -> tuple:
    """Uncalibrated (physics) seconds for training m['tokens'] tokens and for the evaluation."""
    from sweeper.quote import physics_time_model

    tm = physics_time_model(_study(folder, model, steps, limit), m["N"], m["A"])
    return tm.seconds_per_train_token * m["tokens"], tm.eval_seconds


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--limit", type=int, default=16)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch

    device = "cuda " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    sizes, ranks, steps, limit, repeats = TINY_SIZES, (4, 16), args.steps, args.limit, args.repeats
    if args.smoke:
        sizes, ranks, steps, limit, repeats = TINY_SIZES[:2], (8,), 2, 4, 1
    print(
        f"bench_estimate on {machine()}, device {device}: {steps} LoRA steps (batch 4, "
        f"seq 128), {TASK} limit {limit}, median of {repeats}"
    )
    rows, errors = [], []
    with tempfile.TemporaryDirectory(prefix="bench-estimate-") as tmp:
        folder = Path(tmp)
        models = make_models(folder, sizes)
        if not args.smoke:
            from objectives import resolve_model_path

            models["smollm2-135m"] = Path(resolve_model_path("builtin:smollm2-135m-instruct"))
        cases = [(name, path, r) for name, path in models.items() for r in ranks]
        first = next(iter(models.values()))
        measure(first, ranks[0], 1, 2, 1)  # warm-up: imports, lm-eval's first-task set-up
        k_train = k_eval = None
        for name, path, r in cases:
            m = measure(path, r, steps, limit, repeats)
            train_pred, eval_pred = predict(folder, path, m, steps, limit)
            if k_train is None:  # the one short calibration run
                k_train, k_eval = m["train_s"] / train_pred, m["eval_s"] / eval_pred
                role = "calibration"
            else:
                role = "predicted"
            for what, measured, physics, k in (
                ("train", m["train_s"], train_pred, k_train),
                ("eval", m["eval_s"], eval_pred, k_eval),
            ):
                calibrated = physics * k
                error = calibrated / measured - 1.0
                if role == "predicted":
                    errors.append((what, error))
                rows.append(
                    [
                        f"{name} r={r}",
                        what,
                        role,
                        physics,
                        calibrated,
                        measured,
                        f"{100 * error:+.0f}%",
                    ]
                )
    print_table(
        "seconds: physics estimate, after calibration on the first case, measured median",
        ["case", "step", "role", "physics s", "calibrated s", "measured s", "error"],
        rows,
    )
    within = sum(abs(e) <= 0.25 for _, e in errors)
    worst = max((abs(e) for _, e in errors), default=0.0)
    print(
        f"ratio (calibrated/measured): {within}/{len(errors)} predicted case(s) within +-25%, "
        f"worst error {100 * worst:.0f}%"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
