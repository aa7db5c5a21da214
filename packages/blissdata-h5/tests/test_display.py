"""Printed values carry no numpy type wrapper and read back as the value."""

from __future__ import annotations

import ast

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from blissdata_h5.display import format_value

NUMERIC = st.one_of(
    hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(), hnp.floating_dtypes(), hnp.boolean_dtypes()
)


@given(hnp.arrays(NUMERIC, shape=()))
def test_scalars_read_back(array):
    value = array[()]  # a numpy scalar, as h5py returns for a scalar dataset or attribute
    text = format_value(value)
    assert "np." not in text and "dtype" not in text
    if np.isfinite(value):
        assert ast.literal_eval(text) == value.item()


@given(hnp.arrays(NUMERIC, shape=hnp.array_shapes(max_dims=2, max_side=5)))
def test_arrays_have_no_numpy_wrappers(array):
    text = format_value(array)
    assert "np." not in text and "array(" not in text


def test_strings():
    assert format_value(np.str_("NXentry")) == "'NXentry'"
    assert format_value(b"NXentry") == "'NXentry'"
    assert format_value(np.array([b"a", b"b"], dtype=object)) == "['a', 'b']"
    assert format_value(np.float64(0.05)) == "0.05"
