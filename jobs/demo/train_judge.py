"""Train the small demo judge on the demo's checklist task, so its answers carry real signal.

The examples are the very prompts the judge sends (the item template in the model's chat
template, via the judge's own encoder) over freshly drawn samples, each labelled by its
question's rule (jobs.demo.checklist_task); the loss is cross-entropy on the next token after
the prompt, "Yes" or "No". A bounded run on a CPU (about a minute on 2 cores) learns the
rules that can be read off the response; one question (factual errors in sums) needs
arithmetic the model cannot learn, so the judge stays imperfect there and calibration has
something to correct. The model is saved with `save_pretrained` and loaded by vLLM like any
other; `training.json` beside it records the recipe and held-out accuracy.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jobs.demo.checklist_task import QUESTIONS, true_answers
from jobs.demo.demo_data import draw_samples
from scorers.checklist.prompt import default_item_template, item_prompts
from scorers.judge.prompt_tokens import encode_prompts

TRAINING_SEED = 1000  # the samples drawn for training; the demo data uses another seed
TRAINING_FILE = "training.json"


@dataclass(frozen=True)
class Recipe:
    steps: int = 300
    batch_size: int = 32
    max_lr: float = 2e-3  # OneCycle; a constant 3e-3 diverged in a first try
    training_samples: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class Example:
    token_ids: list[int]
    answer: bool
    question: int
    text: tuple[str, str]  # (prompt, response): which sample it came from


def task_examples(tokenizer: Any, n_samples: int, seed: int) -> list[Example]:
    """Every question of the task asked of `n_samples` drawn samples, as judge prompts."""
    template = default_item_template()
    samples = draw_samples(random.Random(seed))
    out: list[Example] = []
    for _ in range(n_samples):
        prompt, response, kind = next(samples)
        texts = item_prompts(template, prompt, response, [q.question for q in QUESTIONS])
        ids = encode_prompts(tokenizer, texts, use_chat_template=True)
        for n, (token_ids, answer) in enumerate(
            zip(ids, true_answers(response, kind), strict=True)
        ):
            out.append(Example(token_ids, answer, n, (prompt, response)))
    return out


def train_judge(model_dir: str | Path, recipe: Recipe | None = None) -> dict[str, Any]:
    """Train the model in `model_dir` in place and return what training.json records."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    recipe = recipe or Recipe()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    answer_ids = {
        True: tokenizer.convert_tokens_to_ids("Yes"),
        False: tokenizer.convert_tokens_to_ids("No"),
    }
    examples = task_examples(tokenizer, recipe.training_samples, TRAINING_SEED)
    held_out = task_examples(tokenizer, 100, TRAINING_SEED + 1)

    torch.manual_seed(recipe.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.max_lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.max_lr, total_steps=recipe.steps
    )
    draw = random.Random(recipe.seed)
    started = time.time()
    model.train()
    for _ in range(recipe.steps):
        batch = draw.sample(examples, recipe.batch_size)
        logits = _last_logits(model, batch, tokenizer.pad_token_id)
        target = torch.tensor([answer_ids[e.answer] for e in batch])
        loss = torch.nn.functional.cross_entropy(logits, target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    model.eval()
    model.save_pretrained(model_dir, safe_serialization=True)
    record = {
        "recipe": asdict(recipe),
        "training_seed": TRAINING_SEED,
        "seconds": round(time.time() - started, 1),
        "final_loss": round(loss.item(), 4),
        "held_out_accuracy": _accuracy(model, held_out, tokenizer.pad_token_id, answer_ids),
    }
    (Path(model_dir) / TRAINING_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def _last_logits(model: Any, batch: list[Example], pad_id: int) -> Any:
    """Next-token logits after each prompt, the batch padded on the left."""
    import torch

    width = max(len(e.token_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        ids[row, width - len(example.token_ids) :] = torch.tensor(example.token_ids)
        mask[row, width - len(example.token_ids) :] = 1
    return model(input_ids=ids, attention_mask=mask).logits[:, -1, :]


def _accuracy(
    model: Any, examples: list[Example], pad_id: int, answer_ids: dict[bool, int]
) -> dict[str, float]:
    """Share of held-out answers right, per question."""
    import torch

    right: dict[str, list[bool]] = {q.question: [] for q in QUESTIONS}
    with torch.no_grad():
        for start in range(0, len(examples), 64):
            batch = examples[start : start + 64]
            logits = _last_logits(model, batch, pad_id)
            says_yes = logits[:, answer_ids[True]] > logits[:, answer_ids[False]]
            for example, yes in zip(batch, says_yes.tolist(), strict=True):
                right[QUESTIONS[example.question].question].append(yes == example.answer)
    return {q: round(sum(r) / len(r), 3) for q, r in right.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model_dir", nargs="?", default="models/tiny-judge")
    parser.add_argument("--steps", type=int, default=Recipe.steps)
    args = parser.parse_args()
    record = train_judge(args.model_dir, Recipe(steps=args.steps))
    print(f"judge trained in {record['seconds']} s; held-out accuracy per question:")
    for question, accuracy in record["held_out_accuracy"].items():
        print(f"  {accuracy:.3f}  {question}")


if __name__ == "__main__":
    main()
