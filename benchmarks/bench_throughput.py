"""Training throughput: our LoRA trial step against a plain transformers Trainer + peft loop.

    python -m benchmarks.bench_throughput [--smoke] [--rounds N] [--steps N]

Both train the same LoRA (rank 16, all linear modules) on the same tokenized examples
(``objectives.train.build_training_examples``), batch and sequence length, on the same model:

* ours: ``objectives.train_lora`` as ``sweeper/recipe/_pipeline.py`` calls it (loss history
  callback, token counting, per-step logging);
* plain: ``peft.get_peft_model`` + ``transformers.Trainer`` with ``DataCollatorForSeq2Seq`` and
  default logging.

Each round trains both, in alternating order, on a freshly loaded model; throughput is trained
tokens per second of ``trainer.train()``. The ratio line is median(ours) / median(plain)
(goal: >= 0.95). Full run: the bundled SmolLM2-135M-Instruct; --smoke: the tiny random model.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks._common import machine, parser, print_table

R, BATCH, SEQ_LEN = 16, 4, 160


def _config(steps: int) -> Any:
    from objectives import LoraTrainConfig

    return LoraTrainConfig(
        r=R,
        alpha=2 * R,
        learning_rate=1e-3,
        target_modules="all-linear",
        max_steps=steps,
        batch_size=BATCH,
        seq_len=SEQ_LEN,
        seed=0,
    )


def ours(model_path: str, steps: int) -> float:
    from objectives import load_model, train_lora

    model, tokenizer = load_model(model_path)
    _, result = train_lora(model, tokenizer, _config(steps))  # the task's bundled train file
    return result.tokens_trained / result.train_seconds


def plain(model_path: str, steps: int) -> float:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from objectives import load_model
    from objectives.registry import get_task
    from objectives.train import build_training_examples, read_examples

    model, tokenizer = load_model(model_path)
    examples = read_examples(get_task("sweeper_json_extract").train_file)
    rows, _ = build_training_examples(tokenizer, examples, SEQ_LEN)
    peft_model = get_peft_model(
        model, LoraConfig(r=R, lora_alpha=2 * R, target_modules="all-linear", task_type="CAUSAL_LM")
    )
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(
            output_dir=scratch,
            max_steps=steps,
            per_device_train_batch_size=BATCH,
            learning_rate=1e-3,
            save_strategy="no",
            report_to=[],
            disable_tqdm=True,
            use_cpu=not torch.cuda.is_available(),
            remove_unused_columns=False,
            seed=0,
        )
        trainer = Trainer(
            model=peft_model,
            args=args,
            train_dataset=rows,
            data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True),
        )
        tokens = 0  # non-padding tokens of the batches the run will see (ours counts the same)
        for i, batch in enumerate(trainer.get_train_dataloader()):
            if i == steps:
                break
            tokens += int(batch["attention_mask"].sum())
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    return tokens / seconds


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=4)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    rounds, steps = (2, 2) if args.smoke else (args.rounds, args.steps)
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        if args.smoke:
            from objectives import make_tiny_random_model

            model_path, label = str(make_tiny_random_model(Path(tmp) / "tiny")), "tiny random"
        else:
            from objectives import resolve_model_path

            model_path = resolve_model_path("builtin:smollm2-135m-instruct")
            label = "SmolLM2-135M-Instruct"
        print(
            f"bench_throughput on {machine()}: {label}, LoRA r={R} all-linear, batch {BATCH}, "
            f"seq_len {SEQ_LEN}, {steps} steps, {rounds} alternating rounds"
        )
        ours(model_path, 1), plain(model_path, 1)  # warm-up
        got: dict[str, list[float]] = {"ours (train_lora)": [], "plain Trainer + peft": []}
        for k in range(rounds):
            order = [("ours (train_lora)", ours), ("plain Trainer + peft", plain)]
            for name, fn in order if k % 2 == 0 else order[::-1]:
                got[name].append(fn(model_path, steps))
    rows = [[name, statistics.median(v), min(v), max(v)] for name, v in got.items()]
    print_table("trained tokens per second", ["loop", "median", "min", "max"], rows)
    ratio = statistics.median(got["ours (train_lora)"]) / statistics.median(
        got["plain Trainer + peft"]
    )
    print(f"ratio (ours / plain, median tokens per second): {ratio:.3f} (goal >= 0.95)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
