"""Training with several processes under ``torchrun``: one per GPU (NCCL), or CPU processes (Gloo).

    torchrun --nproc_per_node 4 -m starganlib train --preset afhq --dataset data/afhq --device cuda

Data parallel: every process holds the same networks, draws its own batch of ``batch_size``
images (so the global batch is ``world_size * batch_size``), and the gradients are averaged over
the processes before each optimiser step (PyTorch's ``DistributedDataParallel``). Only rank 0
writes: checkpoints, logs, sample grids and metrics; it also keeps the EMA networks.
"""
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """Where this process stands: its ``rank`` among ``size`` processes, and its GPU index."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: str) -> torch.device:
        """``device`` for this process: ``cuda`` becomes ``cuda:<local_rank>`` under torchrun."""
        device = torch.device(device)
        if device.type == "cuda" and self.size > 1:
            return torch.device("cuda", self.local_rank)
        return device

    def any(self, flag: bool) -> bool:
        """True on every process if ``flag`` is True on any of them (e.g. a stop request), so
        all processes leave the training loop at the same step."""
        if self.size == 1:
            return flag
        t = torch.tensor([float(flag)], device=_collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def barrier(self) -> None:
        if self.size > 1:
            dist.barrier()


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" \
        else torch.device("cpu")


def init_from_env(device: str) -> World:
    """Join the process group that ``torchrun`` describes in the environment (``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); a single process otherwise.
    NCCL for CUDA, Gloo for the CPU."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    world = World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(world.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return world


def close(world: World) -> None:
    """Leave the process group (no-op for a single process)."""
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()


def data_parallel(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` wrapped so its gradients are averaged over the processes during backward.
    It shares its parameters with ``module``; rank 0's weights are broadcast to all ranks."""
    from torch.nn.parallel import DistributedDataParallel
    device_ids = [module_device(module)] if module_device(module).type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids, broadcast_buffers=False)


def module_device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device
