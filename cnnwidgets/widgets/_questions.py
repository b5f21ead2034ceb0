"""The lessons' predict-then-check questions, kept here so no answer is printed above its box.

A lesson cell reads ``Question.from_bank("01-valid-size")``. Each answer is computed with
the kit's own functions, as the widgets compute theirs.
"""

from __future__ import annotations

import math

import numpy as np

from .. import core

YES_NO = ["yes", "no"]


def _bank() -> dict[str, dict]:
    sick = core.classification_metrics(core.binary_counts(tp=100, fn=30, fp=70, tn=800))
    window = np.array([[1, 2, 0], [0, 1, 3], [2, 0, 1]])
    laplace = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    return {
        # 01 · images and convolution
        "01-valid-size": dict(
            prompt="A 3×3 kernel slides over a 9×9 image with no padding. What size is the output?",
            answer=core.conv_output_size((9, 9), 3),
            hint="count how many positions a 3-wide kernel fits across 9 pixels",
            explanation="9 - 3 + 1 = 7 positions each way: a 7×7 output.",
        ),
        "01-window-value": dict(
            prompt=(
                "The window [[1, 2, 0], [0, 1, 3], [2, 0, 1]] sits under the kernel "
                "[[0, 1, 0], [1, -4, 1], [0, 1, 0]]. What is the output value?"
            ),
            answer=int(core.conv2d(window, laplace)[0, 0]),
            hint="multiply cell by cell, then add all nine products",
        ),
        "01-kernel-depth": dict(
            prompt="A Conv2D(16, 3) layer gets an RGB image. How deep is each of its kernels?",
            answer=3,
            hint="a kernel is as deep as its input",
            explanation="Each kernel is 3×3×3; there are 16 of them, one per feature map.",
        ),
        "01-flatten-length": dict(
            prompt="How many numbers does a flattened 28×28 grayscale image have?",
            answer=28 * 28,
        ),
        "01-colour-sum": dict(
            prompt=(
                "A Conv2D filter on an RGB window: the red channel's products add up to 4, the "
                "green's to -2, the blue's to 1, and the filter's bias is 0.5. What number does "
                "the filter output?"
            ),
            answer=float(
                core.colour_conv_step(
                    np.ones((1, 1, 3)), np.array([[[4.0, -2.0, 1.0]]]), 0.5
                ).outputs[0]
            ),
            hint="all the channels' sums together, plus ONE bias",
        ),
        "01-gradient-step": dict(
            prompt=(
                "A kernel weight is 0.8, the loss's gradient with respect to it is 2.0 and the "
                "learning rate is 0.1. What is the weight after one step of gradient descent?"
            ),
            answer=float(
                core.kernel_step(np.ones((1, 1)), np.array([[0.8]]), np.array([[-0.2]]), 0.1)[0][
                    0, 0
                ]
            ),
            hint="new weight = weight - learning_rate × gradient",
        ),
        "01-too-large-rate": dict(
            prompt=(
                "Gradient descent with a learning rate far above the limit: what does the loss do?"
            ),
            answer="it explodes",
            choices=["it falls faster", "it explodes", "nothing changes"],
            explanation="Each step overshoots the bottom of the bowl by more than it started "
            "from, so every step makes the loss larger.",
        ),
        # 02 · sizes, padding, pooling
        "02-valid-height": dict(
            prompt=(
                "A 32×32 input goes through Conv2D(16, 5, strides=1, padding='valid'). "
                "What is the output height?"
            ),
            answer=core.conv_output_size(32, 5),
            hint="valid padding: o = i - k + 1 when the stride is 1",
        ),
        "02-same-height": dict(
            prompt=(
                "Conv2D(8, 3, strides=2, padding='same') on a 15×15 input: "
                "what is the output height?"
            ),
            answer=core.conv_output_size(15, 3, strides=2, padding="same"),
            hint="'same' gives ceil(i / s)",
        ),
        "02-pool-shape": dict(
            prompt=(
                "MaxPooling2D(2) on a 13×13×32 feature map: what is the output shape "
                "(height, width, depth)?"
            ),
            answer=(core.pool_output_size(13), core.pool_output_size(13), 32),
            hint="valid padding drops the last row and column; pooling keeps the depth",
        ),
        "02-pool-params": dict(
            prompt="How many parameters does a MaxPooling2D layer have?",
            answer=0,
        ),
        "02-receptive-field": dict(
            prompt=(
                "Two 3×3 convolutions (stride 1), then a 2×2 max pooling: how many input pixels "
                "wide is the receptive field of one output pixel?"
            ),
            answer=core.receptive_field_table(
                28,
                [
                    {"layer": "Conv2D", "kernel_size": 3},
                    {"layer": "Conv2D", "kernel_size": 3},
                    {"layer": "MaxPooling2D", "pool_size": 2},
                ],
            )[-1]["size"][0],
            hint="each 3×3 convolution adds 2; the pooling window spans two of the previous "
            "layer's positions",
        ),
        # 03 · parameters and architectures
        "03-conv-params": dict(
            prompt="How many parameters does Conv2D(16, 5) have on an RGB input?",
            answer=core.conv_params(5, 3, 16),
            hint="filters · k · k · in_depth + filters",
        ),
        "03-dense-params": dict(
            prompt=(
                "A Flatten layer gets a 5×5×64 block. How many parameters does the "
                "Dense(100) after it have?"
            ),
            answer=core.dense_params(5 * 5 * 64, 100),
            hint="Flatten gives 5·5·64 inputs; every input connects to every unit, "
            "plus one bias per unit",
        ),
        "03-vgg-filters": dict(
            prompt=(
                "A VGG-style network doubles its filters from block to block: 32, then 64, and "
                "so on. How many filters does its fourth block have?"
            ),
            answer=core.doubling_filters(32, 4)[-1],
        ),
        "03-residual-projection": dict(
            prompt=(
                "A residual block gets a 16×16×32 input and its convolutions have 64 filters. "
                "How many parameters does the 1×1 convolution on its skip connection add?"
            ),
            answer=core.residual_block_table((16, 16, 32), 64)[2]["params"],
            hint="Add needs equal shapes: a 1×1 kernel maps 32 channels to 64, plus one bias "
            "per filter",
        ),
        "03-weight-sharing": dict(
            prompt=(
                "Conv2D(32, 3) on a 28×28×1 input has 320 parameters. How many does "
                "Conv2D(32, 3) have on a 280×280×1 input?"
            ),
            answer=core.conv_params(3, 1, 32),
            hint="does the kernel get bigger when the image does?",
            explanation="Weight sharing: the same 32 kernels slide over any image size.",
        ),
        # 04 · training a CNN
        "04-loss": dict(
            prompt=(
                "Labels are integers 0..9. Which loss goes with a "
                "Dense(10, activation='softmax') head?"
            ),
            answer="sparse_categorical_crossentropy",
            choices=[
                "binary_crossentropy",
                "categorical_crossentropy",
                "sparse_categorical_crossentropy",
            ],
        ),
        "04-input-shape": dict(
            prompt=(
                "Your grayscale images are stored as (500, 28, 28). What shape do you pass "
                "to keras.Input(shape=...)?"
            ),
            answer=(28, 28, 1),
            hint="no batch axis, but a channel axis",
        ),
        "04-early-stopping": dict(
            prompt=(
                "EarlyStopping(monitor='val_loss', patience=3): validation loss was best at "
                "epoch 7 and never improved after. At which epoch does training stop?"
            ),
            answer=7 + 3,
            hint="three epochs without improvement after the best one",
        ),
        "04-relu-zeros": dict(
            prompt=(
                "ReLU is applied to the feature-map values -3, 0.5, 2 and -0.1. How many become 0?"
            ),
            answer=int(np.sum(core.relu(np.array([-3.0, 0.5, 2.0, -0.1])) == 0)),
        ),
        "04-sigmoid-sum": dict(
            prompt=(
                "A Dense(3, activation='sigmoid') head: do its three outputs always add up to 1?"
            ),
            answer="no",
            choices=YES_NO,
            explanation="Each sigmoid unit is squeezed on its own; only softmax makes the "
            "outputs share 1 between them.",
        ),
        # 05 · evaluating (the sick/healthy test of the lesson: TP 100, FN 30, FP 70, TN 800)
        "05-accuracy": dict(prompt="What is its accuracy?", answer=sick["accuracy"]),
        "05-precision": dict(
            prompt="What is its precision (for 'sick')?",
            answer=sick["precision"][1],
            hint="TP / (TP + FP)",
        ),
        "05-recall": dict(
            prompt="What is its recall (for 'sick')?",
            answer=sick["recall"][1],
            hint="TP / (TP + FN)",
        ),
        "05-worst-mistake": dict(
            prompt=(
                "An image labelled 4 is read as 9 with probability 0.95; another labelled 4 is "
                "read as 9 with probability 0.40. Which one does a gallery of the model's most "
                "confident mistakes show first?"
            ),
            answer="the 0.95 one",
            choices=["the 0.95 one", "the 0.40 one"],
        ),
        # 06 · overfitting and regularization
        "06-diagnosis": dict(
            prompt=(
                "Training accuracy 1.00, validation accuracy 0.80, and validation loss rising "
                "for five epochs. Overfitting or underfitting?"
            ),
            answer="overfitting",
            choices=["overfitting", "underfitting"],
        ),
        "06-dropout-inference": dict(
            prompt="Does a Dropout(0.5) layer change the model's predictions at inference time?",
            answer="no",
            choices=YES_NO,
            explanation="Dropout is only active in training; Keras scales the kept units during "
            "training so nothing changes at inference.",
        ),
        "06-bn-non-trainable": dict(
            prompt=(
                "A BatchNormalization layer after a Conv2D(32, 3): how many of its parameters "
                "are non-trainable?"
            ),
            answer=core.batch_norm_params(32)["non_trainable"],
            hint="γ and β are learned; the moving mean and variance are averaged",
        ),
        "06-diverging-rate": dict(
            prompt=(
                "Plain SGD for 8 epochs with learning rates 0.001, 0.1 and 1.0: which one "
                "diverges (its loss ends above where it started)?"
            ),
            answer="learning rate 1.0",
            choices=["learning rate 0.001", "learning rate 0.1", "learning rate 1.0"],
        ),
        "06-updates-per-epoch": dict(
            prompt=(
                "300 training images, batch size 32: how many weight updates does one epoch make?"
            ),
            answer=math.ceil(300 / 32),
            hint="the last, smaller batch counts too",
        ),
        # 07 · data augmentation
        "07-rotation-degrees": dict(
            prompt="RandomRotation(0.1) rotates images by up to how many degrees (either way)?",
            answer=core.rotation_degrees(0.1)[1],
            hint="the factor is a fraction of a full turn of 360°",
        ),
        "07-augment-then-split": dict(
            prompt=(
                "You augment the whole data set, then split it into train and test. "
                "What goes wrong?"
            ),
            answer="leakage",
            choices=["nothing", "leakage", "the images get smaller"],
            explanation="Altered copies of one image end up on both sides: the test set is no "
            "longer unseen.",
        ),
        "07-predict-flip": dict(
            prompt=(
                "Does model.predict(X_test) apply a RandomFlip layer that sits inside the model?"
            ),
            answer="no",
            choices=YES_NO,
            explanation="predict runs with training=False: augmentation layers pass images "
            "through unchanged.",
        ),
        "07-train-accuracy": dict(
            prompt=(
                "The same network trained with and without augmentation for the same epochs: "
                "whose final TRAINING accuracy is higher?"
            ),
            answer="without augmentation",
            choices=["without augmentation", "with augmentation"],
            explanation="With augmentation every epoch shows altered images, a harder task: "
            "training accuracy is lower while validation accuracy can be higher.",
        ),
        "07-rotation-range": dict(
            prompt=(
                "Old code says ImageDataGenerator(rotation_range=30). Which factor gives "
                "RandomRotation the same angles?"
            ),
            answer=core.rotation_factor(30),
            hint="rotation_range is in degrees; the factor is a fraction of 360°",
        ),
        # 08 · inside the network
        "08-pool-shape": dict(
            prompt="conv_1 gives 8×8×32 maps. What shape does MaxPooling2D(2) right after it give?",
            answer=(core.pool_output_size(8), core.pool_output_size(8), 32),
        ),
        "08-trainable-params": dict(
            prompt=(
                "A frozen base has 240,000 parameters and the new head 5,000. How many "
                "trainable parameters does the model have?"
            ),
            answer=5000,
        ),
        "08-frozen-count": dict(
            prompt=(
                "Does setting base.trainable = False change the number of parameters the model has?"
            ),
            answer="no",
            choices=YES_NO,
            explanation="They are still there and still used; they just are not updated "
            "(non-trainable).",
        ),
        "08-fine-tune": dict(
            prompt=(
                "The new head is trained on a frozen base. To fine-tune, what do you unfreeze, "
                "and with what learning rate?"
            ),
            answer="the top block, with a low learning rate",
            choices=[
                "every layer, with the same learning rate",
                "the top block, with a low learning rate",
                "only the first convolution",
            ],
            explanation="The top block holds the most task-specific features; small steps "
            "adapt them without wiping out what the base learned.",
        ),
    }


def keys() -> list[str]:
    """Every question's key, in teaching order."""
    return list(_bank())


def question(key: str) -> dict:
    """The arguments of :class:`~cnnwidgets.widgets.Question` for ``key``."""
    bank = _bank()
    if key not in bank:
        raise KeyError(f"no question {key!r}; the lessons' questions are {', '.join(bank)}")
    return dict(bank[key])
