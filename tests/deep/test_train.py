"""Training: outputs, determinism with a seed, resume, time limit, user errors."""

from __future__ import annotations

import csv
import math
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from _deep_skip import torch

from dbdbench.baselines.deep.checkpoint import read_checkpoint, save_checkpoint
from dbdbench.baselines.deep.data import TrainingSet, training_sources
from dbdbench.baselines.deep.models import build_model
from dbdbench.baselines.deep.train import TrainOptions, train
from dbdbench.errors import DbdError

FAST = {"preset": "tiny", "batch_size": 3, "train_size": 32}


def run(data, out, model="btbnet-1s", **kw):
    opts = TrainOptions(model=model, out=out, **{**FAST, **kw})
    return train(opts, training_sources([data]), echo=None, progress=False)


def test_run_writes_checkpoints_loss_curve_and_log(tiny_data, tmp_path):
    t = time.monotonic()
    result = run(tiny_data, tmp_path / "out", epochs=2)
    wall = time.monotonic() - t
    out = tmp_path / "out"
    assert result.epochs == 2 and result.stopped == "epochs"
    assert {p.name for p in out.glob("*.pt")} == {"epoch-001.pt", "epoch-002.pt", "last.pt"}
    rows = list(csv.DictReader((out / "loss.csv").open()))
    assert len(rows) == 4 == len(result.history)  # 6 pairs / batch 3 = 2 steps per epoch
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    seconds = [float(r["seconds"]) for r in rows]  # training time since the start of the run
    assert seconds == sorted(seconds) and 0 < seconds[-1] <= wall
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log = (out / "train.log").read_text()
    assert "epoch 2: mean loss" in log
    ckpt = read_checkpoint(out / "last.pt")
    assert ckpt["model"] == "btbnet-1s" and ckpt["epoch"] == 2 and ckpt["step"] == 4


