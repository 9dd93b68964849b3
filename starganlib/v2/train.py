"""StarGAN v2 training: the four sub-steps of one iteration, EMA, the lambda_ds schedule.

One iteration (official ``Solver.train``), for a source batch x (domain y_org), a target domain
y_trg with two references x_ref, x_ref2 and two latent codes z, z2:

    1. D, latent-guided     d_loss(..., z)              step D
    2. D, reference-guided  d_loss(..., x_ref)          step D
    3. G, latent-guided     g_loss(..., (z, z2))        step G, F, E
    4. G, reference-guided  g_loss(..., (x_ref, x_ref2)) step G only (E is deliberately not
                                                        stepped here: official, issue #44)
    5. EMA of G, F, E:  theta_ema <- beta * theta_ema + (1 - beta) * theta
    6. lambda_ds decays linearly to 0 over ds_iter iterations.

Differences from the official code, none of which changes its mathematics: the EMA copies start
equal to the trained nets (the official code copies them before initialising the weights);
lambda_ds is a function of the step, so a resumed run continues the decay (the official one
restarts it); every random draw is seeded, so a run is reproducible and resumes exactly.
"""
import copy

import torch
from torch import nn

from ..checkpoint import check_architecture
from ..double_backward import fast_penalty_convolutions, input_gradients_only
from ..runtime.allocator import keep_freed_memory
from ..runtime.distributed import World, data_parallel
from ..runtime.precision import autocast, float32_outputs
from . import losses
from .config import ARCHITECTURE_FIELDS, CHECKPOINT_KIND, V2Config
from .nets import AVERAGED, TRAINED, Nets, build_nets

STEPPED = {  # the networks each sub-step updates
    "D/latent": ("discriminator",), "D/ref": ("discriminator",),
    "G/latent": ("generator", "mapping_network", "style_encoder"),
    "G/ref": ("generator",),  # E is deliberately not stepped here (official, issue #44)
}


def lambda_ds_at(step: int, cfg: V2Config) -> float:
    """The diversity weight after ``step`` iterations: linear decay from cfg.lambda_ds to 0."""
    return cfg.lambda_ds * max(0.0, 1.0 - step / cfg.ds_iter)


def to_channels_last(t: torch.Tensor) -> torch.Tensor:
    """Images ``(N, C, H, W)`` in the channels-last memory layout (same values and shape), other
    tensors unchanged. The trained networks are kept in this layout: the CPU (oneDNN) and GPU
    (cuDNN) convolution kernels are faster with it (README's Speed section has the figures)."""
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


@torch.no_grad()
def update_ema(model: nn.Module, model_ema: nn.Module, beta: float) -> None:
    """theta_ema <- beta * theta_ema + (1 - beta) * theta, for parameters (not buffers)."""
    for p, p_ema in zip(model.parameters(), model_ema.parameters()):
        p_ema.lerp_(p, 1.0 - beta)


