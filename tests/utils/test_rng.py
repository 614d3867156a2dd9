"""Per-rank random streams (melmo.utils.rng) and one negative draw per direction (melmo.pretrain.module)."""

import numpy as np
import torch

from melmo.utils.rng import rank_seed, seed_rank


def test_rank_seeds_are_spawned_per_rank():
    seeds = [rank_seed(1234, r, 4) for r in range(4)]
    assert len(set(seeds)) == 4
    # independently: SeedSequence(1234).spawn(4)[r] gives the same child entropy state
    children = np.random.SeedSequence(1234).spawn(4)
    assert seeds == [int(c.generate_state(2, np.uint64)[0] >> np.uint64(1)) for c in children]
    a = (seed_rank(1234, 0, 2), torch.rand(5))
    b = (seed_rank(1234, 1, 2), torch.rand(5))
    assert not torch.equal(a[1], b[1])
    assert torch.equal(a[1], (seed_rank(1234, 0, 2), torch.rand(5))[1])


def test_training_step_draws_negatives_once_per_direction(compose_train, ud_corpus):
    from hydra.utils import instantiate

    from melmo.data.datamodule import LMDataModule

    cfg = compose_train()
    dm = LMDataModule(batch_size=2, unroll_steps=4, corpus_dir=ud_corpus)
    dm.setup("fit", rank=0, world_size=1)
    batch = next(iter(dm.train_dataloader()))
    batch.pop("position")
    module = instantiate(cfg.lm, encoder=instantiate(cfg.model), vocab_size=dm.corpus.vocab_size,
                         languages=dm.languages, n_negative_samples=64)
    drawn, used = [], []
    real_sample, real_loss = module.softmax.sample, module.softmax.sampled_loss
    module.softmax.sample = lambda *a, **k: drawn.append(real_sample(*a, **k)) or drawn[-1]
    module.softmax.sampled_loss = lambda h, t, sampled, **k: used.append(sampled) or real_loss(
        h, t, sampled, **k)
    module.train()
    lf, lb, _ = module._losses(batch, None)
    assert len(drawn) == 2 and [u is d for u, d in zip(used, drawn)] == [True, True]
    assert not torch.equal(drawn[0].ids, drawn[1].ids)  # two independent draws of 64 of 2000 ids