def test_same_seed_same_weights_other_seed_other_weights(tiny_data, tmp_path):
    a = run(tiny_data, tmp_path / "a", epochs=1, seed=5)
    b = run(tiny_data, tmp_path / "b", epochs=1, seed=5)
    c = run(tiny_data, tmp_path / "c", epochs=1, seed=6)
    assert [h[2] for h in a.history] == [h[2] for h in b.history]
    sa, sb, sc = (r.model.state_dict() for r in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# 6 pairs, batch 2: 3 steps per epoch, so step 4 is in the middle of epoch 2
MID = {"model": "sccrl", "batch_size": 2, "epochs": 2}


def test_max_steps_stops_mid_epoch_and_resume_gives_the_uninterrupted_weights(tiny_data, tmp_path):
    straight = run(tiny_data, tmp_path / "straight", **MID)
    assert straight.stopped == "epochs" and straight.step == 6
    # the schedule is a cosine over the 6 planned steps, a function of the step alone
    lrs = [h[4] for h in straight.history]
    assert lrs == pytest.approx([1e-3 * (1 + math.cos(math.pi * k / 6)) for k in range(6)], rel=1e-12)
    out = tmp_path / "split"
    first = run(tiny_data, out, **MID, max_steps=4)
    assert first.stopped == "steps" and first.step == 4 and first.epochs == 1
    ckpt = read_checkpoint(out / "last.pt")
    assert (ckpt["step"], ckpt["epoch"], ckpt["epoch_step"], ckpt["planned_steps"]) == (4, 1, 1, 6)
    assert [h[4] for h in first.history] == lrs[:4]  # planned for 2 epochs, not for 4 steps
    more = run(tiny_data, out, **MID, max_steps=5, resume=True)  # --resume --max-steps M goes on to M
    assert more.step == 5 and more.stopped == "steps"
    # the rest of the plan, every setting from the checkpoint
    rest = train(TrainOptions("sccrl", out, resume=True), training_sources([tiny_data]), echo=None)
    assert rest.step == 6 and rest.stopped == "epochs" and rest.epochs == 2
    assert [h[2] for h in rest.history] == [h[2] for h in straight.history]
    assert [h[4] for h in rest.history] == lrs
    assert same_weights(rest.model, straight.model)
    assert "resuming 'sccrl'" in (out / "train.log").read_text()


def test_time_guard_stops_without_changing_the_schedule(tiny_data, tmp_path):
    straight = run(tiny_data, tmp_path / "straight", **MID)
    out = tmp_path / "timed"
    timed = run(tiny_data, out, **MID, max_minutes=1e-9)  # the guard fires after the first step
    assert timed.stopped == "time" and timed.step == 1 and len(timed.history) == 1
    assert timed.history[0][4] == straight.history[0][4]
    assert read_checkpoint(out / "last.pt")["step"] == 1
    assert "stopped by --max-minutes" in (out / "train.log").read_text()
    resumed = run(tiny_data, out, **MID, resume=True)
    assert [h[2] for h in resumed.history] == [h[2] for h in straight.history]
    assert same_weights(resumed.model, straight.model)


CHILD = """
import sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
from dbdbench.baselines.deep.data import training_sources
from dbdbench.baselines.deep.train import TrainOptions, train

def hook(step):
    if step == 4:  # mid-epoch 2, just after --save-every 2 wrote last.pt: wait to be killed
        print("STEP", step, flush=True)
        time.sleep(600)

opts = TrainOptions(model="sccrl", out=Path(sys.argv[2]), preset="tiny", batch_size=2, train_size=32,
                    epochs=2, save_every=2)
train(opts, training_sources([sys.argv[1]]), echo=None, progress=False, on_step=hook)
"""


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tiny_data, tmp_path):
    straight = run(tiny_data, tmp_path / "straight", **MID)
    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tiny_data), str(out)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout.readline().strip() == "STEP 4"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert read_checkpoint(out / "last.pt")["step"] == 4
    resumed = run(tiny_data, out, **MID, save_every=2, resume=True)
    assert resumed.step == 6
    assert [h[2] for h in resumed.history] == [h[2] for h in straight.history]
    assert same_weights(resumed.model, straight.model)


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ({"lr": 0.01}, "--lr differs from the run's --lr 0.002"),
        ({"batch_size": 3}, "--batch-size differs from the run's --batch-size 2"),
        ({"seed": 7}, "--seed differs from the run's --seed 0"),
        ({"train_size": 40}, "--train-size differs from the run's --train-size 32"),
        ({"preset": "paper"}, "--preset differs from the run's --preset tiny"),
    ],
)
def test_resume_with_options_that_change_the_run_is_refused(tiny_data, tmp_path, option, words):
    out = tmp_path / "run"
    run(tiny_data, out, **MID, max_steps=1)
    before = (out / "last.pt").read_bytes()
    with pytest.raises(DbdError, match=re.escape(words)):
        run(tiny_data, out, **{**MID, **option}, resume=True)
    assert (out / "last.pt").read_bytes() == before
    run(tiny_data, out, **{**MID, "batch_size": 2, "seed": 0}, max_steps=2, resume=True)  # the same: fine


def test_resume_with_other_scales_is_refused(tiny_data, tmp_path):
    out = tmp_path / "run"
    run(tiny_data, out, model="btbcrl", epochs=1, scales="0.8,0.6", max_steps=1)
    with pytest.raises(DbdError, match="--scales differs from the run's --scales 0.8,0.6"):
        run(tiny_data, out, model="btbcrl", scales="1,0.8,0.6", resume=True)