class V2Trainer:
    """The networks, their EMA copies and optimisers, and one training iteration.

    ``mask_fn`` (only for w_hpf > 0) maps images ``(N, 3, H, W)`` to the two face masks of the
    high-pass skips; the official provider is the FAN landmark network. ``world``: this process's
    place under torchrun (see ``starganlib.runtime.distributed``); only rank 0 keeps the EMA networks.
    """

    def __init__(self, cfg: V2Config, device="cpu", mask_fn=None, world: World = World()):
        if cfg.w_hpf > 0 and mask_fn is None:
            raise ValueError("w_hpf > 0 needs face masks (mask_fn): the official provider is the "
                             "FAN landmark network; use w_hpf=0 to train without them")
        self.cfg, self.device, self.mask_fn, self.world = cfg, torch.device(device), mask_fn, world
        torch.manual_seed(cfg.seed)
        self.nets = build_nets(cfg).to(self.device, memory_format=torch.channels_last)
        self.nets_ema = copy.deepcopy(Nets(*(getattr(self.nets, n) for n in AVERAGED)))
        for name in TRAINED:  # the losses get float32 outputs, also under bf16 autocast
            float32_outputs(getattr(self.nets, name))
        fast_penalty_convolutions(self.nets.discriminator)  # R1's double backward, faster
        # compiled in place (same module, same state dict). Only G: compiled graphs cannot take
        # D's double backward (R1), and G is most of the rest of the step.
        if cfg.compile:
            self.nets.generator.compile()
        self.views = self._substep_views()
        keep_freed_memory(self.device)
        self.optims = {  # fused: one pass over each tensor, the same update
            name: torch.optim.Adam(
                getattr(self.nets, name).parameters(),
                lr=cfg.f_lr if name == "mapping_network" else cfg.lr,
                betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay, fused=True)
            for name in TRAINED}
        self.step = 0

    def _substep_views(self) -> dict[str, Nets]:
        """The networks each sub-step computes with. With several processes, the networks a
        sub-step updates are DistributedDataParallel wrappers (gradients averaged over the
        processes during backward); the others are used as they are, since their gradients are
        not needed there. With one process every sub-step uses ``self.nets``."""
        if self.world.size == 1:
            return {name: self.nets for name in STEPPED}
        ddp = {n: data_parallel(getattr(self.nets, n)) for n in TRAINED}
        return {name: Nets(*(ddp[n] if n in stepped else getattr(self.nets, n) for n in TRAINED))
                for name, stepped in STEPPED.items()}

    @property
    def lambda_ds(self) -> float:
        return lambda_ds_at(self.step, self.cfg)

    def autocast(self):
        """bfloat16 autocast of the forward passes when ``precision == "bf16"``."""
        return autocast(self.device, self.cfg.precision)

    def _require_grad(self, names) -> None:
        """Only the networks in ``names`` get weight gradients. The others still pass gradients
        on to their inputs (D judging G's fake), but the gradients of their own weights would be
        thrown away unused, so they are not computed: the same update, less work."""
        for n in TRAINED:
            getattr(self.nets, n).requires_grad_(n in names)

    def _update(self, loss, names) -> None:
        """Zero every gradient, backpropagate ``loss``, step only the optimisers in ``names``."""
        for opt in self.optims.values():
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for name in names:
            self.optims[name].step()

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """One iteration on a batch from ``TrainBatches``; returns the loss terms (detached)."""
        b = {k: to_channels_last(v.to(self.device, non_blocking=True)) for k, v in batch.items()}
        x, y_org, y_trg = b["x_src"], b["y_src"], b["y_ref"]
        cfg, nets = self.cfg, self.nets
        masks = self.mask_fn(x) if self.mask_fn is not None else None
        lambdas = {"sty": cfg.lambda_sty, "ds": self.lambda_ds, "cyc": cfg.lambda_cyc}
        d_args = {"masks": masks, "lambda_reg": cfg.lambda_reg}
        g_args = {"masks": masks, "lambdas": lambdas, "mask_fn": self.mask_fn}
        substeps = [  # (name, loss, its inputs)
            ("D/latent", losses.d_loss, {"z_trg": b["z_trg"], **d_args}),
            ("D/ref", losses.d_loss, {"x_ref": b["x_ref"], **d_args}),
            ("G/latent", losses.g_loss, {"z_trgs": (b["z_trg"], b["z_trg2"]), **g_args}),
            ("G/ref", losses.g_loss, {"x_refs": (b["x_ref"], b["x_ref2"]), **g_args}),
        ]
        log = {}
        for name, loss_fn, inputs in substeps:
            self._require_grad(STEPPED[name])
            # the only backward pass inside a loss is R1's gradient with respect to the images,
            # so it computes no weight gradients; the loss is backpropagated outside
            with self.autocast(), input_gradients_only():
                loss, terms = loss_fn(self.views[name], x, y_org, y_trg, **inputs)
            self._update(loss, STEPPED[name])
            log.update({f"{name}_{k}": v for k, v in terms.items()})
        self._require_grad(TRAINED)
        if self.world.is_main:
            for name in AVERAGED:
                update_ema(getattr(nets, name), getattr(self.nets_ema, name), cfg.ema_beta)
        self.step += 1
        return log

    def state_dict(self) -> dict:
        return {
            "kind": CHECKPOINT_KIND, "config": self.cfg.to_dict(), "step": self.step,
            "lambda_ds": self.lambda_ds,  # for the record: it is a function of the step
            "nets": {n: getattr(self.nets, n).state_dict() for n in TRAINED},
            "nets_ema": {n: getattr(self.nets_ema, n).state_dict() for n in AVERAGED},
            "optims": {n: opt.state_dict() for n, opt in self.optims.items()},
        }

    def load_state_dict(self, state: dict, source="checkpoint") -> None:
        """Restore everything from ``state_dict()``; ValueError if the architecture differs."""
        check_architecture(state["config"], self.cfg, ARCHITECTURE_FIELDS, source)
        for n in TRAINED:
            getattr(self.nets, n).load_state_dict(state["nets"][n])
            self.optims[n].load_state_dict(state["optims"][n])
        for n in AVERAGED:
            getattr(self.nets_ema, n).load_state_dict(state["nets_ema"][n])
        self.step = state["step"]
