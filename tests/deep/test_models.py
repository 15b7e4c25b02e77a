"""Every BTBNet / BTBCRL variant builds, runs forward and backward at odd sizes, returns input-size maps."""

from __future__ import annotations

import pytest
from _deep_skip import torch

from dbdbench.baselines.deep.btbnet import resize
from dbdbench.baselines.deep.catalog import MODELS, PRESET_NAMES
from dbdbench.baselines.deep.losses import deep_supervision_loss
from dbdbench.baselines.deep.models import PRESETS, SCALES, build_model, count_parameters
from dbdbench.errors import DbdError

# outputs per model: 4 steps per stream, then the fusion / refinement outputs
N_OUTPUTS = {
    "vgg-fc": 1,
    "btbnet-1s": 4,
    "btbnet": 12 + 1,
    "btbfrr": 12 + 1 + PRESETS["tiny"].rr_steps,
    "btbcrl": 12 + 3,
    "btbcrl-unshared": 12 + 3,
    "mscrl": 12 + 3,
    "sccrl": 4 + 3,
    "arl": 12 + 3 + 1,
}


def test_presets_match_the_catalog():
    assert tuple(PRESETS) == PRESET_NAMES
    assert set(N_OUTPUTS) == set(MODELS)


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_backward_at_odd_sizes(name):
    torch.manual_seed(0)
    model = build_model(name, "tiny")
    for h, w in ((31, 45), (28, 28)):
        x = torch.rand(2, 3, h, w)
        y = (torch.rand(2, 1, h, w) > 0.5).float()
        outs = model(x)
        assert len(outs) == N_OUTPUTS[name]
        assert outs[-1].shape == (2, 1, h, w)
        assert all(torch.isfinite(o).all() for o in outs)
        model.zero_grad()
        deep_supervision_loss(outs, y).backward()
        missing = [n for n, p in model.named_parameters() if p.grad is None]
        assert not missing, missing


def test_streams_run_at_the_paper_scales():
    model = build_model("btbnet", "tiny")
    outs = model(torch.rand(1, 3, 50, 35))
    sizes = [tuple(o.shape[-2:]) for o in outs[:12:4]]
    assert sizes == [(round(50 * s), round(35 * s)) for s in SCALES] == [(50, 35), (40, 28), (30, 21)]


def test_untrained_cascade_passes_the_smallest_map_up_unchanged():
    # CRLNet's residual tail starts at zero: each step returns the previous output, interpolated.
    torch.manual_seed(1)
    model = build_model("btbcrl", "tiny")
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 41, 33))
    small = outs[11]  # last step of the 0.6 stream
    assert small.shape[-2:] == (25, 20)
    torch.testing.assert_close(outs[12], small)
    expected = resize(resize(small, (33, 26)), (41, 33))
    torch.testing.assert_close(outs[-1], expected)


def test_crlnet_has_a_first_rlnet_and_shared_or_separate_residual_steps():
    # TPAMI: step 1's RLNet refines the full map; the other steps learn residuals with shared
    # parameters (btbcrl) or, in the ablation, with one set each (btbcrl-unshared).
    p = PRESETS["tiny"]
    w, d = p.refine_width, p.refine_depth
    step = (4 * w * 9 + w) + d * (w * w * 9 + w) + (w * 9 + 1)  # head, body, tail of one RLNet
    streams = count_parameters(build_model("btbnet", "tiny"))
    shared = build_model("btbcrl", "tiny")
    unshared = build_model("btbcrl-unshared", "tiny")
    assert count_parameters(shared) - streams == 2 * step  # first + one shared residual RLNet
    assert count_parameters(unshared) - streams == 3 * step  # first + one per residual step
    assert len(shared.refine.residual) == 1 and len(unshared.refine.residual) == 2
    # MSCRL drops the three image channels of both head convolutions
    assert count_parameters(shared) - count_parameters(build_model("mscrl", "tiny")) == 2 * 3 * w * 9


def test_the_shared_residual_rlnet_runs_at_every_residual_step():
    # a hook on the shared RLNet sees the two residual steps at the 0.8 and 1.0 stream sizes
    model = build_model("btbcrl", "tiny")
    seen = []
    model.refine.residual[0].register_forward_hook(lambda m, i, o: seen.append(tuple(o[0].shape[-2:])))
    first = []
    model.refine.first.register_forward_hook(lambda m, i, o: first.append(tuple(o[0].shape[-2:])))
    with torch.no_grad():
        model(torch.rand(1, 3, 50, 40))
    assert first == [(30, 24)] and seen == [(40, 32), (50, 40)]


def test_too_small_input_is_a_clear_error():
    model = build_model("btbcrl", "tiny")
    assert model.min_size == 27
    model.check_size(27, 40)
    with pytest.raises(DbdError, match="minimum"):
        model.check_size(26, 40)


def test_unknown_names_are_user_errors():
    with pytest.raises(DbdError, match="--model"):
        build_model("btbnet2", "tiny")
    with pytest.raises(DbdError, match="--preset"):
        build_model("btbnet", "huge")