def test_snapshots_keep_the_last_two_without_optimizer_and_best_by_held_out_loss(tiny_data, tmp_path):
    out = tmp_path / "run"
    (out / "notes").mkdir(parents=True)
    (out / "epoch-old.pt").write_bytes(b"not ours")
    opts = TrainOptions(model="btbnet-1s", out=out, **{**FAST, "batch_size": 2, "epochs": 3, "save_every": 2})
    result = train(opts, training_sources([tiny_data]), echo=None, progress=False, validation=[
        training_sources([tiny_data])[0]
    ])  # fmt: skip
    assert result.step == 9
    # snapshots at steps 2, 3 (epoch 1), 4, 6 (epoch 2), 8, 9 (epoch 3): the newest two are kept
    names = {p.name for p in out.glob("*.pt")}
    assert names == {"step-0000008.pt", "epoch-003.pt", "last.pt", "best.pt", "epoch-old.pt"}
    snap, last = read_checkpoint(out / "epoch-003.pt"), read_checkpoint(out / "last.pt")
    assert "optimizer" not in snap and "optimizer" in last and "rng" in last
    assert torch.equal(snap["state_dict"]["net.heads.3.weight"], last["state_dict"]["net.heads.3.weight"])
    best = read_checkpoint(out / "best.pt")
    assert best["val_loss"] == pytest.approx(last["best"][0]) and best["step"] == last["best"][1]
    assert "held-out loss" in (out / "train.log").read_text()
    # a snapshot is not a resumable run
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "last.pt").write_bytes((out / "epoch-003.pt").read_bytes())
    with pytest.raises(DbdError, match="without the optimiser state .* --init FILE"):
        run(tiny_data, tmp_path / "copy", resume=True)
    # a snapshot loads as a detector's weights
    model = build_model("btbnet-1s", best["preset"]["width"] and "tiny")
    model.load_state_dict(best["state_dict"])


def test_existing_run_needs_resume_and_init_needs_shared_parameters(tiny_data, tmp_path):
    run(tiny_data, tmp_path / "out", epochs=1)
    with pytest.raises(DbdError, match="--resume"):
        run(tiny_data, tmp_path / "out", epochs=1)
    btbnet = build_model("btbnet", "tiny")
    save_checkpoint(tmp_path / "btbnet.pt", btbnet)
    with pytest.raises(DbdError, match="holds a 'btbnet' model, which shares no parameters with 'vgg-fc'"):
        run(tiny_data, tmp_path / "other", model="vgg-fc", epochs=1, init=tmp_path / "btbnet.pt")
    with pytest.raises(DbdError, match="does not exist"):
        run(tiny_data, tmp_path / "x", epochs=1, init=tmp_path / "missing.pt")


def frozen_run(tiny_data, out, freeze, init, model="btbcrl"):
    return run(tiny_data, out, model=model, epochs=1, freeze=freeze, init=init, lr=1e-2)


def test_freeze_btbnet_trains_only_the_refinement_on_the_init_btbnet(tiny_data, tmp_path):
    # TPAMI ablations: "fixing BTBNet to train CRLNet" from the weights of a trained BTBNet
    base = run(tiny_data, tmp_path / "btbnet", model="btbnet", epochs=1)
    init = tmp_path / "btbnet" / "last.pt"
    result = frozen_run(tiny_data, tmp_path / "crl", "btbnet", init)
    before, after = base.model.state_dict(), result.model.state_dict()
    streams = [k for k in after if not k.startswith("refine.")]
    assert streams and all(torch.equal(after[k], before[k]) for k in streams)
    fresh = build_model("btbcrl", "tiny").state_dict()
    moved = [k for k in after if k.startswith("refine.") and not torch.equal(after[k], fresh[k])]
    assert "refine.first.tail.weight" in moved and "refine.residual.0.tail.weight" in moved
    assert read_checkpoint(tmp_path / "crl" / "last.pt")["freeze"] == "btbnet"
    with pytest.raises(DbdError, match="was started with --freeze btbnet"):
        run(tiny_data, tmp_path / "crl", model="btbcrl", epochs=2, resume=True)


