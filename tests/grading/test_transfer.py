"""a7's fine-tuning check: the upper block must move, the lower one must not, at a low rate."""

from __future__ import annotations

import pytest

from cnnwidgets.grading.transfer import assert_fine_tuning, head_trained, learning_rate

pytestmark = pytest.mark.slow  # trains the digits network and a head: a few seconds


def _recompile(keras, model, rate):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=rate), loss=model.loss, metrics=["accuracy"]
    )
    return model


def _unfreeze(keras, *, upper_only=True, base_first=True, rate=1e-4):
    def prepare(model):
        base = model.layers[1]
        if base_first:
            base.trainable = True
        for layer in base.layers:
            layer.trainable = layer.name == "conv_2" if upper_only else True
        return _recompile(keras, model, rate)

    return prepare


def test_the_recipe_passes_and_moves_only_the_upper_block(keras):
    result = assert_fine_tuning(_unfreeze(keras), seed=3, split_seed=41, threshold=0.85)
    assert result.passed and result.accuracy >= 0.85 and len(result.runs) == 2


@pytest.mark.parametrize(
    "how, message",
    [
        (dict(upper_only=False), "conv_1 is trainable: keep the lower block frozen"),
        (dict(base_first=False), "conv_2 is still frozen: set the base's trainable = True"),
        (dict(rate=3e-3), "the learning rate is 0.003: fine-tuning needs a low one"),
        (dict(rate=0.0), "the learning rate is 0: fine-tuning needs a low one, above 0"),
    ],
)
def test_each_mistake_is_named(keras, how, message):
    with pytest.raises(AssertionError, match=message):
        assert_fine_tuning(_unfreeze(keras, **how), seed=0, split_seed=0, train=False)


def test_a_schedule_low_only_at_the_start_is_read_at_its_highest(keras):
    """A rate looked at at step 0 only: a schedule at 1e-4 for one step, then 1.0."""
    jump = keras.optimizers.schedules.PiecewiseConstantDecay([1], [1e-4, 1.0])
    with pytest.raises(AssertionError, match="the learning rate is 1: fine-tuning needs a low"):
        assert_fine_tuning(_unfreeze(keras, rate=jump), seed=0, split_seed=0, train=False)
    falling = keras.optimizers.schedules.CosineDecay(1e-4, decay_steps=135)
    assert_fine_tuning(_unfreeze(keras, rate=falling), seed=0, split_seed=0, train=False)


def test_returning_something_else_is_named(keras):
    with pytest.raises(AssertionError, match="prepare_fine_tuning should return the model"):
        assert_fine_tuning(lambda model: None, seed=0, split_seed=0, train=False)
    other = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    with pytest.raises(AssertionError, match="has no layer 'conv_1'"):
        assert_fine_tuning(lambda model: other, seed=0, split_seed=0, train=False)


def test_weights_changed_by_the_function_do_not_reach_the_run(keras, digits):
    """Trained further in the student's function (on every digit), the upper block and the
    head are drawn again by the grader, and the frozen lower block, changed, is refused."""
    X, y = digits

    def pretrain(model):
        prepared = _unfreeze(keras)(model)
        prepared.fit(X, y % 2, epochs=2, verbose=0)  # every digit, the held-out ones too
        model.layers[1].get_layer("conv_1").set_weights(
            [w * 1.01 for w in model.layers[1].get_layer("conv_1").get_weights()]
        )
        return prepared

    with pytest.raises(AssertionError, match="layer 'conv_1' is frozen"):
        assert_fine_tuning(pretrain, seed=3, split_seed=41)


def test_head_trained_is_the_same_for_the_same_seeds_and_learning_rate_reads_schedules(keras):
    first, data = head_trained(0, 0)
    second, _ = head_trained(0, 0)
    pairs = zip(first.get_weights(), second.get_weights(), strict=True)
    assert all((a == b).all() for a, b in pairs)
    assert learning_rate(first) == pytest.approx(3e-3)
    schedule = keras.optimizers.schedules.ExponentialDecay(5e-4, 100, 0.5)
    assert learning_rate(_recompile(keras, first, schedule)) == pytest.approx(5e-4)
    assert [len(part) for part in data] == [1437, 360, 1437, 360]
