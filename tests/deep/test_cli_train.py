"""`dbdbench train`: listing, a short run, one-line errors without tracebacks."""

from __future__ import annotations

from _deep_skip import torch
from click.testing import CliRunner

from dbdbench.baselines.deep.catalog import MODELS
from dbdbench.baselines.deep.checkpoint import read_checkpoint
from dbdbench.cli import main


def invoke(*args):
    return CliRunner().invoke(main, ["train", *args])


def test_list_models():
    result = invoke("--list-models")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == list(MODELS)


def test_short_run_writes_a_checkpoint(tiny_data, tmp_path):
    out = tmp_path / "run"
    common = ["--model", "vgg-fc", "--data", str(tiny_data), "--out", str(out), "--train-size", "32"]
    result = invoke(*common, "--epochs", "1", "--batch-size", "6", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert (out / "last.pt").is_file() and (out / "epoch-001.pt").is_file()
    again = invoke(*common, "--epochs", "2", "--batch-size", "6", "--resume")
    assert again.exit_code == 0, again.output
    assert (out / "epoch-002.pt").is_file()


def one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("dbdbench: error:"), result.output
    for word in words:
        assert word in lines[0]


def test_user_errors_are_one_line(tiny_data, tmp_path):
    out = tmp_path / "run"
    base = ["--data", str(tiny_data), "--out", str(out)]
    one_line_error(invoke("--model", "btbnet9", *base), "unknown --model")
    weights = tmp_path / "vgg16.pth"
    one_line_error(
        invoke("--model", "btbnet", *base, "--preset", "paper", "--backbone-weights", str(weights)),
        str(weights),
    )
    assert not list(out.glob("*.pt"))
    one_line_error(invoke("--model", "btbnet", "--data", str(tmp_path / "none"), "--out", str(out)), "none")
    one_line_error(invoke("--model", "btbnet", "--out", str(out)), "--data")
    one_line_error(invoke("--model", "btbnet", *base, "--dataset", "cuhk"), "--root")


def test_device_precision_and_workers_errors_are_one_line(tiny_data, tmp_path):
    base = ["--model", "vgg-fc", "--data", str(tiny_data), "--out", str(tmp_path / "run")]
    if not torch.cuda.is_available():
        one_line_error(invoke(*base, "--device", "cuda"), "no CUDA device", "--device cpu")
    for name in ("tpu", "mps", "xpu"):
        one_line_error(invoke(*base, "--device", name), f"--device '{name}' is not supported")
    one_line_error(invoke(*base, "--workers", "2"), "--workers is now --loader-workers")
    crl = ["--model", "btbcrl", *base[2:]]
    one_line_error(invoke(*crl, "--scales", "1,1"), "--scales '1,1'")
    one_line_error(invoke(*crl, "--scales", "1.5"), "in (0, 1]")
    one_line_error(invoke(*base, "--scales", "0.8,0.6"), "model 'vgg-fc' has one full-resolution stream")
    one_line_error(invoke(*base, "--device", "cpu", "--precision", "fp16"), "fp16 needs a CUDA device")
    one_line_error(invoke(*base, "--loader-workers", "-1"), "'--loader-workers': -1 is not in the range")
    one_line_error(invoke(*base, "--freeze", "btbnet"), "--freeze btbnet", "--init")
    assert not (tmp_path / "run").exists()  # refused before any folder is made


def test_resume_with_another_lr_is_a_one_line_error_and_leaves_the_run(tiny_data, tmp_path):
    out = tmp_path / "run"
    common = ["--model", "vgg-fc", "--data", str(tiny_data), "--out", str(out), "--train-size", "32"]
    result = invoke(*common, "--epochs", "2", "--batch-size", "3", "--max-steps", "1", "--lr", "0.001")
    assert result.exit_code == 0, result.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    one_line_error(invoke(*common, "--resume", "--lr", "0.01"), "--lr differs from the run's --lr 0.001")
    one_line_error(invoke(*common, "--resume", "--seed", "3"), "--seed differs from the run's --seed 0")
    one_line_error(
        invoke(*common, "--resume", "--batch-size", "2"), "--batch-size differs from the run's --batch-size 3"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "train.log"} == {
        k: v for k, v in before.items() if k != "train.log"
    }
    again = invoke(*common, "--resume", "--lr", "0.001", "--precision", "bf16")
    assert again.exit_code == 0, again.output
    assert "bf16 on the CPU is slower than fp32" in again.output


def test_snapshot_options_from_the_command_line(tiny_data, tmp_path):
    out = tmp_path / "run"
    result = invoke(
        "--model", "vgg-fc", "--data", str(tiny_data), "--out", str(out), "--train-size", "32",
        "--batch-size", "3", "--epochs", "2", "--save-every", "1", "--keep", "1", "--save-optimizer",
        "--val-data", str(tiny_data), "--loader-workers", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.glob("*.pt")} == {"epoch-002.pt", "last.pt", "best.pt"}
    assert "optimizer" in read_checkpoint(out / "epoch-002.pt")  # --save-optimizer
    assert read_checkpoint(out / "last.pt")["snapshots"] == ["epoch-002.pt"]
