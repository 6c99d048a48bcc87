"""Train a multi-resolution motion GAN on a few clips, coarse to fine, one level at a time.

``train`` prepares the model (:mod:`training.data`) and runs the levels coarsest first. For level ``i`` the levels
below are frozen; every step (:meth:`Trainer.step`) takes ``batch`` random crops, runs the generator once on them (the
random path: a sample of the levels below + noise; and the reconstruction path: ``z*``), then the discriminator
step(s) (real vs generated crops scored per frame, a Patch-GAN: it never needs the whole clip) and the generator step.
So a step costs the same whatever the amount of training motion.

Losses (:mod:`training.losses`): adversarial (WGAN-GP, or non-saturating + R1), L1 reconstruction of the crop from
``z*``, a patch nearest-neighbour loss (generated patches near real patches of their label and, the other way round,
every real patch near a generated one: a fast, non-adversarial signal that lets a few hundred steps per level do what
GANimator's 15,000 do; where a crop is a whole clip, each crop on its own must also hold every patch of its clip:
per-sample recall), foot-contact consistency and foot sliding; above level 0, mode seeking (the same crops with fresh
noise must differ, so a level's noise makes new detail). With two labels or more, a share of the generated crops
(``label_mix``) switch label part-way, as a label schedule does, and are judged frame by frame against the clips of
each label.

Ctrl-C (or ``should_stop()``) stops between two steps and saves a checkpoint with everything needed to continue
exactly: weights, optimiser states, RNG state, level, step, the bank (and the mixed-label entries). ``resume=``
continues it.

``procs`` > 1 (or a ``torchrun`` launch) trains data-parallel: N processes, each drawing its crops of every step
(``batch`` each with a batch per process, :func:`batch_per_process`, else its share of ``batch``) from its own random
stream, the gradients averaged (:mod:`training.distributed` says what is shared, what each rank keeps, and how they
agree to stop; :mod:`training.launch` starts them). ``procs=1`` runs none of that: a one-process run is the same,
bit for bit, as before data-parallel training existed.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager

import torch
from torch.profiler import record_function
from tqdm import tqdm

from mrgen_core import path_control
from mrgen_core.checkpoint import load_checkpoint, save_checkpoint
from mrgen_core.errors import MrgenError
from mrgen_core.model.pyramid import MotionModel
from mrgen_core.skeleton import OFFSETS

from . import losses
from .data import (Batch, LevelData, control_part, crop_noise, steady_travel, load_clip, prepare, random_inputs,
                   reconstruction_inputs, sample_batch)
from .distributed import Group, env_rank, join, rank_seed, resolve_device, share
from .presets import get_preset

__all__ = ["train", "load_clip", "level_iterations", "Trainer", "resolve_device"]


def train(clips, out_path, *, preset: str = "default", labels=None, label_per_clip=None, seed: int = 0,
          device: str = "cpu", resume=None, progress=None, should_stop=None, controls=None, fps: float = 30.0,
          overrides: dict | None = None, quiet: bool = False, control_source: str = "", procs: int | None = 1,
          outcome: dict | None = None) -> str:
    """Train a model on ``clips`` (paths or Motions) and save it to ``out_path``; returns the path.

    ``labels``: labels file (JSON/CSV) or parsed table; ``label_per_clip``: one label for all clips or one per
    clip; ``controls``: per-clip continuous control arrays (T_c, F) aligned with the clips' frames at ``fps``
    (``control_source`` records what they are: "audio" or "wavlm" for the CLI's audio paths).
    ``progress(fraction, message)`` is called as training goes; when ``should_stop()`` returns True (or on
    Ctrl-C) training stops after the current step and saves a checkpoint that ``resume=`` continues exactly.
    ``overrides``: preset values to change (see :mod:`training.presets`).
    ``procs``: data-parallel training processes (None: one per physical core, :func:`training.launch.plan`; when
    resuming, as many as the checkpoint was saved by). Started by torchrun, this process is one rank of its run
    (``procs`` must then be None, 1 or torchrun's number of processes).
    ``outcome``: a dict that gets ``stopped`` (whether the run stopped early, by ``should_stop`` or Ctrl-C, and saved
    a checkpoint).
    """
    here = env_rank()
    kw = dict(preset=preset, labels=labels, label_per_clip=label_per_clip, seed=seed, device=device, resume=resume,
              controls=controls, fps=fps, overrides=overrides, control_source=control_source)
    if here is not None:  # one rank of a multi-process run (torchrun's, or launched by training.launch)
        if procs not in (None, 1, here[1]):
            raise MrgenError(f"--procs {procs}: torchrun started {here[1]} processes; leave --procs out")
        with join(device) as group:
            return _train(clips, out_path, progress=progress, should_stop=should_stop, quiet=quiet, group=group,
                          outcome=outcome, **kw)
    n = _processes(procs, device, preset, overrides, resume)
    if n > 1:
        from .launch import launch

        return launch(n, dict(clips=list(clips), out_path=str(out_path), quiet=quiet, procs=None, **kw),
                      progress=progress, should_stop=should_stop, outcome=outcome)
    return _train(clips, out_path, progress=progress, should_stop=should_stop, quiet=quiet, group=None,
                  outcome=outcome, **kw)


def _processes(procs: int | None, device: str, preset: str, overrides: dict | None, resume) -> int:
    """How many processes this run takes (:func:`training.launch.plan`); a resumed run, as many as before."""
    from .launch import plan

    resolve_device(device)  # no CUDA: say so before anything starts
    if procs == 1:
        return 1
    if resume is None:
        return plan(procs, device, int(get_preset(preset, **(overrides or {}))["batch"]))
    from mrgen_core.checkpoint import read_blob

    state = read_blob(resume).get("training")
    if state is None:
        raise MrgenError("this model holds no training state to resume (it finished training)", resume)
    saved = int(state.get("world_size", 1))
    if procs is None:
        return saved
    n = plan(procs, device, int(state["settings"]["batch"]))
    if n != saved:
        raise MrgenError(f"this checkpoint was saved by {saved} training process(es); resume it with --procs "
                         f"{saved} (or leave --procs out)", resume)
    return n


def _train(clips, out_path, *, preset, labels, label_per_clip, seed, device, resume, progress, should_stop,
           controls, fps, overrides, quiet, control_source, group: Group | None, outcome: dict | None = None) -> str:
    """:func:`train` in this process: alone (``group`` None) or as one rank of a data-parallel run."""
    dev = group.device if group is not None else resolve_device(device)
    if resume is not None:
        model, state = load_checkpoint(resume, device="cpu", training=True)
        if state is None:
            raise MrgenError("this model holds no training state to resume (it finished training)", resume)
        saved, world = int(state.get("world_size", 1)), group.world if group is not None else 1
        if saved != world:
            raise MrgenError(f"this checkpoint was saved by {saved} training process(es); resume it with --procs "
                             f"{saved}", resume)
        settings = state["settings"]
        if group is not None:  # this rank's own RNG state and bank
            state = {**{k: v for k, v in state.items() if k != "ranks"}, **state["ranks"][group.rank]}
        gen = torch.Generator()
        gen.set_state(state["rng"])
    else:
        settings = get_preset(preset, **(overrides or {}))
        gen = torch.Generator().manual_seed(int(seed))
        with torch.random.fork_rng(devices=[]):  # weight init from the seed, the caller's RNG left alone
            torch.manual_seed(int(seed))
            model = prepare(clips, settings, labels=labels, label_per_clip=label_per_clip, controls=controls,
                            fps=fps, generator=gen, control_source=control_source)
        state = dict(settings=settings, level=0, iteration=0, elapsed=0.0, seed=int(seed))
        if group is not None and group.rank > 0:  # rank 0 goes on with the seed's stream, as one process would
            gen.manual_seed(rank_seed(int(seed), group.rank))
    local = group.local_world if group is not None else 1
    threads = int(settings.get("threads") or 0) or max(1, (os.cpu_count() or 1) // local)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model.to(dev)
        if group is not None:
            group.broadcast_model(model)
        trainer = Trainer(model, settings, gen, dev, group=group)
        path = trainer.run(state, out_path, progress=progress, should_stop=should_stop, quiet=quiet)
        if outcome is not None:
            outcome["stopped"] = trainer.stopped
        return path
    finally:
        torch.set_num_threads(old_threads)


def level_iterations(settings: dict, levels: int) -> list[int]:
    """Steps of every level: ``iterations`` on average, ``coarse_boost`` shifting them towards the coarse levels
    (where the structure of the motion is learnt) from the fine ones (detail, learnt faster)."""
    n, boost = int(settings["iterations"]), float(settings.get("coarse_boost", 0.0))
    if levels == 1:
        return [n]
    return [max(1, int(round(n * (1 + boost * (0.5 - i / (levels - 1)))))) for i in range(levels)]


def batch_per_process(settings: dict, model: MotionModel) -> bool:
    """Whether each process of a data-parallel run takes ``batch`` crops (rather than its share of them): with
    ``batch_per_process``, or where the model's training motion lasts at most ``batch_per_process_seconds``
    (models saved before these settings: shares)."""
    seconds = sum(c["frames"] for c in model.clips) / model.fps
    below = float(settings.get("batch_per_process_seconds", 0.0))
    return bool(settings.get("batch_per_process", False)) or seconds <= below


class Trainer:
    """One training run: the model, settings, RNG and the optimisers of the level in training."""

    def __init__(self, model: MotionModel, settings: dict, generator: torch.Generator, device: torch.device,
                 group: Group | None = None):
        self.model, self.s, self.gen, self.device, self.group = model, settings, generator, device, group
        # crops per step: all of them alone; in a data-parallel run this rank's share (each at least one), or all of
        # them again with a batch per process (the step's batch N times as large); the reconstruction's are shared
        self.batch, self.rec_batch = int(settings["batch"]), int(settings["rec_batch"])
        if group is not None:
            if not batch_per_process(settings, model):
                self.batch = share(self.batch, group.world, group.rank)
            self.rec_batch = min(self.batch, share(self.rec_batch, group.world, group.rank))
        self.offsets = torch.as_tensor(OFFSETS[model.config.get("gender", "neutral")], dtype=torch.float32,
                                       device=device)
        # label mixing needs two labels at least
        self.stopped = False  # whether run() stopped early (and saved a checkpoint)
        self.mixing = float(settings.get("label_mix", 0.0)) > 0 and len(model.labels) >= 2
        self.label_mix = float(settings["label_mix"]) if self.mixing else 0.0
        # path control: the share of crops trained under a steady travel (see data.steady_travel)
        self.steady = float(settings.get("path_steady", 0.0)) if path_control.follows_paths(model) else 0.0

    # --- the loop ---------------------------------------------------------------------------------------------

    def run(self, state: dict, out_path, progress=None, should_stop=None, quiet=False) -> str:
        """Train from ``state``'s level and step to the end (or until stopped); save the model or a checkpoint."""
        levels, per_level = self.model.num_levels, level_iterations(self.s, self.model.num_levels)
        total = sum(per_level)
        t0 = time.perf_counter() - state["elapsed"]
        group, lead = self.group, self.group is None or self.group.rank == 0  # only rank 0 reports and writes
        quiet = quiet or not lead
        progress = progress if lead else None
        bar = tqdm(total=total, initial=sum(per_level[:state["level"]]) + state["iteration"], disable=quiet,
                   unit="step", dynamic_ncols=True)
        stopped, steps = False, 0
        with _stop_on_sigint(announce=lead) as interrupted:
            for level in range(state["level"], levels):
                start_it = state["iteration"] if level == state["level"] else 0
                data, opt_g, opt_d = self.start_level(level, state if start_it else None)
                iters = per_level[level]
                for it in range(start_it, iters):
                    stop = interrupted() or (should_stop is not None and should_stop())
                    if group is not None:
                        stop = group.any(stop)  # every rank stops at the same step
                        if group.crash_at == steps:
                            raise RuntimeError(f"test crash of training process {group.rank} at step {steps} "
                                               "(MRGEN_TEST_CRASH)")
                    if stop:
                        stopped = True
                        break
                    steps += 1
                    self.refresh(data, it)
                    logs = self.step(level, data, opt_g, opt_d, it)
                    bar.update(1)
                    if it % 10 == 0 or it == iters - 1:
                        bar.set_description(f"level {level + 1}/{levels}")
                        bar.set_postfix_str(" ".join(f"{k} {v:.3f}" for k, v in logs.items()))
                        if progress is not None:
                            progress((sum(per_level[:level]) + it + 1) / total,
                                     f"level {level + 1}/{levels}, step {it + 1}/{iters}")
                if stopped:
                    state.update(level=level, iteration=it, elapsed=time.perf_counter() - t0)
                    self.save(out_path, state, data, opt_g, opt_d, trained_levels=level)
                    break
                self.model.trained_levels = level + 1
                state.update(level=level + 1, iteration=0)
        bar.close()
        self.stopped = stopped
        if stopped:
            msg = (f"training stopped at level {state['level'] + 1}/{levels}, step {state['iteration']}/"
                   f"{per_level[state['level']]}; checkpoint saved to {out_path} (continue with --resume {out_path})")
        else:
            state.update(elapsed=time.perf_counter() - t0)
            self.model.train_seconds = state["elapsed"]
            if group is not None:
                group.check_same([*self.model.generators.parameters(), *self.model.discriminators.parameters()])
            self.save(out_path, None, None, None, None, trained_levels=levels)
            msg = f"trained {levels} levels in {state['elapsed']:.0f} s; model saved to {out_path}"
        if progress is not None:
            progress(1.0 if not stopped else (sum(per_level[:state["level"]]) + state["iteration"]) / total, msg)
        if not quiet:
            print(msg)
        return str(out_path)

    def start_level(self, level: int, state: dict | None):
        """Data and optimisers of ``level`` (restored from ``state`` when resuming mid-level)."""
        model, s = self.model, self.s
        for i, (g, d) in enumerate(zip(model.generators, model.discriminators)):
            g.requires_grad_(i == level)
            d.requires_grad_(i == level)
        data = LevelData(model, level)
        if int(s.get("recall_memory", 0)):
            data.recall_memory = losses.RecallMemory(int(s["recall_memory"]))
        if level > 0:
            data.make_rec_below(model)
        opt_g = torch.optim.Adam(model.generators[level].parameters(), lr=s["lr_g"], betas=tuple(s["betas"]),
                                 foreach=True)
        opt_d = torch.optim.Adam(model.discriminators[level].parameters(), lr=s["lr_d"], betas=tuple(s["betas"]),
                                 foreach=True)
        if state is not None:
            opt_g.load_state_dict(state["opt_g"])
            opt_d.load_state_dict(state["opt_d"])
            data.restore(state, model.device)
        return data, opt_g, opt_d

    def refresh(self, data: LevelData, it: int) -> None:
        """Regenerate the bank of samples of the levels below (and the mixed-label entries) every ``bank_refresh``
        steps."""
        every, frames = int(self.s["bank_refresh"]), int(self.s["bank_frames"])
        if data.level > 0 and (data.bank is None or it % every == 0):
            data.make_bank(self.model, frames, self.gen)
        if self.mixing and (data.mix_control is None or it % every == 0):
            data.make_mix(self.model, frames, self.gen)

    def save(self, out_path, state, data, opt_g, opt_d, trained_levels: int) -> None:
        """Save the model; with ``state`` (a stopped run), everything :func:`train` needs to resume it exactly (in a
        data-parallel run: every rank's RNG state and bank, gathered into rank 0's checkpoint)."""
        train_state = None
        if state is not None and self.group is None:
            train_state = dict(state, rng=self.gen.get_state(), opt_g=opt_g.state_dict(), opt_d=opt_d.state_dict(),
                               **data.state())
        elif state is not None:
            ranks = self.group.gather(dict(rng=self.gen.get_state(), **data.state()))
            shared = {k: state[k] for k in ("settings", "level", "iteration", "elapsed", "seed") if k in state}
            train_state = dict(shared, opt_g=opt_g.state_dict(), opt_d=opt_d.state_dict(),
                               world_size=self.group.world, ranks=ranks)
        if self.group is not None and self.group.rank != 0:
            return
        self.model.trained_levels = trained_levels
        save_checkpoint(self.model, out_path, training=train_state)

    # --- one step ---------------------------------------------------------------------------------------------

    def step(self, level: int, data: LevelData, opt_g, opt_d, it: int = 0) -> dict:
        """One training step of ``level``: batch -> one generator forward -> discriminator step(s) -> generator
        step. Returns the losses' values."""
        model, s = self.model, self.s
        G = model.generators[level]
        with record_function("batch"):
            b = sample_batch(data, self.batch, int(s["crop"]), model.margin, self.gen, self.label_mix,
                             float(s.get("end_crops", 0.0)))  # absent from runs saved before it: off
            if self.steady > 0:
                width = int(round(float(s["path_steady_seconds"]) * model.level_fps(level)))
                steady_travel(b, self.steady, self.rec_batch, len(model.labels), width, self.gen)
            x, base, noise = random_inputs(model, data, b, self.gen)
            rb = b.first(min(self.rec_batch, len(b.clip)))  # the reconstruction path on the first crops
            x_rec, base_rec = reconstruction_inputs(model, data, rb)
        with record_function("G forward"):  # one generator forward for the random and the reconstruction path
            out = G(torch.cat([x, x_rec]), None if b.ctrl_pad is None else torch.cat([b.ctrl_fake_pad, rb.ctrl_pad]))
            if base is not None:
                out = out + torch.cat([base, base_rec])
            fake, rec = out[:len(b.clip)], out[len(b.clip):]
        d_steps = int(s["d_steps"])
        for k in range(d_steps):
            with record_function("D step"):
                loss_d = self.d_step(level, data, b, fake.detach() if k == 0 else None, opt_d, it * d_steps + k)
        with record_function("G step"):
            logs = self.g_step(level, data, b, fake, rec, rb.real, (x, base, noise), opt_g)
        return dict(D=loss_d.item(), **logs)

    def d_step(self, level: int, data: LevelData, b: Batch, fake: torch.Tensor | None, opt_d, count: int
               ) -> torch.Tensor:
        """A discriminator step: real vs generated crops (``fake``; None: fresh ones), scored per frame; the
        gradient penalty every ``penalty_every``-th step (``count``: D steps so far at this level), scaled to match."""
        s, kind, D = self.s, self.s["loss"], self.model.discriminators[level]
        if fake is None:
            with torch.no_grad():
                x, base, _ = random_inputs(self.model, data, b, self.gen)
                fake = self.model.generators[level](x, b.ctrl_fake_pad) + (0 if base is None else base)
        real, ctrl, bsz = b.real, b.ctrl, len(b.clip)
        every = max(1, int(s["penalty_every"]))
        penalize = count % every == 0
        opt_d.zero_grad(set_to_none=True)
        penalty = real.new_zeros(())
        if kind == "wgan-gp":
            scores = D(torch.cat([real, fake]), None if ctrl is None else torch.cat([ctrl, b.ctrl_fake]))
            loss_d = losses.d_loss(kind, scores[:bsz], scores[bsz:])
            if penalize:
                with record_function("gradient penalty"):
                    penalty = losses.gradient_penalty(D, real, fake, ctrl, self.gen)
        elif penalize:
            penalty, real_scores = losses.r1_penalty(D, real, ctrl)
            loss_d = losses.d_loss(kind, real_scores, D(fake, b.ctrl_fake))
        else:
            scores = D(torch.cat([real, fake]), None if ctrl is None else torch.cat([ctrl, b.ctrl_fake]))
            loss_d = losses.d_loss(kind, scores[:bsz], scores[bsz:])
        (loss_d + s["gp_weight"] * every * penalty).backward()
        if self.group is not None:
            self.group.average_grads(D.parameters())
        opt_d.step()
        return loss_d

    def g_step(self, level: int, data: LevelData, b: Batch, fake: torch.Tensor, rec: torch.Tensor,
               rec_real: torch.Tensor, inputs: tuple, opt_g) -> dict:
        """The generator step: fool D, reconstruct the clips from ``z*`` (``rec`` against ``rec_real``), patches
        near real ones, mode seeking (``inputs``: the random path's input, base and noise), planted feet still."""
        model, s, kind = self.model, self.s, self.s["loss"]
        D = model.discriminators[level]
        opt_g.zero_grad(set_to_none=True)
        D.requires_grad_(False)
        adv = losses.g_loss(kind, D(fake, b.ctrl_fake))
        D.requires_grad_(True)
        rec_loss = losses.reconstruction_loss(rec, rec_real)
        total = adv + s["rec_weight"] * rec_loss
        logs = dict(G=adv, rec=rec_loss)
        if s["patch_weight"]:
            with record_function("patch loss"):
                logs["patch"] = self.patch_loss(data, b, fake)
            total = total + s["patch_weight"] * logs["patch"]
        if s["vary_weight"] and level > 0 and level >= float(s["vary_from"]) * (model.num_levels - 1):
            with record_function("variation loss"):
                logs["vary"] = self.variation_loss(model.generators[level], data, b, fake, *inputs)
            total = total + s["vary_weight"] * logs["vary"]
        spec = model.control_spec
        if s.get("path_weight") and path_control.follows_paths(model):
            logs["path"] = losses.path_loss(model.denormalize(fake), b.ctrl_fake[:, len(spec.vocab):],
                                            spec.cont_mean, spec.cont_std, model.level_fps(level))
            total = total + s["path_weight"] * logs["path"]
        if s["contact_weight"] or s["slide_weight"]:
            with record_function("foot losses"):
                logs["contact"], logs["slide"] = losses.foot_losses(model.denormalize(fake), model.level_fps(level),
                                                                    self.offsets)
            total = total + s["contact_weight"] * logs["contact"] + s["slide_weight"] * logs["slide"]
        total.backward()
        if self.group is not None:
            self.group.average_grads(model.generators[level].parameters())
        opt_g.step()
        return {k: v.item() for k, v in logs.items()}

    def patch_loss(self, data: LevelData, b: Batch, fake: torch.Tensor) -> torch.Tensor:
        """Patch nearest-neighbour loss of the generated crops against the real patches of their label (and, with
        continuous control, of a similar control), plus the per-sample recall of the crops that are a whole clip."""
        model, s = self.model, self.s
        if not data.pools:
            data.make_pools(model, int(s["patch_size"]), float(s["patch_control"]), float(s.get("patch_end", 0.0)),
                            float(s.get("patch_end_seconds", 1.0)))
        if model.control_spec.continuous:
            fake = torch.cat([fake, control_part(model, b.ctrl_fake, float(s["patch_control"]))], dim=1)
        if data.end_weight > 0:
            fake = torch.cat([fake, data.end_channel(b.clip, b.frames).to(fake.device)], dim=1)
        total = fake.new_zeros(())
        if s["sample_recall"]:
            own = [data.clip_patches[c] if w else None for c, w in zip(b.clip.tolist(), data.whole_crops(b).tolist())]
            total = losses.sample_recall_loss(fake, own, data.patch_size, s["patch_margin"], s["sample_recall"])
        q = losses.patches(fake, data.patch_size)  # (B * P, C * size), crop by crop
        key = data.patch_keys(b, q.shape[0] // len(fake), len(model.labels))
        group = self.group if self.group is not None and self.group.world > 1 and s["patch_recall"] else None
        others = group.others(q, key) if group is not None else None  # the whole batch's recall, as one process
        return losses.patch_nn_loss_by_key(q, key, data.pools, data.patch_size, s["patch_margin"], s["patch_recall"],
                                           int(s["patch_pool"]), self.gen, total=total, others=others,
                                           world=group.world if group is not None else 1, memory=data.recall_memory)

    def variation_loss(self, G, data: LevelData, b: Batch, fake: torch.Tensor, x: torch.Tensor,
                       base: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Mode seeking above level 0 (:func:`losses.mode_seeking_loss`): the generator's output ``fake`` on input
        ``x`` (base ``base`` + ``noise``) against its output on the same crops with fresh noise."""
        fresh = crop_noise(self.model, data, b, self.gen)
        fake2 = G(x - noise + fresh, b.ctrl_fake_pad) + base
        return losses.mode_seeking_loss(fake, fake2, noise, fresh, self.model.margin, float(self.s["vary_ratio"]),
                                         int(self.s["vary_smooth"]))


@contextmanager
def _stop_on_sigint(announce: bool = True):
    """Within the block, the first Ctrl-C only raises a flag (checked between steps); a second one interrupts.
    ``announce``: say so (rank 0 of a data-parallel run only)."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag.is_set
        return

    def handler(signum, frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()
        if announce:
            print("\nmrgen: stopping after this step (Ctrl-C again to abort without saving)", flush=True)

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield flag.is_set
    finally:
        signal.signal(signal.SIGINT, old)
