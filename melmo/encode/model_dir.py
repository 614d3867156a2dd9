"""A model directory to evaluate: ours (melmo.json beside it) or any bilm-tf / NLPL ELMo.

    model = ModelDir("logs/pretrain/runs/<run>/model")
    model.encoder          # the BiLM, eval mode, every parameter requires_grad=False (loaded lazily)
    model.weights_sha256   # content hash of the weight file (activation cache key, encoders table)
    model.name             # readable default encoder name: <sampling>-<model>-s<LM seed>, else the dir name
    model.describe()       # one row of the encoders table
    model.tokenizer("fi", fallback)   # raw-text tokenizer the model was trained with (melmo.json)

``encoder.path=random:<arch>[@<seed>]`` is the floor of a trained model: an untrained biLM (the
constructor's initialisation, as training starts) of conf/model/<arch>.yaml, or of the architecture
of a model directory (``random:<dir>``, which also lends its tokenizers), seeded (default 0) --
:class:`RandomModelDir`.

A directory holds options.json, one weight file (weights.hdf5 / model.hdf5 / lm_weights.hdf5 / the
only *.hdf5), optionally vocab.txt and melmo.json. melmo.json (written by melmo.pretrain.export) records the
corpus metadata and the tokenizers bundled under tokenizers/<lang>.udpipe by relative path and
sha256, so a copied model keeps its tokenization. Problems are one-line ModelDirErrors naming the
file.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path

import yaml

from melmo.conf import conf_file
from melmo.formats.export_meta import META_NAME
from melmo.formats.files import file_sha256
from melmo.model.io import OPTIONS_NAME, BilmFormatError, find_weights, load_bilm

RANDOM_PREFIX = "random:"
MODEL_CONF_DIR = conf_file("model")  # conf/model/<arch>.yaml, shipped in the package (melmo.conf)


class ModelDirError(BilmFormatError):
    """A model directory is missing a file, or a file disagrees with what melmo.json records."""


class ModelDir:
    def __new__(cls, path=None, *args, **kwargs):
        if cls is ModelDir and str(path).startswith(RANDOM_PREFIX):
            return super().__new__(RandomModelDir)
        return super().__new__(cls)

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise ModelDirError(f"{self.path}: no such model directory")
        self.options_path = self.path / OPTIONS_NAME
        if not self.options_path.is_file():
            raise ModelDirError(f"{self.options_path}: missing (a model directory needs options.json and its "
                                "HDF5 weights)")
        try:
            self.weights_path = find_weights(self.path)
        except BilmFormatError as e:
            raise ModelDirError(str(e)) from None
        meta_path = self.path / META_NAME
        self.meta: dict | None = None
        if meta_path.is_file():
            try:
                self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except ValueError as e:
                raise ModelDirError(f"{meta_path}: not valid JSON ({e})") from None

    @cached_property
    def encoder(self):
        """The frozen BiLM: eval mode, no parameter requires a gradient."""
        enc = load_bilm(self.options_path, self.weights_path)
        enc.requires_grad_(False)
        return enc.eval()

    @cached_property
    def options(self) -> dict:
        try:
            return json.loads(self.options_path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ModelDirError(f"{self.options_path}: not valid JSON ({e})") from None

    @property
    def max_chars(self) -> int:
        return int(self.options["char_cnn"].get("max_characters_per_token", 50))

    @property
    def n_layers(self) -> int:
        """Layers of activations: the token layer plus one per LSTM layer."""
        return int(self.options["lstm"]["n_layers"]) + 1

    @property
    def dim(self) -> int:
        return 2 * int(self.options["lstm"]["projection_dim"])

    @cached_property
    def weights_sha256(self) -> str:
        return file_sha256(self.weights_path)

    @property
    def run(self) -> dict:
        return (self.meta or {}).get("run") or {}

    @property
    def corpus(self) -> dict:
        return (self.meta or {}).get("corpus") or {}

    @property
    def name(self) -> str:
        """What the run was plus a short weights hash, e.g. ``alpha04-elmo_tiny-s1234-3f2a9c1b``: two models
        that differ only by an override never share a name (``encoder.name`` sets another)."""
        return f"{self._run_name}-{self.weights_sha256[:8]}"

    @property
    def _run_name(self) -> str:
        sampling = self.corpus.get("sampling") or {}
        if self.meta is not None and sampling:
            parts = [sampling.get("name") or sampling.get("strategy", "model")]
            if sampling.get("strategy") == "mono" and sampling.get("language"):
                parts[0] = f"{parts[0]}_{sampling['language']}"
            if self.run.get("model"):
                parts.append(str(self.run["model"]))
            seed = self.run.get("seed", self.corpus.get("seed"))
            if seed is not None:
                parts.append(f"s{seed}")
            return "-".join(parts)
        return self.path.parent.name if self.path.name == "model" else self.path.name

    def describe(self) -> dict:
        """The encoders table row (without the encoder name and policy)."""
        sampling = self.corpus.get("sampling") or {}
        lstm = self.options["lstm"]
        realised = self.corpus.get("realised") or {}
        sizes = {lang: (r.get("tokens") if isinstance(r, dict) else r) for lang, r in realised.items()}
        return {
            "path": str(self.path.resolve()),
            "strategy": sampling.get("name") or sampling.get("strategy") or "",
            "alpha": sampling.get("alpha", ""),
            "model_size": f"cnn{sum(n for _, n in self.options['char_cnn']['filters'])}-"
                          f"lstm{lstm['n_layers']}x{lstm['dim']}-proj{lstm['projection_dim']}",
            "lm_seed": self.run.get("seed", self.corpus.get("seed", "")),
            "corpus_tokens": json.dumps(sizes, sort_keys=True) if sizes else "",
            "weights_sha256": self.weights_sha256,
        }

    # -- tokenization of raw text ----------------------------------------------------------------
    def tokenizer_entry(self, lang: str) -> dict | None:
        """melmo.json's record of how ``lang`` was tokenized for training, or None when unknown."""
        if self.meta is None:
            return None
        bundled = self.meta.get("tokenizers")
        if bundled is not None:
            return bundled.get(lang)
        src = (self.corpus.get("sources") or {}).get(lang)
        if src and src.get("udpipe_model"):  # exports before tokenizers were bundled: absolute path
            return {"path": src["udpipe_model"], "sha256": src.get("udpipe_model_sha256"),
                    "options": src.get("tokenizer") if isinstance(src.get("tokenizer"), dict) else {}}
        return None

    def tokenizer_path(self, lang: str) -> Path | None:
        """The verified UDPipe model of ``lang`` (bundled in the export), or None when melmo.json has none."""
        entry = self.tokenizer_entry(lang)
        if entry is None or not entry.get("path"):
            return None
        path = self.path / entry["path"]  # relative paths resolve against the model; absolute ones stay
        if not path.is_file():
            raise ModelDirError(f"{path}: tokenizer for {lang!r} recorded in {self.path / META_NAME} is "
                                "missing")
        if entry.get("sha256") and file_sha256(path) != entry["sha256"]:
            raise ModelDirError(f"{path}: tokenizer for {lang!r} differs from the one the model was trained "
                                f"with (sha256 mismatch with {self.path / META_NAME})")
        return path


