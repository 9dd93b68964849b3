"""Checks of the capstone (12): the student's AdaIN and λ_ds schedule really trained the toy model.

``check_plugged`` runs after plugging, before training: it checks the new modules and marks them,
so that every forward pass they then run with autograd on (training) is counted.
``check_capstone`` runs after training: the marked modules must have run in every iteration;
one more training step, on a copy of the trainer, must run them, update them and average them
into G_ema; and G_ema must hold their moving average.
"""
import copy
import weakref

import torch

from ..v2 import blocks, train
from ..v2.nets import build_nets
from .report import call, expect_close, passed, randn, seeded
from .v2 import compare_adain
from .v2_training import compare_lambda_ds

# each iteration runs G with autograd on four times: the fake and the cycle, in the sub-steps
# G/latent and G/ref (D's sub-steps make their fakes without autograd)
G_FORWARDS_PER_STEP = 4
_runs = weakref.WeakKeyDictionary()  # the marked modules -> forward passes with autograd on


def adain_slots(generator) -> list:
    """The AdaIN modules of the generator's decoder (``norm1`` and ``norm2`` of every block)."""
    return [getattr(block, name) for block in generator.decode for name in ("norm1", "norm2")]


def _count_run(module, inputs, output) -> None:
    if torch.is_grad_enabled() and module in _runs:
        _runs[module] += 1


def check_plugged(trainer, AdaIN) -> None:
    """``trainer`` (a V2Trainer not trained yet) has the student's ``AdaIN`` in G and G_ema."""
    _check_class(AdaIN)
    _check_trainer(trainer)
    if trainer.step != 0:
        raise AssertionError(
            f"The trainer has already trained {trainer.step} iterations: your modules must be "
            "in it from the first one. Build a new trainer, plug your AdaIN in, run this check, "
            "then train.")
    _check_plugged(trainer, AdaIN)
    for new, old in zip(adain_slots(trainer.nets_ema.generator),
                        adain_slots(trainer.nets.generator)):
        if not all(torch.equal(a, b) for a, b in zip(new.state_dict().values(),
                                                     old.state_dict().values())):
            raise AssertionError(
                "G_ema's AdaIN modules hold other weights than G's: G_ema starts as a copy of G. "
                "Give each new module of G_ema the fc of the module it replaces (fresh modules "
                "start from other random weights).")
    for module in adain_slots(trainer.nets.generator) + adain_slots(trainer.nets_ema.generator):
        if module not in _runs:
            _runs[module] = 0
            module.register_forward_hook(_count_run)
    count = len(adain_slots(trainer.nets.generator))
    passed(f"your AdaIN fills the {count} AdaIN slots of G and of G_ema, with the weights the "
           "optimiser trains; from now on the check counts their training runs.")


def check_capstone(trainer, AdaIN, lambda_ds_at) -> None:
    """``trainer`` (a trained V2Trainer) trained with ``AdaIN`` in G and G_ema and with
    ``lambda_ds_at``."""
    _check_class(AdaIN)
    compare_lambda_ds(lambda_ds_at)
    _check_trainer(trainer)
    if trainer.step < 1:
        raise AssertionError("Pass the V2Trainer after training it (trainer.step is 0).")
    _check_plugged(trainer, AdaIN)
    _check_runs(trainer)
    _check_one_more_step(trainer)
    _check_trained(trainer)
    _check_schedule(trainer, lambda_ds_at)
    count = len(adain_slots(trainer.nets.generator))
    passed(f"your AdaIN ({count} modules in G and {count} in G_ema) and your lambda_ds schedule "
           f"trained the model for {trainer.step} steps.")


def _check_class(AdaIN) -> None:
    compare_adain(AdaIN)
    if isinstance(AdaIN, type) and issubclass(AdaIN, blocks.AdaIN):
        raise AssertionError("This is starganlib's AdaIN or a subclass of it, which runs "
                             "starganlib's forward: pass your own class from exercise 04 "
                             "(class AdaIN(nn.Module) with your own forward).")


def _check_trainer(trainer) -> None:
    if not isinstance(trainer, train.V2Trainer):
        raise AssertionError(f"Pass the V2Trainer (your subclass of it), got "
                             f"{type(trainer).__name__}.")


def _check_plugged(trainer, AdaIN) -> None:
    for label, generator in [("trainer.nets.generator", trainer.nets.generator),
                             ("trainer.nets_ema.generator", trainer.nets_ema.generator)]:
        foreign = sorted({type(m).__name__ for m in adain_slots(generator) if type(m) is not AdaIN})
        if foreign:
            raise AssertionError(f"{label} still has AdaIN modules of class {foreign}: replace "
                                 "norm1 and norm2 of every block in generator.decode by "
                                 "instances of your class.")
    optimised = {id(p) for group in trainer.optims["generator"].param_groups
                 for p in group["params"]}
    trained = [p for m in adain_slots(trainer.nets.generator) for p in m.parameters()]
    if not all(id(p) in optimised for p in trained):
        raise AssertionError(
            "The generator's optimiser does not update your AdaIN's weights: it holds the "
            "parameters the trainer was built with. Keep those very parameters in your modules "
            "(e.g. reuse the old module's fc), or the new weights never train.")
    averaged = {id(p) for m in adain_slots(trainer.nets_ema.generator) for p in m.parameters()}
    if any(id(p) in averaged for p in trained):
        raise AssertionError("G and G_ema share AdaIN weights: G_ema must keep its own copy, "
                             "the moving average of G's weights.")


