"""Estimate accuracy: the quote's predicted seconds against measured ones, after one calibration.

    python -m benchmarks.bench_estimate [--smoke] [--repeats N]

The quote's physics estimate (``sweeper.quote.physics_time_model``) has two terms each for LoRA
training and for an lm-eval run: compute -- training FLOPs (``cost_models.training_flops`` of the
model's parameters N and adapter parameters A) over this machine's measured matmul speed;
evaluation prefill FLOPs and decode bytes -- and the framework's overhead per optimizer step and
decoder layer, per training run and per forward pass (``sweeper.hardware_probe
.framework_overhead``, measured once per machine on tiny 1- and 4-layer models). ONE short run
calibrates it (``sweeper.quote.calibrate_time_model``: measured / predicted compute, one factor
for training and one for evaluation) -- in the full run the bundled SmolLM2-135M-Instruct at
2 steps, in ``--smoke`` a tiny model -- and the calibrated model then predicts every case: tiny
random Llamas of three sizes (``objectives.make_tiny_random_model``'s tokenizer,
``transformers.LlamaConfig``) and the bundled model, at LoRA ranks 4 and 16, ``--steps`` steps.
Measured: the median over ``--repeats`` runs of ``objectives.train_lora`` (its timed
``trainer.train()``) and of one lm-eval run of the multiple-choice task ``sweeper_general``
(``TaskScore.seconds``; a generative task's time depends on how many tokens a model happens to
generate before stopping, which random-weight models do at random: the quote prices
``max_gen_toks``, an upper bound). On CUDA machines the same runs happen on the GPU (the device
train_lora and evaluate pick).
"""

from __future__ import annotations

import statistics
import tempfile
import warnings
from pathlib import Path
from typing import Any

import yaml

from benchmarks._common import machine, parser, print_table

REPO = Path(__file__).resolve().parents[1]
TASK = "sweeper_general"
#: (name, hidden, intermediate, layers, heads)
TINY_SIZES = (
    ("tiny-h64-l2", 64, 128, 2, 4),
    ("tiny-h128-l4", 128, 256, 4, 4),
    ("tiny-h256-l4", 256, 512, 4, 8),
)


def make_models(folder: Path, sizes: tuple) -> dict[str, Path]:
    from transformers import AutoTokenizer

    from objectives import make_tiny_random_model
    from objectives.assets import tiny_llama

    tokenizer = AutoTokenizer.from_pretrained(make_tiny_random_model(folder / "tokenizer-source"))
    out = {}
    for name, hidden, inter, layers, heads in sizes:
        path = folder / name
        tiny_llama(
            tokenizer, hidden=hidden, intermediate=inter, layers=layers, heads=heads
        ).save_pretrained(path)
        tokenizer.save_pretrained(path)
        out[name] = path
    return out


def _study(folder: Path, model: Path, steps: int, limit: int) -> Any:
    from sweeper.study import load_study

    data = yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())
    for key in ("merge", "serving", "constraints", "pruning"):
        data.pop(key, None)
    data["name"] = "estimate"
    data["model"] = {"path": str(model)}
    data["eval"] = {"tasks": {"quality": TASK}, "limit": limit, "batch_size": 8}
    data["training"] = {"steps_per_epoch": steps, "batch_size": BATCH, "seq_len": SEQ_LEN}
    data["objectives"] = [{"name": "quality", "direction": "maximize"}]
    data["search_space"] = {"lora_r": {"choices": [4, 8, 16]}, "learning_rate": {"value": 1e-3}}
    path = folder / f"estimate-{model.name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_study(path)


BATCH, SEQ_LEN = 4, 128


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
                batch_size=BATCH,
                seq_len=SEQ_LEN,
            ),
        )
        train.append(result.train_seconds)
        params = {
            "N": float(result.total_params - result.trainable_params),
            "A": float(result.trainable_params),
            "layers": float(m.config.num_hidden_layers),
            # The quote's token count: steps x batch x seq_len (it cannot know the padding).
            "tokens": float(steps * BATCH * SEQ_LEN),
        }
    for _ in range(repeats):
        score = evaluate_base_model(str(model), [TASK], eval_limit=limit, batch_size=8)[TASK]
        evals.append(score.seconds)
    return {"train_s": statistics.median(train), "eval_s": statistics.median(evals)} | params


