"""The name of an exported model's provenance file (corpus, run, tokenizers, which weights).

melmo.pretrain.export writes it last, so a model directory that has it is complete; melmo.encode reads
it to tokenize as the model was trained, the tasks and the study to name the run. Here, on the lowest floor,
so every stage can name it without importing torch or the training code.
"""

META_NAME = "melmo.json"
