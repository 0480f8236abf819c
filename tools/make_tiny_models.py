#!/usr/bin/env python3
"""Build tiny random-weight ONNX Runtime GenAI model folders for Hearth's tests and benchmarks.

Each preset creates a Hugging Face model with random weights (fixed seed) and a byte-level BPE
tokenizer trained offline on ``tools/tiny_corpus.txt``, converts it with the ONNX Runtime GenAI
model builder and keeps only the files the runtime reads. No network access is needed.

    python tools/make_tiny_models.py tiny-llama --out tests/fixtures/models/tiny-llama --force
    python tools/make_tiny_models.py bench-llama --out ~/.cache/hearth-dev/models/bench-llama

Presets:
    tiny-llama    LlamaForCausalLM, ChatML template, fp32, context 512 (committed fixture)
    tiny-gptoss   GptOssForCausalLM, harmony tokens and template, int4 QMoE, context 512
                  (committed fixture)
    bench-llama   ~40M-parameter Llama, int4, context 4096 (built on demand by benchmarks)
    bench-gptoss  ~40M-parameter gpt-oss, int4 QMoE, context 4096 (built on demand)

Runs in a Python 3.11 environment with torch and ``tools/requirements-models.txt`` (see
``tools/README.md``). The output folder is written atomically: it appears complete or not at all,
with a ``build_info.json`` that records the preset and the versions used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

# The builder and transformers must never try the Hugging Face hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import torch
from safetensors.torch import load_file, save_file
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import PreTrainedModel, PreTrainedTokenizerFast
from transformers.utils import logging as transformers_logging

TOOL_VERSION = 1
TOOLS_DIR = Path(__file__).resolve().parent
CORPUS = TOOLS_DIR / "tiny_corpus.txt"
CHECK_SCRIPT = TOOLS_DIR / "check_model.py"

# Files of a builder output folder that onnxruntime-genai reads; everything else is dropped.
RUNTIME_FILES = (
    "genai_config.json",
    "model.onnx",
    "model.onnx.data",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
)

Family = Literal["llama", "gptoss"]
Precision = Literal["fp32", "int4"]


@dataclass(frozen=True)
class ChatFormat:
    """Special tokens, stop tokens and chat template of one prompt format."""

    special_tokens: tuple[str, ...]
    bos: str
    eos: str
    pad: str
    stop_tokens: tuple[str, ...]
    template: str


CHATML = ChatFormat(
    special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
    bos="<|endoftext|>",
    eos="<|im_end|>",
    pad="<|endoftext|>",
    stop_tokens=("<|im_end|>",),
    template=(
        "{% for message in messages %}"
        "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
        "{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    ),
)

# Harmony (gpt-oss), reduced: the caller's system message is rendered as the system message (the
# real template writes its own system preamble and turns the caller's one into a developer
# message), past assistant messages are their final channel only, and the model chooses the
# channel after the generation prompt. <|return|> and <|call|> both end a turn, as in gpt-oss's
# generation_config.json, which also lists <|endoftext|>.
HARMONY = ChatFormat(
    special_tokens=(
        "<|startoftext|>",
        "<|endoftext|>",
        "<|start|>",
        "<|end|>",
        "<|message|>",
        "<|channel|>",
        "<|return|>",
        "<|call|>",
        "<|constrain|>",
    ),
    bos="<|startoftext|>",
    eos="<|return|>",
    pad="<|endoftext|>",
    stop_tokens=("<|return|>", "<|endoftext|>", "<|call|>"),
    template=(
        "{% for message in messages %}"
        "{% if message['role'] == 'assistant' %}"
        "{{ '<|start|>assistant<|channel|>final<|message|>' + message['content'] + '<|end|>' }}"
        "{% else %}"
        "{{ '<|start|>' + message['role'] + '<|message|>' + message['content'] + '<|end|>' }}"
        "{% endif %}"
        "{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|start|>assistant' }}{% endif %}"
    ),
)

FORMATS: dict[Family, ChatFormat] = {"llama": CHATML, "gptoss": HARMONY}


@dataclass(frozen=True)
class Preset:
    """Architecture and build settings of one model folder."""

    name: str
    family: Family
    precision: Precision
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    context_length: int
    num_experts: int = 0
    experts_per_token: int = 0
    sliding_window: int = 0
    seed: int = 0
    committed: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="tiny-llama",
            family="llama",
            precision="fp32",
            vocab_size=1024,
            hidden_size=64,
            num_layers=2,
            num_heads=4,
            num_kv_heads=2,
            intermediate_size=128,
            context_length=512,
            committed=True,
        ),
        Preset(
            name="tiny-gptoss",
            family="gptoss",
            precision="int4",
            vocab_size=1024,
            hidden_size=64,
            num_layers=2,
            num_heads=4,
            num_kv_heads=2,
            intermediate_size=64,
            context_length=512,
            num_experts=4,
            experts_per_token=2,
            sliding_window=128,
            committed=True,
        ),
        Preset(
            name="bench-llama",
            family="llama",
            precision="int4",
            vocab_size=8192,
            hidden_size=512,
            num_layers=8,
            num_heads=8,
            num_kv_heads=4,
            intermediate_size=2048,
            context_length=4096,
        ),
        Preset(
            name="bench-gptoss",
            family="gptoss",
            precision="int4",
            vocab_size=8192,
            hidden_size=512,
            num_layers=8,
            num_heads=8,
            num_kv_heads=4,
            intermediate_size=256,
            context_length=4096,
            num_experts=8,
            experts_per_token=2,
            sliding_window=128,
        ),
    )
}


def log(message: str) -> None:
    """Print a progress line."""
    print(f"[make_tiny_models] {message}", flush=True)


def train_tokenizer(preset: Preset, fmt: ChatFormat) -> Tokenizer:
    """Train a byte-level BPE tokenizer on the committed corpus (deterministic)."""
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=preset.vocab_size,
        special_tokens=list(fmt.special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train([str(CORPUS)], trainer)
    return tokenizer


def make_hf_tokenizer(raw: Tokenizer, preset: Preset, fmt: ChatFormat) -> PreTrainedTokenizerFast:
    """Wrap the trained tokenizer with its special tokens and chat template."""
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token=fmt.bos,
        eos_token=fmt.eos,
        pad_token=fmt.pad,
        model_max_length=preset.context_length,
        chat_template=fmt.template,
    )


def make_model(preset: Preset, token_ids: dict[str, int], vocab_size: int) -> PreTrainedModel:
    """Create the random-weight Hugging Face model of a preset."""
    fmt = FORMATS[preset.family]
    common: dict[str, Any] = {
        "vocab_size": vocab_size,
        "hidden_size": preset.hidden_size,
        "num_hidden_layers": preset.num_layers,
        "num_attention_heads": preset.num_heads,
        "num_key_value_heads": preset.num_kv_heads,
        "head_dim": preset.head_dim,
        "intermediate_size": preset.intermediate_size,
        "max_position_embeddings": preset.context_length,
        "tie_word_embeddings": False,
        "bos_token_id": token_ids[fmt.bos],
        "eos_token_id": token_ids[fmt.eos],
        "pad_token_id": token_ids[fmt.pad],
    }
    torch.manual_seed(preset.seed)
    model: PreTrainedModel
    if preset.family == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        model = LlamaForCausalLM(LlamaConfig(**common, rms_norm_eps=1e-6))
    else:
        from transformers import GptOssConfig, GptOssForCausalLM

        layer_types = [
            "sliding_attention" if i % 2 == 0 else "full_attention"
            for i in range(preset.num_layers)
        ]
        config = GptOssConfig(
            **common,
            num_local_experts=preset.num_experts,
            num_experts_per_tok=preset.experts_per_token,
            sliding_window=preset.sliding_window,
            layer_types=layer_types,
            # gpt-oss's YaRN RoPE (theta 150000, factor 32 over 4096 positions); the builder's
            # gpt-oss path requires YaRN.
            rope_parameters={
                "rope_type": "yarn",
                "rope_theta": 150000.0,
                "factor": 32.0,
                "beta_fast": 32.0,
                "beta_slow": 1.0,
                "truncate": False,
                "original_max_position_embeddings": 4096,
            },
        )
        model = GptOssForCausalLM(config)
    return model.to(torch.float32).eval()


# E2M1 magnitudes of the MXFP4 format, indexed by the low three bits of a code.
MXFP4_VALUES = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


def quantize_mxfp4(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Quantize output-major expert weights [E, N, K] to the original gpt-oss MXFP4 layout.

    Returns (blocks [E, N, K/32, 16] uint8 with two E2M1 codes per byte, low nibble first;
    scales [E, N, K/32] uint8 E8M0 exponents with bias 127; the dequantized weight [E, N, K]).
    """
    experts, rows, cols = weight.shape
    if cols % 32:
        raise ValueError(f"MXFP4 needs the input dimension to be a multiple of 32, got {cols}")
    w = weight.float().reshape(experts, rows, cols // 32, 32)
    amax = w.abs().amax(-1).clamp_min(1e-30)
    exponent = torch.floor(torch.log2(amax)) - 2  # 6.0 = 1.5 * 2**2 is the largest code
    scaled = w / torch.pow(2.0, exponent).unsqueeze(-1)
    magnitude = scaled.abs().clamp(max=6.0)
    code = (magnitude.unsqueeze(-1) - MXFP4_VALUES).abs().argmin(-1).to(torch.uint8)
    negative = scaled < 0
    code = code | (negative.to(torch.uint8) << 3)
    blocks = (code[..., 0::2] | (code[..., 1::2] << 4)).contiguous()
    scales = (exponent + 127).clamp(0, 255).to(torch.uint8).contiguous()
    values = MXFP4_VALUES[(code & 0x07).long()]
    values = torch.where(negative, -values, values)
    dequantized = (values * torch.pow(2.0, exponent).unsqueeze(-1)).reshape(experts, rows, cols)
    return blocks, scales, dequantized


def add_mxfp4_experts(model: PreTrainedModel) -> dict[str, torch.Tensor]:
    """Make the dense experts exactly MXFP4-representable and return the original-format tensors.

    The builder's int4 path for gpt-oss (QMoE) reads the experts from the original checkpoint's
    ``*_blocks`` / ``*_scales`` tensors, not from the dense Hugging Face weights. Writing the
    dequantized values back keeps the Hugging Face model and those tensors identical.
    """
    extra: dict[str, torch.Tensor] = {}
    for layer_id, layer in enumerate(model.model.layers):
        experts = layer.mlp.experts
        for name in ("gate_up_proj", "down_proj"):
            param = getattr(experts, name)  # input-major [E, K, N]
            blocks, scales, dequantized = quantize_mxfp4(param.data.transpose(-1, -2))
            param.data.copy_(dequantized.transpose(-1, -2))
            prefix = f"model.layers.{layer_id}.mlp.experts.{name}"
            extra[f"{prefix}_blocks"] = blocks
            extra[f"{prefix}_scales"] = scales
    return extra


def write_hf_folder(preset: Preset, hf_dir: Path) -> dict[str, Any]:
    """Write the Hugging Face model folder that the builder converts; return facts about it."""
    fmt = FORMATS[preset.family]
    raw = train_tokenizer(preset, fmt)
    vocab_size = raw.get_vocab_size()
    token_ids = {token: raw.token_to_id(token) for token in fmt.special_tokens}
    log(f"tokenizer: vocab {vocab_size}, special tokens {token_ids}")
    tokenizer = make_hf_tokenizer(raw, preset, fmt)
    model = make_model(preset, token_ids, vocab_size)
    extra = add_mxfp4_experts(model) if preset.family == "gptoss" else {}
    params = sum(p.numel() for p in model.parameters())
    log(f"model: {type(model).__name__}, {params:,} parameters")

    hf_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    stop_ids = [token_ids[token] for token in fmt.stop_tokens]
    generation_config = {
        "bos_token_id": token_ids[fmt.bos],
        "eos_token_id": stop_ids if len(stop_ids) > 1 else stop_ids[0],
        "pad_token_id": token_ids[fmt.pad],
    }
    (hf_dir / "generation_config.json").write_text(json.dumps(generation_config, indent=2) + "\n")
    if extra:
        weights_path = hf_dir / "model.safetensors"
        weights = load_file(weights_path)
        weights.update(extra)
        save_file(weights, weights_path, metadata={"format": "pt"})
    return {"parameters": params, "vocab_size": vocab_size, "eos_token_ids": stop_ids}


def run_builder(preset: Preset, hf_dir: Path, out_dir: Path, cache_dir: Path) -> None:
    """Convert the Hugging Face folder with ``onnxruntime_genai.models.builder``."""
    command = [
        sys.executable,
        "-m",
        "onnxruntime_genai.models.builder",
        "-i",
        str(hf_dir),
        "-o",
        str(out_dir),
        "-p",
        preset.precision,
        "-e",
        "cpu",
        "-c",
        str(cache_dir),
    ]
    log("running " + " ".join(command[2:]))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-8000:])
        raise RuntimeError(f"the model builder failed with exit code {result.returncode}")


