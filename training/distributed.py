"""Data-parallel training's process group: which process this is, its device, and the collectives training needs.

A run of N processes is one training run. ``mrgen train --procs N`` starts them itself (:mod:`training.launch`);
``torchrun --nproc_per_node N -m mrgen_core.cli train ...`` does the same, on one node or several (its usual
rendezvous arguments). Either way every process finds ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in its
environment and :func:`join` makes it one rank of the group: gloo on the CPU, NCCL on CUDA (one GPU per process,
``cuda:LOCAL_RANK``). This module is the one place that turns ``--device`` into a torch device.

What the ranks share and what each keeps (:class:`training.train.Trainer`):

- **The model.** Every rank prepares it from the same seed (normalisation, weights, ``z*``: identical), and
  :meth:`Group.broadcast_model` copies rank 0's onto the others anyway. After every backward pass the gradients of
  the level in training are averaged over the ranks (:meth:`Group.average_grads`, one all-reduce per network per
  step), so every rank's Adam makes the same update and the weights stay identical (checked bit for bit at the end,
  :meth:`Group.check_same`).
- **The batch.** Each rank draws its own crops: ``batch`` of them with a batch per process (the
  ``batch_per_process`` setting, or training motion no longer than ``batch_per_process_seconds``: 15 s with
  ``default``; a step's batch N times as large), else its share of the step's ``batch`` (rank r: ``batch // N``,
  plus one for the first ``batch % N`` ranks; at least one); and its share of the reconstruction crops (at least
  one each). The one term that looks across the batch, the patch loss's recall (every real patch near some generated
  one), sees the other ranks' generated patches too (:meth:`Group.others`, detached), so it asks what one process
  with the whole batch asks; on each rank's share alone, 2-process models of CMU 05_06 covered 85-95 % of the
  clip's windows against 94-99 % for one process (BENCHMARKS.md, "Data-parallel training").
- **Random numbers.** Rank 0 draws from the generator seeded with ``--seed`` exactly as a one-process run does;
  rank r > 0 draws from its own stream, seeded with :func:`rank_seed` once the model is prepared. Each rank's bank
  of samples of the levels below comes from its own stream. A stopped run's checkpoint holds every rank's RNG
  state and bank, so ``--resume`` (with the same number of processes) continues exactly.
- **Stopping.** Ctrl-C or ``should_stop()`` on any rank is agreed on before every step (:meth:`Group.any`, a
  one-value all-reduce), so all ranks stop at the same step and rank 0 writes the checkpoint. Only rank 0 writes
  files and reports progress.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import torch

from mrgen_core.errors import MrgenError

#: Environment of our own launcher: the TCP store (host:port) it serves (torchrun's processes use env://).
STORE_ENV = "MRGEN_STORE"
#: Test-only: ``RANK:STEP`` makes that rank raise at that step (tests/test_distributed.py, the crash path).
CRASH_ENV = "MRGEN_TEST_CRASH"
#: How long a collective waits for a rank that neither answers nor dies.
TIMEOUT = timedelta(minutes=10)


def env_rank() -> tuple[int, int, int] | None:
    """``(rank, world size, local rank)`` of this process in a multi-process run (torchrun or ``--procs N`` set
    ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``); None outside one, or in a world of one."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise MrgenError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number") from None
    if world <= 1 or "RANK" not in os.environ:
        return None
    rank = int(os.environ["RANK"])
    return rank, world, int(os.environ.get("LOCAL_RANK", rank))


def resolve_device(device: str, local_rank: int | None = None) -> torch.device:
    """``--device`` as a torch device; in a multi-process run on CUDA, this process's GPU (``cuda:LOCAL_RANK``)."""
    name = str(device)
    if name.split(":")[0] == "cuda":
        if not torch.cuda.is_available():
            raise MrgenError("--device cuda: no CUDA device is available (torch reports none); use --device cpu")
        if local_rank is not None:
            if local_rank >= torch.cuda.device_count():
                raise MrgenError(f"training process {local_rank} of this node has no GPU: "
                                 f"{torch.cuda.device_count()} CUDA device(s) visible")
            return torch.device("cuda", local_rank)
    try:
        return torch.device(name)
    except RuntimeError:
        raise MrgenError(f"unknown device {device!r}; use cpu or cuda") from None


def rank_seed(seed: int, rank: int) -> int:
    """Seed of rank ``rank``'s random stream (rank 0 keeps ``seed`` itself, as a one-process run)."""
    if rank == 0:
        return int(seed)
    import numpy as np

    return int(np.random.SeedSequence([int(seed) & (2**63 - 1), int(rank)]).generate_state(1, np.uint64)[0] >> 1)


