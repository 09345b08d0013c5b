import keras
import numpy as np
import pytest

from harness.optimizers import LazyAdam, MaskedLazy

TF_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.IndexedSlices gradients exist only on TensorFlow"
)

ROWS, DIM, LR, B1, B2, EPS = 6, 3, 0.01, 0.9, 0.999, 1e-7
RNG = np.random.default_rng(1)
# Each step: indices (with repeats) and one gradient row per index.
STEPS = [
    (np.array(i), RNG.normal(size=(len(i), DIM)).astype("float32")) for i in ([0, 2, 2], [1, 2], [4, 0, 0, 0], [2, 3])
]


def _dense(indices, values, rows=ROWS):
    grad = np.zeros((rows, *values.shape[1:]), "float32")
    np.add.at(grad, indices, values)
    return grad


def _gradient(form, indices, values):
    """The step's gradient as TensorFlow's sparse ``IndexedSlices`` or as a dense backend tensor."""
    if form == "dense":
        return keras.ops.convert_to_tensor(_dense(indices, values))
    import tensorflow as tf

    return tf.IndexedSlices(values, indices, dense_shape=tf.constant([ROWS, DIM], tf.int64))


FORMS = pytest.mark.parametrize("form", ["dense", pytest.param("sparse", marks=TF_ONLY)])


def _reference_lazy_adam(start):
    var, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for t, (indices, values) in enumerate(STEPS, start=1):
        rows = np.unique(indices)
        g = _dense(indices, values)[rows]  # repeated indices summed
        m[rows] = B1 * m[rows] + (1 - B1) * g
        v[rows] = B2 * v[rows] + (1 - B2) * g**2
        alpha = LR * np.sqrt(1 - B2**t) / (1 - B1**t)
        var[rows] -= alpha * m[rows] / (np.sqrt(v[rows]) + EPS)
    return var, m, v


def _embeddings(start):
    return keras.Variable(start.copy(), name="embeddings")


def _slots(optimizer):
    return np.array(optimizer._momentums[0]), np.array(optimizer._velocities[0])


START = RNG.normal(size=(ROWS, DIM)).astype("float32")


@FORMS
def test_matches_reference_and_leaves_absent_rows_and_slots_alone(form):
    # Sparse: TensorFlow's IndexedSlices path. Dense (every backend): all-zero gradient rows are absent.
    variable, optimizer = _embeddings(START), LazyAdam(LR)
    for indices, values in STEPS:
        optimizer.apply([_gradient(form, indices, values)], [variable])
    var, m, v = _reference_lazy_adam(START)
    np.testing.assert_allclose(np.array(variable), var, rtol=1e-5, atol=1e-6)
    got_m, got_v = _slots(optimizer)
    np.testing.assert_allclose(got_m, m, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got_v, v, rtol=1e-5, atol=1e-9)
    never_seen = 5
    np.testing.assert_array_equal(np.array(variable)[never_seen], START[never_seen])
    assert not got_m[never_seen].any() and not got_v[never_seen].any()


@TF_ONLY
def test_dense_gradient_row_mask_path_equals_the_sparse_path():
    # Other backends have no IndexedSlices: rows with an all-zero gradient row are absent.
    sparse, dense = _embeddings(START), _embeddings(START)
    sparse_opt, dense_opt = LazyAdam(LR), LazyAdam(LR)
    for indices, values in STEPS:
        sparse_opt.apply([_gradient("sparse", indices, values)], [sparse])
        dense_opt.apply([_gradient("dense", indices, values)], [dense])
    np.testing.assert_allclose(np.array(dense), np.array(sparse), rtol=1e-6, atol=1e-7)


def test_dense_variables_get_exactly_adams_update():
    kernel_grads = [RNG.normal(size=(4, 2)).astype("float32") for _ in range(3)]
    ours, keras_adam = keras.Variable(np.ones((4, 2), "float32")), keras.Variable(np.ones((4, 2), "float32"))
    lazy, adam = LazyAdam(LR), keras.optimizers.Adam(LR)
    for grad in kernel_grads:
        lazy.apply([keras.ops.convert_to_tensor(grad)], [ours])
        adam.apply([keras.ops.convert_to_tensor(grad)], [keras_adam])
    np.testing.assert_array_equal(np.array(ours), np.array(keras_adam))


def test_keras_adam_is_not_lazy_but_lazy_adam_is_in_a_real_model():
    x = np.array([[1, 2], [2, 3]], "int32")  # word 4 never occurs after the first batch
    y = np.array([[1.0], [0.0]], "float32")

    def row_4_after_two_batches(optimizer):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((2,), dtype="int32"),
                keras.layers.Embedding(6, 3),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer=optimizer, loss="mse")
        model.train_on_batch(np.array([[4, 1]], "int32"), y[:1])
        before = np.array(model.layers[0].embeddings)[4]
        model.train_on_batch(x, y)
        return before, np.array(model.layers[0].embeddings)[4]

    before, after = row_4_after_two_batches(keras.optimizers.Adam(LR))
    assert not np.array_equal(before, after)  # Adam's moments keep moving the absent row
    before, after = row_4_after_two_batches(LazyAdam(LR))
    np.testing.assert_array_equal(before, after)