def physics(folder: Path, model: Path, m: dict[str, float], steps: int, limit: int) -> Any:
    from sweeper.quote import physics_time_model

    return physics_time_model(
        _study(folder, model, steps, limit), m["N"], m["A"], layers=int(m["layers"])
    )


def _seconds(tm: Any, m: dict[str, float]) -> tuple[float, float]:
    """Predicted (training, evaluation) seconds: what train_lora and lm-eval time."""
    return tm.train_run_seconds(m["tokens"]), tm.eval_seconds


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--limit", type=int, default=16)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch

    from sweeper.hardware_probe import framework_overhead
    from sweeper.quote import compute_factors, with_compute_factors

    device = "cuda " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    sizes, ranks, steps, limit, repeats = TINY_SIZES, (4, 16), args.steps, args.limit, args.repeats
    if args.smoke:
        sizes, ranks, steps, limit, repeats = TINY_SIZES[:2], (8,), 3, 4, 1
    print(
        f"bench_estimate on {machine()}, device {device}: {steps} LoRA steps (batch {BATCH}, "
        f"seq {SEQ_LEN}), {TASK} limit {limit}, median of {repeats}"
    )
    fw = framework_overhead()
    print(
        f"framework overhead (probe): training set-up {fw.train_setup_s:.3f} s, "
        f"{1000 * fw.train_step_s:.1f} ms/step + {1000 * fw.train_layer_step_s:.2f} ms/layer-step; "
        f"forward {1000 * fw.forward_s:.2f} ms + {1000 * fw.forward_layer_s:.2f} ms/layer, "
        f"lm-eval run set-up {1000 * fw.eval_setup_s:.1f} ms"
    )
    rows, errors = [], []
    with tempfile.TemporaryDirectory(prefix="bench-estimate-") as tmp:
        folder = Path(tmp)
        models = make_models(folder, sizes)
        if not args.smoke:
            from objectives import resolve_model_path

            models["smollm2-135m"] = Path(resolve_model_path("builtin:smollm2-135m-instruct"))
        first = next(iter(models.values()))
        measure(first, ranks[0], 1, 2, 1)  # warm-up: imports, lm-eval's first-task set-up
        # The one short calibration run: the largest model, 2 steps, rank 8.
        cal_name, cal_path = list(models.items())[-1]
        cal = measure(cal_path, 8, 2, limit, repeats)
        cal_tm = physics(folder, cal_path, cal, 2, limit)
        k_train, k_eval = compute_factors(
            cal_tm,
            train_tokens=cal["tokens"],
            measured_train_seconds=cal["train_s"],
            measured_eval_seconds=cal["eval_s"],
        )
        print(
            f"calibration run: {cal_name} r=8, 2 steps: measured {cal['train_s']:.3f} s training, "
            f"{cal['eval_s']:.3f} s evaluation -> compute x{k_train:.2f} (training), "
            f"x{k_eval:.2f} (evaluation)"
        )
        for name, path in models.items():
            for r in ranks:
                m = measure(path, r, steps, limit, repeats)
                tm = physics(folder, path, m, steps, limit)
                raw = _seconds(tm, m)
                calibrated = _seconds(with_compute_factors(tm, k_train, k_eval), m)
                for i, (what, measured) in enumerate(
                    (("train", m["train_s"]), ("eval", m["eval_s"]))
                ):
                    error = calibrated[i] / measured - 1.0
                    errors.append((what, error))
                    rows.append(
                        [
                            f"{name} L={int(m['layers'])} r={r}",
                            what,
                            raw[i],
                            calibrated[i],
                            measured,
                            f"{100 * error:+.0f}%",
                        ]
                    )
    print_table(
        "seconds: physics estimate, after the one calibration run, measured median",
        ["case", "step", "physics s", "calibrated s", "measured s", "error"],
        rows,
    )
    within = sum(abs(e) <= 0.25 for _, e in errors)
    worst = max((abs(e) for _, e in errors), default=0.0)
    med = statistics.median(abs(e) for _, e in errors) if errors else 0.0
    print(
        f"ratio (calibrated/measured): {within}/{len(errors)} case(s) within +-25%, "
        f"median error {100 * med:.0f}%, worst {100 * worst:.0f}%"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