def test_freeze_btbnet_needs_an_init_btbnet_and_a_refinement(tiny_data, tmp_path):
    with pytest.raises(DbdError, match="give it with --init"):
        frozen_run(tiny_data, tmp_path / "a", "btbnet", None)
    save_checkpoint(tmp_path / "one.pt", build_model("btbnet-1s", "tiny"))
    with pytest.raises(DbdError, match="'btbnet-1s' model, which shares no parameters with 'btbcrl'"):
        frozen_run(tiny_data, tmp_path / "b", "btbnet", tmp_path / "one.pt")
    save_checkpoint(tmp_path / "btbnet.pt", build_model("btbnet", "tiny"))
    with pytest.raises(DbdError, match="has no refinement network"):
        frozen_run(tiny_data, tmp_path / "c", "btbnet", tmp_path / "btbnet.pt", model="btbnet")
    with pytest.raises(DbdError, match="unknown --freeze 'head'"):
        frozen_run(tiny_data, tmp_path / "d", "head", None)


def test_freeze_backbone_fixes_only_the_vgg_layers(tiny_data, tmp_path):
    torch.manual_seed(0)  # new_run seeds with the run's seed 0: the same initial weights
    start = build_model("btbnet-1s", "tiny").state_dict()
    result = run(tiny_data, tmp_path / "out", epochs=1, freeze="backbone", lr=1e-2)
    after = result.model.state_dict()
    backbone = [k for k in after if ".backbone." in k]
    assert backbone and all(torch.equal(after[k], start[k]) for k in backbone)
    assert not torch.equal(after["net.heads.3.weight"], start["net.heads.3.weight"])


def test_bf16_autocast_and_loader_workers(tiny_data, tmp_path):
    fp32 = run(tiny_data, tmp_path / "fp32", epochs=1)
    workers = run(tiny_data, tmp_path / "workers", epochs=1, loader_workers=2)
    assert [h[2] for h in workers.history] == [h[2] for h in fp32.history]  # same samples, same order
    bf16 = run(tiny_data, tmp_path / "bf16", epochs=1, precision="bf16")
    # bfloat16 keeps 8 bits of mantissa: the summed loss agrees to about 1 %
    for a, b in zip(bf16.history, fp32.history, strict=True):
        assert a[2] == pytest.approx(b[2], rel=0.03)
    with pytest.raises(DbdError, match="fp16 needs a CUDA device"):
        run(tiny_data, tmp_path / "fp16", epochs=1, precision="fp16", device="cpu")
    with pytest.raises(DbdError, match="unknown --precision"):
        run(tiny_data, tmp_path / "fp8", epochs=1, precision="fp8")


def test_init_starts_from_the_checkpoint_weights(tiny_data, tmp_path):
    torch.manual_seed(9)
    model = build_model("vgg-fc", "tiny")
    save_checkpoint(tmp_path / "init.pt", model)
    result = run(tiny_data, tmp_path / "out", model="vgg-fc", epochs=1, seed=0, lr=1e-12)
    init = tmp_path / "init.pt"
    tuned = run(tiny_data, tmp_path / "out2", model="vgg-fc", epochs=1, seed=0, lr=1e-12, init=init)
    w0 = model.state_dict()["net.head.weight"]
    torch.testing.assert_close(tuned.model.state_dict()["net.head.weight"], w0, rtol=0, atol=1e-9)
    assert not torch.allclose(result.model.state_dict()["net.head.weight"], w0)


def test_training_set_crops_are_seeded_per_epoch_and_index(tiny_data):
    ds = TrainingSet(training_sources([tiny_data, tiny_data]), size=24, crop=True, seed=1)
    assert len(ds) == 12
    x0, y0, name = ds[2]
    assert name == "000002"
    assert x0.shape == (3, 24, 24) and y0.shape == (1, 24, 24)
    assert x0.dtype == torch.float32 and 0 <= float(x0.min()) and float(x0.max()) <= 1
    assert torch.equal(ds[2][0], x0)
    ds.set_epoch(1)
    assert not torch.equal(ds[2][0], x0)