@FORMS
def test_masked_lazy_freezes_zero_gradient_rows_but_updates_their_slots(form):
    variable, optimizer = _embeddings(START), MaskedLazy(keras.optimizers.Adam(LR))
    reference = keras.Variable(START.copy())
    adam = keras.optimizers.Adam(LR)
    for indices, values in STEPS:
        before = np.array(variable)
        optimizer.apply([_gradient(form, indices, values)], [variable])
        adam.apply([_gradient("dense", indices, values)], [reference])
        absent = np.setdiff1d(np.arange(ROWS), indices)
        np.testing.assert_array_equal(np.array(variable)[absent], before[absent])  # lr 0 for absent rows
    # Row 1 was absent after step 2: its momentum still decayed (state updated as usual).
    m = np.array(optimizer.inner._momentums[0])
    np.testing.assert_allclose(m, np.array(adam._momentums[0]), rtol=1e-6)
    assert not m[5].any()  # never seen: zero gradient, zero moment
    assert m[1].any()


def test_masked_lazy_present_rows_move_exactly_as_the_inner_optimizer():
    indices, values = STEPS[0]
    wrapped, plain = _embeddings(START), keras.Variable(START.copy())
    MaskedLazy(keras.optimizers.Adam(LR)).apply([_gradient("dense", indices, values)], [wrapped])
    keras.optimizers.Adam(LR).apply([_gradient("dense", indices, values)], [plain])
    np.testing.assert_array_equal(np.array(wrapped)[[0, 2]], np.array(plain)[[0, 2]])


def test_only_named_variables_are_lazy():
    kernel = keras.Variable(np.ones((3, 2), "float32"), name="kernel")
    grad = np.zeros((3, 2), "float32")
    grad[0] = 1.0
    MaskedLazy(keras.optimizers.SGD(0.1)).apply([keras.ops.convert_to_tensor(grad)], [kernel])
    np.testing.assert_allclose(np.array(kernel)[0], 0.9)  # kernels are never masked...
    LazyAdam(LR).apply([keras.ops.convert_to_tensor(grad)], [kernel])  # ...and LazyAdam treats them as dense Adam
    with pytest.raises(ValueError, match="amsgrad"):
        LazyAdam(amsgrad=True)


def test_serialization_round_trip():
    for optimizer in (LazyAdam(0.002, lazy_variables=["emb"]), MaskedLazy(keras.optimizers.Adam(0.003))):
        config = optimizer.get_config()
        assert type(optimizer).from_config(config).get_config() == config


def test_masked_lazy_adam_matches_numpy_reference():
    var, m, v = START.copy(), np.zeros_like(START), np.zeros_like(START)
    for t, (indices, values) in enumerate(STEPS, start=1):
        g = _dense(indices, values)
        m = B1 * m + (1 - B1) * g  # every row's state is updated...
        v = B2 * v + (1 - B2) * g**2
        alpha = LR * np.sqrt(1 - B2**t) / (1 - B1**t)
        present = g.any(axis=1, keepdims=True)  # ...but only rows with a non-zero gradient move
        var = np.where(present, var - alpha * m / (np.sqrt(v) + EPS), var)
    variable, optimizer = _embeddings(START), MaskedLazy(keras.optimizers.Adam(LR))
    for indices, values in STEPS:
        optimizer.apply([_gradient("dense", indices, values)], [variable])
    np.testing.assert_allclose(np.array(variable), var, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.array(optimizer.inner._momentums[0]), m, rtol=1e-5, atol=1e-7)


def test_lazy_variables_one_name_or_several_but_never_none():
    assert LazyAdam(lazy_variables="embeddings").lazy_variables == ("embeddings",)
    assert MaskedLazy(keras.optimizers.Adam(), lazy_variables=["emb", "table"]).lazy_variables == ("emb", "table")
    for make in (lambda: LazyAdam(lazy_variables=[]), lambda: MaskedLazy(keras.optimizers.Adam(), lazy_variables=())):
        with pytest.raises(ValueError, match="lazy_variables must name at least one variable"):
            make()


@TF_ONLY
@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_present_rows_of_a_sparse_gradient_are_those_of_its_dense_sum(index_dtype):
    """Slices of one row that cancel exactly leave it absent; cancelling in one column only does not."""
    import tensorflow as tf

    from harness.optimizers.wrapper import present_rows

    indices = np.array([0, 0, 1, 1, 2, 3, 3, 5, 5, 5], index_dtype)
    values = np.array([[1, 2], [-1, -2], [1, 2], [-1, 3], [0, 0], [0, 4], [0, -1], [2, 0], [-2, 0], [0, 0]], "float32")
    gradient = tf.IndexedSlices(values, indices, dense_shape=tf.constant([7, 2], index_dtype))
    expected = _dense(indices, values, 7).any(axis=1)  # rows 1 and 3 only
    assert expected.tolist() == [False, True, False, True, False, False, False]
    np.testing.assert_array_equal(np.array(present_rows(gradient, "float32", 7)).reshape(-1), expected)
    dense = keras.ops.convert_to_tensor(_dense(indices, values, 7))
    np.testing.assert_array_equal(np.array(present_rows(dense, "float32", 7)).reshape(-1), expected)
