"""A training example -> token ids and labels, trained tokens kept, the rest masked with -100.

Each example is first laid out as text segments, each trained or not, then every segment is
tokenized on its own: the token boundary between a prompt and its answer is the one the model
meets when it generates after the prompt.

With a chat template (the tokenizer has one), a prompt/completion pair is the user turn rendered
with the generation prompt, then the answer and the end-of-turn token; a conversation is rendered
turn by turn and only the assistant turns are trained. Without a chat template (a base model)
nothing is forced on it: the prompt is the plain text and the answer follows it directly, a
conversation's turns follow each other one per line. Plain text is trained whole, never
templated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from objectives.errors import TrainConfigError
from objectives.train_data._examples import Chat, Message, PlainText, TrainExample

IGNORE_INDEX = -100
"""Label value the loss ignores (untrained and padding positions)."""


@dataclass(frozen=True)
class Segment:
    text: str
    trained: bool


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def segments(tokenizer: Any, example: TrainExample) -> list[Segment]:
    """The text of ``example`` as the model sees it, cut where training starts and stops."""
    eos = _end_of_turn(tokenizer)
    if isinstance(example, PlainText):
        return [Segment(example.text + eos, True)]
    templated = has_chat_template(tokenizer)
    if isinstance(example, Chat):
        return (
            _chat_segments(tokenizer, example.messages)
            if templated
            else [
                Segment(m.content + (eos if m.role == "assistant" else "\n"), m.role == "assistant")
                for m in example.messages
            ]
        )
    if templated:
        prompt = _render(tokenizer, [Message("user", example.prompt)], generation_prompt=True)
    else:
        prompt = example.prompt
    return [Segment(prompt, False), Segment(example.completion + eos, True)]


def tokenize_examples(
    tokenizer: Any, examples: Sequence[TrainExample], seq_len: int
) -> tuple[list[dict[str, list[int]]], int]:
    """Token ids and labels of each example, plus how many were cut to ``seq_len``.

    Examples cut so short that no trained token is left are dropped; if that leaves nothing,
    ``TrainConfigError`` says so.
    """
    rows: list[dict[str, list[int]]] = []
    truncated = 0
    for example in examples:
        input_ids: list[int] = []
        labels: list[int] = []
        for segment in segments(tokenizer, example):
            ids = tokenizer(segment.text, add_special_tokens=False)["input_ids"]
            input_ids += ids
            labels += ids if segment.trained else [IGNORE_INDEX] * len(ids)
        if len(input_ids) > seq_len:
            truncated += 1
            input_ids, labels = input_ids[:seq_len], labels[:seq_len]
        if all(label == IGNORE_INDEX for label in labels):
            continue  # nothing left to learn from
        rows.append({"input_ids": input_ids, "labels": labels})
    if examples and not rows:
        raise TrainConfigError(
            f"`seq_len` must leave trained tokens after the prompt of at least one example, "
            f"but got seq_len={seq_len} (every example's prompt is that long or longer)."
        )
    return rows, truncated


def _chat_segments(tokenizer: Any, messages: Sequence[Message]) -> list[Segment]:
    """Render the conversation turn by turn; each assistant turn is what the template adds
    between the generation prompt before it and the conversation up to its end."""
    out: list[Segment] = []
    done = ""
    for i, message in enumerate(messages):
        if message.role != "assistant":
            continue
        before = _render(tokenizer, messages[:i], generation_prompt=True)
        after = _render(tokenizer, messages[: i + 1], generation_prompt=False)
        if not before.startswith(done) or not after.startswith(before):
            raise TrainConfigError(
                "The tokenizer's chat template does not render a conversation as a prefix of "
                "its continuation, so assistant turns cannot be told apart; train on "
                "prompt/completion records instead."
            )
        out += [Segment(before[len(done) :], False), Segment(after[len(before) :], True)]
        done = after
    rest = _render(tokenizer, messages, generation_prompt=False)[len(done) :]
    if rest:
        out.append(Segment(rest, False))
    return [segment for segment in out if segment.text]


def _render(tokenizer: Any, messages: Sequence[Message], *, generation_prompt: bool) -> str:
    return str(
        tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            tokenize=False,
            add_generation_prompt=generation_prompt,
        )
    )


def _end_of_turn(tokenizer: Any) -> str:
    token = tokenizer.eos_token
    if not token:
        raise TrainConfigError(
            "The tokenizer has no eos_token; the answer's end-of-turn marker is unknown."
        )
    return str(token)
