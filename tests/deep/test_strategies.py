"""Every command of docs/deep.md's training strategies runs as written (tiny preset, one short epoch).

The strategies of Zhao et al. (CVPR 2018, IEEE TPAMI 2020): DT-ShD, PT-SD, FT-(SD+ShD),
FT-(SD+ShD+OD) and the staged CRLNet training (BTBNet, then CRLNet with BTBNet fixed). The block's
variables are set to the tiny preset and to small folders in the layouts of the real CUHK and DUT-DBD
sets, so a wrong option name, dataset split or run folder in the docs fails here.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import _deep_skip  # noqa: F401  (skips this module without PyTorch)
import numpy as np
import pytest
from click.testing import CliRunner

from dbdbench.baselines.deep.checkpoint import read_checkpoint
from dbdbench.baselines.deep.synthetic import make_pairs
from dbdbench.cli import main
from dbdbench.imageio import to_uint8, write_image

DOC = Path(__file__).resolve().parents[2] / "docs" / "deep.md"


def doc_block(heading: str) -> str:
    """The first bash block after ``heading`` in docs/deep.md."""
    text = DOC.read_text(encoding="utf-8")
    return re.search(r"```bash\n(.*?)```", text[text.index(heading) :], re.S).group(1)


def strategy_block() -> tuple[list[str], list[str]]:
    """(variable assignment lines, command lines) of the first bash block of the strategies section."""
    block = doc_block("## Training strategies of the papers, as commands")
    lines = block.replace("\\\n", " ").splitlines()
    lines = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    assigns = [ln for ln in lines if re.match(r"^[A-Z]+=", ln)]
    return assigns, [ln for ln in lines if ln not in assigns]


def layouts(root: Path) -> dict[str, str]:
    """CUHK (image/ + gt/, white = blurred, names outside CUHK-TE-1) and DUT-DBD training folders."""
    pairs = make_pairs(7, 40, seed=11)
    for k, (image, mask) in enumerate(pairs[:4]):
        write_image(root / "cuhk" / "image" / f"out_of_focus{k + 1:04d}.jpg", image)
        write_image(root / "cuhk" / "gt" / f"out_of_focus{k + 1:04d}.png", to_uint8(1.0 - mask))
    for k, (image, mask) in enumerate(pairs[4:]):
        write_image(root / "dut" / "DUT600S_Training" / f"{k + 1}.jpg", image)
        write_image(root / "dut" / "DUT600GT_Training" / f"{k + 1}.png", to_uint8(mask))
    write_image(root / "photos" / "a.png", pairs[0][0])
    return {"CUHK": str(root / "cuhk"), "DUT": str(root / "dut")}


def test_every_strategy_command_runs(tmp_path, monkeypatch):
    assigns, commands = strategy_block()
    values = {
        "P": "--preset tiny --epochs 1 --train-size 32 --batch-size 4 --threads 1",
        "W": "",  # no ImageNet weights for the tiny widths
        "N": "4",
        **layouts(tmp_path),
    }
    documented = {m for ln in assigns for m in re.findall(r"(?:^|;\s*)([A-Z]+)=", ln)}
    assert documented == set(values)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "environ", {**os.environ, **values})
    assert len(commands) == 9
    for line in commands:
        args = shlex.split(os.path.expandvars(line))
        assert args[0] == "dbdbench", line
        if args[1] == "generate-sim":
            args += ["--size", "48"]  # small images: the count is already the test's
        result = CliRunner().invoke(main, args[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    for run in ("dt-shd", "pt-sd", "ft-sd-shd", "ft-sd-shd-od", "btbnet", "crl", "btbcrl"):
        assert (tmp_path / "runs" / run / "last.pt").is_file(), run
    # FT-(SD+ShD+OD) trained on 4 CUHK + 3 DUT pairs; the staged run kept the BTBNet streams fixed
    assert "on 7 pairs" in (tmp_path / "runs" / "ft-sd-shd-od" / "train.log").read_text()
    crl = read_checkpoint(tmp_path / "runs" / "crl" / "last.pt")
    base = read_checkpoint(tmp_path / "runs" / "btbnet" / "last.pt")
    assert crl["freeze"] == "btbnet"
    assert all(np.array_equal(base["state_dict"][k], crl["state_dict"][k]) for k in base["state_dict"])
    assert len(list((tmp_path / "maps").glob("*.png"))) == 1

    # the torchrun example of the GPU section, its train command in this process
    (line,) = [ln for ln in doc_block("## GPUs, mixed precision").replace("\\\n", " ").splitlines() if ln]
    args = shlex.split(os.path.expandvars(line))
    assert args[0] == "torchrun" and args[args.index("-m") + 1] == "dbdbench"
    result = CliRunner().invoke(main, args[args.index("-m") + 2 :])
    assert result.exit_code == 0, f"{line}\n{result.output}"
    assert "bf16" in (tmp_path / "runs" / "ddp" / "train.log").read_text()


@pytest.mark.parametrize("bad", ["--split train --dataset cuhk", "--dataset dut --split tr1"])
def test_a_wrong_split_fails(tmp_path, bad):
    roots = layouts(tmp_path)
    root = roots["CUHK"] if "cuhk" in bad else roots["DUT"]
    args = ["train", "--model", "vgg-fc", *bad.split(), "--root", root, "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "has no split" in result.output