def share(total: int, world: int, rank: int) -> int:
    """Rank ``rank``'s share of ``total`` items split over ``world`` ranks (at least one)."""
    return max(1, total // world + (1 if rank < total % world else 0))


def is_peer_error(e: BaseException) -> bool:
    """Whether ``e`` only says that another rank went away (the error to report is that rank's own)."""
    dist_error = getattr(torch.distributed, "DistError", ())
    text = str(e)
    return isinstance(e, dist_error) or any(s in text for s in (
        "Connection closed by peer", "Connection reset by peer", "Broken pipe", "NCCL", "gloo", "Gloo"))


@dataclass
class Group:
    """This process's place in the run and the collectives of a training step."""

    rank: int
    world: int
    local_rank: int
    device: torch.device
    local_world: int = 1         # processes on this node (they share its CPU cores)
    crash_at: int | None = None  # test-only (MRGEN_TEST_CRASH): raise at this step

    @property
    def backend(self) -> str:
        return "nccl" if self.device.type == "cuda" else "gloo"

    def _on_device(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(self.device) if self.backend == "nccl" and t.device != self.device else t

    def average_grads(self, params) -> None:
        """Average the gradients of ``params`` over the ranks (a missing gradient counts as zero), in one
        all-reduce; the sum is divided by the number of ranks, the same on every rank."""
        import torch.distributed as dist

        params = [p for p in params if p.requires_grad]
        if not params:
            return
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
        dist.all_reduce(flat)
        flat.div_(self.world)
        offset = 0
        for p in params:
            g = flat[offset:offset + p.numel()].view_as(p)
            offset += p.numel()
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.copy_(g)

    def others(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The other ranks' ``tensors`` (detached), each concatenated over those ranks along the first dimension
        (their lengths may differ: each is padded to the longest for the all-gather and cut back)."""
        import torch.distributed as dist

        sizes = self._on_device(torch.tensor([len(t) for t in tensors], dtype=torch.int64))
        all_sizes = [torch.empty_like(sizes) for _ in range(self.world)]
        dist.all_gather(all_sizes, sizes)
        out = []
        for i, t in enumerate(tensors):
            longest = int(max(int(s[i]) for s in all_sizes))
            buf = self._on_device(t.detach().new_zeros((longest, *t.shape[1:])))
            buf[:len(t)] = self._on_device(t.detach())
            parts = [torch.empty_like(buf) for _ in range(self.world)]
            dist.all_gather(parts, buf)
            out.append(torch.cat([p[:int(s[i])] for r, (p, s) in enumerate(zip(parts, all_sizes)) if r != self.rank])
                       .to(t.device))
        return tuple(out)

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any (the stop agreement)."""
        import torch.distributed as dist

        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def gather(self, obj) -> list | None:
        """Every rank's ``obj`` (picklable) as a list on rank 0; None on the others."""
        import torch.distributed as dist

        out = [None] * self.world if self.rank == 0 else None
        dist.gather_object(obj, out, dst=0)
        return out

    def broadcast_model(self, model) -> None:
        """Rank 0's weights, buffers (normalisation) and ``z*`` on every rank."""
        import torch.distributed as dist

        with torch.no_grad():
            for t in [*model.parameters(), *model.buffers(), *model.z_star]:
                buf = self._on_device(t.detach())
                dist.broadcast(buf, src=0)
                if buf is not t:
                    t.detach().copy_(buf)

    def check_same(self, params) -> None:
        """Raise when the ranks' ``params`` are not bit-identical (they must be, the gradients being shared)."""
        import torch.distributed as dist

        flat = torch.cat([p.detach().reshape(-1).contiguous().view(torch.uint8) for p in params]).to(torch.int32)
        hi, lo = flat.clone(), flat.clone()
        dist.all_reduce(hi, op=dist.ReduceOp.MAX)
        dist.all_reduce(lo, op=dist.ReduceOp.MIN)
        if not torch.equal(hi, lo):
            raise RuntimeError("the training processes' weights differ: data-parallel training went wrong")


def _test_crash(rank: int) -> int | None:
    """The step at which this rank is to fail, from ``MRGEN_TEST_CRASH=RANK:STEP`` (a test-only hook: the tests of
    a rank crashing set it; nothing else does)."""
    spec = os.environ.get(CRASH_ENV, "")
    if not spec:
        return None
    who, _, step = spec.partition(":")
    return int(step) if int(who) == rank else None


@contextmanager
def join(device: str):
    """This process as one rank of the run its environment describes (:func:`env_rank`); the process group is
    closed on the way out."""
    import torch.distributed as dist

    rank, world, local_rank = env_rank()
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    store = os.environ.get(STORE_ENV)
    if store:  # mrgen's own launcher serves the store (no port to agree on beforehand)
        host, port = store.rsplit(":", 1)
        tcp = dist.TCPStore(host, int(port), None, False, timeout=TIMEOUT)
        dist.init_process_group(backend, store=tcp, rank=rank, world_size=world, timeout=TIMEOUT)
    else:  # torchrun: MASTER_ADDR / MASTER_PORT from its rendezvous
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world, timeout=TIMEOUT)
    try:
        yield Group(rank=rank, world=world, local_rank=local_rank, device=dev,
                    local_world=int(os.environ.get("LOCAL_WORLD_SIZE", world)), crash_at=_test_crash(rank))
    finally:
        dist.destroy_process_group()
