"""The machinery the tasks share (each task is a module or package beside this one, with ``run(cfg)``).

ud.py           treebank files, the train/select/report protocol, units (surface tokens vs words)
treebank.py     Treebank: one language's splits, units and activations (pos, pos_transfer, parsing)
features.py     datasets and collate over cached activations (batch["layers"] (B, T, L, D), mask, target)
head.py         HeadModule: ScalarMix + any head nn.Module, trained by Lightning; fit_head, predict
context.py      EvalContext: model, name, policy, cache, seeds, skip-if-done, results files
"""
