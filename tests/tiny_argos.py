"""A tiny, real argostranslate package (.argosmodel), built offline in well under a second.

Tests that draft translations run the real argostranslate code path with it: install_from_path
→ MiniSBD sentence split (onnxruntime) → SentencePiece → CTranslate2 beam search → decode.
Nothing is downloaded and no torch is needed. The archive holds one folder:

    translate-en_<to>-tiny/
        metadata.json           type "translate", from_code/to_code
        sentencepiece.model     trained here on generated sentences (byte fallback on)
        model/                  a CTranslate2 Transformer whose weights are set by hand
        minisbd/tiny_sbd.onnx   a 1 KB sentence splitter, so MiniSBD downloads nothing

The Transformer *copies* its input: hidden states are [token part | position part]; the
decoder's cross-attention matches its step's position against the source positions and adds
the source token's vector, and the output projection is the token embedding table, so step t
emits source token t; `</s>` appended to the source ends decoding. The "translation" of a text
is therefore the text itself, with argostranslate's own decoding quirks (`_` becomes a space).
"""

from __future__ import annotations

import io
import json
import os
import random
import string
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from babel.messages.pofile import read_po

SEED = 20240601
_WORDS = (
    "hello dear member your plan call us at the a and or to for on of in is are you we can "
    "please refill prescription appointment date time place address screening coverage "
    "change today free help language interpreter service message thank goodbye again number "
    "day days hours week open monday friday saturday every pharmacy nurse line services"
)
VOCABULARY = _WORDS.split()
SPECIALS = ["%(name)s", "%(phone)s", "701", "702", "(TTY 711)", "24", "$9.99", "50%", "#42"]


