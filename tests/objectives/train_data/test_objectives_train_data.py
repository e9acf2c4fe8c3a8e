"""Training data in every format: read, validated record by record, tokenized with the loss on
the right tokens, and trained on the tiny model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from objectives import LoraTrainConfig, load_model, train_lora
from objectives.train_data import (
    IGNORE_INDEX,
    TRAIN_FORMATS,
    Chat,
    PlainText,
    PromptCompletion,
    TrainDataError,
    load_train_data,
    tokenize_examples,
)

QUICK = LoraTrainConfig(max_steps=2, batch_size=2, seq_len=128, r=4)

CHAT = {
    "messages": [
        {"role": "system", "content": "Answer in JSON."},
        {"role": "user", "content": "Name of: Tom from Oslo"},
        {"role": "assistant", "content": '{"name": "Tom"}'},
        {"role": "user", "content": "And the city?"},
        {"role": "assistant", "content": '{"city": "Oslo"}'},
    ]
}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def trained_text(tokenizer, row: dict[str, list[int]]) -> list[str]:
    """The trained spans of a tokenized row, decoded one contiguous span at a time."""
    spans, current = [], []
    for token, label in zip(row["input_ids"], row["labels"], strict=True):
        if label == IGNORE_INDEX:
            if current:
                spans.append(tokenizer.decode(current))
                current = []
        else:
            assert label == token
            current.append(token)
    if current:
        spans.append(tokenizer.decode(current))
    return spans


def test_formats_are_registered_in_detection_order() -> None:
    assert list(TRAIN_FORMATS) == ["chat", "alpaca", "prompt_completion", "text"]


@pytest.mark.parametrize(
    ("record", "fields", "expected_format", "expected"),
    [
        (
            {"prompt": "p", "completion": "c"},
            {},
            "prompt_completion",
            PromptCompletion("p", "c"),
        ),
        (
            {"question": "p", "answer": "c", "id": 3},
            {"prompt": "question", "completion": "answer"},
            "prompt_completion",
            PromptCompletion("p", "c"),
        ),
        (
            {"instruction": "Do it", "input": "on this", "output": "done"},
            {},
            "alpaca",
            PromptCompletion("Do it\n\non this", "done"),
        ),
        ({"instruction": "Do it", "input": "", "output": "done"}, {}, "alpaca", None),
        ({"text": "plain words"}, {}, "text", PlainText("plain words")),
        ({"body": "plain words"}, {"text": "body"}, "text", PlainText("plain words")),
        (CHAT, {}, "chat", None),
        ({"conversation": CHAT["messages"]}, {"messages": "conversation"}, "chat", None),
    ],
)
def test_each_format_is_detected_from_the_first_record(
    tmp_path: Path, record: dict, fields: dict, expected_format: str, expected: object
) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", [record, record])
    data = load_train_data(path, fields=fields)
    assert data.format == expected_format
    assert len(data.examples) == 2
    if expected is not None:
        assert data.examples[0] == expected
    if expected_format == "alpaca" and expected is None:
        assert data.examples[0] == PromptCompletion("Do it", "done")
    if expected_format == "chat":
        example = data.examples[0]
        assert isinstance(example, Chat)
        assert [m.role for m in example.messages] == [
            "system",
            "user",
            "assistant",
            "user",
            "assistant",
        ]


def test_a_given_format_is_not_detected(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"text": "x", "prompt": "p", "completion": "c"}])
    assert load_train_data(path).format == "prompt_completion"
    assert load_train_data(path, format="text").examples[0] == PlainText("x")


@pytest.mark.parametrize(
    ("lines", "kwargs", "where", "message"),
    [
        ([], {}, "(file)", "at least one record"),
        (["", "   "], {}, "(file)", "at least one record"),
        (['{"prompt": "p", "completion": "c"}', "{not json"], {}, "line 2", "not valid JSON"),
        (
            ['{"prompt": "p", "completion": "c"}', '{"prompt": "p"}'],
            {},
            "line 2: completion",
            "a string (completion) is required, missing found",
        ),
        (
            ['{"prompt": "p", "completion": "c"}', '{"prompt": "p", "completion": 3}'],
            {},
            "line 2: completion",
            "a string (completion) is required, a int found",
        ),
        (['{"q": "p", "a": "c"}'], {}, "line 1", "no known format matches the first record"),
        (
            ['{"question": "p", "answer": "c"}', '{"question": "p", "reply": "c"}'],
            {"fields": {"prompt": "question", "completion": "answer"}},
            "line 2: answer",
            "format prompt_completion",
        ),
        (["[1, 2]"], {}, "line 1", "each record must be a JSON object"),
        (
            ['{"messages": [{"role": "user", "content": "hi"}]}'],
            {},
            "line 1: messages",
            "at least one assistant turn",
        ),
        (
            ['{"messages": [{"role": "robot", "content": "hi"}]}'],
            {},
            "line 1: messages[0].role",
            "a role among system, user, assistant, tool",
        ),
        (['{"text": "x"}'], {"format": "chat"}, "line 1: messages", "non-empty list"),
        (['{"text": "x"}'], {"format": "nope"}, "data.format", "Available: chat, alpaca"),
        (
            ['{"text": "x"}'],
            {"fields": {"answer": "x"}},
            "line 1",
            "no known format matches",
        ),
    ],
)
def test_bad_records_name_the_line_the_key_and_what_is_valid(
    tmp_path: Path, lines: list[str], kwargs: dict, where: str, message: str
) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    with pytest.raises(TrainDataError) as info:
        load_train_data(path, **kwargs)
    error = info.value
    assert error.field == where
    assert message in error.valid
    assert str(error).startswith(f"{path}: {where}: got ")
    assert "\n" not in str(error)


def test_a_save_to_disk_folder_is_read_like_a_file(tmp_path: Path) -> None:
    from datasets import Dataset, DatasetDict

    rows = [{"question": f"q{i}", "answer": f"a{i}"} for i in range(3)]
    folder = tmp_path / "ds"
    Dataset.from_list(rows).save_to_disk(str(folder))
    data = load_train_data(folder, fields={"prompt": "question", "completion": "answer"})
    assert data.format == "prompt_completion"
    assert data.examples == tuple(PromptCompletion(f"q{i}", f"a{i}") for i in range(3))

    bad = tmp_path / "bad"
    Dataset.from_list([{"question": "q"}]).save_to_disk(str(bad))
    with pytest.raises(TrainDataError, match="record 1: answer"):
        load_train_data(bad, fields={"prompt": "question", "completion": "answer"})

    splits = tmp_path / "splits"
    DatasetDict({"train": Dataset.from_list(rows)}).save_to_disk(str(splits))
    with pytest.raises(TrainDataError):
        load_train_data(splits)


# --- tokenization: where the loss is -----------------------------------------------------------


def test_chat_is_trained_on_the_assistant_turns_only(tiny_model_dir: Path) -> None:
    _, tokenizer = load_model(str(tiny_model_dir))
    data = load_train_data(write_jsonl(tiny_model_dir.parent / "chat.jsonl", [CHAT]))
    [row], truncated = tokenize_examples(tokenizer, data.examples, seq_len=512)
    assert truncated == 0
    spans = trained_text(tokenizer, row)
    assert spans == ['{"name": "Tom"}<|im_end|>\n', '{"city": "Oslo"}<|im_end|>\n']
    whole = tokenizer.decode(row["input_ids"])
    assert whole == tokenizer.apply_chat_template(CHAT["messages"], tokenize=False)
    pairs = zip(row["input_ids"], row["labels"], strict=True)
    untrained = [t for t, lab in pairs if lab == IGNORE_INDEX]
    assert "Answer in JSON." in tokenizer.decode(untrained)
    assert "And the city?" in tokenizer.decode(untrained)


def test_prompt_completion_and_alpaca_train_the_answer_after_the_chat_prompt(
    tiny_model_dir: Path,
) -> None:
    _, tokenizer = load_model(str(tiny_model_dir))
    examples = [PromptCompletion("Do it\n\non this", "done")]
    [row], _ = tokenize_examples(tokenizer, examples, seq_len=512)
    assert trained_text(tokenizer, row) == ["done<|im_end|>"]
    assert tokenizer.decode(row["input_ids"]).endswith(
        "<|im_start|>user\nDo it\n\non this<|im_end|>\n<|im_start|>assistant\ndone<|im_end|>"
    )


def test_text_is_trained_whole_and_never_templated(tiny_model_dir: Path) -> None:
    _, tokenizer = load_model(str(tiny_model_dir))
    [row], _ = tokenize_examples(tokenizer, [PlainText("Oslo is in Norway.")], seq_len=512)
    assert all(label != IGNORE_INDEX for label in row["labels"])
    assert tokenizer.decode(row["input_ids"]) == "Oslo is in Norway.<|im_end|>"


def test_without_a_chat_template_prompts_stay_plain(tiny_model_dir: Path) -> None:
    _, tokenizer = load_model(str(tiny_model_dir))
    tokenizer.chat_template = None
    [pc, chat], _ = tokenize_examples(
        tokenizer,
        [PromptCompletion("Q: 2+2?\nA:", " 4"), load_train_data_chat(tiny_model_dir)],
        seq_len=512,
    )
    assert tokenizer.decode(pc["input_ids"]) == "Q: 2+2?\nA: 4<|im_end|>"
    assert trained_text(tokenizer, pc) == [" 4<|im_end|>"]
    assert "<|im_start|>" not in tokenizer.decode(chat["input_ids"])
    assert trained_text(tokenizer, chat) == [
        '{"name": "Tom"}<|im_end|>',
        '{"city": "Oslo"}<|im_end|>',
    ]


def load_train_data_chat(folder: Path) -> Chat:
    example = load_train_data(write_jsonl(folder.parent / "chat1.jsonl", [CHAT])).examples[0]
    assert isinstance(example, Chat)
    return example


# --- each format trains ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "fields"),
    [
        ([{"prompt": "Name of: Tom from Oslo", "completion": '{"name": "Tom"}'}], {}),
        ([CHAT], {}),
        ([{"instruction": "Name of:", "input": "Tom from Oslo", "output": "Tom"}], {}),
        ([{"text": "Tom lives in Oslo. Ada lives in Rome."}], {}),
        (
            [{"question": "Name of: Tom", "answer": "Tom"}],
            {"prompt": "question", "completion": "answer"},
        ),
    ],
    ids=["prompt_completion", "chat", "alpaca", "text", "fields"],
)
def test_each_format_trains_the_tiny_model(
    tiny_model_dir: Path, tmp_path: Path, rows: list, fields: dict
) -> None:
    data = load_train_data(write_jsonl(tmp_path / "t.jsonl", rows * 4), fields=fields)
    model, tokenizer = load_model(str(tiny_model_dir))
    _, result = train_lora(model, tokenizer, QUICK, examples=data.examples)
    assert result.steps == 2
    assert all(math.isfinite(loss) for loss in result.loss_history)
    assert result.tokens_trained > 0
