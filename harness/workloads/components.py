"""The components a suite file composes a trial from, validated without importing Keras.

- ``data``: a dataset name with its options (validation split, fixed subsets, augmentation);
- ``model``: a builder name with that builder's own options — every builder is
  ``build(input_shape, outputs, seed, **options)``;
- ``optimizer``: a Keras serialization config (:mod:`harness.keras_config`);
- ``training``: batch size, epochs, loss, precision and compilation.

Each dataset and model is one class here, naming its loader or builder; the set of classes
is the registry (a name that is not one of them gets a did-you-mean).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    field_validator,
    model_serializer,
)

from harness import keras_config


class Strict(BaseModel):
    """A component: unknown keys refused. Options in ``added_later`` are left out of its dump while
    at their default, so settings recorded before they existed keep their hash (and their runs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    added_later: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _without_later_defaults(self, handler) -> dict[str, Any]:
        dumped = handler(self)
        for name in self.added_later:
            if name in dumped and getattr(self, name) == type(self).model_fields[name].default:
                del dumped[name]
        return dumped


# data ---------------------------------------------------------------------------------------
class Validation(Strict):
    """Training examples held out to choose epochs and settings (never the test set)."""

    size: NonNegativeInt = Field(0, description="examples held out of training; 0 = no validation set")
    draw: Literal["last", "fixed", "per_seed"] = Field(
        "fixed",
        description="last: the last `size` examples; fixed: stratified, the same for every seed; "
        "per_seed: stratified, drawn from each trial's seed",
    )


class Augmentation(Strict):
    """Random crop after zero padding and horizontal flips, drawn per (seed, epoch): every arm sees the same."""

    crop_padding: NonNegativeInt = 4
    horizontal_flip: bool = True


class DataOptions(Strict):
    """What every dataset takes."""

    loader: ClassVar[str]
    kind: ClassVar[str]  # "images" | "tokens"
    channels: ClassVar[bool] = False  # images with a channel axis (NHWC), which augmentation needs

    added_later: ClassVar[frozenset[str]] = frozenset({"corrupt"})

    validation: Validation = Validation()
    corrupt: Literal["none", "shuffled_labels", "unscaled"] = Field(
        "none",
        description="a deliberately broken pipeline: shuffled_labels (training labels permuted per seed) or "
        "unscaled (inputs × 255, as if scaling were forgotten)",
    )
    limit_train: PositiveInt | None = Field(None, description="a fixed stratified N of the training examples")
    limit_test: PositiveInt | None = Field(None, description="a fixed stratified N of the test examples (smoke)")
    augmentation: Augmentation | None = Field(None, description="image augmentation of the training batches")
    normalize: Literal["none", "per_channel"] = Field(
        "none", description="per_channel: (x - mean) / std with the training images' statistics"
    )

    def loader_arguments(self) -> dict[str, Any]:
        return {}

    def load(self):
        """The dataset (:class:`harness.data.dataset.Dataset`)."""
        import importlib

        module, _, name = self.loader.partition(":")
        return getattr(importlib.import_module(module), name)(**self.loader_arguments())


class FashionMNIST(DataOptions):
    """Fashion-MNIST: 60,000 training and 10,000 test 28×28 images, pixels in [0, 1], 10 classes."""

    loader: ClassVar[str] = "harness.data.fashion_mnist:load"
    kind: ClassVar[str] = "images"
    name: Literal["fashion_mnist"]


class CIFAR10(DataOptions):
    """CIFAR-10: 50,000 training and 10,000 test 32×32×3 uint8 images, 10 classes."""

    loader: ClassVar[str] = "harness.data.cifar10:load"
    kind: ClassVar[str] = "images"
    channels: ClassVar[bool] = True
    name: Literal["cifar10"]


class IMDB(DataOptions):
    """IMDB reviews as integer sequences (see :mod:`harness.data.imdb`), 2 classes."""

    loader: ClassVar[str] = "harness.data.imdb:load"
    kind: ClassVar[str] = "tokens"
    name: Literal["imdb"]
    num_words: PositiveInt = Field(20000, description="vocabulary: the most frequent words, ids below this")
    maxlen: PositiveInt = Field(80, description="tokens per review (the last ones kept, padded in front)")

    def loader_arguments(self) -> dict[str, Any]:
        return {"num_words": self.num_words, "maxlen": self.maxlen}


DATASETS: tuple[type[DataOptions], ...] = (FashionMNIST, CIFAR10, IMDB)
DataSpec = Annotated[FashionMNIST | CIFAR10 | IMDB, Field(discriminator="name")]


# models -------------------------------------------------------------------------------------
RANGE_METRICS = {  # what a run with training.range_test records (harness.optimizers.range_test)
    "range_steepest_lr": "learning rate where the smoothed loss fell fastest",
    "range_log10_steepest_lr": "log10 of range_steepest_lr (its spread across seeds, in decades)",
    "range_min_loss_lr": "learning rate of the lowest smoothed loss",
    "range_min_loss_lr_over_10": "learning rate of the lowest smoothed loss ÷ 10",
    "range_log10_spread": "log10(range_high / range_low)",
    "range_flat_start": "1 if the loss barely moves over the first tenth of the test",
    "range_descends": "1 if the smoothed loss falls to ≤ 90% of its start",
    "range_diverges": "1 if the loss blew up (stopped early) or climbs past 1.25 × its lowest after it",
    "range_three_regions": "1 if flat start, descent and divergence all appear",
    "range_flagged": "1 if the curve signals a broken setup: no flat start, no descent, or a non-finite loss before it",
}
BN_FOLD = "bn_fold_max_abs_diff"  # largest |Δ predicted probability| on the test set after folding BN
ACCUMULATION_GAP = "accumulation_first_update_max_abs_diff"  # largest |Δ weight|: k accumulated batches vs one


class ModelOptions(Strict):
    """What every builder declares: where it is, which inputs it takes, whether it outputs logits."""

    builder: ClassVar[str]
    accepts: ClassVar[tuple[str, ...]]
    logits: ClassVar[bool] = False

    def options(self) -> dict[str, Any]:
        """Keyword arguments of the builder."""
        return self.model_dump(exclude={"name"})

    def foldable_batch_norm(self) -> bool:
        """Whether the model has batch normalization that folds into its Dense layers (records ``BN_FOLD``)."""
        return False

    def build(self, input_shape: tuple[int, ...], outputs: int, seed: int, **extra: Any):
        import importlib

        module, _, name = self.builder.partition(":")
        return getattr(importlib.import_module(module), name)(input_shape, outputs, seed, **self.options(), **extra)


class MLP(ModelOptions):
    """``Flatten → (batch norm) → [Dense(h) → (batch norm) → activation → (dropout)] × len(hidden_units) →
    Dense(outputs)``; a run with batch norm records ``BN_FOLD`` (see :mod:`harness.models.folding`)."""

    builder: ClassVar[str] = "harness.models.mlp:build_mlp"
    accepts: ClassVar[tuple[str, ...]] = ("images",)
    added_later: ClassVar[frozenset[str]] = frozenset({"input_batch_norm"})
    name: Literal["mlp"]
    hidden_units: list[PositiveInt] = [100, 100, 100]
    activation: str = Field("relu", description="a Keras activation name")
    initializer: str = Field("he_normal", description="a Keras initializer name for the hidden kernels")
    batch_norm: Literal["none", "before", "after"] = Field(
        "none", description="batch normalization before or after each hidden activation"
    )
    input_batch_norm: bool = Field(False, description="batch normalization of the flattened inputs")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout rate after each hidden layer")
    l2: float = Field(0.0, ge=0, description="L2 penalty on the hidden and output kernels")

    def foldable_batch_norm(self) -> bool:
        return self.batch_norm != "none" or self.input_batch_norm


class SmallCNN(ModelOptions):
    """Three stages of two conv-bn-relu layers (``width``, 2×, 4× channels), global pool, linear logits."""

    builder: ClassVar[str] = "harness.models.cnn:build_small_cnn"
    accepts: ClassVar[tuple[str, ...]] = ("images",)
    logits: ClassVar[bool] = True
    name: Literal["small_cnn"]
    width: PositiveInt = 16
    weight_decay: float = Field(0.0, ge=0, description="coupled L2 on every parameter, as PyTorch's weight_decay")


class ResNet18(ModelOptions):
    """ResNet-18, CIFAR variant (3×3 stem, no max-pool), linear logits."""

    builder: ClassVar[str] = "harness.models.cnn:build_resnet18"
    accepts: ClassVar[tuple[str, ...]] = ("images",)
    logits: ClassVar[bool] = True
    name: Literal["resnet18"]
    weight_decay: float = Field(0.0, ge=0, description="coupled L2 on every parameter, as PyTorch's weight_decay")


class Pooled(ModelOptions):
    """``Embedding(mask_zero) → mean over tokens → Dense(outputs)``."""

    builder: ClassVar[str] = "harness.models.text:build_pooled"
    accepts: ClassVar[tuple[str, ...]] = ("tokens",)
    name: Literal["pooled"]
    embedding_dim: PositiveInt = 128


class LSTM(ModelOptions):
    """``Embedding → LSTM(dropout, recurrent_dropout) → Dense(outputs)``."""

    builder: ClassVar[str] = "harness.models.text:build_lstm"
    accepts: ClassVar[tuple[str, ...]] = ("tokens",)
    name: Literal["lstm"]
    embedding_dim: PositiveInt = 128
    units: PositiveInt = 128
    dropout: float = Field(0.2, ge=0, lt=1)
    recurrent_dropout: float = Field(0.2, ge=0, lt=1)


MODELS: tuple[type[ModelOptions], ...] = (MLP, SmallCNN, ResNet18, Pooled, LSTM)
ModelSpec = Annotated[MLP | SmallCNN | ResNet18 | Pooled | LSTM, Field(discriminator="name")]


def fits(data: DataOptions, model: ModelOptions) -> str | None:
    """Why ``model`` cannot take ``data``'s inputs, or None."""
    if data.kind not in model.accepts:
        fitting = ", ".join(name_of(m) for m in MODELS if data.kind in m.accepts)
        return (
            f"model '{model.name}' takes {' or '.join(model.accepts)}, but dataset '{data.name}' gives {data.kind}; "
            f"models for {data.kind}: {fitting}"
        )
    return None


def name_of(component: type[BaseModel]) -> str:
    """The ``name`` a dataset or model class is written with in a suite file."""
    return get_args(component.model_fields["name"].annotation)[0]


# optimizer ----------------------------------------------------------------------------------
class OptimizerSpec(Strict):
    """A Keras optimizer as Keras serializes it: ``{class_name: Nadam, config: {learning_rate: 0.001}}``."""

    class_name: str = Field(description="a keras.optimizers class or a harness optimizer (Lookahead, LazyAdam, ...)")
    config: dict[str, Any] = Field({}, description="the class's own arguments; learning_rate may be a schedule config")

    def classes(self) -> list[str]:
        """Every optimizer and schedule class in it, outermost first."""
        return keras_config.classes_in(self.model_dump())

    def accumulation_steps(self) -> int:
        """Batches whose gradients make one update (Keras's ``gradient_accumulation_steps``; 1: none)."""
        steps = self.config.get("gradient_accumulation_steps")
        return steps if isinstance(steps, int) and steps > 1 else 1


class RangeTest(Strict):
    """Smith's learning-rate range test, run from the trial's initial weights before it trains: the
    learning rate rises exponentially from ``start`` to ``end`` over ``steps`` batches (stopping when the
    smoothed loss passes ``divergence`` × its best or is not finite); weights and optimizer are restored."""

    start: float = Field(1e-7, gt=0)
    end: float = Field(10.0, gt=0)
    steps: int = Field(300, ge=10)
    smoothing: float = Field(
        0.98, ge=0, lt=1, description="of the running average that stops a diverging test (the curve is read centred)"
    )
    divergence: float = Field(4.0, gt=1)
    optimizer: OptimizerSpec | None = Field(
        None, description="the optimizer the test runs (its learning rate set at every step); default: plain SGD"
    )


class Training(Strict):
    """How the model is trained and evaluated."""

    added_later: ClassVar[frozenset[str]] = frozenset({"range_test"})

    batch_size: PositiveInt = 32
    epochs: PositiveInt = 10
    loss: str | dict[str, Any] = Field(
        "auto",
        description="auto: binary or sparse categorical cross-entropy from the outputs (from_logits as the model "
        "says); or a Keras loss name or config",
    )
    mixed_precision: bool = Field(
        False,
        description="mixed_float16 with dynamic loss scaling where the backend sees a GPU; float32 on a CPU "
        "(the run records its dtype_policy)",
    )
    steps_per_execution: PositiveInt = Field(1, description="batches per compiled call: speed only, same updates")
    jit_compile: bool | Literal["auto"] = "auto"
    batches_per_update: Literal["auto"] | PositiveInt = Field(
        "auto", description="each batch is fed this many times in a row; auto: 2 for Heun (two gradients), else 1"
    )
    eval_batch_size: PositiveInt = Field(1000, description="evaluation only: no effect on training")
    test_each_epoch: bool = Field(
        True, description="score the test set after every epoch (curves, test-selected scores)"
    )
    eval_every_steps: PositiveInt | None = Field(
        None,
        description="also score the validation set every N optimizer updates (and after the last): the step.* "
        "curves that speed metrics read; its time is excluded from training time",
    )
    range_test: RangeTest | None = Field(
        None,
        description="run a learning-rate range test first: its curve, suggestions and flags are recorded, and "
        "placeholders may use range_low, range_high, range_steepest, range_min_over_10, range_min",
    )
    grad_eval_budget: PositiveInt | None = Field(
        None,
        description="train for exactly this many gradient evaluations (Heun takes 2 per update) instead of "
        "`epochs`: equal budgets for optimizers of different cost",
    )

    @field_validator("loss")
    @classmethod
    def _loss_form(cls, loss: str | dict) -> str | dict:
        if isinstance(loss, dict) and set(loss) - {"class_name", "config", "module", "registered_name"}:
            raise ValueError("a loss config is {class_name: ..., config: {...}}, as Keras serializes it")
        return loss


# metrics ------------------------------------------------------------------------------------
TEST, SELECTS_ON_TEST, VALIDATION, INFO = "test", "selects on test", "validation", "info"
STEP = "step."  # curves scored every ``eval_every_steps`` updates: step.val_accuracy, step.at_updates, ...
AXES = ("updates", "grad_evals", "epochs", "seconds")  # what a speed is counted in
PLANNED = "planned_"  # final metrics: each axis's budget (planned_updates, ...), where an unreached target censors


def axis_key(curve: str, axis: str) -> str:
    """The history key of ``curve``'s x-axis: ``at_updates`` (per epoch) or ``step.at_updates``."""
    return (STEP if curve.startswith(STEP) else "") + f"at_{axis}"


class WorkloadSettings(Strict):
    """What every workload's settings say about themselves, without Keras."""

    def metrics(self) -> dict[str, str]:
        """Final metrics a run produces, each with its kind (TEST, SELECTS_ON_TEST, VALIDATION, INFO)."""
        raise NotImplementedError

    def curves(self) -> dict[str, str]:
        """Per-epoch series a run records, each with its kind."""
        raise NotImplementedError

    def problems(self) -> list[str]:
        """Mistakes pydantic's field checks cannot see, as ``dotted.path: message``."""
        return []

    def load_data(self) -> None:
        """Load (and so check) every dataset the run will read."""

    def miniature(self) -> WorkloadSettings:
        """The same components on a few examples and one epoch (``harness validate --deep``)."""
        return self


def uses(optimizer: OptimizerSpec, name: str) -> bool:
    return name in optimizer.classes()