def _check_runs(trainer) -> None:
    """The modules marked by check_plugged are the ones in G and G_ema, and G's ran in training."""
    slots = adain_slots(trainer.nets.generator) + adain_slots(trainer.nets_ema.generator)
    if not all(m in _runs for m in slots):
        raise AssertionError(
            "These AdaIN modules of G and G_ema are not the ones checks.check_plugged saw before "
            "training, so nothing shows that they trained: run checks.check_plugged(trainer, "
            "AdaIN) after plugging them in and before training, then train without plugging "
            "again (modules plugged in after training never trained).")
    needed = G_FORWARDS_PER_STEP * trainer.step
    fewest = min(_runs[m] for m in adain_slots(trainer.nets.generator))
    if fewest < needed:
        raise AssertionError(
            f"Some of your AdaIN modules ran only {fewest} times in training, but "
            f"{trainer.step} iterations run each one {needed} times ({G_FORWARDS_PER_STEP} per "
            "iteration): part of the training ran without them. Keep your modules in G from "
            "the first iteration to the last.")


def _random_batch(cfg, device) -> dict:
    """One random training batch in the layout of ``TrainBatches``."""
    n, size = cfg.batch_size, cfg.img_size
    y = torch.arange(n) % cfg.num_domains
    batch = {"x_src": randn(n, 3, size, size, seed=0), "y_src": y,
             "x_ref": randn(n, 3, size, size, seed=1), "x_ref2": randn(n, 3, size, size, seed=2),
             "y_ref": y.flip(0), "z_trg": randn(n, cfg.latent_dim, seed=3),
             "z_trg2": randn(n, cfg.latent_dim, seed=4)}
    return {k: v.to(device) for k, v in batch.items()}


def _adain_weights(generator) -> torch.Tensor:
    return torch.cat([p.detach().flatten().double()
                      for m in adain_slots(generator) for p in m.parameters()])


def _check_one_more_step(trainer) -> None:
    """One training step on a copy of the trainer: every one of the student's modules in G runs,
    the optimiser changes their weights, and G_ema's (set to zero first, so that the average is
    exactly (1 - beta) times G's new weights) are averaged with them."""
    twin = call(copy.deepcopy, trainer, what="copying the trainer")
    calls = {id(m): 0 for m in adain_slots(twin.nets.generator)}

    def count(module, inputs, output):
        calls[id(module)] += 1

    hooks = [m.register_forward_hook(count) for m in adain_slots(twin.nets.generator)]
    before = _adain_weights(twin.nets.generator)
    with torch.no_grad():
        for p in (p for m in adain_slots(twin.nets_ema.generator) for p in m.parameters()):
            p.zero_()
    try:
        call(twin.train_step, _random_batch(twin.cfg, twin.device),
             what="one more training step (on a copy of your trainer)")
    finally:
        for hook in hooks:
            hook.remove()
    if min(calls.values()) == 0:
        raise AssertionError(f"In a training step, only {sum(c > 0 for c in calls.values())} of "
                             f"the {len(calls)} AdaIN modules of G ran: the generator's forward "
                             "does not use the others.")
    after = _adain_weights(twin.nets.generator)
    if torch.equal(before, after):
        raise AssertionError("A training step left your AdaIN weights in G unchanged: the "
                             "optimiser does not train them.")
    beta = twin.cfg.ema_beta
    expected = (1 - beta) * after
    expect_close(_adain_weights(twin.nets_ema.generator), expected,
                 f"G_ema's AdaIN weights after one more training step from zero (beta {beta})",
                 hint=f"theta_ema <- {beta} * theta_ema + (1 - {beta}) * theta must reach your "
                      "modules in G_ema after every step: they must be in "
                      "trainer.nets_ema.generator, in the same places as G's.",
                 atol=1e-5 * expected.abs().max().item())


def _check_trained(trainer) -> None:
    cfg = trainer.cfg
    initial = seeded(lambda: build_nets(cfg), cfg.seed).generator  # V2Trainer's init
    before = _adain_weights(initial)
    after, average = (_adain_weights(g).cpu() for g in (trainer.nets.generator,
                                                         trainer.nets_ema.generator))
    if torch.equal(before, after):
        raise AssertionError("Your AdaIN modules still hold their initial weights: train after "
                             "plugging them in.")
    if torch.equal(before, average):
        raise AssertionError("G_ema's AdaIN modules still hold their initial weights: the "
                             "moving average never reached them.")
    if cfg.ema_beta > 0 and torch.equal(after, average):
        raise AssertionError("G_ema's AdaIN modules hold G's weights themselves, not their "
                             "moving average: leave G_ema to update_ema (no copying of G).")
    reference = initial.to(trainer.device)
    reference.load_state_dict(trainer.nets_ema.generator.state_dict())
    x = randn(2, 3, cfg.img_size, cfg.img_size, seed=0).to(trainer.device)
    s = randn(2, cfg.style_dim, seed=1).to(trainer.device)
    with torch.no_grad():
        got = call(trainer.nets_ema.generator, x, s, what="the trained G_ema")
        expected = reference(x, s)
    expect_close(got, expected, "the trained G_ema against starganlib's generator with the same "
                 "weights", atol=1e-4)


def _check_schedule(trainer, lambda_ds_at) -> None:
    if type(trainer).lambda_ds is train.V2Trainer.lambda_ds:
        raise AssertionError("The trainer uses starganlib's lambda_ds schedule: subclass "
                             "V2Trainer and override its lambda_ds property with your "
                             "lambda_ds_at.")
    step = trainer.step
    try:
        for t in (0, step, trainer.cfg.ds_iter // 2, 2 * trainer.cfg.ds_iter):
            trainer.step = t
            expect_close(trainer.lambda_ds, lambda_ds_at(t, trainer.cfg),
                         f"trainer.lambda_ds at step {t}",
                         hint="The lambda_ds property must return lambda_ds_at(self.step, "
                              "self.cfg).")
    finally:
        trainer.step = step