def training_sentences(count: int = 400, seed: int = SEED) -> list[str]:
    """Generated sentences with numbers and symbols, plus every printable ASCII character."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(3, 12))]
        if rng.random() < 0.5:
            words.insert(rng.randrange(len(words) + 1), rng.choice(SPECIALS))
        if rng.random() < 0.3:
            words.append(str(rng.randint(0, 9999)))
        text = " ".join(words)
        out.append(text[0].upper() + text[1:] + rng.choice(".!?,;:"))
    printable = "".join(c for c in string.printable if c not in "\t\n\r\x0b\x0c")
    return out + [printable] * 3


def train_tokenizer(sentences: list[str]) -> bytes:
    """A SentencePiece unigram model that keeps the text as is (unknown chars → byte pieces)."""
    import sentencepiece as spm

    model = io.BytesIO()
    with open(os.devnull, "w") as quiet:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model,
            logstream=quiet,
            model_type="unigram",
            vocab_size=400,
            hard_vocab_limit=False,
            character_coverage=1.0,
            byte_fallback=True,
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            num_threads=1,
        )
    return model.getvalue()


def _unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    # Zero-mean unit rows: LayerNorm then only rescales them, so dot products stay sharp.
    x = rng.standard_normal((n, dim))
    x -= x.mean(axis=1, keepdims=True)
    unit: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def copy_transformer_spec(pieces: list[str], seed: int = SEED) -> Any:
    """A 1-layer, 1-head CTranslate2 TransformerSpec that copies its source."""
    import ctranslate2  # type: ignore[import-untyped]

    f32, tok_dim, pos_dim, max_pos = np.float32, 64, 64, 1026
    rng = np.random.default_rng(seed)
    vocab, dim = len(pieces), tok_dim + pos_dim
    tokens = np.zeros((vocab, dim), f32)
    tokens[:, :tok_dim] = _unit_vectors(rng, vocab, tok_dim)
    positions = np.zeros((max_pos, dim), f32)
    positions[:, tok_dim:] = _unit_vectors(rng, max_pos, pos_dim)
    keep_tokens = np.diag([1.0] * tok_dim + [0.0] * pos_dim).astype(f32)
    keep_positions = np.diag([0.0] * tok_dim + [1.0] * pos_dim).astype(f32)

    def layer_norm(ln: Any, scale: float = 1.0) -> None:
        ln.gamma, ln.beta = np.full(dim, scale, f32), np.zeros(dim, f32)

    def linear(lin: Any, weight: np.ndarray) -> None:
        lin.weight, lin.bias = weight.astype(f32), np.zeros(weight.shape[0], f32)

    def silent(layer: Any) -> None:  # self-attention and feed-forward add nothing
        layer_norm(layer.self_attention.layer_norm)
        layer_norm(layer.ffn.layer_norm)
        linear(layer.self_attention.linear[0], np.zeros((3 * dim, dim)))
        linear(layer.self_attention.linear[1], np.zeros((dim, dim)))
        linear(layer.ffn.linear_0, np.zeros((dim, dim)))
        linear(layer.ffn.linear_1, np.zeros((dim, dim)))

    spec = ctranslate2.specs.TransformerSpec.from_config(num_layers=1, num_heads=1, pre_norm=True)
    for side in (spec.encoder, spec.decoder):
        side.scale_embeddings = False
        side.position_encodings.encodings = positions
        layer_norm(side.layer_norm)
        silent(side.layer[0])
    spec.encoder.embeddings[0].weight = tokens
    spec.decoder.embeddings.weight = tokens
    cross = spec.decoder.layer[0].attention
    layer_norm(cross.layer_norm)
    linear(cross.linear[0], 8.0 * keep_positions)  # query: this step's position
    linear(cross.linear[1], np.concatenate([keep_positions, keep_tokens]))  # key, value
    linear(cross.linear[2], 4.0 * keep_tokens)  # add the copied token
    layer_norm(spec.decoder.layer_norm, scale=4.0)
    spec.decoder.projection.weight = tokens
    spec.decoder.projection.bias = np.zeros(vocab, f32)
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    spec.config.add_source_eos = True  # SentencePiece ids 0-2 = <unk>, <s>, </s>
    return spec


def write_copy_model(pieces: list[str], out_dir: Path) -> None:
    import ctranslate2

    class CopyConverter(ctranslate2.converters.Converter):  # type: ignore[misc]
        def _load(self) -> Any:
            return copy_transformer_spec(pieces)

    CopyConverter().convert(str(out_dir), force=True)


def write_sentence_splitter(path: Path, lang: str) -> None:
    """A MiniSBD ONNX graph: a sentence ends at . ! ? followed by a space or the end."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    units = ["<PAD>", "<UNK>", " ", ".", "!", "?"]
    vocab = {
        "lang": lang,
        "idx": 0,
        "cutoff": 0,
        "lower": False,
        "_id2unit": units,
        "_unit2id": {u: i for i, u in enumerate(units)},
    }
    config = {
        "skip_newline": False,
        "max_seqlen": 1000,
        "no_ssplit": False,
        "batch_size": 32,
        "feat_funcs": ["space_before"],
        "use_dictionary": False,
        "num_dict_feat": 0,
    }
    consts: dict[str, np.ndarray] = {
        "punct": np.array([0, 0, 0, 1, 1, 1], np.float32),
        "space": np.array([1, 0, 1, 0, 0, 0], np.float32),
        "pads": np.array([0, 0, 0, 1], np.int64),
        "pad_id": np.array(0, np.int64),
        "one": np.array([1], np.int64),
        "big": np.array([2**62], np.int64),
        "ax1": np.array([1], np.int64),
        "ax2": np.array([2], np.int64),
        "w": np.array([-1, 0, 1, 0, 0], np.float32),
        "b": np.array([0.5, 0, 0, 0, 0], np.float32),
    }
    nodes = [
        helper.make_node("Gather", ["punct", "units"], ["is_punct"]),
        helper.make_node("Pad", ["units", "pads", "pad_id"], ["padded"]),
        helper.make_node("Slice", ["padded", "one", "big", "ax1"], ["next"]),
        helper.make_node("Gather", ["space", "next"], ["next_is_space"]),
        helper.make_node("Mul", ["is_punct", "next_is_space"], ["ends"]),
        helper.make_node("Unsqueeze", ["ends", "ax2"], ["ends3"]),
        helper.make_node("Mul", ["ends3", "w"], ["weighted"]),
        helper.make_node("Add", ["weighted", "b"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_sbd",
        [
            helper.make_tensor_value_info("units", TensorProto.INT64, ["B", "N"]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["B", "N", 1]),
        ],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["B", "N", 5])],
        [numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    helper.set_model_props(
        model,
        {
            "lang_code": lang,
            "config": json.dumps(config),
            "vocab": json.dumps(vocab),
            "lexicon": "null",
        },
    )
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def build_tiny_argos_model(
    out: Path, to_code: str = "vi", to_name: str = "Vietnamese", version: str = "0.0.1"
) -> Path:
    """Write `translate-en_<to_code>-tiny` as a .argosmodel zip at `out`; return `out`."""
    import sentencepiece as spm

    name = f"translate-en_{to_code}-tiny"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        root.mkdir()
        tokenizer = train_tokenizer(training_sentences())
        (root / "sentencepiece.model").write_bytes(tokenizer)
        sp = spm.SentencePieceProcessor(model_proto=tokenizer)
        write_copy_model([sp.id_to_piece(i) for i in range(sp.get_piece_size())], root / "model")
        write_sentence_splitter(root / "minisbd" / "tiny_sbd.onnx", "en")
        metadata = {
            "package_version": version,
            "argos_version": "1.11.0",
            "type": "translate",
            "from_code": "en",
            "from_name": "English",
            "to_code": to_code,
            "to_name": to_name,
            "links": [],
        }
        (root / "metadata.json").write_text(json.dumps(metadata, indent=2))
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(root.rglob("*")):
                if f.is_file():
                    info = zipfile.ZipInfo(str(f.relative_to(tmp)), (1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, f.read_bytes())
    return out


# -- catalogs the translate tests start from and read back --------------------------------

# A Vietnamese catalog with one reviewed entry: drafting must keep it, status counts it.
VI_PO_START = """\
msgid ""
msgstr ""
"Language: vi\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"
"Content-Type: text/plain; charset=utf-8\\n"

# Reviewed by A. Translator
#, python-format
msgid "Hello %(name)s,"
msgstr "Xin chào %(name)s,"
"""


def read_po_file(path: Path) -> Any:
    """The catalog in a .po file, as babel reads it (babel is untyped)."""
    with path.open("rb") as f:
        return read_po(f)
