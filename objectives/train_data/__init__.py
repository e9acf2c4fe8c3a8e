"""Training data in the formats people have: prompt/completion, chat, alpaca, plain text.

One module per format in ``formats/`` (``prompt_completion``, ``chat``, ``alpaca``, ``text``), each
turning a record into a ``TrainExample``; a registry (``TRAIN_FORMATS``) that finds them and detects
a file's format from its first record; a reader for JSONL files and ``datasets.save_to_disk``
folders that validates every record (``load_train_data``); and the tokenization into ids and a loss
mask (``tokenize_examples``). A new format is one module in ``formats/`` with a ``TrainFormat``
subclass passed to ``register_format``, plus its test.
"""

from objectives.train_data._base import RecordError, TrainFormat
from objectives.train_data._examples import (
    CHAT_ROLES,
    Chat,
    Message,
    PlainText,
    PromptCompletion,
    TrainExample,
)
from objectives.train_data._read import (
    TrainData,
    TrainDataError,
    is_dataset_folder,
    load_train_data,
)
from objectives.train_data._registry import (
    TRAIN_FORMATS,
    detect_format,
    get_format,
    register_format,
    train_formats,
)
from objectives.train_data._tokenize import (
    IGNORE_INDEX,
    has_chat_template,
    segments,
    tokenize_examples,
)

__all__ = [
    "CHAT_ROLES",
    "IGNORE_INDEX",
    "TRAIN_FORMATS",
    "Chat",
    "Message",
    "PlainText",
    "PromptCompletion",
    "RecordError",
    "TrainData",
    "TrainDataError",
    "TrainExample",
    "TrainFormat",
    "detect_format",
    "get_format",
    "has_chat_template",
    "is_dataset_folder",
    "load_train_data",
    "register_format",
    "segments",
    "tokenize_examples",
    "train_formats",
]
