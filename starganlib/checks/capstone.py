"""Check of the capstone (12): the student's AdaIN and λ_ds schedule really trained the toy model."""
import torch

from ..v2 import blocks, train
from .report import call, expect_close, passed, randn, seeded
from .v2 import compare_adain
from .v2_training import compare_lambda_ds


def adain_slots(generator) -> list:
    """The AdaIN modules of the generator's decoder (``norm1`` and ``norm2`` of every block)."""
    return [getattr(block, name) for block in generator.decode for name in ("norm1", "norm2")]


def check_capstone(trainer, AdaIN, lambda_ds_at) -> None:
    """``trainer`` (a trained V2Trainer) uses ``AdaIN`` in G and G_ema and ``lambda_ds_at``."""
    compare_adain(AdaIN)
    compare_lambda_ds(lambda_ds_at)
    if AdaIN is blocks.AdaIN:
        raise AssertionError("This is starganlib's AdaIN: pass your own class.")
    if not isinstance(trainer, train.V2Trainer) or trainer.step < 1:
        raise AssertionError("Pass the V2Trainer after training it (trainer.step >= 1).")
    _check_plugged(trainer, AdaIN)
    _check_trained(trainer)
    _check_schedule(trainer, lambda_ds_at)
    count = len(adain_slots(trainer.nets.generator))
    passed(f"your AdaIN ({count} modules in G and {count} in G_ema) and your lambda_ds schedule "
           f"trained the model for {trainer.step} steps.")


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


def _check_trained(trainer) -> None:
    cfg = trainer.cfg
    initial = seeded(lambda: train.build_nets(cfg), cfg.seed).generator  # V2Trainer's init
    before = torch.cat([p.flatten() for m in adain_slots(initial) for p in m.parameters()])
    after = torch.cat([p.detach().cpu().flatten()
                       for m in adain_slots(trainer.nets.generator) for p in m.parameters()])
    if torch.equal(before, after):
        raise AssertionError("Your AdaIN modules still hold their initial weights: train after "
                             "plugging them in.")
    reference = initial.to(trainer.device)
    reference.load_state_dict(trainer.nets_ema.generator.state_dict())
    calls = []
    hooks = [m.register_forward_hook(lambda *_: calls.append(1))
             for m in adain_slots(trainer.nets_ema.generator)]
    x = randn(2, 3, cfg.img_size, cfg.img_size, seed=0).to(trainer.device)
    s = randn(2, cfg.style_dim, seed=1).to(trainer.device)
    try:
        with torch.no_grad():
            got = call(trainer.nets_ema.generator, x, s, what="the trained G_ema")
            expected = reference(x, s)
    finally:
        for hook in hooks:
            hook.remove()
    if len(calls) != len(hooks):
        raise AssertionError(f"G_ema ran {len(calls)} of its {len(hooks)} AdaIN modules.")
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