class RandomModelDir(ModelDir):
    """``random:<arch>[@<seed>]``: an untrained biLM of a conf/model config or of a model directory's
    architecture, built with the constructor's initialisation under ``torch.manual_seed(seed)``.

    Nothing is written: the weights are made on first use, and their hash is the SHA-256 of the
    state dict (names and bytes), so the activation cache and the encoders table tell seeds apart.
    ``random:<model dir>`` keeps that directory's melmo.json tokenizers (the same tokenization as
    the trained model it is the floor of).
    """

    def __init__(self, path: str):
        self.spec = str(path)
        arch, _, seed = self.spec[len(RANDOM_PREFIX):].rpartition("@") if "@" in self.spec else ("", "", "")
        arch = arch or self.spec[len(RANDOM_PREFIX):]
        try:
            self.seed = int(seed) if seed else 0
        except ValueError:
            raise ModelDirError(f"{self.spec}: the seed after '@' must be an integer") from None
        self.options_path = self.weights_path = None
        if Path(arch).is_dir():
            ref = ModelDir(arch)
            self.path, self.meta, self.arch = ref.path, ref.meta, ref.name
            self._arch = {k: ref.options[k] for k in ("char_cnn", "lstm")}
        else:
            conf = MODEL_CONF_DIR / f"{arch}.yaml"
            if not arch or "/" in arch or not conf.is_file():
                raise ModelDirError(f"{self.spec}: neither a model directory nor a config "
                                    f"{MODEL_CONF_DIR}/<arch>.yaml (have "
                                    f"{', '.join(sorted(p.stem for p in MODEL_CONF_DIR.glob('*.yaml')))})")
            cfg = yaml.safe_load(conf.read_text(encoding="utf-8"))
            self.path, self.meta, self.arch = conf, None, arch
            self._arch = {"char_cnn": cfg["char_cnn"], "lstm": cfg["lstm"]}

    @cached_property
    def options(self) -> dict:
        return json.loads(json.dumps(self._arch))

    @cached_property
    def encoder(self):
        import torch

        from melmo.model.encoder import BiLM

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            enc = BiLM(self.options["char_cnn"], self.options["lstm"])
        enc.requires_grad_(False)
        return enc.eval()

    @cached_property
    def weights_sha256(self) -> str:
        h = hashlib.sha256()
        for k, v in sorted(self.encoder.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    @property
    def name(self) -> str:
        return f"random-{self.arch}-s{self.seed}"

    def describe(self) -> dict:
        return {**super().describe(), "path": self.spec, "strategy": "random", "alpha": "",
                "lm_seed": self.seed, "corpus_tokens": ""}
