"""STAPLE against hand-worked EM steps and majority voting; Fleiss' kappa against the published example."""

from __future__ import annotations

import numpy as np
import pytest

from dbdbench.datasets.agreement import fleiss_kappa, fleiss_kappa_masks, iou
from dbdbench.datasets.staple import staple

D1 = np.array([1, 1, 0, 0], bool)
D2 = np.array([1, 0, 1, 0], bool)


def test_staple_one_em_step_by_hand():
    """Two annotators, four pixels, prior f = mean of votes = 0.5, start p = q = 0.9.

    E-step: W(1,1) = .5*.9*.9 / (.5*.9*.9 + .5*.1*.1) = .405/.41 = 0.987805;
            W(1,0) = W(0,1) = .045/.09 = 0.5;  W(0,0) = .005/.41 = 0.012195.
    M-step: p1 = (W11 + W10) / sum W = (0.987805 + 0.5) / 2 = 0.743902;
            q1 = ((1 - W01) + (1 - W00)) / sum(1 - W) = (0.5 + 0.987805) / 2 = 0.743902.
    The returned posterior uses the updated p = q = s = 0.743902:
            W(1,1) = s^2 / (s^2 + (1 - s)^2) = 0.553390 / (0.553390 + 0.065586) = 0.894041.
    """
    r = staple([D1, D2], init=0.9, max_iter=1)
    assert r.prior == 0.5 and r.iterations == 1 and not r.converged
    np.testing.assert_allclose(r.sensitivity, [0.743902, 0.743902], atol=1e-6)
    np.testing.assert_allclose(r.specificity, [0.743902, 0.743902], atol=1e-6)
    np.testing.assert_allclose(r.posterior, [0.894041, 0.5, 0.5, 0.105959], atol=1e-6)


def test_staple_two_disagreeing_annotators_follow_the_hand_recursion():
    """By symmetry p = q = s for both annotators; one EM step maps s to
    (s^2 / (s^2 + (1-s)^2) + 1/2) / 2 (the W(1,1) and W(1,0) of the hand-worked step), whose fixed
    point below s = 0.9 is s = 1/2: two annotators who disagree half the time are at chance."""
    s = 0.9
    for k in range(1, 6):
        s = (s * s / (s * s + (1 - s) ** 2) + 0.5) / 2
        r = staple([D1, D2], init=0.9, max_iter=k, tol=0)
        np.testing.assert_allclose(r.sensitivity, s, atol=1e-12)
        np.testing.assert_allclose(r.specificity, s, atol=1e-12)
    assert 0.5 < staple([D1, D2], init=0.9, max_iter=200).sensitivity[0] < 0.55


def test_staple_identical_annotators_are_perfect():
    m = np.zeros((5, 6), bool)
    m[1:4, 2:5] = True
    r = staple([m, m, m])
    np.testing.assert_allclose(r.sensitivity, 1.0)
    np.testing.assert_allclose(r.specificity, 1.0)
    np.testing.assert_array_equal(r.estimate, m)


def symmetric_annotators(n_ann: int = 3, size: int = 60, errors: int = 4, seed: int = 0):
    """Truth half in focus; annotator j flips its own disjoint set of ``errors`` pixels in each class."""
    rng = np.random.default_rng(seed)
    truth = np.zeros(size * 2, bool)
    truth[:size] = True
    pos = rng.permutation(size)
    neg = size + rng.permutation(size)
    anns = []
    for j in range(n_ann):
        a = truth.copy()
        a[pos[j * errors : (j + 1) * errors]] ^= True
        a[neg[j * errors : (j + 1) * errors]] ^= True
        anns.append(a.reshape(12, 10))
    return truth.reshape(12, 10), anns


