"""The ELMo biLM (bilm-tf architecture and weight format; github.com/allenai/bilm-tf).

chars.py     token strings -> character ids
char_cnn.py  char ids -> token vectors (char CNN, highway.py, projection)
lstm.py      forward and backward LSTM-with-projection stacks, run in lockstep
encoder.py   BiLM: inference (layers, mask, state) and the training API (lm_forward)
io.py        options.json + weights.hdf5 in the bilm-tf/NLPL layout
softmax.py   the LM's sampled softmax
"""

from melmo.model.chars import batch_to_ids
from melmo.model.encoder import BiLM, BiLMOutput
from melmo.model.io import BilmFormatError, load_bilm, load_bilm_dir, save_bilm

__all__ = ["BiLM", "BiLMOutput", "BilmFormatError", "batch_to_ids", "load_bilm", "load_bilm_dir", "save_bilm"]
