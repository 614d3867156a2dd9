"""UDPipe 1 tokenization (``ufal.udpipe``): the package's public names, re-exported from one module per idea.

Modules: ``errors`` (exception classes), ``options`` (tokenizer training options), ``conllu``
(CoNLL-U reading), ``training`` (``train_tokenizer``), ``models`` (model cache, ``resolve_model``),
``tokenizer`` (``Tokenizer``), ``scoring`` (``score_tokenization``), ``batch`` (``train_all``,
``training_files``), ``cli`` (``main``; ``__main__`` runs it).

Library::

    train_tokenizer([Path("fi_tdt-ud-dev.conllu")], Path("data/udpipe/fi.udpipe"), options={"epochs": 10})
    tok = Tokenizer(resolve_model("fi", cfg_models, Path("data/udpipe")), multiword="surface")
    tok.tokenize("Hyvää huomenta. Mitä kuuluu?")   # [['Hyvää', 'huomenta', '.'], ['Mitä', 'kuuluu', '?']]
    for tokens in tok.tokenize_lines(open("fi.txt")): ...

Command line (``python -m melmo.corpus.udpipe --help``)::

    python -m melmo.corpus.udpipe train --lang fi --conllu fi_tdt-ud-dev.conllu --out data/udpipe/fi.udpipe \\
        --epochs 10
    python -m melmo.corpus.udpipe train-all --ud-dir <UD treebanks: <lang>/*.conllu[.xz]> \\
        --out-dir data/udpipe
    python -m melmo.corpus.udpipe score --model data/udpipe/fi.udpipe --conllu fi_tdt-ud-test.conllu

Token conventions (every tokenizer here, model or model-free):

* a token never is empty or whitespace only (such tokens are dropped);
* whitespace inside a token (possible only with models trained on data whose tokens contain
  spaces, ``allow_spaces``) is replaced by one U+00A0 NO-BREAK SPACE per run, so tokens can be
  written space-separated and read back with ``str.split(" ")``;
* ``multiword="surface"`` keeps a multiword token as written (``don't``, it. ``della``);
  ``multiword="split"`` emits its syntactic words (``do`` ``n't``, ``di`` ``la``). A language model
  trained on one must be evaluated on the same (ELMoForManyLangs issues #45/#47): record
  :attr:`Tokenizer.info` with the model.

Measured facts behind the defaults are in ``data/udpipe/README.md``; UDPipe's own options are
documented in the UDPipe 1 user's manual (ufal.mff.cuni.cz/udpipe/1/docs/udpipe).
"""

from melmo.corpus.udpipe.batch import TEST_ONLY_TRAIN, train_all, training_files
from melmo.corpus.udpipe.cli import main
from melmo.corpus.udpipe.conllu import parse_slice, read_udpipe_sentences
from melmo.corpus.udpipe.errors import (
    InvalidModelError,
    ModelNotFoundError,
    OptionError,
    TrainingError,
    UDPipeError,
)
from melmo.corpus.udpipe.models import load_model, resolve_model
from melmo.corpus.udpipe.options import TOKENIZER_OPTIONS, tokenizer_option_string
from melmo.corpus.udpipe.scoring import score_tokenization
from melmo.corpus.udpipe.tokenizer import BUILTINS, MULTIWORD_MODES, NBSP, SENTENCE_MODES, Tokenizer
from melmo.corpus.udpipe.training import TRAIN_METHOD, train_tokenizer

__all__ = [
    "TOKENIZER_OPTIONS", "UDPipeError", "ModelNotFoundError", "InvalidModelError", "TrainingError",
    "OptionError", "train_tokenizer", "load_model", "Tokenizer", "resolve_model", "read_udpipe_sentences",
    "score_tokenization", "training_files", "main",
    # also public, outside the historical __all__
    "train_all", "tokenizer_option_string", "parse_slice", "TEST_ONLY_TRAIN", "TRAIN_METHOD",
    "NBSP", "MULTIWORD_MODES", "SENTENCE_MODES", "BUILTINS",
]
