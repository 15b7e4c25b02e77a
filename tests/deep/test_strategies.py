"""Every command of docs/deep.md's training blocks runs as written (tiny preset, one short epoch).

The strategies of Zhao et al. (CVPR 2018, IEEE TPAMI 2020): DT-ShD, PT-SD, FT-(SD+ShD),
FT-(SD+ShD+OD) and the staged CRLNet training (BTBNet, then CRLNet with BTBNet fixed); the 1-, 2-
and 3-step CRLNet ablations; the torchrun example; "Comparing your own network". The blocks'
variables are set to the tiny preset and to small folders in the layouts of the real CUHK and DUT-DBD
sets, so a wrong option name, dataset split or run folder in the docs fails here. Every bash block of
the page must define the folders it reads: a variable of the block or an earlier ``--out``.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
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


def doc_block(heading: str, lang: str = "bash") -> str:
    """The first ``lang`` block after ``heading`` in docs/deep.md."""
    text = DOC.read_text(encoding="utf-8")
    return re.search(rf"```{lang}\n(.*?)```", text[text.index(heading) :], re.S).group(1)


def split_block(block: str) -> tuple[list[str], list[str]]:
    """(variable assignment lines, command lines) of a bash block, continuation lines joined."""
    lines = block.replace("\\\n", " ").splitlines()
    lines = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    assigns = [ln for ln in lines if re.match(r"^[A-Z]+=\S*(;|$| )", ln) and "dbdbench" not in ln]
    return assigns, [ln for ln in lines if ln not in assigns]


def strategy_block() -> tuple[list[str], list[str]]:
    """(variable assignment lines, command lines) of the first bash block of the strategies section."""
    return split_block(doc_block("## Training strategies of the papers, as commands"))


#: Options whose value is a folder or file a command reads.
INPUTS = ("--data", "--val-data", "--images", "--init", "--checkpoint", "--root", "--gt", "--pred")


def undefined_inputs(lines: list[str]) -> list[str]:
    """Inputs of the commands that are neither a variable of the block nor under an earlier ``--out``."""
    assigned = {m for ln in lines for m in re.findall(r"(?:^|;\s*)([A-Z]+)=", ln)}
    made: list[Path] = []
    missing = []
    for line in lines:
        args = shlex.split(line)
        for flag, value in zip(args, args[1:], strict=False):
            if flag in INPUTS:
                value = value.split("=", 1)[-1] if flag == "--pred" else value
                if value.startswith("$"):
                    if value.strip("${}") not in assigned:
                        missing.append(value)
                elif not any(Path(value) == m or m in Path(value).parents for m in made):
                    missing.append(value)
        made += [Path(v) for f, v in zip(args, args[1:], strict=False) if f == "--out"]
    return missing


def test_the_undefined_folder_check_catches_a_folder_nobody_made():
    assert undefined_inputs(["dbdbench predict --method x --images photos --out maps"]) == ["photos"]
    assert undefined_inputs(["P=photos", "dbdbench predict --images $Q --out m"]) == ["$Q"]
    ok = ["dbdbench generate-sim --out sim", "dbdbench train --data sim --out runs/a",
          "dbdbench predict --checkpoint runs/a/last.pt --images sim/image --out maps"]  # fmt: skip
    assert undefined_inputs(ok) == []


def test_every_bash_block_of_the_page_defines_what_it_reads():
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    assert len(blocks) >= 6
    for block in blocks:
        lines = [ln.strip() for ln in block.replace("\\\n", " ").splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("#")]
        assert undefined_inputs(lines) == [], block


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
    return {"CUHK": str(root / "cuhk"), "DUT": str(root / "dut"), "PHOTOS": str(root / "photos")}


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

    # the torchrun example of the GPU section, its train command in this process (sim is made above)
    gpu = split_block(doc_block("## GPUs, mixed precision"))[1]
    (line,) = [ln for ln in gpu if ln.startswith("torchrun")]
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


def test_the_crlnet_ablation_block_runs_the_1_2_and_3_step_variants(tmp_path, monkeypatch):
    assigns, commands = split_block(doc_block("## CRLNet ablations"))
    values = {"P": "--preset tiny --epochs 1 --train-size 32 --batch-size 4", "W": "", "N": "4",
              "PHOTOS": layouts(tmp_path)["PHOTOS"]}  # fmt: skip
    assert {m for ln in assigns for m in re.findall(r"(?:^|;\s*)([A-Z]+)=", ln)} == set(values)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "environ", {**os.environ, **values})
    for line in commands:
        args = shlex.split(os.path.expandvars(line))
        if args[1] == "generate-sim":
            args += ["--size", "48"]
        result = CliRunner().invoke(main, args[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    for steps, scales in ((1, (0.6,)), (2, (0.8, 0.6)), (3, (1.0, 0.8, 0.6))):
        ckpt = read_checkpoint(tmp_path / "runs" / f"crl-{steps}step" / "last.pt")
        assert tuple(ckpt["preset"]["scales"]) == scales
        assert ckpt["model"] == "btbcrl" and (tmp_path / "maps" / f"crl-{steps}step" / "a.png").is_file()
    steps = sorted(p.name for p in (tmp_path / "maps" / "crl-3step" / "steps").iterdir())
    assert steps == ["step1", "step2", "step3"]


def test_the_own_network_example_runs(tmp_path, monkeypatch):
    (tmp_path / "mynet.py").write_text(doc_block("## Comparing your own network", "python"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assigns, commands = split_block(doc_block("## Comparing your own network"))
    assert not assigns
    outputs = []
    try:
        for line in commands:
            args = shlex.split(line)
            if args[0] == "PYTHONPATH=.":  # the module's folder: on sys.path above
                args = args[1:]
            assert args[0] == "dbdbench", line
            result = CliRunner().invoke(main, args[1:])
            assert result.exit_code == 0, f"{line}\n{result.output}"
            outputs.append(result.output)
    finally:
        sys.modules.pop("mynet", None)
    ckpt = read_checkpoint(tmp_path / "runs" / "mynet" / "last.pt")
    assert ckpt["network"] == "mynet:SmallNet"
    # the shipped copy of the example has the same layers
    from dbdbench.baselines.deep.examples import SmallNet

    shipped = {f"net.{k}": v.shape for k, v in SmallNet().state_dict().items()}
    assert {k: v.shape for k, v in ckpt["state_dict"].items()} == shipped
    table = outputs[-1]
    assert "mynet" in table and "btbcrl" in table
