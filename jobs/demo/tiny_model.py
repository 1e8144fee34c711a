"""Build a small Llama judge model on disk, with no download.

A byte-level BPE tokenizer trained here (with a chat template and "Yes", "No", " Yes", " No"
as single tokens) and a 2-layer Llama with random weights, saved with `save_pretrained`:
vLLM loads the folder exactly as it loads a real model. Random weights give arbitrary but
deterministic confidences; that is enough to test the plumbing and the log-prob maths.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ["<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]
LABEL_TOKENS = ["Yes", "No", " Yes", " No"]
VOCAB_SIZE = 1024


def _training_text() -> Iterable[str]:
    from jobs.demo.demo_data import demo_corpus_text
    from scorers.checklist.prompt import default_item_template

    yield default_item_template()
    yield from demo_corpus_text()


def build_tiny_model(out_dir: str | Path, seed: int = 0) -> Path:
    """Write tokenizer and model to `out_dir` and return it. Takes a few seconds on a CPU."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(  # type: ignore[no-untyped-call]
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_training_text(), trainer=trainer)
    bpe.add_tokens(LABEL_TOKENS)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        chat_template=CHAT_TEMPLATE,
    )
    tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=64,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    # Random init gives near-uniform logits; scale the head so confidences spread over (0, 1).
    with torch.no_grad():
        model.lm_head.weight.mul_(20.0)
    model.save_pretrained(out, safe_serialization=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", nargs="?", default="models/tiny-judge")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = build_tiny_model(args.out_dir, seed=args.seed)
    print(f"tiny judge model written to {path}")


if __name__ == "__main__":
    main()
