"""The @detector decorator: parameters from the signature, checks, registration mistakes."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from dbdbench.baselines import registry
from dbdbench.baselines.registry import detector, get_method
from dbdbench.errors import DbdError
from dbdbench.params import at_least


@pytest.fixture
def scratch():
    """Names registered by a test are removed afterwards."""
    before = {m.name for m in registry.list_methods()}  # loads the built-in detectors first
    yield
    for name in set(registry.DETECTORS.names()) - before:
        registry.DETECTORS.unregister(name)


def _const(image, *, level: float = 1, flip: bool = False, model: str = "x") -> np.ndarray:
    out = np.full(np.asarray(image).shape[:2], float(level) / 2, np.float32)
    return 1 - out if flip else out


def test_signature_gives_parameters_types_and_defaults(scratch):
    func = detector("t-const", citation="c", description="d", checks={"level": at_least(0)})(_const)
    method = get_method("t-const")
    assert method.func is func and func.__wrapped__ is _const
    assert method.params == {"level": 1.0, "flip": False, "model": "x"}  # float annotation: 1 -> 1.0
    assert method.resolve({"level": "2", "flip": "yes"}) == {"level": 2.0, "flip": True, "model": "x"}
    np.testing.assert_array_equal(func(np.zeros((2, 3)), level="1.5"), np.full((2, 3), 0.75, np.float32))
    with pytest.raises(DbdError, match=r"t-const: parameter level must be a finite number >= 0, got -1.0"):
        func(np.zeros((2, 3)), level=-1)


def test_partial_bound_keywords_are_not_parameters(scratch):
    detector("t-partial", citation="c", description="d", checks={"level": at_least(0)})(
        functools.partial(_const, model="bound")
    )
    assert get_method("t-partial").params == {"level": 1.0, "flip": False}


def test_registration_mistakes_are_caught_at_import(scratch):
    with pytest.raises(TypeError, match="first parameter must be 'image'"):
        detector("t-a", citation="c", description="d")(lambda img, k=1: img)
    with pytest.raises(TypeError, match="parameter 'k' needs a default"):
        detector("t-b", citation="c", description="d")(lambda image, k: image)
    with pytest.raises(TypeError, match="no coercion rule"):
        detector("t-c", citation="c", description="d")(lambda image, k=None: image)
    with pytest.raises(TypeError, match=r"checks for unknown parameters \['size'\]"):
        detector("t-d", citation="c", description="d", checks={"size": at_least(1)})(_const)
    detector("t-e", citation="c", description="d")(_const)
    with pytest.raises(ValueError, match="'t-e' is registered twice"):
        detector("t-e", citation="c", description="d")(lambda image: image)