def finish_folder(preset: Preset, out_dir: Path, facts: dict[str, Any]) -> None:
    """Drop files the runtime does not read and pin the settings the app relies on."""
    for path in sorted(out_dir.iterdir()):
        if path.name not in RUNTIME_FILES:
            log(f"dropping {path.name}")
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    missing = [name for name in RUNTIME_FILES if not (out_dir / name).exists()]
    if missing:
        raise RuntimeError(f"the builder output lacks {missing}")

    config_path = out_dir / "genai_config.json"
    config = json.loads(config_path.read_text())
    config["model"]["context_length"] = preset.context_length
    config["search"]["max_length"] = preset.context_length
    eos = facts["eos_token_ids"]
    if config["model"]["eos_token_id"] != (eos if len(eos) > 1 else eos[0]):
        raise RuntimeError(f"unexpected eos_token_id {config['model']['eos_token_id']}, want {eos}")
    config_path.write_text(json.dumps(config, indent=4) + "\n")

    # transformers 5 keeps the template only in chat_template.jinja; older loaders read it from
    # tokenizer_config.json, so keep both.
    template = (out_dir / "chat_template.jinja").read_text()
    if template != FORMATS[preset.family].template:
        raise RuntimeError("chat_template.jinja differs from the preset's template")
    tokenizer_config_path = out_dir / "tokenizer_config.json"
    tokenizer_config = json.loads(tokenizer_config_path.read_text())
    tokenizer_config["chat_template"] = template
    # Traces of the builder's offline load, not tokenizer settings.
    for key in ("is_local", "local_files_only"):
        tokenizer_config.pop(key, None)
    # transformers 5 writes "TokenizersBackend", which older runtimes (0.13) reject.
    tokenizer_config["tokenizer_class"] = "PreTrainedTokenizerFast"
    tokenizer_config_path.write_text(json.dumps(tokenizer_config, indent=2) + "\n")

    info = {
        "tool": "tools/make_tiny_models.py",
        "tool_version": TOOL_VERSION,
        "preset": asdict(preset),
        "parameters": facts["parameters"],
        "vocab_size": facts["vocab_size"],
        "eos_token_ids": eos,
        "versions": package_versions(),
    }
    (out_dir / "build_info.json").write_text(json.dumps(info, indent=2) + "\n")


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the output."""
    from importlib.metadata import version

    names = ("torch", "transformers", "tokenizers", "onnx", "onnx-ir", "onnxruntime-genai")
    return {name: version(name) for name in names}


def folder_size(path: Path) -> int:
    """Total size in bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build(preset: Preset, out: Path, cache: Path | None, force: bool, check: bool) -> None:
    """Build ``preset`` into ``out`` (atomically), keeping intermediates in ``cache`` if given."""
    out = out.expanduser().resolve()
    if out.exists() and not force:
        raise SystemExit(f"{out} exists; pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as staging_str:
        staging = Path(staging_str)
        work = staging / "work" if cache is None else cache.expanduser().resolve() / preset.name
        if work.exists():
            shutil.rmtree(work)
        hf_dir = work / "hf"
        built = staging / "out"
        facts = write_hf_folder(preset, hf_dir)
        run_builder(preset, hf_dir, built, work / "builder-cache")
        finish_folder(preset, built, facts)
        if check:
            subprocess.run(
                [sys.executable, str(CHECK_SCRIPT), str(built), "--tokens", "8"], check=True
            )
        if out.exists():
            shutil.rmtree(out)
        built.rename(out)
    elapsed = time.perf_counter() - started
    log(f"{preset.name}: {folder_size(out) / 1e6:.2f} MB in {out} ({elapsed:.0f} s)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Build a tiny random-weight ONNX Runtime GenAI model folder.",
        epilog="Presets: "
        + "; ".join(
            f"{p.name} ({p.family}, {p.precision}, context {p.context_length})"
            for p in PRESETS.values()
        ),
    )
    parser.add_argument("preset", choices=sorted(PRESETS), help="what to build")
    parser.add_argument("--out", type=Path, required=True, help="output model folder")
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep the Hugging Face folder and builder cache in CACHE/PRESET (default: temporary)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")
    parser.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="skip loading the result and generating a few tokens with onnxruntime-genai",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = parse_args(argv)
    # Quiet known noise: the YaRN factor note and the loader's report on the MXFP4 tensors.
    transformers_logging.set_verbosity_error()
    build(PRESETS[args.preset], args.out, args.cache, args.force, args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
