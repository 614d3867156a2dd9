"""The frozen encoder side of evaluation.

model_dir.py   a model directory (ours or bilm-tf/NLPL): frozen encoder, hash, name, tokenizers
policy.py      encoding policies: stateless (default), stream (bilm-tf), stateful after a warm-up
tokenize.py    raw-text tokenization with the model's own UDPipe tokenizer (melmo.json)
cache.py       the activation cache (float16 memory maps keyed by weights, data, tokenization, policy)
scalar_mix.py  AllenNLP-style ScalarMix
embed.py       melmo.embed(sentences, model_dir, layers=..., policy=...) -> numpy arrays
embed_cli.py   python -m melmo.encode.embed_cli in.txt out.hdf5 --model DIR
"""