def test_staple_equals_majority_for_symmetric_annotators():
    truth, anns = symmetric_annotators()
    r = staple(anns)
    majority = np.sum(anns, axis=0) * 2 > len(anns)
    np.testing.assert_array_equal(r.estimate, majority)
    np.testing.assert_array_equal(r.estimate, truth)  # disjoint errors: majority recovers the truth
    # all annotators are alike: p = q = s, with s the fixed point worked out by hand. Per class 48
    # pixels are unanimous (posterior w3 = s^3 / (s^3 + (1-s)^3)) and 12 have one dissenter (posterior s
    # for two votes, 1 - s for one), so the M-step gives s = (48 w3 + 8 s + 4 (1 - s)) / 60.
    s = r.sensitivity[0]
    np.testing.assert_allclose(r.sensitivity, s, atol=1e-9)
    np.testing.assert_allclose(r.specificity, s, atol=1e-9)
    w3 = s**3 / (s**3 + (1 - s) ** 3)
    assert s == pytest.approx((48 * w3 + 8 * s + 4 * (1 - s)) / 60, abs=1e-7)
    assert 0.9 < s < 56 / 60


def test_staple_down_weights_a_bad_annotator():
    """Two good annotators and one that marks everything in focus: STAPLE follows the good ones and
    gives the bad one specificity 0."""
    truth, (a, b, _) = symmetric_annotators(n_ann=3, errors=2)
    bad = np.ones_like(a)
    r = staple([a, b, bad])
    assert r.specificity[2] < 0.05 and r.sensitivity[2] == pytest.approx(1.0)
    assert np.mean(r.estimate == truth) > 0.95


def test_staple_pattern_grouping_matches_pixel_count_invariance():
    """Repeating every pixel k times changes nothing (EM over patterns is weighted by counts)."""
    _, anns = symmetric_annotators(errors=5, seed=3)
    r1 = staple(anns)
    r2 = staple([np.tile(a, (3, 1)) for a in anns])
    np.testing.assert_allclose(r1.sensitivity, r2.sensitivity, atol=1e-9)
    np.testing.assert_allclose(r2.posterior, np.tile(r1.posterior, (3, 1)), atol=1e-9)


def test_staple_all_blurred_has_undefined_sensitivity():
    z = np.zeros((4, 4), bool)
    r = staple([z, z])
    assert r.prior == 0.0 and np.all(np.isnan(r.sensitivity))
    np.testing.assert_allclose(r.specificity, 1.0)
    assert not r.estimate.any()


def test_fleiss_kappa_published_example():
    """The worked example of the Wikipedia article on Fleiss' kappa (10 subjects, 14 raters, 5 categories):
    P = 0.378, P_e = 0.213, kappa = 0.210."""
    table = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_masks_matches_table_form():
    _, anns = symmetric_annotators(errors=7, seed=5)
    votes = np.sum(anns, axis=0).ravel()
    table = np.stack([votes, len(anns) - votes], axis=1)
    assert fleiss_kappa_masks(anns) == pytest.approx(fleiss_kappa(table), abs=1e-12)
    m = anns[0]
    assert fleiss_kappa_masks([m, m]) == pytest.approx(1.0)
    assert fleiss_kappa_masks([m, ~m]) == pytest.approx(-1.0, abs=0.02)  # total disagreement
    assert np.isnan(fleiss_kappa_masks([np.zeros((3, 3), bool)] * 3))


def test_iou():
    assert iou(D1, D2) == pytest.approx(1 / 3)
    assert iou(np.zeros(3, bool), np.zeros(3, bool)) == 1.0


@pytest.mark.parametrize("n", [1, 3, 17, 63])
def test_vote_patterns_reconstruct_the_votes(n):
    from dbdbench.datasets.staple import _patterns

    votes = np.random.default_rng(n).random((n, 500)) > 0.5
    votes[:, :100] = True  # a repeated pattern
    patterns, counts, inverse = _patterns(votes)
    np.testing.assert_array_equal(patterns[inverse].T, votes)
    assert counts.sum() == 500 and len(np.unique(patterns, axis=0)) == len(patterns)
    assert counts[inverse[0]] >= 100
